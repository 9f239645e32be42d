"""The PostGIS store against a real PostgreSQL server; the same contract as SQLite.

A session fixture starts a throw-away PostgreSQL + PostGIS server from the
Debian packages (see ``postgis_server.py``); each test gets its own dataset
(a PostgreSQL schema, ``?schema=...``).  The contract tests run against both
backends.  Missing binaries FAIL the tests (run scripts/install_system_deps.sh).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import psycopg
import pytest
from click.testing import CliRunner

from geosvc.cli import main
from geosvc.errors import ConfigError, InvalidParameter, StorageUnavailable
from geosvc.importer import import_file, import_manifest
from geosvc.model import (
    Area,
    Category,
    Channel,
    DatasetInfo,
    Level,
    Link,
    PopulationCell,
    Scope,
    ServiceItem,
    Venue,
    VenueKind,
)
from geosvc.store import Batch, open_store
from geosvc.store.migrations import SCHEMA_VERSION
from geosvc.store.postgis import PostGISStore, split_url

from .postgis_server import (
    INSTALL_HINT,
    PASSWORD,
    Server,
    ServerUnavailable,
    check_postgis,
    free_port,
    start_server,
)

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "layers" / "demo" / "manifest.yaml"
W, S, T = Channel.WINDOW, Channel.SELF_SERVICE, Channel.SMART_TELLER


def venue(code: str, **kw) -> Venue:
    base = dict(name=f"hall {code}", kind=VenueKind.HALL, lon=118.76, lat=30.94,
                level=Level.CITY, channels=frozenset({W}))
    base.update(kw)
    return Venue(code, **base)


ITEMS = [ServiceItem("I1", "社保卡补领", "card", "人社局", Category.PERSON, True, Scope.CITY,
                     "d"),
         ServiceItem("I2", "营业执照", category=Category.BUSINESS, scope=Scope.COUNTY)]
VENUES = [
    venue("H1", channels=frozenset({W, S}), area_code="D1", area_name="宣州区",
          address="梅溪路", phone="0563", opening_hours="Mo-Fr 09:00-17:00",
          official_calendar=False, accessible=True, cross_province=True, regional=True,
          name_en="Hall",
          source="osm:node/1", lon=118.123456789012345, lat=-30.987654321098765),
    venue("B1", kind=VenueKind.BANK_OUTLET, level=None, channels=frozenset({W, S, T}),
          bank="ICBC", machines=2, lon=-179.999999, lat=89.9),
    venue("K1", kind=VenueKind.KIOSK, level=Level.VILLAGE, channels=frozenset({S}),
          opening_hours="24/7"),
    venue("B2", kind=VenueKind.BANK_OUTLET, level=None, channels=frozenset(), lon=1e-07,
          lat=-2.5e-12),
]
LINKS = [Link("H1", "I1", frozenset({W})), Link("H1", "I2", frozenset({W, S})),
         Link("B1", "I1", frozenset({T}))]
AREAS = [
    Area("D1", "宣州区",
         "POLYGON ((118.1234567890123 30, 119 30, 119 31, 118.1234567890123 30))",
         Level.COUNTY, 5000.0),
    Area("D2", "two parts", "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((2 2, 3 2, 3 3, 2 2)))",
         Level.TOWNSHIP, None),
    Area("D3", "with hole",
         "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 2 3, 3 3, 3 2, 2 2))", Level.CITY, 0.5),
]
CELLS = [PopulationCell(118.7, 30.9, 100.0),
         PopulationCell(118.8, 30.95, 50.5, "POLYGON ((1 1, 2 1, 2 2, 1 1))", "c2")]


# ---------------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def pg_server():
    """Start a PostgreSQL + PostGIS server for this session (FAIL when not installed)."""
    try:
        server = start_server()
    except ServerUnavailable as exc:
        pytest.fail(f"cannot start the PostGIS test server: {exc}\n-> {INSTALL_HINT}",
                    pytrace=False)
    sys.stderr.write(f"\n[postgis] test server on port {server.port} "
                     f"started in {server.start_s:.2f} s\n")
    yield server
    server.stop()


def test_missing_postgis_fails_with_the_install_hint(tmp_path):
    with pytest.raises(ServerUnavailable, match="install_system_deps.sh"):
        check_postgis(tmp_path / "99" / "bin")


def new_schema() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["sqlite", "postgis"])
def url(request, tmp_path) -> str:
    """Return a fresh, empty dataset URL of each backend."""
    if request.param == "sqlite":
        return str(tmp_path / "s.sqlite")
    server: Server = request.getfixturevalue("pg_server")
    return server.url_for(new_schema())


@pytest.fixture
def store(url):
    with open_store(url) as s:
        yield s


@pytest.fixture
def full(store):
    store.write(Batch(venues=VENUES, items=ITEMS, links=LINKS, areas=AREAS, population=CELLS))
    return store


@pytest.fixture
def pg(pg_server):
    """Open a fresh PostGIS store."""
    with open_store(pg_server.url_for(new_schema())) as s:
        yield s


def state(store):
    return (store.counts(), store.revision(), store.venues(), store.items(), store.links(),
            store.areas(), store.population(), store.info())


# ---------------------------------------------------------------------- the contract

def test_empty_store(store):
    assert store.counts() == {"items": 0, "venues": 0, "links": 0, "areas": 0, "population": 0}
    assert store.revision() == 0 and store.info() == DatasetInfo()
    assert store.read().venues == [] and store.read().revision == 0


def test_round_trip_every_field(full):
    assert full.venues() == VENUES  # exact floats, enums, frozensets, None, order
    assert full.items() == ITEMS
    assert full.links() == LINKS
    assert full.areas() == AREAS  # POLYGON stays POLYGON; holes and parts kept
    assert full.population() == CELLS
    assert full.venues()[3].is_candidate
    assert all(type(c) is Channel for v in full.venues() for c in v.channels)
    contents = full.read()
    assert (contents.venues, contents.items, contents.links) == (VENUES, ITEMS, LINKS)
    assert contents.revision == full.revision() == 1


def test_reopen_sees_the_same_data(full, url):
    with open_store(url, create=False) as again:
        assert again.venues() == VENUES and again.revision() == 1 and again.areas() == AREAS


def test_upsert_counts_idempotency_and_revision(full):
    renamed = venue("H1", name="renamed", lon=118.5)
    result = full.write(Batch(venues=[renamed, venue("H9")]))
    assert (result["venues"].created, result["venues"].updated) == (1, 1)
    assert result.revision == 2 == full.revision()
    assert full.venues()[0] == renamed  # updated in place, keeps its position
    assert full.venues()[-1].code == "H9"
    assert len(full.links()) == 3  # an update never cascades to the venue's links
    again = full.write(Batch(venues=[renamed, venue("H9")], items=ITEMS, links=LINKS,
                             areas=AREAS))
    assert again["venues"].unchanged == 2 and again["items"].unchanged == 2
    assert again["links"].unchanged == 3 and again["areas"].unchanged == 3
    assert not again.changed and again.revision == 2 == full.revision()
    moved = full.write(Batch(areas=[Area("D2", "two parts", "POLYGON ((0 0, 1 0, 1 1, 0 0))",
                                         Level.TOWNSHIP)]))
    assert moved["areas"].updated == 1 and moved.revision == 3
    assert full.areas()[1].wkt == "POLYGON ((0 0, 1 0, 1 1, 0 0))"


def test_info_round_trip_and_revision(store):
    info = DatasetInfo(name="宣城", timezone="Asia/Shanghai", calendar=None, country="CN",
                       extra={"source": "x"})
    store.set_info(info)
    assert store.info() == info and store.revision() == 1
    store.set_info(info)
    assert store.revision() == 1
    assert store.read().info == info


def test_replace_links_for_deletes_stale_links(full):
    result = full.write(Batch(links=[Link("H1", "I2", frozenset({W}))],
                              replace_links_for=["H1"]))
    assert result["links"].updated == 1 and result["links"].deleted == 1
    pairs = sorted((k.venue_code, k.item_code) for k in full.links())
    assert pairs == [("B1", "I1"), ("H1", "I2")]


def test_population_append_replace_unchanged(full):
    extra = [PopulationCell(118.9, 31.0, 7.0)]
    assert full.write(Batch(population=extra))["population"].created == 1
    assert len(full.population()) == 3
    replaced = full.write(Batch(population=CELLS, replace_population=True))
    assert replaced["population"].deleted == 3 and replaced["population"].created == 2
    same = full.write(Batch(population=CELLS, replace_population=True))
    assert same["population"].unchanged == 2 and not same.changed
    assert full.population() == CELLS
    emptied = full.write(Batch(replace_population=True))
    assert emptied["population"].deleted == 2 and full.population() == []


def test_failing_batch_rolls_back_everything(full):
    before = state(full)
    batch = Batch(items=[ServiceItem("I3", "new item")],
                  venues=[venue("H2"), venue("H1", name="x")],
                  areas=[Area("D9", "n", "POLYGON ((0 0, 1 0, 1 1, 0 0))")],
                  population=[PopulationCell(1, 1, 1)], info=DatasetInfo(name="changed"),
                  links=[Link("H2", "I3", frozenset({W})), Link("NOPE", "I1", frozenset({W}))])
    with pytest.raises(InvalidParameter, match="constraint") as err:
        full.write(batch)
    assert err.value.invalid_params[0]["name"] == "batch"
    assert state(full) == before


def test_duplicate_keys_in_a_batch_are_refused(full):
    before = state(full)
    with pytest.raises(InvalidParameter, match="venue code 'H2' twice"):
        full.write(Batch(venues=[venue("H2"), venue("H2")]))
    assert state(full) == before


def test_dry_run_rolls_back(full):
    before = state(full)
    result = full.write(Batch(venues=[venue("H5"), venue("H1", name="y")]), dry_run=True)
    assert result.dry_run and result["venues"].created == 1 and result["venues"].updated == 1
    assert result.revision == 1
    assert state(full) == before


def test_connections_per_thread(full):
    results, errors = [], []

    def work():
        try:
            results.append(len(full.venues()) + len(full.links()))
        except StorageUnavailable as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == [7] * 6


def test_closed_store_refuses_use(url):
    s = open_store(url)
    s.close()
    with pytest.raises(StorageUnavailable, match="closed"):
        s.venues()


# ---------------------------------------------------------------------- demo layers

@pytest.fixture(scope="module")
def demo_pair(pg_server, tmp_path_factory):
    """Import the demo layers by import_manifest into SQLite and into PostGIS."""
    path = str(tmp_path_factory.mktemp("pgdemo") / "demo.sqlite")
    url = pg_server.url_for(new_schema())
    reports = {}
    for name, target in (("sqlite", path), ("postgis", url)):
        with open_store(target) as s:
            reports[name] = import_manifest(s, MANIFEST)
    return path, url, reports


def test_import_manifest_gives_the_same_dataset(demo_pair):
    path, url, reports = demo_pair
    assert reports["sqlite"].summary() == reports["postgis"].summary()
    with open_store(path) as lite, open_store(url) as pg:
        assert pg.counts() == lite.counts() and pg.counts()["venues"] > 100
        assert pg.venues() == lite.venues()
        assert pg.items() == lite.items() and pg.links() == lite.links()
        assert pg.areas() == lite.areas() and pg.info() == lite.info()
        assert pg.population() == lite.population()
        assert pg.revision() == lite.revision() == 1
    again = open_store(url)
    try:
        assert not import_manifest(again, MANIFEST).reports[0].created
        assert again.revision() == 1  # importing the same layers again changes nothing
    finally:
        again.close()


def test_import_file_layer_by_layer_same_counts(pg_server, tmp_path):
    layers = MANIFEST.parent
    got = {}
    for name, target in (("sqlite", str(tmp_path / "f.sqlite")),
                         ("postgis", pg_server.url_for(new_schema()))):
        with open_store(target) as s:
            reps = [import_file(s, "items", layers / "items.csv"),
                    import_file(s, "venues", layers / "venues.csv"),
                    import_file(s, "links", layers / "links.csv", dry_run=True),
                    import_file(s, "links", layers / "links.csv"),
                    import_file(s, "areas", layers / "areas.geojson")]
            got[name] = ([(r.what, r.rows, r.created, r.updated, r.unchanged, r.revision,
                           r.dry_run) for r in reps], s.counts())
    assert got["postgis"] == got["sqlite"]
    assert got["postgis"][0][2][2] > 0 and got["postgis"][0][2][-1]  # dry run counted links


def test_st_dwithin_agrees_with_the_index(demo_pair):
    from geosvc.coords import geodesic_distance_m
    from geosvc.index import ServiceIndex
    from geosvc.model import VenueFilter

    every = VenueFilter(include_candidates=True)

    _, url, _ = demo_pair
    with open_store(url) as pg:
        contents = pg.read()
    idx = ServiceIndex.build(contents.venues, contents.items, contents.links,
                             info=contents.info)
    conninfo, schema, _ = split_url(url)
    rng = np.random.default_rng(7)
    lon0, lat0 = float(np.mean(idx.lon)), float(np.mean(idx.lat))
    points = [(lon0, lat0)] + [(lon0 + dx, lat0 + dy) for dx, dy in
                               rng.uniform(-0.05, 0.05, size=(4, 2))]
    with psycopg.connect(conninfo) as conn:
        for lon, lat in points:
            for radius_m in (500.0, 2000.0):
                sql = (f'SELECT code FROM "{schema}".venues WHERE ST_DWithin(geom::geography, '
                       "ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, %s, false)")
                near = {r[0] for r in conn.execute(sql, (lon, lat, radius_m))}
                pos, _ = idx.nearest_k(lon, lat, len(idx), every, max_dist_m=radius_m)
                ours = {idx.venues[p].code for p in pos}
                # PostGIS' sphere radius differs from ours by < 1 mm per km: skip the rim
                dist = geodesic_distance_m(lon, lat, idx.lon, idx.lat)
                rim = {idx.venues[p].code
                       for p in np.flatnonzero(np.abs(dist - radius_m) < 1.0)}
                assert near - rim == ours - rim
                if (lon, lat, radius_m) == (lon0, lat0, 2000.0):
                    assert len(ours) >= 5  # the centre of the city has venues around
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in conn.execute(
            f'EXPLAIN SELECT code FROM "{schema}".venues WHERE ST_DWithin(geom, '
            "ST_SetSRID(ST_MakePoint(24.9, 60.2), 4326), 0.01)"))
    assert "venues_geom" in plan  # the GiST index serves ST_DWithin


# ---------------------------------------------------------------------- PostGIS specifics

def test_tables_are_real_postgis_layers(pg, pg_server):
    conninfo, schema, _ = split_url(pg_server.url_for(pg.schema))
    with psycopg.connect(conninfo) as conn:
        cols = set(conn.execute(
            "SELECT f_table_name, f_geometry_column, type, srid FROM geometry_columns "
            "WHERE f_table_schema = %s", (schema,)).fetchall())
        indexes = {r[0] for r in conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = %s", (schema,))}
        version = conn.execute(f'SELECT value FROM "{schema}".meta '
                               "WHERE key = 'schema_version'").fetchone()[0]
    assert cols == {("venues", "geom", "POINT", 4326), ("areas", "geom", "MULTIPOLYGON", 4326),
                    ("population", "geom", "POINT", 4326),
                    ("population", "cell", "GEOMETRY", 4326)}
    assert any("USING gist (geom)" in i and ".venues " in i for i in indexes)
    assert version == str(SCHEMA_VERSION)


def test_lon_lat_come_from_the_geometry_and_delete_cascades(pg, pg_server):
    pg.write(Batch(venues=VENUES, items=ITEMS, links=LINKS))
    conninfo, schema, _ = split_url(pg_server.url_for(pg.schema))
    with psycopg.connect(conninfo) as conn:  # what QGIS would do: edit the geometry
        conn.execute(f'UPDATE "{schema}".venues SET geom = ST_SetSRID(ST_MakePoint(1.5, 2.5), '
                     "4326) WHERE code = 'K1'")
        conn.execute(f"DELETE FROM \"{schema}\".venues WHERE code = 'H1'")
    got = {v.code: (v.lon, v.lat) for v in pg.venues()}
    assert got["K1"] == (1.5, 2.5) and "H1" not in got
    assert [k.venue_code for k in pg.links()] == ["B1"]


def test_concurrent_reader_sees_old_or_new_never_half(pg_server):
    url = pg_server.url_for(new_schema())
    n = 4000
    big = [venue(f"V{i:05d}", lon=118 + i * 1e-5) for i in range(n)]
    links = [Link(f"V{i:05d}", "I1", frozenset({W})) for i in range(n)]
    writer = open_store(url)
    writer.write(Batch(items=ITEMS))
    reader = open_store(url)
    seen: list[tuple[int, int, int]] = []
    done = threading.Event()

    def read_loop():
        while not done.is_set():
            c = reader.read()
            seen.append((c.revision, len(c.venues), len(c.links)))

    thread = threading.Thread(target=read_loop)
    thread.start()
    try:
        time.sleep(0.05)
        writer.write(Batch(venues=big, links=links))
        time.sleep(0.05)
    finally:
        done.set()
        thread.join()
    c = reader.read()
    seen.append((c.revision, len(c.venues), len(c.links)))
    writer.close()
    reader.close()
    assert set(seen) <= {(1, 0, 0), (2, n, n)}
    assert seen[0] == (1, 0, 0) and seen[-1] == (2, n, n) and len(seen) > 2


def test_concurrent_writers_queue_and_count_every_revision(pg_server):
    url = pg_server.url_for(new_schema())
    open_store(url).close()
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            with open_store(url) as s:
                for j in range(5):
                    s.write(Batch(venues=[venue(f"W{k}-{j}")]))
        except (StorageUnavailable, InvalidParameter) as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open_store(url) as s:
        assert not errors and s.revision() == 20 and s.counts()["venues"] == 20


def test_unreachable_server_names_host_and_db_not_password():
    port = free_port()
    with pytest.raises(StorageUnavailable, match="is unreachable") as err:
        open_store(f"postgresql://ann:hunter2secret@127.0.0.1:{port}/citydb")
    assert f"postgresql://ann@127.0.0.1:{port}/citydb" in err.value.detail
    assert "hunter2secret" not in err.value.detail and err.value.status == 503


def test_wrong_password_is_storage_unavailable(pg_server):
    bad = pg_server.url.replace(PASSWORD, "not-the-password-xyz")
    with pytest.raises(StorageUnavailable, match="password authentication failed") as err:
        open_store(bad)
    assert "not-the-password-xyz" not in err.value.detail
    assert f"127.0.0.1:{pg_server.port}/geosvc_test" in err.value.detail


def test_missing_dataset_without_create_and_newer_schema(pg_server):
    with pytest.raises(StorageUnavailable, match="holds no geosvc dataset"):
        open_store(pg_server.url_for(new_schema()), create=False)
    url = pg_server.url_for(new_schema())
    PostGISStore(url).close()
    conninfo, schema, _ = split_url(url)
    with psycopg.connect(conninfo) as conn:
        conn.execute(f"UPDATE \"{schema}\".meta SET value = '{SCHEMA_VERSION + 1}' "
                     "WHERE key = 'schema_version'")
    with pytest.raises(StorageUnavailable, match="newer"):
        open_store(url)


def test_bad_urls_and_schema_names():
    with pytest.raises(ConfigError, match="schema 'Bad-Name'"):
        open_store("postgresql://u@h/db?schema=Bad-Name")
    with pytest.raises(ConfigError, match="not a valid PostgreSQL URL"):
        open_store("postgresql://u@h/db?nonsense_option=1")


def test_invalid_geometry_is_refused_whole(pg):
    pg.write(Batch(venues=VENUES[:1]))
    before = state(pg)
    with pytest.raises(InvalidParameter, match="area 'X' with invalid WKT"):
        pg.write(Batch(venues=[venue("Z")], areas=[Area("X", "x", "POLYGON ((0 0, 1")]))
    with pytest.raises(InvalidParameter, match="constraint"):
        pg.write(Batch(venues=[venue("Z")], areas=[Area("X", "x", "POINT (1 2)")]))
    with pytest.raises(InvalidParameter, match="constraint"):
        pg.write(Batch(venues=[venue("Z", lon=200.0)]))
    with pytest.raises(InvalidParameter, match="venue 'Z' with a lon/lat that is not a finite"):
        pg.write(Batch(venues=[venue("Z", lat=float("nan"))]))
    assert state(pg) == before


# ---------------------------------------------------------------------- service, CLI

def test_cli_import_and_create_app_healthz(pg_server, demo_pair):
    from geosvc.web import create_app

    url = pg_server.url_for(new_schema())
    result = CliRunner().invoke(main, ["import", "manifest", str(MANIFEST), "--db", url])
    assert result.exit_code == 0, result.output
    with open_store(url) as s:
        n_venues, n_items = s.counts()["venues"], s.counts()["items"]
    assert n_venues == demo_pair[2]["sqlite"].reports[1].rows
    app = create_app({"TESTING": True, "db": url})
    doc = app.test_client().get("/healthz").get_json()
    assert (doc["status"], doc["venues"], doc["items"]) == ("ok", n_venues, n_items)
    assert doc["dataset"] == "Helsinki demo city" and doc["revision"] == 1


def test_geosvc_serve_with_workers_reads_postgis(pg_server, demo_pair, tmp_path):
    _, url, reports = demo_pair
    port = free_port()
    geosvc = str(Path(sys.executable).parent / "geosvc")
    proc = subprocess.Popen([geosvc, "serve", "--db", url, "--port", str(port),
                             "--workers", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline, doc = time.monotonic() + 60, None
        while doc is None and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    doc = json.loads(r.read())
            except OSError:
                time.sleep(0.2)
        assert doc is not None, "no /healthz answer within 60 s"
        assert doc["venues"] == reports["postgis"].reports[1].rows
        for _ in range(4):  # several requests, spread over the forked workers
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/venues?limit=3") as r:
                assert r.status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            out, _ = proc.communicate()
    assert proc.returncode == 0, out
    assert PASSWORD not in out
