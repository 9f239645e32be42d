"""The importer: every format, every rejection path, all-or-nothing, idempotence, manifests."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from geosvc.coords import to_wgs84
from geosvc.errors import ImportRejected, InvalidParameter
from geosvc.importer import import_file, import_manifest, load_manifest, read_table
from geosvc.model import Category, Channel, Level, Scope, VenueKind
from geosvc.store import open_store

DATA = Path(__file__).parent / "data" / "import"
W, S, T = Channel.WINDOW, Channel.SELF_SERVICE, Channel.SMART_TELLER

VENUE_HEAD = "code,name,kind,lon,lat,level,channels,opening_hours,accessible,machines\n"
GOOD_VENUE = "V1,Hall,hall,118.76,30.94,city,window,Mo-Fr 09:00-17:00,true,\n"


@pytest.fixture
def store(tmp_path):
    with open_store(str(tmp_path / "db.sqlite")) as s:
        yield s


@pytest.fixture
def loaded(store):
    import_file(store, "items", DATA / "items.csv")
    import_file(store, "venues", DATA / "venues.csv")
    return store


def state(store):
    return (store.counts(), store.revision(), store.venues(), store.items(), store.links(),
            store.areas(), store.population(), store.info())


def write(tmp_path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rejected(store, what, path, **kw) -> list[tuple[int, str, str]]:
    before = state(store)
    with pytest.raises(ImportRejected) as err:
        import_file(store, what, path, **kw)
    assert state(store) == before, "a rejected import changed the store"
    assert "nothing was written" in err.value.detail
    return [(p.row, p.field, p.reason) for p in err.value.problems]


# --------------------------------------------------------------------------- happy paths


def test_csv_items_and_venues(store):
    items = import_file(store, "items", DATA / "items.csv")
    assert (items.rows, items.created, items.updated) == (3, 3, 0)
    by_code = {i.code: i for i in store.items()}
    assert by_code["SB-01"].category is Category.PERSON and by_code["SB-01"].high_frequency
    assert by_code["GS-01"].category is Category.BUSINESS and by_code["GS-01"].scope is Scope.COUNTY
    report = import_file(store, "venues", DATA / "venues.csv")
    assert report.summary() == ("venues: 4 rows, 4 created, 0 updated, 0 unchanged; "
                                "status: 3 in_service, 1 candidate")
    assert report.warnings == (
        "1 bank outlet without a channel stored as a planning candidate (status=candidate); "
        "give channels=window,... to make it a service point (or status=candidate to keep "
        "it so without this warning)",)
    v = {x.code: x for x in store.venues()}
    hall = v["XC-H-001"]
    assert hall.kind is VenueKind.HALL and hall.level is Level.CITY
    assert hall.channels == {W, S} and hall.accessible and hall.cross_province
    assert hall.opening_hours.startswith("Mo-Fr 09:00-12:00,13:00-17:00")
    assert (hall.lon, hall.lat) == (118.7587, 30.9401) and hall.phone == "0563-1234567"
    bank = v["XC-B-001"]
    assert bank.channels == {W, S, T} and bank.machines == 2 and bank.bank == "ICBC"
    assert bank.level is Level.COUNTY
    kiosk = v["XC-K-001"]
    assert kiosk.kind is VenueKind.KIOSK and kiosk.channels == {S}  # default for a kiosk
    assert not kiosk.official_calendar and kiosk.accessible and kiosk.machines == 5
    assert v["XC-B-002"].is_candidate  # a bank outlet with no channel yet


def test_geojson_venues_and_areas(store):
    report = import_file(store, "venues", DATA / "venues.geojson")
    assert report.created == 2
    v = {x.code: x for x in store.venues()}
    assert v["GJ-1"].kind is VenueKind.HALL and v["GJ-1"].level is Level.COUNTY
    assert v["GJ-1"].channels == {W, S} and v["GJ-1"].machines == 3 and v["GJ-1"].accessible
    assert (v["GJ-2"].lon, v["GJ-2"].lat) == (118.58, 30.069)
    areas = import_file(store, "areas", DATA / "areas.geojson")
    assert areas.created == 2
    a = {x.code: x for x in store.areas()}
    assert a["XC-D1"].level is Level.COUNTY and a["XC-D1"].population == 5000
    assert a["XC-D1"].wkt.startswith("POLYGON ((118.7 30.9")
    assert a["XC-D2"].wkt.startswith("MULTIPOLYGON") and a["XC-D2"].population is None


def test_xlsx_venues_with_native_cell_types(store, tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Code", "Name", "Kind", "经度", "纬度", "Level", "Channels", "Accessible",
               "Machines", "Phone"])
    ws.append([1001, "市政务服务中心", "大厅", 118.76, 30.94, "市", "窗口、自助", True, None,
               5631234567])
    ws.append([None, None, None, None, None, None, None, None, None, None])  # blank line
    ws.append([1003.0, "自助终端", "kiosk", 118.77, 30.95, None, None, False, 4.0, None])
    ws.append([None] * 10)  # trailing rows Excel keeps
    path = tmp_path / "venues.xlsx"
    wb.save(path)
    report = import_file(store, "venues", path)
    assert (report.rows, report.created) == (2, 2)
    v = {x.code: x for x in store.venues()}
    assert set(v) == {"1001", "1003"}
    assert v["1001"].channels == {W, S} and v["1001"].accessible and v["1001"].phone == "5631234567"
    assert v["1003"].machines == 4 and not v["1003"].accessible
    # A bad value in the fifth data row is reported as row 5 (spreadsheet line 6).
    ws.append(["1005", "bad", "hall", 118.0, 95.5, "city", None, None, None, None])
    wb.save(path)
    problems = rejected(store, "venues", path)
    assert problems == [(5, "lat", "must be between -90 and 90 (got 95.5)")]


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_shifted_coordinates_are_stored_as_wgs84(store, crs):
    import_file(store, "venues", DATA / "venues.csv", crs=crs)
    import_file(store, "population", DATA / "population.csv", crs=crs)
    import_file(store, "areas", DATA / "areas.geojson", crs=crs)
    got = {v.code: (v.lon, v.lat) for v in store.venues()}
    for row in read_table(DATA / "venues.csv"):
        want = to_wgs84(float(row["lon"]), float(row["lat"]), crs)
        assert got[row["code"]] == pytest.approx(want, abs=1e-9)
        assert math.dist(got[row["code"]], (float(row["lon"]), float(row["lat"]))) > 1e-4
    cell = store.population()[0]
    assert (cell.lon, cell.lat) == pytest.approx(to_wgs84(118.760, 30.941, crs), abs=1e-9)
    import shapely

    area = shapely.from_wkt(store.areas()[0].wkt)
    corner = to_wgs84(118.70, 30.90, crs)
    assert area.exterior.coords[0] == pytest.approx(corner, abs=1e-9)


def test_links_default_channels_and_chinese_labels(loaded):
    report = import_file(loaded, "links", DATA / "links.csv")
    assert report.created == 5
    links = {(k.venue_code, k.item_code): k.channels for k in loaded.links()}
    assert links[("XC-H-001", "SB-02")] == {W, S}  # empty -> every channel of the venue
    assert links[("XC-H-001", "GS-01")] == {W}
    assert links[("XC-B-001", "SB-01")] == {T}


def test_population_points_and_polygons(store, tmp_path):
    report = import_file(store, "population", DATA / "population.csv")
    assert report.created == 3
    assert [c.count for c in store.population()] == [1200, 800.5, 0]
    poly = write(tmp_path, "cells.csv",
                 'code,geometry,count\nG1,"POLYGON ((118 30, 118.01 30, 118.01 30.01, 118 30.01, 118 30))",40\n')
    again = import_file(store, "population", poly)  # replaces the layer by default
    assert (again.created, again.deleted) == (1, 3)
    (cell,) = store.population()
    assert (cell.lon, cell.lat) == pytest.approx((118.005, 30.005)) and cell.wkt.startswith("POLYGON")
    import_file(store, "population", DATA / "population.csv", append_population=True)
    assert len(store.population()) == 4


# --------------------------------------------------------------------------- all or nothing


def test_every_bad_row_is_reported_and_nothing_written(loaded):
    problems = rejected(loaded, "venues", DATA / "bad_venues.csv")
    fields = {(row, field) for row, field, _ in problems}
    assert fields == {
        (2, "level"), (3, "channels"), (4, "name"), (4, "lat"), (5, "code"), (6, "lon"),
        (7, "opening_hours"), (7, "accessible"), (7, "machines"),
        (8, "kind"), (8, "lon"), (8, "level"), (8, "channels"),
    }
    reasons = {(row, field): reason for row, field, reason in problems}
    assert reasons[(4, "lat")] == "must be between -90 and 90 (got 91.2)"
    assert reasons[(5, "code")] == "duplicate venue code 'V1' (also on row 1)"
    assert "looks like a missing coordinate" in reasons[(6, "lon")]
    assert "kiosk can only offer self_service" in reasons[(3, "channels")]
    assert "hall, bank_outlet, kiosk" in reasons[(8, "kind")]
    assert reasons[(7, "machines")] == "must be at least 0 (got -1)"
    assert "opening_hours syntax" in reasons[(7, "opening_hours")]


@pytest.mark.parametrize(
    ("what", "text", "row", "field", "reason"),
    [
        ("venues", "code,name,kind,lon\nV1,x,hall,1\n", 0, "lat", "column is missing"),
        ("venues", VENUE_HEAD + "V1,Hall,hall,nan,30,city,,,,\n", 1, "lon", "finite"),
        ("venues", VENUE_HEAD + "V1,Hall,hall,181,30,city,,,,\n", 1, "lon", "between -180 and 180"),
        ("venues", VENUE_HEAD + "V 1,Hall,hall,118,30,city,,,,\n", 1, "code", "must not contain space"),
        ("venues", VENUE_HEAD + "V/1,Hall,hall,118,30,city,,,,\n", 1, "code", "must not contain /"),
        ("venues", VENUE_HEAD + "V1,Hall,hall,118,30,city,fax,,,\n", 1, "channels", "unknown channel"),
        ("venues", VENUE_HEAD + "V1,Hall,hall,118,30,city,smart_teller,,,\n", 1, "channels",
         "a hall can only offer self_service, window"),
        ("venues", VENUE_HEAD + "V1,Hall,hall,118,30,city,,,,2.5\n", 1, "machines", "whole number"),
        ("venues", VENUE_HEAD + ",Hall,hall,118,30,city,,,,\n", 1, "code", "is required"),
        ("items", "code,name,category\nI1,x,citizen\n", 1, "category", "person, business"),
        ("items", "code,name,scope\nI1,x,everywhere\n", 1, "scope", "cross_province"),
        ("items", "code,name\nI1,\n", 1, "name", "is required"),
        ("items", "code,name\nI1,a\nI1,b\n", 2, "code", "also on row 1"),
        ("links", "venue_code,item_code\nNOPE,SB-01\n", 1, "venue_code", "unknown venue 'NOPE'"),
        ("links", "venue_code,item_code\nXC-H-001,NOPE\n", 1, "item_code", "unknown item 'NOPE'"),
        ("links", "venue_code,item_code,channels\nXC-K-001,SB-01,window\n", 1, "channels",
         "does not offer window (it offers self_service)"),
        ("links", "venue_code,item_code\nXC-B-002,SB-01\n", 1, "channels", "offers no government channel"),
        ("links", "venue_code,item_code\nXC-H-001,SB-01\nXC-H-001,SB-01\n", 2, "item_code",
         "duplicate link"),
        ("population", "lon,lat,count\n118,30,-5\n", 1, "count", "at least 0"),
        ("population", "lon,lat,count\n118,30,\n", 1, "count", "is required"),
        ("population", "code,count\nP1,5\n", 0, "lon", "needs lon and lat"),
        ("areas", "code,name,geometry\nA1,x,POLYGON ((0 0, 1\n", 1, "geometry", "not valid WKT"),
        ("areas", "code,name,geometry\nA1,x,POINT (118 30)\n", 1, "geometry", "Polygon or MultiPolygon"),
        ("areas", 'code,name,geometry\nA1,x,"POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))"\n', 1, "geometry",
         "Self-intersection"),
        ("areas", "code,name,geometry\nA1,x,\n", 1, "geometry", "is required"),
        ("areas", 'code,name,geometry\nA1,x,"POLYGON ((500000 0, 500001 0, 500001 1, 500000 0))"\n',
         1, "geometry", "projected CRS"),
    ],
)
def test_rejections(loaded, tmp_path, what, text, row, field, reason):
    path = write(tmp_path, f"{what}.csv", text)
    problems = rejected(loaded, what, path)
    assert any(r == row and f == field and reason in why for r, f, why in problems), problems


def test_bad_geojson_geometry_is_a_row_problem(store, tmp_path):
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "A1", "name": "x"},
         "geometry": {"type": "Polygon", "coordinates": "nonsense"}}]}
    path = write(tmp_path, "areas.geojson", json.dumps(doc))
    problems = rejected(store, "areas", path)
    assert problems[0][:2] == (1, "geometry") and "GeoJSON" in problems[0][2]


def test_dry_run_writes_nothing(loaded):
    before = state(loaded)
    report = import_file(loaded, "links", DATA / "links.csv", dry_run=True)
    assert report.dry_run and report.created == 5
    assert report.summary().endswith("(dry run, nothing written)")
    assert state(loaded) == before


def test_reimport_is_idempotent(loaded):
    before = state(loaded)
    again = import_file(loaded, "venues", DATA / "venues.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert state(loaded) == before


def test_upsert_updates_a_changed_name_and_keeps_links(loaded, tmp_path):
    import_file(loaded, "links", DATA / "links.csv")
    text = (DATA / "venues.csv").read_text(encoding="utf-8").replace("宣城市政务服务中心", "新名字")
    report = import_file(loaded, "venues", write(tmp_path, "v.csv", text))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 3)
    assert next(v for v in loaded.venues() if v.code == "XC-H-001").name == "新名字"
    assert len(loaded.links()) == 5


def test_replace_links(loaded, tmp_path):
    import_file(loaded, "links", DATA / "links.csv")
    path = write(tmp_path, "l.csv", "venue_code,item_code\nXC-H-001,SB-01\n")
    report = import_file(loaded, "links", path, replace_links=True)
    assert report.deleted == 2 and report.updated == 1  # empty channels = all of the venue's
    assert len(loaded.links()) == 3
    with pytest.raises(InvalidParameter, match="replace_links"):
        import_file(loaded, "venues", DATA / "venues.csv", replace_links=True)


def test_unknown_columns_are_reported_not_fatal(store, tmp_path):
    path = write(tmp_path, "i.csv", "code,name,colour\nI1,x,red\n")
    assert import_file(store, "items", path).ignored_columns == ("colour",)


def test_id_field(store, tmp_path):
    path = write(tmp_path, "i.csv", "item_id,name\nI1,x\n")
    import_file(store, "items", path, id_field="item_id")
    assert [i.code for i in store.items()] == ["I1"]


# --------------------------------------------------------------------------- reading files


def test_read_table_formats_and_errors(tmp_path):
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffcode,name\nA,甲\n".encode())
    assert read_table(bom) == [{"code": "A", "name": "甲"}]
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("code,name\nA,政务服务中心\n".encode("gb18030"))
    with pytest.raises(InvalidParameter, match="gb18030"):
        read_table(gbk)
    assert read_table(gbk, encoding="gb18030")[0]["name"] == "政务服务中心"
    semi = write(tmp_path, "semi.csv", "code;name\nA;x\n")
    with pytest.raises(InvalidParameter, match="not comma-separated"):
        read_table(semi)
    with pytest.raises(InvalidParameter, match="does not exist"):
        read_table(tmp_path / "missing.csv")
    with pytest.raises(InvalidParameter, match="unknown extension '.xls'.*xlsx"):
        read_table(write(tmp_path, "old.xls", "x"))
    with pytest.raises(InvalidParameter, match="not valid JSON"):
        read_table(write(tmp_path, "bad.geojson", "{"))
    with pytest.raises(InvalidParameter, match="FeatureCollection"):
        read_table(write(tmp_path, "pt.geojson", '{"type": "Point", "coordinates": [1, 2]}'))
    with pytest.raises(InvalidParameter, match="not a readable .xlsx"):
        read_table(write(tmp_path, "fake.xlsx", "not a zip"))
    with pytest.raises(InvalidParameter, match="twice"):
        read_table(write(tmp_path, "dup.csv", "code,code\n1,2\n"))


def test_blank_csv_lines_keep_row_numbers(store, tmp_path):
    path = write(tmp_path, "v.csv", VENUE_HEAD + GOOD_VENUE + ",,,,,,,,,\n"
                 + "V3,Hall,hall,118,95,city,,,,\n")
    assert rejected(store, "venues", path) == [(3, "lat", "must be between -90 and 90 (got 95)")]


# --------------------------------------------------------------------------- manifests


def make_manifest(tmp_path, layers: str, dataset: str = "") -> Path:
    for name in ("items.csv", "venues.csv", "links.csv", "areas.geojson", "population.csv"):
        shutil.copy(DATA / name, tmp_path / name)
    return write(tmp_path, "manifest.yaml", dataset + "layers:\n" + layers)


LAYERS = """\
  - {name: links, what: links, path: links.csv}
  - {name: venues, what: venues, path: venues.csv, crs: wgs84, id_field: code}
  - {name: items, what: items, path: items.csv}
  - {name: areas, what: areas, path: areas.geojson}
  - {name: people, what: population, path: population.csv}
"""
DATASET = "dataset: {name: 宣城, timezone: Asia/Shanghai, calendar: cn, country: CN}\n"


def test_manifest_imports_everything_in_dependency_order(store, tmp_path):
    path = make_manifest(tmp_path, LAYERS, DATASET)
    report = import_manifest(store, path)
    assert [r.what for r in report.reports] == ["items", "venues", "links", "areas", "population"]
    assert store.counts() == {"items": 3, "venues": 4, "links": 5, "areas": 2, "population": 3,
                              "bundles": 0}
    assert store.info().name == "宣城" and store.info().calendar == "cn"
    assert report.revision == store.revision() == 1
    again = import_manifest(store, path)
    assert all(r.created == 0 and r.updated == 0 for r in again.reports)
    assert store.revision() == 1


def test_manifest_with_one_bad_layer_writes_nothing(store, tmp_path):
    path = make_manifest(tmp_path, LAYERS, DATASET)
    (tmp_path / "links.csv").write_text("venue_code,item_code\nXC-H-001,SB-01\nGHOST,SB-01\n",
                                        encoding="utf-8")
    before = state(store)
    with pytest.raises(ImportRejected) as err:
        import_manifest(store, path)
    assert [(p.row, p.field) for p in err.value.problems] == [(2, "links:venue_code")]
    assert state(store) == before


def test_manifest_structure_errors_name_every_entry(tmp_path):
    path = make_manifest(
        tmp_path,
        "  - {what: shops, path: items.csv}\n  - {what: venues, path: nope.csv, crs: utm}\n",
        "dataset: {timezone: Mars/Olympus, calendar: jp}\n",
    )
    with pytest.raises(InvalidParameter) as err:
        load_manifest(path)
    names = [p["name"] for p in err.value.invalid_params]
    assert names == ["dataset.timezone", "dataset.calendar", "layers[1].what", "layers[2].path",
                     "layers[2].crs"]


def test_demo_manifest_validates(store):
    demo = Path(__file__).resolve().parent.parent / "layers" / "demo" / "manifest.yaml"
    report = import_manifest(store, demo, dry_run=True)
    assert report.dry_run and sum(r.created for r in report.reports) > 0
    assert store.counts()["venues"] == 0
