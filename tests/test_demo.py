"""The demo city: deterministic build from the real Helsinki extract, and its content."""

from __future__ import annotations

import csv
import filecmp
import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from geosvc.demo import build_demo_layers, demo_layers_dir, demo_osm_path, ensure_demo_db
from geosvc.demo.catalog import CATALOG
from geosvc.errors import ConfigError
from geosvc.hours import hours_problem
from geosvc.model import KIND_CHANNELS, Channel, Scope, VenueKind

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "layers" / "demo"
FILES = ("venues.csv", "items.csv", "links.csv", "areas.geojson", "population.csv",
         "bundles.csv", "manifest.yaml")


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, helsinki_pbf: Path) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("demo-a")
    stats = build_demo_layers(helsinki_pbf, out)
    return out, stats


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def venues(built: tuple[Path, dict]) -> list[dict[str, str]]:
    return _rows(built[0] / "venues.csv")


@pytest.fixture(scope="session")
def items(built: tuple[Path, dict]) -> list[dict[str, str]]:
    return _rows(built[0] / "items.csv")


@pytest.fixture(scope="session")
def links(built: tuple[Path, dict]) -> list[dict[str, str]]:
    return _rows(built[0] / "links.csv")


def test_build_is_byte_identical_on_rerun(built, helsinki_pbf, tmp_path):
    build_demo_layers(helsinki_pbf, tmp_path)
    for name in FILES:
        assert filecmp.cmp(built[0] / name, tmp_path / name, shallow=False), name


def test_committed_layers_are_up_to_date(built):
    stale = [n for n in FILES if not filecmp.cmp(built[0] / n, COMMITTED / n, shallow=False)]
    assert not stale, f"rerun scripts/build_demo.py: {stale} differ"


def test_stats_match_files(built, venues, items, links):
    stats = built[1]
    assert stats["venues"] == len(venues)
    assert stats["items"] == len(items)
    assert stats["links"] == len(links)
    assert stats["by_kind"] == dict(Counter(v["kind"] for v in venues))


def test_venues_cover_all_kinds_and_some_are_always_open(venues):
    assert len(venues) >= 60
    kinds = Counter(v["kind"] for v in venues)
    assert set(kinds) == {"hall", "bank_outlet", "kiosk"}
    assert kinds["hall"] >= 20 and kinds["bank_outlet"] >= 10 and kinds["kiosk"] >= 30
    assert sum(v["opening_hours"] == "24/7" for v in venues) >= 10
    assert any(v["opening_hours"] != "24/7" for v in venues if v["kind"] == "kiosk")
    levels = Counter(v["level"] for v in venues if v["kind"] == "hall")
    assert set(levels) == {"city", "county", "township", "village"}
    assert levels["city"] == 1


def test_venue_fields_are_well_formed(venues):
    codes = [v["code"] for v in venues]
    assert len(set(codes)) == len(codes)
    assert codes == sorted(codes, key=lambda c: ("HBK".index(c[4]), c))
    sources = [v["source"] for v in venues]
    assert len(set(sources)) == len(sources)
    for v in venues:
        assert v["source"].startswith(("osm:node/", "osm:way/", "osm:relation/")), v
        assert v["name"].strip(), v
        assert 24.9 < float(v["lon"]) < 25.0 and 60.1 < float(v["lat"]) < 60.2, v
        assert len(v["lon"].split(".")[1]) == 7
        assert (v["level"] != "") == (v["kind"] == "hall"), v
        channels = {Channel(c) for c in v["channels"].split(";") if c}
        assert channels <= KIND_CHANNELS[VenueKind(v["kind"])], v
        assert v["official_calendar"] == ("false" if v["kind"] == "kiosk" else "true")
        for flag in ("accessible", "cross_province", "regional"):
            assert v[flag] in {"true", "false"}


def test_every_opening_hours_parses(venues):
    bad = {v["code"]: hours_problem(v["opening_hours"]) for v in venues}
    assert {k: p for k, p in bad.items() if p} == {}


def test_real_osm_hours_are_kept_and_kiosks_keep_their_hosts_hours(venues):
    by_source = {v["source"]: v for v in venues}
    # Nordea Pankki Hakaniemi carries opening_hours=Mo-Fr 10:00-16:30 in OSM
    assert by_source["osm:node/495761527"]["opening_hours"] == "Mo-Fr 10:00-16:30"
    # the town hall has no tag: the documented city-hall default
    assert by_source["osm:way/24337154"]["opening_hours"] == "Mo-Fr 08:00-16:15; PH off"
    # its 7x24 self-service area is open 24/7
    assert by_source["osm:way/24337154#social"]["opening_hours"] == "24/7"
    # a terminal inside a library keeps the library's OSM hours
    library = by_source["osm:node/1380779190"]
    assert library["opening_hours"].startswith("Mo-Th 09:00-20:00")
    assert by_source["osm:node/1380779190#general"]["opening_hours"] == library[
        "opening_hours"]


def _allowed_host(tags: dict[str, str]) -> bool:
    """OSM tags a kiosk's host may carry (the demo's placement rules, restated)."""
    return (tags.get("amenity") in {"townhall", "library", "community_centre", "police"}
            or tags.get("office") == "tax" or tags.get("government") == "tax"
            or tags.get("building") == "train_station"
            or (tags.get("railway") == "station" and tags.get("station") != "subway")
            or tags.get("shop") == "mall")


def _machine(tags: dict[str, str]) -> bool:
    return ("parking_tickets" in tags.get("vending", "")
            or tags.get("amenity", "").startswith("parking")
            or tags.get("amenity") in {"atm", "vending_machine", "ticket_validator",
                                       "parcel_locker", "luggage_locker", "tickets"})


@pytest.fixture(scope="session")
def extract_tags(helsinki_pbf: Path) -> dict[str, dict[str, str]]:
    """Tags of every venue candidate and kiosk host of the extract, by source."""
    from geosvc.demo._osm import read_kiosk_hosts
    from geosvc.importer.osm_venues import read_features

    pois, buildings = read_features(helsinki_pbf)
    tags: dict[str, dict[str, str]] = {}
    for f in [*pois, *buildings, *read_kiosk_hosts(helsinki_pbf)]:
        tags.setdefault(f.source, {}).update(f.tags)
    return tags


def test_kiosks_are_government_terminals_at_allowed_osm_features(venues, extract_tags):
    from geosvc.demo._rules import TERMINALS

    kiosks = [v for v in venues if v["kind"] == "kiosk"]
    assert 30 <= len(kiosks) <= 60
    parking = {s for s, t in extract_tags.items() if _machine(t)}
    assert len(parking) >= 80  # the extract's machines are there, and left out
    labels = {t.zh: key for key, t in TERMINALS.items()}
    for v in kiosks:
        host, _, terminal = v["source"].partition("#")
        assert host in extract_tags, v
        assert host not in parking and not _machine(extract_tags[host]), v
        assert _allowed_host(extract_tags[host]), (v, extract_tags[host])
        label, _, place = v["name"].partition("（")
        assert labels.get(label) == terminal, v
        assert place.rstrip("）").startswith(extract_tags[host]["name"]), v
        assert int(v["machines"]) >= 1 and v["channels"] == "self_service", v
        assert v["opening_hours"] == "24/7" or "7×24" not in v["name"], v
    assert {v["source"].partition("#")[2] for v in kiosks} == set(TERMINALS)
    sources = {v["source"] for v in venues}
    assert not sources & parking


def test_kiosk_selection_on_the_extract(helsinki_pbf, extract_tags):
    from geosvc.demo._osm import read_kiosk_hosts
    from geosvc.demo._rules import DEMO_ROLES, KIOSK_SITES, host_role, kiosk_drafts
    from geosvc.importer.osm_venues import classify, dedupe_halls, read_features

    pois, buildings = read_features(helsinki_pbf)
    halls = [d for d in dedupe_halls(classify([*pois, *buildings], roles=DEMO_ROLES))
             if d.kind is VenueKind.HALL]
    everything = [*pois, *buildings]
    # the selection given every feature of the extract still picks only the allowed hosts
    placed = kiosk_drafts(halls, [*everything, *read_kiosk_hosts(helsinki_pbf)])
    roles = Counter(site.role for _, site, _ in placed)
    assert len({d.source for d, _, _ in placed}) == len(placed)
    assert set(roles) <= set(KIOSK_SITES)
    assert roles["townhall"] == len(KIOSK_SITES["townhall"].terminals)
    assert roles["station"] == len(KIOSK_SITES["station"].terminals)  # one station
    assert roles["mall"] >= 4 and roles["library"] >= 5
    for draft, _, machines in placed:
        assert machines >= 1
        assert _allowed_host(dict(draft.feature.tags)), draft
        assert not _machine(dict(draft.feature.tags)), draft
    assert not any(host_role(f) for f in everything if _machine(dict(f.tags)))


def test_kiosk_links_follow_their_terminal_type(venues, links):
    from geosvc.demo._rules import SPECIAL_MACHINES

    kiosk_terminal = {v["code"]: v["source"].partition("#")[2]
                      for v in venues if v["kind"] == "kiosk"}
    handled: dict[str, set[str]] = {}
    for link in links:
        if link["venue_code"] in kiosk_terminal:
            assert link["channels"] == "self_service", link
            handled.setdefault(link["venue_code"], set()).add(link["item_code"])
    by_code = {c.item.code: c for c in CATALOG}
    for code, terminal in kiosk_terminal.items():
        items = handled[code]
        assert all(by_code[i].self_service for i in items), code
        depts = {i.split("-")[0] for i in items}
        if terminal == "social":
            assert {"RS-01", "RS-02", "RS-04", "YB-01"} <= items and depts == {"RS", "YB"}
        elif terminal == "general":
            assert not items & set(SPECIAL_MACHINES) and len(items) >= 30
        elif terminal == "fund":
            assert depts == {"GJJ"}
        elif terminal == "tax":
            assert depts == {"SW"}
        elif terminal == "public_security":
            assert depts == {"GA", "CRJ", "JJ"} and {"CRJ-02", "JJ-04"} <= items
        else:
            assert terminal == "print" and all(by_code[i].locker for i in items)


def test_social_security_cards_come_from_halls_and_social_terminals(venues, links):
    by_code = {v["code"]: v for v in venues}
    at = {by_code[link["venue_code"]]["kind"] for link in links if link["item_code"] == "RS-01"}
    assert at == {"hall", "kiosk"}
    for link in links:
        v = by_code[link["venue_code"]]
        if link["item_code"] == "RS-01" and v["kind"] == "kiosk":
            assert v["source"].endswith("#social") and v["name"].startswith("社保自助服务终端")
    teller_items = {c.item.code for c in CATALOG if c.smart_teller or c.payment}
    assert "RS-01" not in teller_items and {"RS-03", "GJJ-07", "JJ-02"} <= teller_items
    for link in links:
        if "smart_teller" in link["channels"]:
            assert link["item_code"] in teller_items, link


def test_tax_office_handles_the_tax_items(venues, links):
    tax = next(v for v in venues if v["source"] == "osm:node/6262954048")
    assert tax["level"] == "county"
    handled = {link["item_code"] for link in links if link["venue_code"] == tax["code"]}
    assert handled == {c.item.code for c in CATALOG if c.item.code.startswith("SW-")}
    city = next(v for v in venues if v["level"] == "city")
    other_county = [v["code"] for v in venues
                    if v["level"] == "county" and v["code"] != tax["code"]]
    sw05 = {link["venue_code"] for link in links if link["item_code"] == "SW-05"}
    assert sw05 == {tax["code"], city["code"]}
    assert not sw05 & set(other_county)


def test_banks_split_into_service_points_and_candidates(venues, links):
    banks = [v for v in venues if v["kind"] == "bank_outlet"]
    candidates = {v["code"] for v in banks if not v["channels"]}
    assert 3 <= len(candidates) <= len(banks) - 3
    linked = {link["venue_code"] for link in links}
    assert not candidates & linked
    assert {v["code"] for v in banks if v["channels"]} <= linked


def test_items_catalog(items):
    assert len(items) >= 60
    assert 15 <= sum(i["high_frequency"] == "true" for i in items) <= 25
    assert {i["scope"] for i in items} == {s.value for s in Scope}
    assert {i["category"] for i in items} == {"person", "business"}
    assert len({i["code"] for i in items}) == len(items)
    assert all(i["name"] and i["name_en"] and i["department"] for i in items)
    by_name = {i["name"]: i for i in items}
    assert by_name["社会保障卡申领"]["scope"] == "cross_province"
    assert by_name["户口迁移"]["scope"] == "county"
    assert sum(c.bank_window for c in CATALOG) == pytest.approx(30, abs=5)


def test_links_reference_known_rows_and_offered_channels(venues, items, links):
    venue_channels = {v["code"]: set(v["channels"].split(";")) - {""} for v in venues}
    item_codes = {i["code"] for i in items}
    pairs = set()
    for link in links:
        assert link["venue_code"] in venue_channels, link
        assert link["item_code"] in item_codes, link
        channels = set(link["channels"].split(";"))
        assert channels and channels <= venue_channels[link["venue_code"]], link
        pairs.add((link["venue_code"], link["item_code"]))
    assert len(pairs) == len(links)


def test_channel_rules(venues, items, links):
    per_venue = Counter(link["venue_code"] for link in links)
    city = next(v for v in venues if v["level"] == "city")
    assert per_venue[city["code"]] == len(items)
    for v in venues:
        if v["channels"]:
            assert per_venue[v["code"]] >= 1, v
    township = [per_venue[v["code"]] for v in venues if v["level"] == "township"]
    village = [per_venue[v["code"]] for v in venues if v["level"] == "village"]
    assert max(village) < min(township) < per_venue[city["code"]]


def test_every_venue_lies_in_an_area(built, venues):
    doc = json.loads((built[0] / "areas.geojson").read_text(encoding="utf-8"))
    areas = {f["properties"]["code"]: f["properties"]["name"] for f in doc["features"]}
    assert len(areas) == 6
    assert all(f["properties"]["level"] == "county" for f in doc["features"])
    for v in venues:
        assert areas.get(v["area_code"]) == v["area_name"], v
    assert len({v["area_code"] for v in venues}) >= 5


def test_manifest_declares_helsinki_time_and_no_calendar(built):
    manifest = yaml.safe_load((built[0] / "manifest.yaml").read_text(encoding="utf-8"))
    assert manifest["dataset"] == {"name": "Helsinki demo city", "timezone": "Europe/Helsinki",
                                   "calendar": None, "country": "FI"}
    whats = [layer["what"] for layer in manifest["layers"]]
    assert whats == ["items", "venues", "links", "areas", "population", "bundles"]
    for layer in manifest["layers"]:
        assert (built[0] / layer["path"]).is_file()


def test_demo_paths(monkeypatch, tmp_path, helsinki_pbf):
    assert demo_osm_path() == helsinki_pbf
    monkeypatch.delenv("GEOSVC_DEMO_LAYERS", raising=False)
    assert demo_layers_dir() == COMMITTED
    (tmp_path / "manifest.yaml").write_text("layers: []\n", encoding="utf-8")
    monkeypatch.setenv("GEOSVC_DEMO_LAYERS", str(tmp_path))
    assert demo_layers_dir() == tmp_path


def test_build_refuses_a_missing_extract(tmp_path):
    with pytest.raises(ConfigError, match="osm_path"):
        build_demo_layers(tmp_path / "nope.osm.pbf", tmp_path / "out")


def test_ensure_demo_db_reads_back_the_layers(demo_db):
    from geosvc.store import open_store

    assert demo_db.is_file()
    assert [p.name for p in demo_db.parent.iterdir() if p.name.startswith(".")] == []
    store = open_store(str(demo_db), create=False)
    try:
        counts = (len(store.venues()), len(store.items()), len(store.links()),
                  len(store.areas()), len(store.population()))
        info = store.info()
    finally:
        store.close()
    names = ("venues.csv", "items.csv", "links.csv")
    expected = tuple(len(_rows(COMMITTED / n)) for n in names)
    assert counts == (*expected, 6, len(_rows(COMMITTED / "population.csv")))
    assert (info.timezone, info.calendar, info.country) == ("Europe/Helsinki", None, "FI")


def test_ensure_demo_db_keeps_an_existing_db_unless_asked(demo_db, tmp_path):
    before = demo_db.read_bytes()
    assert ensure_demo_db(demo_db) == demo_db
    assert demo_db.read_bytes() == before
    db = tmp_path / "again.sqlite"
    db.write_bytes(b"not a database")
    ensure_demo_db(db, rebuild=True)
    assert db.read_bytes().startswith(b"SQLite format 3")


def test_ensure_demo_db_leaves_nothing_behind_when_the_import_fails(monkeypatch, tmp_path):
    from geosvc.errors import ImportRejected

    layers = tmp_path / "layers"
    layers.mkdir()
    for name in FILES:
        (layers / name).write_bytes((COMMITTED / name).read_bytes())
    text = (layers / "venues.csv").read_text(encoding="utf-8")
    (layers / "venues.csv").write_text(text.replace(",24.9", ",999.9", 1), encoding="utf-8")
    monkeypatch.setenv("GEOSVC_DEMO_LAYERS", str(layers))
    out = tmp_path / "db"
    with pytest.raises(ImportRejected):
        ensure_demo_db(out / "demo.sqlite")
    assert list(out.iterdir()) == []


@pytest.fixture(scope="session")
def population(built: tuple[Path, dict]) -> list[dict[str, str]]:
    return _rows(built[0] / "population.csv")


@pytest.fixture(scope="session")
def estimate(helsinki_pbf: Path) -> list:
    from geosvc.analysis.demand import estimate_population_from_osm

    return estimate_population_from_osm(helsinki_pbf)


def test_population_layer_is_the_building_estimate(built, population, estimate):
    assert len(population) >= 50
    assert list(population[0]) == ["code", "lon", "lat", "count"]
    total = sum(float(r["count"]) for r in population)
    assert total > 1000
    assert total == pytest.approx(sum(c.count for c in estimate), abs=0.01)
    assert built[1]["population_cells"] == len(population) == len(estimate)
    assert built[1]["population_total"] == pytest.approx(total, abs=0.01)
    assert [r["code"] for r in population] == [c.code for c in estimate]
    for row in population:
        assert row["code"].startswith(("osm:way/", "osm:relation/")), row
        assert float(row["count"]) > 0, row
        assert len(row["count"].split(".")[1]) == 2
        assert len(row["lon"].split(".")[1]) == 7
        assert 24.9 < float(row["lon"]) < 25.0 and 60.1 < float(row["lat"]) < 60.2, row


def test_area_populations_add_up_to_the_cells_inside(built, population):
    import shapely

    doc = json.loads((built[0] / "areas.geojson").read_text(encoding="utf-8"))
    inside = {}
    for f in doc["features"]:
        poly = shapely.geometry.shape(f["geometry"])
        inside[f["properties"]["code"]] = sum(
            float(r["count"]) for r in population
            if poly.covers(shapely.Point(float(r["lon"]), float(r["lat"]))))
    stated = {f["properties"]["code"]: f["properties"]["population"] for f in doc["features"]}
    assert stated == pytest.approx(inside, abs=0.02)
    assert sum(stated.values()) == pytest.approx(
        sum(float(r["count"]) for r in population), abs=0.05)
    assert sum(v > 0 for v in stated.values()) >= 4


def test_demo_db_has_the_population_cells(demo_db, estimate):
    from geosvc.store import open_store

    store = open_store(str(demo_db), create=False)
    try:
        cells = store.population()
        areas = store.areas()
    finally:
        store.close()
    assert len(cells) == len(estimate) > 0
    total = sum(c.count for c in cells)
    assert total > 0
    assert total == pytest.approx(sum(c.count for c in estimate), abs=0.01)
    assert {c.code for c in cells} == {c.code for c in estimate}
    assert all(a.population is not None for a in areas)
    assert sum(a.population for a in areas) == pytest.approx(
        sum(c.count for c in cells), abs=0.05)
