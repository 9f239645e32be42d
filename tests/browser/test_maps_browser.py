"""The map pages in real headless Chromium, offline (tile and CDN requests aborted).

Markers are counted through Leaflet's own objects: every venue marker the
page made is registered in ``window.geosvc.markers`` and added to one layer
per kind (MarkerCluster groups); the test sums ``getLayers().length`` of
those layers and compares it with ``numberMatched`` of ``/api/v1/venues``
with the same filters.  It also zooms in until clustering stops and counts
the marker ``<div>``s in the DOM against the markers inside the view.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from geosvc.coords import from_wgs84
from tests.browser.conftest import CENTRE, XSS_NAME

pytestmark = pytest.mark.browser


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read().decode("utf-8"))


def _open(pg: Any, url: str) -> None:
    pg.goto(url, wait_until="load")
    pg.wait_for_function("() => window.geosvc && window.geosvc.map", timeout=10_000)


def _marker_count(pg: Any) -> int:
    return pg.evaluate("""() => ['hall', 'bank_outlet', 'kiosk']
        .filter(k => window.geosvc.layers[k])
        .reduce((n, k) => n + window.geosvc.layers[k].getLayers().length, 0)""")


def test_map_markers_popup_and_no_errors(page: Any, app_url: str, shots: Path) -> None:
    pg, log = page
    _open(pg, f"{app_url}/map")
    expected = _get_json(f"{app_url}/api/v1/venues?limit=1000")["numberMatched"]
    assert expected == 8
    assert _marker_count(pg) == expected
    assert pg.evaluate("Object.keys(window.geosvc.markers).length") == expected
    # Zoom in past the clustering limit on the city hall: DOM markers == markers in view.
    pg.evaluate(
        f"window.geosvc.map.setView([{CENTRE[1]}, {CENTRE[0]}], 18, {{animate: false}})"
    )
    pg.wait_for_timeout(300)
    in_view = pg.evaluate("""() => { const b = window.geosvc.map.getBounds();
        return Object.values(window.geosvc.markers)
            .filter(m => b.contains(m.getLatLng())).length; }""")
    dom = pg.locator(".leaflet-marker-pane .gs-icon").count()
    assert in_view >= 2 and dom >= in_view
    # Click the city hall: the popup lists its items with their channels.
    pg.evaluate("window.geosvc.map.setView(window.geosvc.markers['XC-H-0001'].getLatLng(), 18,"
                " {animate: false})")
    pg.wait_for_timeout(200)
    pg.locator('.leaflet-marker-icon[title="宣城市政务服务中心"]').click()
    popup = pg.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert "宣城市政务服务中心" in text and "社会保障卡申领" in text and "窗口" in text
    assert "政务服务大厅" in text and "Service hall" not in text
    # hours in words, not OSM syntax
    assert "周一至周五 09:00–12:00, 13:30–17:00（午休 12:00–13:30）" in text
    assert "Mo-Fr" not in text
    assert "uri.amap.com" in popup.locator("a").nth(1).get_attribute("href")
    assert popup.get_by_role("link", name="场所详情").get_attribute("href") == \
        "/venues/XC-H-0001"
    assert pg.locator("#gs-legend").is_visible()
    shots.mkdir(exist_ok=True)
    pg.wait_for_timeout(300)  # let the popup fade in
    pg.screenshot(path=str(shots / "map.png"))
    assert log.problems() == []
    assert log.blocked, "the OSM tile requests should have been attempted and aborted"
    # The same popup in English
    _open(pg, f"{app_url}/map?lang=en")
    pg.evaluate("window.geosvc.map.setView(window.geosvc.markers['XC-H-0001'].getLatLng(), 18,"
                " {animate: false})")
    pg.wait_for_timeout(200)
    pg.locator('.leaflet-marker-icon[title="宣城市政务服务中心"]').click()
    popup.wait_for()
    text = popup.inner_text()
    assert "Xuancheng Government Service Centre" in text and "Service hall" in text
    assert "Apply for a social-security card" in text and "staffed window" in text.lower()
    assert "Mon–Fri 09:00–12:00, 13:30–17:00 (lunch break 12:00–13:30)" in text
    assert "Mo-Fr" not in text and "政务服务大厅" not in text
    assert popup.get_by_role("link", name="Details").get_attribute("href") == \
        "/venues/XC-H-0001"
    pg.wait_for_timeout(300)
    pg.screenshot(path=str(shots / "map_en.png"))
    assert log.problems() == []


def test_map_filters_and_bad_parameter(page: Any, app_url: str) -> None:
    pg, log = page
    _open(pg, f"{app_url}/map?kind=kiosk")
    assert _marker_count(pg) == 2
    resp = pg.goto(f"{app_url}/map?kind=castle&tiles=google")
    assert resp.status == 400
    # issue 10: a page's error is an HTML page naming each bad parameter
    assert resp.headers["content-type"].startswith("text/html")
    names = pg.locator("main li code").all_inner_texts()
    assert set(names) >= {"tiles"}
    assert log.page_errors == []


def test_nearest_ranked_with_routes(page: Any, app_url: str, shots: Path) -> None:
    pg, log = page
    x, y = CENTRE
    _open(pg, f"{app_url}/map?lon={x + 0.0005}&lat={y + 0.0005}&k=3&item=SB-001")
    ranked = pg.locator(".gs-ranked")
    assert ranked.count() == 3
    assert [ranked.nth(i).inner_text() for i in range(3)] == ["1", "2", "3"]
    assert pg.evaluate("window.geosvc.layers.routes.getLayers().length") == 3
    shots.mkdir(exist_ok=True)
    pg.screenshot(path=str(shots / "nearest.png"))
    assert log.problems() == []


def test_script_injection_shows_text_runs_nothing(page: Any, app_url: str) -> None:
    pg, log = page
    _open(pg, f"{app_url}/map?kind=kiosk")
    pg.evaluate("window.geosvc.map.setView(window.geosvc.markers['XC-K-0002'].getLatLng(), 18,"
                " {animate: false})")
    pg.wait_for_timeout(200)
    pg.evaluate("window.geosvc.markers['XC-K-0002'].openPopup()")
    popup = pg.locator(".leaflet-popup-content")
    popup.wait_for()
    assert XSS_NAME in popup.inner_text()
    assert '"><script>alert(2)</script>' in popup.inner_text()
    assert "${alert(3)}" in popup.inner_text()
    assert pg.locator(".leaflet-popup-content img").count() == 0
    pg.wait_for_timeout(200)
    assert log.dialogs == [] and log.problems() == []


def test_amap_tiles_shift_markers_to_gcj02(page: Any, app_url: str) -> None:
    pg, log = page
    _open(pg, f"{app_url}/map?tiles=amap")
    ll = pg.evaluate("(() => { const p = window.geosvc.markers['XC-H-0001'].getLatLng();"
                     " return [p.lng, p.lat]; })()")
    gx, gy = from_wgs84(CENTRE[0], CENTRE[1], "gcj02")
    assert abs(ll[0] - gx) < 1e-7 and abs(ll[1] - gy) < 1e-7
    assert abs(ll[0] - CENTRE[0]) > 0.003  # really shifted (~450 m here)
    assert any("autonavi.com" in u for u in log.blocked)
    _open(pg, f"{app_url}/map?tiles=osm")
    ll = pg.evaluate("(() => { const p = window.geosvc.markers['XC-H-0001'].getLatLng();"
                     " return [p.lng, p.lat]; })()")
    assert abs(ll[0] - CENTRE[0]) < 1e-7 and abs(ll[1] - CENTRE[1]) < 1e-7
    assert log.problems() == []


@pytest.mark.parametrize(("query", "status", "names"), [
    ("layer=bogus&tiles=nope", 400, {"layer", "tiles"}),
    ("layer=isochrones", 400, {"lon", "lat"}),
    ("lon=200&lat=30", 400, {"lon"}),
    ("layer=coverage&mode=walk", 422, None),  # no road network loaded: ModeUnavailable
])
def test_map_errors_are_html_pages(app_url: str, query: str, status: int,
                                   names: set[str] | None) -> None:
    # issue 10: never problem+json in a browser tab; the status is kept
    import re
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{app_url}/map?{query}", timeout=10)
    err = info.value
    assert err.code == status
    assert err.headers["Content-Type"] == "text/html; charset=utf-8"
    html = err.read().decode("utf-8")
    assert '<a href="/map">' in html
    if names is not None:
        assert set(re.findall(r"<li><code>([^<]+)</code>", html)) == names
