"""Bring your own city: bureau files imported as they are (--map/--set, aliases, settings).

The files are made here and look like the ones city data offices send: a
GeoJSON of bank branches with traditional-Chinese properties and no name
column, a GCJ-02 Excel sheet with simplified-Chinese headers, a manifest
with ``fields:``/``set:``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from geosvc.cli import main
from geosvc.coords import to_wgs84
from geosvc.errors import ImportRejected, InvalidParameter
from geosvc.importer import import_file, import_manifest, load_manifest, mapping_of
from geosvc.importer._fields import header_renames
from geosvc.model import Channel, Level, VenueKind
from geosvc.store import open_store
from geosvc.web import create_app

BANK_PROPS = ("ID", "銀行牌子", "18區", "sub區", "我們的分類", "地址")
BANKS = [
    ("HK-B-001", "中國銀行", "灣仔區", "灣仔", "銀行", "灣仔道1號", 114.1733, 22.2783),
    ("HK-B-002", "匯豐銀行", "中西區", "中環", "銀行", "皇后大道中1號", 114.1588, 22.2801),
    ("HK-B-003", "恒生銀行", "油尖旺區", None, "銀行", "彌敦道83號", 114.1722, 22.2988),
]
MAP_ARGS = ("--map", "code=ID", "--map", "name={銀行牌子} {sub區}",
            "--set", "kind=bank_outlet", "--set", "channels=window")


def bank_geojson(path: Path, rows=BANKS) -> Path:
    """Write a bureau-style FeatureCollection of bank branches (no name column)."""
    features = [{"type": "Feature",
                 "properties": dict(zip(BANK_PROPS, row[:6], strict=True)),
                 "geometry": {"type": "Point", "coordinates": list(row[6:])}}
                for row in rows]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               ensure_ascii=False), encoding="utf-8")
    return path


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def state(db: Path):
    with open_store(str(db)) as store:
        return store.counts(), store.revision(), store.venues(), store.info()


# --------------------------------------------------------------------------- --map / --set


def test_bureau_geojson_in_one_command(tmp_path):
    """Traditional-Chinese properties, no name column: --map/--set, one command."""
    db = tmp_path / "hk.sqlite"
    res = run("import", "venues", bank_geojson(tmp_path / "銀行.geojson"), "--db", db,
              *MAP_ARGS)
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == ("venues: 3 rows, 3 created, 0 updated, 0 unchanged; "
                                  "status: 3 in_service")
    assert "ignored unknown column(s) 18區, 我們的分類" in res.stderr
    with open_store(str(db)) as store:
        venues = {v.code: v for v in store.venues()}
    assert [venues[c].name for c in ("HK-B-001", "HK-B-002", "HK-B-003")] == [
        "中國銀行 灣仔", "匯豐銀行 中環", "恒生銀行"]
    one = venues["HK-B-001"]
    assert one.kind is VenueKind.BANK_OUTLET and one.channels == {Channel.WINDOW}
    assert one.address == "灣仔道1號"  # 地址: built-in alias
    assert (one.lon, one.lat) == (114.1733, 22.2783)


def test_dry_run_prints_the_mapping_and_first_rows(tmp_path):
    db = tmp_path / "hk.sqlite"
    res = run("import", "venues", bank_geojson(tmp_path / "b.geojson"), "--db", db,
              *MAP_ARGS, "--dry-run")
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0] == "mapping of venues:"
    assert "  code     <- column 'ID' (--map)" in lines
    assert "  name     <- template '{銀行牌子} {sub區}' (--map)" in lines
    assert "  kind     <- value 'bank_outlet' (--set)" in lines
    assert "  address  <- column '地址' (built-in alias)" in lines
    assert "first 3 row(s) mapped:" in lines
    assert any(line.startswith("  row 1: code='HK-B-001', name='中國銀行 灣仔', "
                               "kind='bank_outlet'") for line in lines)
    assert lines[-1] == ("venues: 3 rows, 3 created, 0 updated, 0 unchanged; "
                         "status: 3 in_service (dry run, nothing written)")
    assert state(db)[0]["venues"] == 0


@pytest.mark.parametrize(("args", "message"), [
    (("--map", "code=ID", "--map", "name={銀行牌子} {分行}"),
     "`--map` unknown source column '分行' (for name); the file's columns: ID, 銀行牌子, "
     "18區, sub區, 我們的分類, 地址, lon, lat"),
    (("--map", "code=Id", "--map", "name=Branch"),
     "`--map` unknown source column 'Branch' (for name)"),
    (("--map", "nom=ID"), "`--map` unknown target column 'nom' for venues; one of code, name"),
    (("--map", "code"), "`--map` must be TARGET=SOURCE, e.g. code=ID (got 'code')"),
    (("--map", "name={銀行牌子"), "`--map` template '{銀行牌子' must name columns in braces"),
    (("--map", "code=ID", "--set", "code=X"), "`--set` maps 'code' twice (also --map)"),
    (("--set", "colour=red"), "`--set` unknown target column 'colour' for venues"),
    (("--map", "code=ID", "--id-field", "ID"), "--id-field and --map code=... cannot be used"),
])
def test_bad_mappings_exit_2_naming_the_option(tmp_path, args, message):
    db = tmp_path / "hk.sqlite"
    res = run("import", "venues", bank_geojson(tmp_path / "b.geojson"), "--db", db, *args)
    assert res.exit_code == 2, res.output
    assert message in res.stderr
    assert not db.exists() or state(db)[0]["venues"] == 0


def test_map_matches_a_source_case_insensitively_and_an_alias_target(tmp_path):
    db = tmp_path / "hk.sqlite"
    res = run("import", "venues", bank_geojson(tmp_path / "b.geojson"), "--db", db,
              "--map", "編碼=id", "--map", "名稱={銀行牌子}", "--set", "類型=銀行網點")
    assert res.exit_code == 0, res.output
    assert sorted(v.name for v in state(db)[2]) == ["中國銀行", "匯豐銀行", "恒生銀行"]


def test_bad_rows_with_a_mapping_write_nothing_and_are_all_reported(tmp_path):
    rows = [BANKS[0], ("HK-B-002", None, "中西區", None, "銀行", "x", 114.15, 95.0),
            ("HK B 3", "恒生銀行", "油尖旺區", "旺角", "銀行", "y", 114.17, 22.29)]
    path = bank_geojson(tmp_path / "b.geojson", rows)
    db = tmp_path / "hk.sqlite"
    run("import", "venues", bank_geojson(tmp_path / "ok.geojson"), "--db", db, *MAP_ARGS)
    before = state(db)
    res = run("import", "venues", path, "--db", db, *MAP_ARGS)
    assert res.exit_code == 1
    lines = res.stderr.strip().splitlines()
    assert lines[:-1] == [
        "row 2, field name: is required [from template '{銀行牌子} {sub區}' (--map)]",
        "row 2, field lat: must be between -90 and 90 (got 95.0)",
        "row 3, field code: must not contain space (got 'HK B 3') [from column 'ID' (--map)]",
    ]
    assert "3 problem(s); nothing was written" in lines[-1]
    assert state(db) == before


def test_a_bad_constant_is_reported_on_every_row(tmp_path):
    with open_store(str(tmp_path / "db.sqlite")) as store:
        mapping = mapping_of("venues", fields={"code": "ID", "name": "銀行牌子"},
                             constants={"kind": "bank", "channels": "window"})
        with pytest.raises(ImportRejected) as err:
            import_file(store, "venues", bank_geojson(tmp_path / "b.geojson"),
                        mapping=mapping)
        assert [(p.row, p.field) for p in err.value.problems] == [
            (1, "kind"), (2, "kind"), (3, "kind")]
        assert err.value.problems[0].reason.endswith("[from value 'bank' (set)]")
        assert store.counts()["venues"] == 0


def test_gcj02_excel_sheet_with_simplified_headers(tmp_path):
    """A bureau's .xlsx: simplified-Chinese headers, GCJ-02 coordinates (Amap)."""
    import openpyxl  # lazy: optional test dependency

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["编号", "名称", "类型", "经度", "纬度", "层级", "渠道", "详细地址", "联系电话",
               "办公时间", "备注"])
    ws.append(["XC-001", "宣州区政务服务中心", "大厅", 118.7589, 30.9460, "县", "窗口、自助",
               "宣城市宣州区鳌峰中路", 5632000000, "Mo-Fr 09:00-17:00", "新址"])
    ws.append(["XC-002", "鳌峰街道便民服务中心", "便民服务中心", 118.7650, 30.9521, "街道",
               None, None, None, None, None])
    ws.append(["XC-003", "24小时自助服务站", "自助终端", 118.7612, 30.9488, None, None,
               None, None, "24/7", None])
    path = tmp_path / "政务服务场所.xlsx"
    wb.save(path)
    db = tmp_path / "xc.sqlite"
    res = run("import", "venues", path, "--db", db, "--crs", "gcj02", "--dry-run")
    assert res.exit_code == 0, res.output
    assert "  code          <- column '编号' (built-in alias)" in res.stdout.splitlines()
    res = run("import", "venues", path, "--db", db, "--crs", "gcj02")
    assert res.exit_code == 0, res.output
    assert "ignored unknown column(s) 备注" in res.stderr
    venues = {v.code: v for v in state(db)[2]}
    hall = venues["XC-001"]
    assert hall.kind is VenueKind.HALL and hall.level is Level.COUNTY
    assert hall.channels == {Channel.WINDOW, Channel.SELF_SERVICE}
    assert hall.address == "宣城市宣州区鳌峰中路" and hall.phone == "5632000000"
    assert hall.opening_hours == "Mo-Fr 09:00-17:00"
    lon, lat = to_wgs84(118.7589, 30.9460, "gcj02")
    assert (hall.lon, hall.lat) == pytest.approx((float(lon), float(lat)), abs=1e-7)
    assert abs(hall.lon - 118.7589) > 1e-3  # really shifted
    assert venues["XC-002"].level is Level.TOWNSHIP
    assert venues["XC-003"].kind is VenueKind.KIOSK


# --------------------------------------------------------------------------- manifests


MANIFEST = """\
dataset: {name: 香港, timezone: Asia/Hong_Kong, calendar: null, country: HK}
layers:
  - name: banks
    what: venues
    path: 銀行.geojson
    fields: {code: ID, name: "{銀行牌子} {sub區}"}
    set: {kind: bank_outlet, channels: window}
"""


def test_manifest_with_fields_and_set(tmp_path):
    bank_geojson(tmp_path / "銀行.geojson")
    path = tmp_path / "manifest.yaml"
    path.write_text(MANIFEST, encoding="utf-8")
    with open_store(str(tmp_path / "db.sqlite")) as store:
        report = import_manifest(store, path, dry_run=True)
        assert report.reports[0].mappings[0].layer == "banks"
        assert report.reports[0].mappings[0].preview[0][1]["name"] == "中國銀行 灣仔"
        report = import_manifest(store, path)
        assert report.reports[0].created == 3
        names = {v.name for v in store.venues()}
        assert names == {"中國銀行 灣仔", "匯豐銀行 中環", "恒生銀行"}
        info = store.info()
        assert (info.name, info.timezone, info.calendar, info.country) == (
            "香港", "Asia/Hong_Kong", None, "HK")


def test_manifest_mapping_errors(tmp_path):
    bank_geojson(tmp_path / "銀行.geojson")
    path = tmp_path / "manifest.yaml"
    path.write_text(MANIFEST.replace("{code: ID,", "{kode: ID,"), encoding="utf-8")
    with pytest.raises(InvalidParameter) as err:
        load_manifest(path)
    assert [p["name"] for p in err.value.invalid_params] == ["layers[1].fields.kode"]
    path.write_text(MANIFEST.replace("{sub區}", "{分行}"), encoding="utf-8")
    with open_store(str(tmp_path / "db.sqlite")) as store, \
            pytest.raises(ImportRejected) as rejected:
        import_manifest(store, path)
    problem = rejected.value.problems[0]
    assert (problem.row, problem.field) == (0, "banks:fields.name")
    assert "unknown source column '分行'" in problem.reason


# --------------------------------------------------------------------------- header aliases


def test_header_aliases_are_per_layer_and_never_take_a_present_column():
    assert header_renames(["人口", "經度", "緯度"], "population") == {
        "人口": "count", "經度": "lon", "緯度": "lat"}
    assert header_renames(["代碼", "名稱", "人口", "wkt"], "areas") == {
        "代碼": "code", "名稱": "name", "人口": "population", "wkt": "geometry"}
    # a column present under its own name keeps it; the alias stays as it is
    assert header_renames(["名称", "name", "网点名称"], "venues") == {
        "名称": "名称", "name": "name", "网点名称": "网点名称"}
    # of two aliases the first wins
    assert header_renames(["Longitude", "lng"], "venues") == {"Longitude": "lon", "lng": "lng"}


# --------------------------------------------------------------------------- dataset settings


def test_import_stores_settings_and_a_plain_import_keeps_them(tmp_path):
    db = tmp_path / "hk.sqlite"
    path = bank_geojson(tmp_path / "b.geojson")
    res = run("import", "venues", path, "--db", db, *MAP_ARGS, "--timezone", "Asia/Hong_Kong",
              "--calendar", "none", "--country", "hk")
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[-1] == (
        "dataset settings: timezone Asia/Hong_Kong, calendar none, country HK")
    info = state(db)[3]
    assert (info.timezone, info.calendar, info.country) == ("Asia/Hong_Kong", None, "HK")
    bank_geojson(path, [(*BANKS[0][:1], "中銀", *BANKS[0][2:])])
    res = run("import", "venues", path, "--db", db, *MAP_ARGS)
    assert res.exit_code == 0 and "1 updated" in res.stdout
    assert state(db)[3] == info  # not reset to Asia/Shanghai / cn / CN


def test_a_manifest_dataset_entry_changes_only_what_it_names(tmp_path):
    bank_geojson(tmp_path / "銀行.geojson")
    path = tmp_path / "manifest.yaml"
    path.write_text(MANIFEST.replace(
        "{name: 香港, timezone: Asia/Hong_Kong, calendar: null, country: HK}", "{name: 香港}"),
        encoding="utf-8")
    db = tmp_path / "db.sqlite"
    assert run("dataset", "show", "--db", db).exit_code == 1  # no dataset yet
    run("import", "venues", tmp_path / "銀行.geojson", "--db", db, *MAP_ARGS,
        "--timezone", "Asia/Macau", "--calendar", "none")
    res = run("import", "manifest", path, "--db", db, "--country", "MO")
    assert res.exit_code == 0, res.output
    info = state(db)[3]
    assert (info.name, info.timezone, info.calendar, info.country) == (
        "香港", "Asia/Macau", None, "MO")


@pytest.mark.parametrize(("args", "option"), [
    (("--timezone", "Mars/Olympus"), "--timezone"),
    (("--calendar", "jp"), "--calendar"),
    (("--country", "China"), "--country"),
])
def test_bad_settings_exit_2_naming_the_option(tmp_path, args, option):
    db = tmp_path / "db.sqlite"
    res = run("import", "venues", bank_geojson(tmp_path / "b.geojson"), "--db", db,
              *MAP_ARGS, *args)
    assert res.exit_code == 2
    assert f"Invalid value for '{option}'" in res.stderr
    assert not db.exists()
    res = run("dataset", "set", "--db", db, *args)
    assert res.exit_code == 2 and f"'{option}'" in res.stderr


def test_dataset_show_and_set(tmp_path):
    db = tmp_path / "db.sqlite"
    run("import", "venues", bank_geojson(tmp_path / "b.geojson"), "--db", db, *MAP_ARGS)
    res = run("dataset", "show", "--db", db)
    assert res.exit_code == 0
    from geosvc.hours import get_calendar

    ends = get_calendar("cn").last_day.isoformat()  # the installed chinese-calendar's
    assert res.stdout.splitlines() == ["name: geosvc", "timezone: Asia/Shanghai",
                                       "calendar: cn", "country: CN",
                                       f"holiday data ends: {ends}", "revision: 1"]
    res = run("dataset", "set", "--db", db, "--timezone", "Asia/Hong_Kong", "--calendar",
              "none", "--dry-run")
    assert res.exit_code == 0 and "settings changed (dry run, nothing written)" in res.stdout
    assert state(db)[3].timezone == "Asia/Shanghai"
    res = run("dataset", "set", "--db", db, "--name", "香港", "--timezone", "Asia/Hong_Kong",
              "--calendar", "none", "--country", "HK")
    assert res.exit_code == 0 and res.stdout.splitlines()[-1] == "settings changed"
    doc = json.loads(run("dataset", "show", "--db", db, "--json").stdout)
    assert doc == {"name": "香港", "timezone": "Asia/Hong_Kong", "calendar": None,
                   "country": "HK", "announced_holidays": None, "calendar_ends": None,
                   "revision": 2}
    res = run("dataset", "set", "--db", db, "--country", "hk")
    assert res.stdout.splitlines()[-1] == "settings unchanged"
    assert run("dataset", "set", "--db", db).exit_code == 2


def test_healthz_shows_the_settings(tmp_path):
    db = tmp_path / "db.sqlite"
    run("import", "venues", bank_geojson(tmp_path / "b.geojson"), "--db", db, *MAP_ARGS,
        "--timezone", "Asia/Hong_Kong", "--calendar", "none", "--country", "HK")
    app = create_app({"TESTING": True, "db": str(db), "osm": None})
    doc = app.test_client().get("/healthz").get_json()
    assert (doc["timezone"], doc["calendar"], doc["country"]) == ("Asia/Hong_Kong", None, "HK")
