"""Renderers on plain data: escaping, local assets, GCJ-02 shift, the report files."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import folium
import pytest
from folium.plugins import HeatMap, MarkerCluster

from geosvc.errors import InvalidParameter
from geosvc.render.base import page_html
from geosvc.render.coverage_map import coverage_map, isochrones_map
from geosvc.render.i18n import Prefs
from geosvc.render.popup import venue_popup_html
from geosvc.render.report import report_tables, write_report
from geosvc.render.tiles import BASEMAPS, parse_tiles, shift_geojson
from geosvc.render.venues_map import venues_map
from tests.render.coverage_data import CURVES, X, Y, coverage_result, square

HOSTILE = "<img src=x onerror=alert(1)>"


def _fc(name: str = HOSTILE) -> dict:
    return {"type": "FeatureCollection", "features": [{
        "type": "Feature", "id": "V1", "geometry": {"type": "Point", "coordinates": [X, Y]},
        "properties": {"name": name, "kind": "kiosk", "opening_hours": "24/7", "open": True,
                       "address": "</script><script>alert(2)</script>",
                       "channels": ["self_service"]},
    }]}


def test_popup_escapes_every_data_text() -> None:
    items = [{"code": "I", "name": "<b>x</b>${y}", "channels": ["window"]}]
    html = venue_popup_html(_fc()["features"][0]["properties"], X, Y, items=items)
    assert "<img" not in html and "<script" not in html and "<b>x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;b&gt;x&lt;/b&gt;${y}" in html
    html_en = venue_popup_html(_fc()["features"][0]["properties"], X, Y, items=items,
                               prefs=Prefs("en"))
    assert "<img" not in html_en and "<script" not in html_en and "<b>x" not in html_en
    assert "&lt;b&gt;x&lt;/b&gt;${y}" in html_en


@pytest.mark.parametrize(("lang", "says", "not_says"), [
    ("zh", ["类型", "自助服务终端", "全天 24 小时开放", "营业中", "可办事项", "高德导航"],
     ["Kind", "open now", "Amap directions", "24/7"]),
    ("en", ["Kind", "Self-service kiosk", "open 24 hours, every day", "open now",
            "Items handled here", "Amap directions"],
     ["类型", "营业中", "可办事项", "高德导航", "24/7"]),
])
def test_popup_speaks_one_language(lang: str, says: list[str], not_says: list[str]) -> None:
    props = {**_fc("站")["features"][0]["properties"], "address": "路 1 号"}
    items = [{"code": "I", "name": "事项", "name_en": "Item", "channels": ["window"]}]
    html = venue_popup_html(props, X, Y, items=items, prefs=Prefs(lang),
                            venue_url="/venues/V1")
    for text in says:
        assert text in html, text
    for text in not_says:
        assert text not in html, text
    assert 'href="/venues/V1"' in html


def test_popup_says_an_opening_on_the_query_day_as_the_list_does() -> None:
    props = {**_fc("站")["features"][0]["properties"], "open": False,
             "next_open": "2026-12-01T09:00:00+08:00"}
    en = Prefs("en")
    same_day = venue_popup_html(props, X, Y, prefs=en, ref="2026-12-01T07:30:00+08:00")
    assert "closed, opens 09:00" in same_day
    other_day = venue_popup_html(props, X, Y, prefs=en, ref="2026-11-30T20:00:00+08:00")
    assert "closed, opens Tue 12-01 09:00" in other_day
    assert "opens Tue 12-01 09:00" in venue_popup_html(props, X, Y, prefs=en)


def test_page_has_no_raw_data_markup_and_only_local_assets() -> None:
    html = page_html(venues_map(_fc()))
    assert HOSTILE not in html and "</script><script>alert(2)" not in html
    urls = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert urls and all(u.startswith("/static/vendor/") for u in urls)
    assert "cdn" not in html.lower().replace("cdnjs", "cdn")  # no CDN link of any kind


def test_localize_leaves_folium_globals_alone() -> None:
    before = (list(folium.Map.default_js), list(MarkerCluster.default_js),
              list(HeatMap.default_js))
    page_html(coverage_map(coverage_result(), population=[(X, Y, 5.0)]))
    assert (folium.Map.default_js, MarkerCluster.default_js, HeatMap.default_js) == before
    assert any("cdn" in url for _, url in folium.Map.default_js)


def test_amap_shifts_every_overlay() -> None:
    fc = _fc("a")
    html_osm = page_html(venues_map(fc, basemap=BASEMAPS["osm"]))
    html_amap = page_html(venues_map(fc, basemap=BASEMAPS["amap"]))
    assert f'"lon":{X}' in html_osm and f'"lon":{X}' not in html_amap
    shifted = shift_geojson(fc, "gcj02")["features"][0]["geometry"]["coordinates"]
    assert f'"lon":{shifted[0]}' in html_amap
    assert fc["features"][0]["geometry"]["coordinates"] == [X, Y]  # input untouched
    poly = shift_geojson(square(X, Y, 0.01), "gcj02")
    back = shift_geojson(poly, "wgs84", source="gcj02")
    assert back["coordinates"][0][2] == pytest.approx([X + 0.01, Y + 0.01], abs=1e-8)


@pytest.mark.parametrize("raw", ["google", "OSM ", "amap"])
def test_parse_tiles(raw: str) -> None:
    if raw == "google":
        with pytest.raises(InvalidParameter, match="tiles"):
            parse_tiles(raw)
    else:
        assert parse_tiles(raw).name == raw.strip().lower()


def test_isochrones_map_renders_bands_largest_first() -> None:
    bands = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": square(X, Y, 0.002 * m),
         "properties": {"minutes": m, "area_km2": 0.1 * m, "population": 10 * m}}
        for m in (5, 10, 15)]}
    html = page_html(isochrones_map(bands, origin=(X, Y)))
    order = [html.index(f'"tooltip":"{m} 分钟') for m in (15, 10, 5)]
    assert order == sorted(order)


def test_write_report_self_contained_with_tables(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    written = write_report(coverage_result(), out, extra={"curves": CURVES, "venues": _fc()},
                           tables=("csv", "xlsx"))
    assert written[0] == out and len(written) == 5
    html = out.read_text(encoding="utf-8")
    assert "<script src=" not in html and "<link rel=\"stylesheet\"" not in html
    assert "L.map(" in html and "markerClusterGroup" not in html  # inline Leaflet, no CDN
    assert "<svg" in html and "polyline" in html
    assert "宣州区" in html and "85.7%" in html
    assert "<b onmouseover" not in html and HOSTILE not in html
    with (tmp_path / "report_gaps.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:3] == ["gap", "name", "uncovered_population"] and len(rows) == 5
    from openpyxl import load_workbook

    wb = load_workbook(tmp_path / "report.xlsx")
    assert wb.sheetnames == ["areas", "gaps", "catchments"]
    assert wb["areas"].max_row == 3


def test_write_report_rejects_unknown_table_format(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match="tables"):
        write_report(coverage_result(), tmp_path / "r.html", tables=("pdf",))
    assert not (tmp_path / "r.html").exists()


def test_report_tables_empty_result() -> None:
    tables = report_tables({})
    assert all(rows == [] for _, rows in tables.values())


def test_page_title_is_escaped() -> None:
    # e.g. `geosvc coverage --title`: the report's map page carries it in <title>
    html = page_html(venues_map(_fc("V"), title="A & B </title><script>alert(3)</script>"))
    assert "<script>alert(3)" not in html
    title = "A &amp; B &lt;/title&gt;&lt;script&gt;alert(3)&lt;/script&gt;"
    assert f"<title>{title}</title>" in html
