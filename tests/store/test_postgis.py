"""The PostGIS store against a real PostgreSQL server: what only PostGIS has.

The session fixture ``pg_server`` (``conftest.py``) starts a throw-away
PostgreSQL + PostGIS server from the Debian packages (see
``postgis_server.py``); each test gets its own dataset (a PostgreSQL schema,
``?schema=...``).  The contract every backend shares is
``test_store_contract.py`` (and ``test_migrations.py``); here are the PostGIS
layers, SQL access, servers and logins, and SQLite/PostGIS agreement on the
demo city.  Missing binaries FAIL the tests (run scripts/install_system_deps.sh).
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
from pathlib import Path

import numpy as np
import psycopg
import pytest
from click.testing import CliRunner

from geosvc import vocab
from geosvc.cli import main
from geosvc.errors import ConfigError, InvalidParameter, StorageUnavailable
from geosvc.importer import import_file, import_manifest
from geosvc.model import Area
from geosvc.store import Batch, open_store
from geosvc.store.migrations import SCHEMA_VERSION
from geosvc.store.postgis import split_url

from .harness import new_schema
from .postgis_server import PASSWORD, ServerUnavailable, check_postgis, free_port
from .records import ITEMS, LINKS, VENUES, state, venue

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "layers" / "demo" / "manifest.yaml"


def test_missing_postgis_fails_with_the_install_hint(tmp_path):
    with pytest.raises(ServerUnavailable, match="install_system_deps.sh"):
        check_postgis(tmp_path / "99" / "bin")


@pytest.fixture
def pg(pg_server):
    """Open a fresh PostGIS store."""
    with open_store(pg_server.url_for(new_schema())) as s:
        yield s


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
        assert pg.counts() == lite.counts() and pg.counts()["venues"] > 60
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


def test_both_stores_read_equal_columns(demo_pair):
    """SQLite and PostGIS hand over equal venue and link columns of the demo city."""
    from geosvc.table import LinkTable, VenueTable

    path, url, _ = demo_pair
    with open_store(path) as lite, open_store(url) as pg:
        a, b = lite.read(), pg.read()
        assert isinstance(b.venues, VenueTable) and isinstance(b.links, LinkTable)
        assert b.venues == a.venues and b.links == a.links  # column by column
        assert list(b.venues) == pg.venues() and list(b.links) == pg.links()


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


def test_missing_dataset_without_create(pg_server):
    with pytest.raises(StorageUnavailable, match="holds no geosvc dataset"):
        open_store(pg_server.url_for(new_schema()), create=False)


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


def test_venue_kind_references_the_vocabulary_table(pg, pg_server):
    """Migration 2: ``venues.kind`` is a foreign key to ``venue_kinds``, no CHECK list left."""
    pg.write(Batch(venues=VENUES[:1]))
    conninfo, schema, _ = split_url(pg_server.url_for(pg.schema))
    with psycopg.connect(conninfo) as conn:
        defs = {name: d for name, d in conn.execute(
            "SELECT conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
            "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = 'venues'",
            (schema,))}
        kinds = [r[0] for r in conn.execute(f'SELECT code FROM "{schema}".venue_kinds')]
        applied = conn.execute(f'SELECT pg_typeof(applied_at)::text FROM "{schema}".'
                               "schema_migrations WHERE number = %s",
                               (SCHEMA_VERSION,)).fetchone()[0]
    fkey = f"FOREIGN KEY (kind) REFERENCES {schema}.venue_kinds(code)"
    assert defs["venues_kind_fkey"] == fkey
    assert not any("hall" in d for d in defs.values())
    assert sorted(kinds) == sorted(vocab.KINDS.codes())
    assert applied == "timestamp with time zone"
