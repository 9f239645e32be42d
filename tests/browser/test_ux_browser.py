"""What a citizen on a phone and a planner at a desk see: layout, results list, popups.

Geometry is measured in the real page: the client rectangles of the boxes
(legend, summary, results: ``.gs-box``), of the markers and of the popup.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from geosvc.render.base import page_html
from geosvc.render.coverage_map import coverage_map
from geosvc.render.i18n import Prefs
from geosvc.render.venues_map import venues_map
from tests.browser.conftest import CENTRE
from tests.render.coverage_data import coverage_result

pytestmark = pytest.mark.browser

# Rectangles of every visible box and every ranked marker, in CSS px.
_RECTS = """() => {
  const r = e => { const b = e.getBoundingClientRect();
                   return {l: b.left, t: b.top, r: b.right, b: b.bottom}; };
  const boxes = Array.from(document.querySelectorAll('.gs-box, .leaflet-control-layers'))
      .filter(e => e.offsetWidth > 0).map(e => Object.assign(r(e), {id: e.id || e.className}));
  const pins = Array.from(document.querySelectorAll('.leaflet-marker-pane .gs-ranked, '
      + '.leaflet-marker-pane .gs-query')).map(r);
  return {boxes, pins, w: window.innerWidth, h: window.innerHeight};
}"""


def _overlap(a: dict, b: dict) -> bool:
    return a["l"] < b["r"] and b["l"] < a["r"] and a["t"] < b["b"] and b["t"] < a["b"]


def _open(pg: Any, url: str) -> None:
    pg.goto(url, wait_until="load")
    pg.wait_for_function("() => window.geosvc && window.geosvc.map")


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read().decode("utf-8"))


def test_phone_nearest_results_sheet_and_nothing_hidden(phone: Any, app_url: str,
                                                        shots: Path) -> None:
    """A citizen on a phone sees the ranked list, every result and the search point."""
    pg, log = phone
    x, y = CENTRE
    query = f"lon={x + 0.0005}&lat={y + 0.0005}&k=5&item=SB-001"
    _open(pg, f"{app_url}/map?{query}")
    meta = pg.locator('meta[name="viewport"]').get_attribute("content")
    assert "width=device-width" in meta and "user-scalable=no" not in meta
    assert pg.evaluate("document.documentElement.lang") == "zh-CN"
    # The ranked list, in rank order, names as the API ranks them.
    api = _get_json(f"{app_url}/api/v1/nearest?{query}")["features"]
    rows = pg.locator("#gs-results .gs-result")
    assert rows.count() == 5
    assert [rows.nth(i).locator(".gs-pin").inner_text() for i in range(5)] == list("12345")
    assert [rows.nth(i).locator(".gs-result-name").inner_text() for i in range(5)] == \
        [f["properties"]["name"] for f in api]
    assert all(" m" in rows.nth(i).locator(".gs-result-meta").inner_text() for i in range(5))
    # Phone: layers icon collapsed, legend folded, the list a sheet at the bottom.
    assert pg.locator(".leaflet-control-layers-expanded").count() == 0
    assert pg.evaluate("document.getElementById('gs-legend').open") is False
    sheet = pg.locator("#gs-results").bounding_box()
    assert sheet["y"] + sheet["height"] > 844 * 0.8 and sheet["width"] >= 390 - 30
    # No result marker and not the search point hides under a box; all are on screen.
    rects = pg.evaluate(_RECTS)
    assert len(rects["pins"]) == 6
    for pin in rects["pins"]:
        assert 0 <= pin["l"] and pin["r"] <= rects["w"]
        assert 0 <= pin["t"] and pin["b"] <= rects["h"]
        assert not any(_overlap(pin, box) for box in rects["boxes"]), (pin, rects["boxes"])
    # The map centre is map, not a box.
    hit = pg.evaluate("document.elementFromPoint(195, 422).closest('.leaflet-control')")
    assert hit is None
    shots.mkdir(exist_ok=True)
    pg.screenshot(path=str(shots / "phone-nearest.png"))
    # Tapping row 2 folds the sheet and opens venue 2's popup, inside the screen.
    rows.nth(1).tap()
    popup = pg.locator(".leaflet-popup")
    popup.wait_for()
    assert api[1]["properties"]["name"] in pg.locator(".leaflet-popup-content h4").inner_text()
    assert pg.evaluate("document.getElementById('gs-results').open") is False
    pg.wait_for_timeout(300)
    box = popup.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    # Directions buttons are big enough to tap (>= 32 CSS px high).
    nav = pg.locator(".leaflet-popup-content .gs-nav a").first.bounding_box()
    assert nav["height"] >= 32
    assert log.page_errors == [] and log.dialogs == []


def _ranked_fc(n: int = 5, items: int = 0) -> tuple[dict, dict]:
    x, y = CENTRE
    feats = []
    for i in range(n):
        feats.append({
            "type": "Feature", "id": f"V{i + 1}",
            "geometry": {"type": "Point", "coordinates": [x + 0.002 * (i + 1), y + 0.001 * i]},
            "properties": {"name": f"<i>场所</i> {i + 1}", "kind": "hall", "level": "township",
                           "rank": i + 1, "distance_m": 400.0 * (i + 1),
                           "travel_time_min": 5.2 * (i + 1), "open": i != 2,
                           "opening_hours": "Mo-Fr 09:00-17:00",
                           "closes_at": "2026-05-06T17:00:00+08:00" if i != 2 else None,
                           "next_open": "2026-05-07T09:00:00+08:00" if i == 2 else None},
        })
    lots = {f["id"]: [{"code": f"I{j}", "name": f"事项 {j}", "channels": ["window"]}
                      for j in range(items)] for f in feats}
    return {"type": "FeatureCollection", "features": feats}, lots


def test_results_panel_minutes_status_and_click(page: Any, app_url: str,
                                                host_site: Any) -> None:
    """Rows read "1. name, 5 min walk, 400 m, open until 17:00"; a click opens the popup."""
    site, host_url = host_site
    fc, items = _ranked_fc(items=20)
    for lang in ("zh", "en"):
        fmap = venues_map(fc, items=items, origin=CENTRE, mode="walk",
                          at="2026-05-06T10:00:00+08:00", prefs=Prefs(lang))
        site.pages[f"/ranked-{lang}.html"] = page_html(fmap, base=app_url)
    pg, log = page
    _open(pg, f"{host_url}/ranked-en.html")
    rows = pg.locator("#gs-results .gs-result")
    texts = [rows.nth(i).inner_text() for i in range(5)]
    assert "5 min walk" in texts[0] and "400 m" in texts[0] and "分钟" not in texts[0]
    assert "open until 17:00" in texts[0]
    assert "closed, opens Thu 05-07 09:00" in texts[2]
    rows.nth(3).click()
    content = pg.locator(".leaflet-popup-content")
    content.wait_for()
    assert "and 12 more" in content.inner_text()
    _open(pg, f"{host_url}/ranked-zh.html")
    rows = pg.locator("#gs-results .gs-result")
    assert rows.count() == 5
    texts = [rows.nth(i).inner_text() for i in range(5)]
    assert texts[0].startswith("1") and "<i>场所</i> 1" in texts[0]  # data shown as text
    assert pg.locator("#gs-results i").count() == 0
    assert "5 分钟步行" in texts[0] and "400 m" in texts[0] and "min walk" not in texts[0]
    assert "26 分钟步行" in texts[4] and "2.0 km" in texts[4]
    assert "营业中，至 17:00" in texts[0] and "open until" not in texts[0]
    assert "已关闭，周四 05-07 09:00 开门" in texts[2]
    # Desk: list and legend open, layers expanded, nothing covers a result marker.
    assert pg.locator(".leaflet-control-layers-expanded").count() == 1
    rects = pg.evaluate(_RECTS)
    for pin in rects["pins"]:
        assert not any(_overlap(pin, box) for box in rects["boxes"]), (pin, rects["boxes"])
    # A click on row 4 opens venue 4's popup; its item list is capped with "and N more".
    rows.nth(3).click()
    content = pg.locator(".leaflet-popup-content")
    content.wait_for()
    text = content.inner_text()
    assert "4. <i>场所</i> 4" in text
    assert pg.locator(".leaflet-popup-content .gs-items > li:not(.gs-more)").count() == 8
    assert "还有 12 项" in text and "and 12 more" not in text
    assert log.problems() == [] and log.dialogs == []


def test_phone_coverage_summary_folded_and_gaps_clear(phone: Any, app_url: str,
                                                      host_site: Any, shots: Path) -> None:
    """A planner on a phone: summary folded to its headline, no gap under a box."""
    site, host_url = host_site
    site.pages["/cov-phone.html"] = page_html(coverage_map(coverage_result()), base=app_url)
    pg, log = phone
    _open(pg, f"{host_url}/cov-phone.html")
    summary = pg.locator("#gs-summary")
    assert pg.evaluate("document.getElementById('gs-summary').open") is False
    assert "80.8%" in summary.inner_text()  # the headline stays visible when folded
    assert summary.bounding_box()["height"] < 100
    # No gap's centre lies under a box.
    centres = pg.evaluate("""() => window.geosvc.layers.gaps.getLayers().map(l => {
        const p = window.geosvc.map.latLngToContainerPoint(l.getBounds().getCenter());
        return {l: p.x, r: p.x + 1, t: p.y, b: p.y + 1}; })""")
    rects = pg.evaluate(_RECTS)
    assert len(centres) == 4
    for c in centres:
        assert 0 <= c["l"] <= 390 and 0 <= c["t"] <= 844
        assert not any(_overlap(c, box) for box in rects["boxes"]), (c, rects["boxes"])
    # Unfolding shows the table and the gap colour scale.
    summary.locator("summary").tap()
    assert pg.locator("#gs-summary-table").is_visible()
    assert pg.locator("#gs-summary .gs-scale span").count() == 5
    shots.mkdir(exist_ok=True)
    pg.screenshot(path=str(shots / "phone-coverage.png"))
    assert log.page_errors == [] and log.dialogs == []


def test_widget_map_has_no_second_list_and_embed_lists(page: Any, app_url: str,
                                                       host_site: Any) -> None:
    """The widget's map has no second list; /embed in a 360 px frame has the sheet."""
    site, host_url = host_site
    x, y = CENTRE
    site.pages["/w2.html"] = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body><div id='f'></div>"
        f'<script src="{app_url}/static/geosvc-widget.js" data-target="#f" data-item="SB-001" '
        f'data-lon="{x}" data-lat="{y}" data-k="3"></script></body></html>')
    site.pages["/e2.html"] = (
        "<!DOCTYPE html><html><body>"
        f'<iframe id="gs" src="{app_url}/embed?lon={x}&lat={y}&k=3&item=SB-001" '
        'width="360" height="480"></iframe></body></html>')
    pg, log = page
    pg.goto(f"{host_url}/w2.html")
    pg.locator("#f .gsw-results li").first.wait_for()
    frame = pg.frame_locator("#f iframe")
    frame.locator(".gs-ranked").first.wait_for()
    assert frame.locator("#gs-results").count() == 0  # the widget lists them itself
    pg.goto(f"{host_url}/e2.html")
    frame = pg.frame_locator("#gs")
    frame.locator("#gs-results .gs-result").first.wait_for()
    assert frame.locator("#gs-results .gs-result").count() == 3
    # 360 px wide iframe: phone layout, the sheet spans the frame.
    width = frame.locator("#gs-results").bounding_box()["width"]
    assert 330 <= width <= 360
    assert log.page_errors == [] and log.dialogs == []


def test_every_pin_glyph_is_readable() -> None:
    """Marker glyphs reach WCAG AA contrast (4.5:1) on every marker colour."""
    from geosvc.render.layers import (
        CHANNEL_COLOURS,
        KIOSK_COLOURS,
        LEVEL_COLOURS,
        contrast,
        ink,
        pin_html,
    )

    colours = {*LEVEL_COLOURS.values(), *CHANNEL_COLOURS.values(), *KIOSK_COLOURS.values()}
    for colour in colours:
        assert contrast(ink(colour), colour) >= 4.5, colour
        assert f"color:{ink(colour)}" in pin_html(colour, "厅")
