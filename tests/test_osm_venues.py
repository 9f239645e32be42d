"""`geosvc import osm-venues`: starter venues from an OSM extract (Chinese naming rules)."""

from __future__ import annotations

import bz2
import csv
import gzip
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from geosvc.cli import main
from geosvc.errors import InvalidParameter
from geosvc.importer.osm_venues import (
    OsmFeature,
    classify,
    import_osm_venues,
    level_from_name,
    osm_venue_rows,
    venue_code,
)
from geosvc.model import Level, VenueKind
from geosvc.store import open_store

EXTRACT = Path(__file__).parent / "data" / "osm" / "venues_cn.osm"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args: object):
    return runner.invoke(main, ["import", *map(str, args)])


@pytest.fixture(scope="module")
def rows() -> dict[str, dict[str, str]]:
    return {r["code"]: r for r in osm_venue_rows(EXTRACT).rows}


@pytest.mark.parametrize(("name", "level"), [
    ("杭州市人民政府", Level.CITY),
    ("北京市海淀区人民政府", Level.COUNTY),
    ("西湖区政务服务中心", Level.COUNTY),
    ("临安县人民政府", Level.COUNTY),
    ("鄂托克旗人民政府", Level.COUNTY),
    ("阿里地区行政公署政务服务中心", Level.CITY),
    ("延边朝鲜族自治州人民政府", Level.CITY),
    ("北山街道办事处", Level.TOWNSHIP),
    ("转塘镇人民政府", Level.TOWNSHIP),
    ("双浦乡政府", Level.TOWNSHIP),
    ("三墩镇便民服务中心", Level.TOWNSHIP),
    ("龙井村民委员会", Level.VILLAGE),
    ("翠苑社区居委会", Level.VILLAGE),
    ("文新街道翠苑社区居民委员会", Level.VILLAGE),
    ("人民政府", None),
    ("Helsingin kaupungintalo", None),
    (None, None),
])
def test_level_from_name(name: str | None, level: Level | None) -> None:
    assert level_from_name(name) is level


@pytest.mark.parametrize(("tags", "level"), [
    ({"admin_level": "4"}, Level.CITY),
    ({"admin_level": "6", "name": "义乌市人民政府"}, Level.COUNTY),
    ({"admin_level": "8"}, Level.TOWNSHIP),
    ({"admin_level": "10"}, Level.VILLAGE),
    ({"townhall:type": "village"}, Level.VILLAGE),
    ({"name": "西湖区人民政府"}, Level.COUNTY),
    ({}, Level.CITY),  # the townhall rule's own level
])
def test_admin_tags_win_over_the_name_and_the_rule(tags: dict[str, str],
                                                   level: Level) -> None:
    feature = OsmFeature("node", 1, 120.0, 30.0, {"amenity": "townhall", **tags})
    (draft,) = classify([feature])
    assert draft.kind is VenueKind.HALL and draft.level is level


def test_chinese_pois_become_halls_bank_outlets_and_kiosks(rows) -> None:
    got = {code: (r["kind"], r["level"]) for code, r in rows.items()}
    assert got == {
        "OSM-N1": ("hall", "city"),          # 杭州市人民政府
        "OSM-N2": ("hall", "county"),        # 西湖区人民政府 (office=government)
        "OSM-N3": ("hall", "village"),       # 龙井村民委员会
        "OSM-N4": ("hall", "village"),       # 翠苑社区居委会 (community_centre)
        "OSM-N5": ("hall", "county"),        # 西湖区政务服务中心
        "OSM-N6": ("hall", "county"),        # 义乌市人民政府, admin_level=6
        "OSM-N7": ("hall", "township"),      # 转塘镇人民政府
        "OSM-N8": ("bank_outlet", ""),       # 中国银行
        "OSM-N9": ("kiosk", ""),             # ATM
        "OSM-N11": ("kiosk", ""),            # 政务服务自助终端
        "OSM-N12": ("kiosk", ""),            # vending=government_services
        "OSM-N14": ("kiosk", ""),            # parking ticket machine
        "OSM-W10": ("hall", "township"),     # 北山街道办事处 (polygon; node 16 merged)
        "OSM-R20": ("hall", "county"),       # 拱墅区人民政府 (multipolygon)
    }
    assert list(rows) == ["OSM-N1", "OSM-N2", "OSM-N3", "OSM-N4", "OSM-N5", "OSM-N6",
                          "OSM-N7", "OSM-N8", "OSM-N9", "OSM-N11", "OSM-N12", "OSM-N14",
                          "OSM-W10", "OSM-R20"]


def test_rows_carry_source_channels_names_and_positions(rows) -> None:
    assert rows["OSM-N1"]["source"] == "osm:node/1"
    assert rows["OSM-W10"]["source"] == "osm:way/10"
    assert rows["OSM-R20"]["source"] == "osm:relation/20"
    assert rows["OSM-N1"]["name_en"] == "Hangzhou Municipal Government"
    assert rows["OSM-N2"]["accessible"] == "true"
    assert [rows[c]["channels"] for c in ("OSM-N1", "OSM-N8", "OSM-N9")] == [
        "window", "", "self_service"]
    assert rows["OSM-N8"]["bank"] == "中国银行"
    assert rows["OSM-N9"]["name"] == "自动柜员机（中国工商银行） 文三路"
    assert rows["OSM-N9"]["bank"] == "中国工商银行"
    assert rows["OSM-N5"]["address"] == "文三路100号"
    # a way is its ring's inside point, a relation its member ring's
    assert 120.145 < float(rows["OSM-W10"]["lon"]) < 120.146
    assert 30.255 < float(rows["OSM-W10"]["lat"]) < 30.256
    assert 120.140 < float(rows["OSM-R20"]["lon"]) < 120.142
    assert rows["OSM-N9"]["official_calendar"] == "false"
    assert rows["OSM-N1"]["official_calendar"] == "true"


def test_opening_hours_valid_kept_invalid_dropped_and_counted(rows) -> None:
    assert rows["OSM-N5"]["opening_hours"] == "Mo-Fr 09:00-12:00,13:30-17:00; PH off"
    assert rows["OSM-N8"]["opening_hours"] == ""          # invalid tag: unknown
    assert rows["OSM-N14"]["opening_hours"] == ""         # parking: charging period
    layer = osm_venue_rows(EXTRACT)
    assert layer.stats["hours_tag_invalid"] == 1
    assert layer.bad_hours == ["osm:node/8: 'Mo-Fr 25:00-26:00'"]


def test_venue_code_is_stable() -> None:
    assert venue_code(OsmFeature("node", 123, 0, 0)) == "OSM-N123"
    assert venue_code(OsmFeature("way", 45, 0, 0)) == "OSM-W45"
    assert venue_code(OsmFeature("relation", 6, 0, 0)) == "OSM-R6"


@pytest.mark.parametrize("suffix", [".osm.gz", ".osm.bz2", ".osm.xml"])
def test_compressed_and_renamed_extracts_read_the_same(tmp_path: Path, rows,
                                                       suffix: str) -> None:
    target = tmp_path / f"city{suffix}"
    data = EXTRACT.read_bytes()
    if suffix.endswith(".gz"):
        target.write_bytes(gzip.compress(data))
    elif suffix.endswith(".bz2"):
        target.write_bytes(bz2.compress(data))
    else:
        shutil.copy(EXTRACT, target)
    assert [r["code"] for r in osm_venue_rows(target).rows] == list(rows)


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("missing.osm", None, "does not exist"),
    ("city.shp", b"x", "is not an OSM extract"),
    ("broken.osm", b"<osm><node id='1' lat='30' lon='120'>", "cannot be read as OSM XML"),
    ("empty.osm", b"<osm/>", "holds no OSM node, way or relation"),
    ("bad.osm.gz", b"not gzip", "cannot be read as OSM XML"),
    ("bad.osm.pbf", b"\xff" * 4096, "cannot be read as .osm.pbf"),
])
def test_a_bad_extract_names_its_path(tmp_path: Path, name: str, content: bytes | None,
                                      reason: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InvalidParameter, match=reason) as err:
        osm_venue_rows(path)
    assert str(path) in err.value.detail and "`extract`" in err.value.detail


def test_cli_imports_reports_and_is_idempotent(runner: CliRunner, tmp_path: Path) -> None:
    db = tmp_path / "city.sqlite"
    res = run(runner, "osm-venues", EXTRACT, "--db", db)
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == (
        "osm-venues: 14 rows, 14 created, 0 updated, 0 unchanged (9 hall, 1 bank_outlet, "
        "4 kiosk; 1 bank outlet(s) without a channel stored as planning candidates)")
    assert "1 invalid opening_hours tag(s) dropped" in res.stderr
    assert "osm:node/8: 'Mo-Fr 25:00-26:00'" in res.stderr
    with open_store(str(db), create=False) as store:
        venues = {v.code: v for v in store.venues()}
    assert venues["OSM-N3"].level is Level.VILLAGE
    assert venues["OSM-N8"].is_candidate
    assert venues["OSM-N1"].source == "osm:node/1"
    res = run(runner, "osm-venues", EXTRACT, "--db", db)
    assert res.stdout.startswith("osm-venues: 14 rows, 0 created, 0 updated, 14 unchanged")


def test_cli_dry_run_and_out_csv_round_trip(runner: CliRunner, tmp_path: Path) -> None:
    db, out = tmp_path / "city.sqlite", tmp_path / "venues.csv"
    res = run(runner, "osm-venues", EXTRACT, "--db", db, "--dry-run", "--out", out)
    assert res.exit_code == 0, res.output
    assert res.stdout.strip().endswith("(dry run, nothing written)")
    with open_store(str(db)) as store:
        assert store.venues() == []
    with out.open(encoding="utf-8", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 14
    # the CSV is an ordinary venues file: importing it then the extract changes nothing
    assert run(runner, "venues", out, "--db", db).exit_code == 0
    res = run(runner, "osm-venues", EXTRACT, "--db", db)
    assert "0 created, 0 updated, 14 unchanged" in res.stdout


def test_a_bureau_file_replaces_starter_venues(runner: CliRunner, tmp_path: Path) -> None:
    db = tmp_path / "city.sqlite"
    bureau = tmp_path / "bureau.csv"
    bureau.write_text(
        "code,name,kind,lon,lat,channels,source\n"
        # same code: takes the starter's place (another source = the bureau's row now)
        "OSM-N8,中国银行西湖支行,bank_outlet,120.14,30.2605,window,bureau-2024\n"
        # own code, same source: the OSM object is the bureau's
        "ATM-77,工商银行ATM,kiosk,120.141,30.261,,osm:node/9\n",
        encoding="utf-8")
    assert run(runner, "venues", bureau, "--db", db).exit_code == 0
    res = run(runner, "osm-venues", EXTRACT, "--db", db)
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("osm-venues: 14 rows, 12 created, 0 updated, 0 unchanged")
    assert "1 OSM object(s) skipped" in res.stderr
    assert "1 starter code(s) left as another file set them" in res.stderr
    with open_store(str(db), create=False) as store:
        venues = {v.code: v for v in store.venues()}
    assert "OSM-N9" not in venues
    assert venues["OSM-N8"].name == "中国银行西湖支行" and not venues["OSM-N8"].is_candidate


def test_a_stored_starter_claimed_later_is_reported_as_a_duplicate(tmp_path: Path) -> None:
    db = str(tmp_path / "city.sqlite")
    with open_store(db) as store:
        import_osm_venues(store, EXTRACT)
    bureau = tmp_path / "bureau.csv"
    bureau.write_text("code,name,kind,lon,lat,source\n"
                      "ATM-77,工商银行ATM,kiosk,120.141,30.261,osm:node/9\n", encoding="utf-8")
    runner = CliRunner()
    assert run(runner, "venues", bureau, "--db", db).exit_code == 0
    res = run(runner, "osm-venues", EXTRACT, "--db", db)
    assert "OSM-N9 = ATM-77" in res.stderr


@pytest.mark.parametrize("extra", [["--crs", "gcj02"], ["--id-field", "ID"], ["--append"]])
def test_cli_refuses_options_that_do_not_apply(runner: CliRunner, tmp_path: Path,
                                               extra: list[str]) -> None:
    res = run(runner, "osm-venues", EXTRACT, "--db", tmp_path / "db.sqlite", *extra)
    assert res.exit_code == 2 and "do not apply to osm-venues" in res.output


def test_cli_out_only_for_osm_venues(runner: CliRunner, tmp_path: Path) -> None:
    res = run(runner, "venues", EXTRACT, "--db", tmp_path / "db.sqlite",
              "--out", tmp_path / "x.csv")
    assert res.exit_code == 2 and "--out applies only to osm-venues" in res.output


def test_cli_bad_extract_exits_1_naming_the_path(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "city.osm"
    bad.write_text("<osm><node", encoding="utf-8")
    res = run(runner, "osm-venues", bad, "--db", tmp_path / "db.sqlite")
    assert res.exit_code == 1
    assert str(bad) in res.output and "cannot be read as OSM XML" in res.output


def test_a_pbf_extract_gives_the_demo_citys_venues(helsinki_pbf: Path) -> None:
    """The demo's halls and bank outlets follow the same rules: same objects, kinds, levels.

    Its kiosks do not: the starter's kiosks are the extract's machines (ATMs,
    parking and ticket machines), which the demo leaves out; it places
    government terminals at halls, stations and shopping centres instead.
    """
    rows = osm_venue_rows(helsinki_pbf).rows
    starter = {r["source"]: (r["kind"], r["level"]) for r in rows if r["kind"] != "kiosk"}
    machines = {r["source"] for r in rows if r["kind"] == "kiosk"}
    demo_csv = Path(__file__).resolve().parent.parent / "layers" / "demo" / "venues.csv"
    with demo_csv.open(encoding="utf-8", newline="") as fh:
        demo_rows = list(csv.DictReader(fh))
    demo = {r["source"]: (r["kind"], r["level"]) for r in demo_rows if r["kind"] != "kiosk"}
    assert starter == demo
    kiosk_hosts = {r["source"].partition("#")[0] for r in demo_rows if r["kind"] == "kiosk"}
    assert len(machines) >= 100 and not kiosk_hosts & machines
