"""Venue pins by keyboard in real headless Chromium: the app, the maps, the plan, the widget.

On every page that draws venue pins, a keyboard user Tabs to a pin, hears its
name, kind and open state (the pin's accessible name), opens its popup with
Enter (or Space), reads it (the popup takes the focus), closes it with
Escape and is back on the pin.  The focused pin has a ring of white, black
and white that shows on any base map and on blank tiles (tiles are blocked
here, so the ring is checked on Leaflet's blank grey).  axe-core finds no
serious or critical violation with a popup open.  Requests that leave
127.0.0.1 are aborted.  Screenshots of a focused pin on a desk (1280 x 800)
and a phone (390 x 844) go to the session's ``screenshots`` folder
(``pins-<page>-<size>.png``).
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.browser._axe import axe_problems
from tests.browser.conftest import CENTRE, SizedOpener
from tests.browser.test_a11y_browser import _plan_html

pytestmark = pytest.mark.browser

X, Y = CENTRE
#: The focused element, if it is a pin: its accessible name and where it is.
_FOCUSED_PIN = """() => {
  const a = document.activeElement;
  if (!a || !a.classList.contains('leaflet-marker-icon') || a.getAttribute('role') !== 'button'
      || !a.getAttribute('aria-label')) { return null; }
  const s = getComputedStyle(a), r = a.getBoundingClientRect();
  return {label: a.getAttribute('aria-label'), tabindex: a.getAttribute('tabindex'),
          outline: s.outlineStyle + ' ' + s.outlineWidth + ' ' + s.outlineColor,
          offset: parseFloat(s.outlineOffset), shadow: s.boxShadow,
          x: r.left + r.width / 2, y: r.top + r.height / 2};
}"""
#: Where the focus is: in the open popup, on a pin (its name), or elsewhere.
_FOCUS_WHERE = """() => {
  const a = document.activeElement;
  if (!a) { return 'none'; }
  if (a.closest('.leaflet-popup')) { return 'popup'; }
  return a.getAttribute('aria-label') || a.tagName;
}"""

def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def _tab_to_pin(pg: Any, frame: Any = None, *, limit: int = 90) -> dict[str, Any]:
    """Press Tab until a venue pin has the focus; return its name, ring and position."""
    where = frame or pg
    for _ in range(limit):
        pg.keyboard.press("Tab")
        found = where.evaluate(_FOCUSED_PIN)
        if found:
            return found
    raise AssertionError(f"no pin reached in {limit} Tab presses")


def _check_ring(pin: dict[str, Any]) -> None:
    """The focus ring: solid black outline (3 px) over a white ring and a white halo."""
    assert pin["outline"] == "solid 3px rgb(17, 17, 17)", pin
    assert pin["offset"] >= 3
    assert pin["shadow"].count("rgb(255, 255, 255)") == 1 and "255, 0.9" in pin["shadow"]


def _enter_escape(pg: Any, where: Any, pin: dict[str, Any], expect: str) -> None:
    """Enter opens the pin's popup (the focus goes in), Escape closes it: focus back on the pin.

    Then Space does what Enter did.
    """
    popup = where.locator(".leaflet-popup-content")
    assert popup.count() == 0
    pg.keyboard.press("Enter")
    popup.wait_for()
    assert expect in popup.inner_text()
    assert where.evaluate(_FOCUS_WHERE) == "popup"
    pg.keyboard.press("Escape")
    popup.wait_for(state="detached")
    assert where.evaluate(_FOCUS_WHERE) == pin["label"]
    pg.keyboard.press(" ")
    popup.wait_for()
    assert expect in popup.inner_text()
    pg.keyboard.press("Escape")
    popup.wait_for(state="detached")
    assert where.evaluate(_FOCUS_WHERE) == pin["label"]


def _every_pin_named(where: Any) -> list[str]:
    """Return the names of the pins drawn; every one is in the tab order and named."""
    return where.evaluate("""() => Array.from(document.querySelectorAll(
        '.leaflet-marker-pane .leaflet-marker-icon')).map(p =>
        p.getAttribute('tabindex') === '0' && p.getAttribute('role') === 'button'
        ? (p.getAttribute('aria-label') || p.title) : '')""")


def _axe(pg: Any) -> list[str]:
    """Return axe's serious and critical findings once an open popup has faded in."""
    pg.wait_for_timeout(350)
    return axe_problems(pg)


def _shot(pg: Any, shots: Path, name: str) -> None:
    shots.mkdir(exist_ok=True)
    pg.wait_for_timeout(300)  # a popup's fade
    pg.screenshot(path=str(shots / f"pins-{name}.png"))


@pytest.mark.parametrize("size", ["desk", "phone"])
def test_app_pins_by_keyboard(sized_page: SizedOpener,
                              app_url: str, shots: Path, size: str) -> None:
    pg, log = sized_page(size, "en-GB")
    pg.goto(f"{app_url}/?lang=en#item=SB-001", wait_until="load")
    pg.locator("#gs-list > li").first.wait_for()
    pg.wait_for_function("() => document.querySelectorAll('.leaflet-marker-pane .gs-pin')"
                         ".length === document.querySelectorAll('#gs-list > li').length")
    lon, lat = pg.evaluate("window.geosvcApp.state.start")  # the map's centre
    found = _get_json(f"{app_url}/api/v1/nearest?lon={lon:.6f}&lat={lat:.6f}&item=SB-001"
                      "&k=5&mode=straight")["features"]
    names = _every_pin_named(pg)
    assert len(names) == len(found) >= 3 and all(names)
    pin = _tab_to_pin(pg)
    first = found[0]["properties"]

    def shown(props: dict[str, Any]) -> str:  # an English page: the English name if any
        return str(props.get("name_en") or props["name"])

    assert any(f["properties"].get("name_en") for f in found[:2])  # both kinds of name
    # rank, name, kind and the open state, in the page's language
    assert pin["label"].startswith(f"1. {shown(first)}, ")
    kind = {"hall": "Service hall", "bank_outlet": "Bank outlet",
            "kiosk": "Self-service kiosk"}[first["kind"]]
    assert kind.lower() in pin["label"].lower()
    assert ("open" in pin["label"]) or ("closed" in pin["label"])
    assert pin["tabindex"] == "0"
    _check_ring(pin)
    _shot(pg, shots, f"app-{size}")
    _enter_escape(pg, pg, pin, shown(first))
    # Enter also does what a click does: the pin's venue is the chosen one (its route, card)
    pg.keyboard.press("Tab")
    second = pg.evaluate(_FOCUSED_PIN)
    assert second and second["label"].startswith(f"2. {shown(found[1]['properties'])}")
    pg.keyboard.press("Enter")
    pg.locator(".leaflet-popup-content").wait_for()
    assert pg.locator("#gs-list > li.gs-selected").get_attribute("data-id") == found[1]["id"]
    assert shown(found[1]["properties"]) in pg.locator("#gs-nav-h").inner_text()
    # the pins were changed in place: the close button's name is the page's, axe is content
    assert pg.get_by_role("button", name="Close", exact=True).count() == 1
    assert _axe(pg) == []
    pg.keyboard.press("Escape")
    pg.locator(".leaflet-popup-content").wait_for(state="detached")
    assert pg.evaluate(_FOCUS_WHERE) == second["label"]
    assert pg.locator(".leaflet-marker-icon.gs-pin-selected").get_attribute("aria-label") \
        == second["label"]
    # Escape in the search box still clears the box (the map's Escape is the map's own)
    pg.keyboard.press("Enter")
    pg.locator(".leaflet-popup-content").wait_for()
    pg.locator("#gs-q").fill("xyz")
    pg.keyboard.press("Escape")  # closes the suggestions if they are open already,
    pg.keyboard.press("Escape")  # and clears the box
    assert pg.locator("#gs-q").input_value() == ""
    assert pg.locator(".leaflet-popup-content").count() == 1  # still open
    assert log.problems() == [] and log.dialogs == []


def test_app_pin_names_in_chinese(sized_page: SizedOpener, app_url: str) -> None:
    pg, log = sized_page("desk", "zh-CN")
    pg.goto(f"{app_url}/?lang=zh#item=SB-001", wait_until="load")
    pg.locator("#gs-list > li").first.wait_for()
    pin = _tab_to_pin(pg)
    assert pin["label"].startswith("1. ") and "，" in pin["label"]
    assert ("营业中" in pin["label"]) or ("已关闭" in pin["label"])
    pg.keyboard.press("Enter")
    pg.locator(".leaflet-popup-content").wait_for()
    assert pg.get_by_role("button", name="关闭", exact=True).count() == 1
    assert _axe(pg) == []
    assert log.problems() == []


@pytest.mark.parametrize("size", ["desk", "phone"])
def test_map_pins_by_keyboard(sized_page: SizedOpener,
                              app_url: str, shots: Path, size: str) -> None:
    pg, log = sized_page(size, "en-GB")
    pg.goto(f"{app_url}/map?lon={X + 0.0005}&lat={Y + 0.0005}&mode=straight&k=3&item=SB-001"
            "&lang=en", wait_until="load")
    pg.wait_for_function("() => window.geosvc && window.geosvc.map")
    names = _every_pin_named(pg)
    assert len(names) == 4 and all(names)  # 3 venues and the search point
    pin = _tab_to_pin(pg)
    assert pin["label"].startswith("1. ")
    assert any(k in pin["label"] for k in ("Service hall", "Bank outlet", "Self-service kiosk"))
    assert ("open" in pin["label"]) or ("closed" in pin["label"])
    _check_ring(pin)
    _shot(pg, shots, f"map-{size}")
    # The same ring over a dark map (tiles are blocked: the map's background stands in)
    pg.evaluate("window.geosvc.map.getContainer().style.background = '#1f2933'")
    assert pg.evaluate(_FOCUSED_PIN)["label"] == pin["label"]
    _shot(pg, shots, f"map-dark-{size}")
    pg.evaluate("window.geosvc.map.getContainer().style.background = ''")
    venue = pin["label"].split(". ", 1)[1].split(", ")[0]
    _enter_escape(pg, pg, pin, venue)
    pg.keyboard.press("Enter")
    pg.locator(".leaflet-popup-content").wait_for()
    assert _axe(pg) == []
    # The results list opens the same popup; Escape sends the focus back to its row
    pg.keyboard.press("Escape")
    pg.locator(".leaflet-popup-content").wait_for(state="detached")
    if size == "desk":
        row = pg.locator("#gs-results .gs-result").nth(1)
        row.focus()
        pg.keyboard.press("Enter")
        pg.locator(".leaflet-popup-content").wait_for()
        pg.keyboard.press("Escape")
        pg.locator(".leaflet-popup-content").wait_for(state="detached")
        assert pg.evaluate("document.activeElement.classList.contains('gs-result')")
        code = row.get_attribute("data-code")
        assert pg.evaluate("document.activeElement.dataset.code") == code
    assert log.problems() == []


def test_venue_map_pins_and_clusters_by_keyboard(sized_page: SizedOpener, app_url: str,
                                                 shots: Path) -> None:
    """The map of every venue (clustered by kind): pins and clusters are named and open."""
    pg, log = sized_page("desk", "zh-CN")
    pg.goto(f"{app_url}/map", wait_until="load")
    pg.wait_for_function("() => window.geosvc && window.geosvc.map")
    venues = {f["properties"]["name"] for f in
              _get_json(f"{app_url}/api/v1/venues?limit=1000")["features"]}
    names = _every_pin_named(pg)
    assert len(names) == len(venues) == 8  # all apart at the first zoom
    assert {n.split("，")[0] for n in names} == venues
    # Zoomed out, venues cluster: a cluster says how many; Enter zooms in, and the
    # focus stays in the map, so the next Tab is a venue's pin.
    pg.evaluate(f"window.geosvc.map.setView([{Y}, {X}], 10, {{animate: false}})")
    pg.wait_for_timeout(400)
    cluster = _tab_to_pin(pg)
    assert "个场所" in cluster["label"]
    _check_ring(cluster)
    zoom = pg.evaluate("window.geosvc.map.getZoom()")
    pg.keyboard.press("Enter")
    pg.wait_for_function(f"() => window.geosvc.map.getZoom() > {zoom}")
    pg.wait_for_function("() => document.activeElement === window.geosvc.map.getContainer()")
    pin = _tab_to_pin(pg, limit=3)
    venue = next(v for v in venues if pin["label"].startswith(v + "，"))
    assert "政务服务大厅" in pin["label"] or "网点" in pin["label"] or "终端" in pin["label"]
    _enter_escape(pg, pg, pin, venue)
    # The focused pin is drawn over every other pin (and the search point)
    assert pg.evaluate("getComputedStyle(document.activeElement).zIndex") == "100000"
    _shot(pg, shots, "venues-desk")
    assert _axe(pg) == []
    assert log.problems() == []


def test_coverage_map_pins_by_keyboard(sized_page: SizedOpener,
                                       app_url: str, shots: Path) -> None:
    """The planners' coverage map: its small venue pins are named and open by keyboard too."""
    pg, log = sized_page("desk", "en-GB")
    pg.goto(f"{app_url}/map?layer=coverage&mode=straight&minutes=10&lang=en",
            wait_until="load")
    pg.wait_for_function("() => window.geosvc && window.geosvc.map")
    names = _every_pin_named(pg)
    assert len(names) == 8 and all(names)
    pin = _tab_to_pin(pg)
    assert any(k in pin["label"] for k in ("Service hall", "Bank outlet", "Self-service kiosk"))
    _check_ring(pin)
    _shot(pg, shots, "coverage-desk")
    venue = pin["label"].split(", ")[0]
    _enter_escape(pg, pg, pin, venue)
    pg.keyboard.press("Enter")
    pg.locator(".leaflet-popup-content").wait_for()
    assert _axe(pg) == []
    assert log.problems() == []


def test_plan_map_sites_by_keyboard(sized_page: SizedOpener, app_url: str, host_site: Any,
                                    shots: Path) -> None:
    site, host_url = host_site
    site.pages["/plan-pins.html"] = _plan_html(app_url, "en")
    pg, log = sized_page("desk", "en-GB")
    pg.goto(f"{host_url}/plan-pins.html", wait_until="load")
    pg.wait_for_function("() => window.geosvc && window.geosvc.map")
    names = _every_pin_named(pg)
    assert len(names) == 2 and all("候选点" in n for n in names)
    pin = _tab_to_pin(pg)
    assert pin["label"].startswith("1. 候选点") and "residents" in pin["label"]
    _check_ring(pin)
    _shot(pg, shots, "plan-desk")
    _enter_escape(pg, pg, pin, "residents, cumulative")
    pg.keyboard.press("Enter")
    pg.locator(".leaflet-popup-content").wait_for()
    assert _axe(pg) == []
    _shot(pg, shots, "plan-desk-popup")
    assert log.problems() == []


def test_widget_map_pins_by_keyboard(sized_page: SizedOpener, app_url: str, host_site: Any,
                                     shots: Path) -> None:
    """The widget's map (/embed in its iframe, another origin): Tab from the host page."""
    site, host_url = host_site
    site.pages["/widget-pins.html"] = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Host</title></head>"
        "<body><main><h1>Host</h1><div id='finder'></div></main>"
        f'<script src="{app_url}/static/geosvc-widget.js" data-target="#finder" '
        f'data-item="SB-001" data-lon="{X}" data-lat="{Y}" data-k="3" data-lang="en" '
        'data-mode="straight"></script></body></html>')
    pg, log = sized_page("desk", "en-GB")
    pg.goto(f"{host_url}/widget-pins.html", wait_until="load")
    pg.locator("#finder .gsw-results li").first.wait_for()
    frame_el = pg.locator("#finder iframe")
    frame_el.scroll_into_view_if_needed()
    pg.wait_for_function("() => true")
    child = None
    for _ in range(50):
        child = next((f for f in pg.frames if f.url.startswith(f"{app_url}/embed")), None)
        if child is not None and child.evaluate("!!(window.geosvc && window.geosvc.map)"):
            break
        pg.wait_for_timeout(200)
    assert child is not None
    names = _every_pin_named(child)
    assert len(names) == 4 and all(names)  # 3 venues and the search point
    pin = _tab_to_pin(pg, child)
    listed = pg.locator("#finder .gsw-results .gsw-name").first.inner_text()
    assert pin["label"].startswith(f"1. {listed}, ")
    _check_ring(pin)
    _shot(pg, shots, "widget-desk")
    _enter_escape(pg, child, pin, listed)
    pg.keyboard.press("Enter")
    child.locator(".leaflet-popup-content").wait_for()
    assert _axe(pg) == []
    assert child.evaluate("document.activeElement.closest('.leaflet-popup') !== null")
    _shot(pg, shots, "widget-desk-popup")
    assert log.problems() == []
