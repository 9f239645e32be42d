"""What lies on top of what on the maps, in real headless Chromium (tiles blocked).

* ``/embed``: an open popup wins over the scale bar.  A popup opened near the
  bottom-left pans clear of every control (the scale bar included), and a
  popup the user drags over the scale bar still shows: the bar steps aside
  until the popup leaves it or closes.
* ``/map`` and the citizens' app ``/``: when the search point is at (or a few
  metres from) a venue, the venue's pin stays on top: a click at the pin's
  centre opens the venue, and the pin stays in the tab order (Enter opens it).
  The search point's halo, wider than a pin, still shows around it.

Each on a desk (1280 x 800) and a phone (390 x 844); axe-core finds no
serious or critical violation with the popup open.  Screenshots go to the
session's ``screenshots`` folder (``layering-<case>-<size>.png``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.browser._axe import axe_problems
from tests.browser.conftest import (
    CENTRE,
    PageLog,
    SizedOpener,
    offline_context,
    watch_page,
)
from tests.browser.test_pin_keys_browser import _tab_to_pin

pytestmark = pytest.mark.browser

X, Y = CENTRE
#: The venue at CENTRE (rank 1 of a search there) and its name.
HALL, HALL_NAME = "XC-H-0001", "宣城市政务服务中心"
HALL_NAMES = (HALL_NAME, "Xuancheng Government Service Centre")

#: Put venue ``code``'s pin near the bottom-left (60 px in, 40 px up) and open its popup.
_OPEN_NEAR_BOTTOM_LEFT = """(code) => {
  const map = window.geosvc.map, m = window.geosvc.markers[code];
  const want = L.point(60, map.getSize().y - 40);
  map.panBy(map.latLngToContainerPoint(m.getLatLng()).subtract(want), {animate: false});
  m.openPopup();
}"""
#: True once the open popup has not moved for two animation frames (its pan is over).
_POPUP_SETTLED = """() => new Promise(done => {
  const box = () => { const p = document.querySelector('.leaflet-popup');
                      return p ? JSON.stringify(p.getBoundingClientRect()) : null; };
  const a = box();
  requestAnimationFrame(() => requestAnimationFrame(() => done(a !== null && a === box())));
})"""
#: Points of the open popup's box (its content's centre first) that show something
#: other than the popup: [x, y, what is there].
_POPUP_COVERED = """() => {
  const pop = document.querySelector('.leaflet-popup');
  const wrap = pop.querySelector('.leaflet-popup-content-wrapper').getBoundingClientRect();
  const c = pop.querySelector('.leaflet-popup-content').getBoundingClientRect();
  const pts = [[(c.left + c.right) / 2, (c.top + c.bottom) / 2]];
  for (let i = 0; i <= 6; i++) {
    for (let j = 0; j <= 6; j++) {
      pts.push([wrap.left + 3 + (wrap.width - 6) * i / 6,
                wrap.top + 3 + (wrap.height - 6) * j / 6]);
    }
  }
  return pts.filter(([x, y]) => x >= 0 && y >= 0 && x < innerWidth && y < innerHeight)
    .map(([x, y]) => [x, y, document.elementFromPoint(x, y)])
    .filter(([x, y, el]) => !(el && el.closest('.leaflet-popup')))
    .map(([x, y, el]) => [Math.round(x), Math.round(y), el ? el.className : null]);
}"""
#: The scale bar's centre and whether it shows.
_SCALE = """() => {
  const s = document.querySelector('.leaflet-control-scale'), r = s.getBoundingClientRect();
  return {x: (r.left + r.right) / 2, y: (r.top + r.bottom) / 2,
          shown: getComputedStyle(s).visibility === 'visible'};
}"""
#: Drag the map (no animation) so the popup's content centre lands on the scale bar's centre.
_POPUP_ONTO_SCALE = """() => {
  const map = window.geosvc.map;
  const c = document.querySelector('.leaflet-popup-content').getBoundingClientRect();
  const s = document.querySelector('.leaflet-control-scale').getBoundingClientRect();
  map.panBy([(c.left + c.right) / 2 - (s.left + s.right) / 2,
             (c.top + c.bottom) / 2 - (s.top + s.bottom) / 2], {animate: false});
}"""


def _shot(pg: Any, shots: Path, name: str) -> None:
    shots.mkdir(exist_ok=True)
    pg.wait_for_timeout(300)  # a popup's fade
    pg.screenshot(path=str(shots / f"layering-{name}.png"))


def _settle(pg: Any) -> None:
    pg.locator(".leaflet-popup-content").wait_for()
    pg.wait_for_timeout(300)  # the autopan's animation (0.25 s)
    pg.wait_for_function(_POPUP_SETTLED)


@pytest.mark.parametrize("size", ["desk", "phone"])
def test_embed_popup_wins_over_the_scale_bar(sized_page: SizedOpener, app_url: str, shots: Path,
                                             size: str) -> None:
    pg, log = sized_page(size)
    pg.goto(f"{app_url}/embed?lon={X}&lat={Y}&k=3&item=SB-001&lang=en", wait_until="load")
    pg.wait_for_function("code => window.geosvc && window.geosvc.markers[code]", arg=HALL)
    pg.wait_for_function("() => document.querySelector('.leaflet-control-scale')")
    # Opened near the bottom-left: the popup pans clear of every control.
    pg.evaluate(_OPEN_NEAR_BOTTOM_LEFT, HALL)
    _settle(pg)
    assert HALL_NAME in pg.locator(".leaflet-popup-content").inner_text()
    assert pg.evaluate(_POPUP_COVERED) == []
    assert pg.evaluate(_SCALE)["shown"]  # and the scale bar is clear of it, so it shows
    _shot(pg, shots, f"embed-popup-{size}")
    assert axe_problems(pg) == []
    # Dragged onto the scale bar, the popup is still on top there.
    pg.evaluate(_POPUP_ONTO_SCALE)
    pg.wait_for_function(_POPUP_SETTLED)
    scale = pg.evaluate(_SCALE)
    at_scale = pg.evaluate("([x, y]) => !!document.elementFromPoint(x, y)"
                           ".closest('.leaflet-popup')", [scale["x"], scale["y"]])
    assert at_scale and not scale["shown"]
    _shot(pg, shots, f"embed-dragged-{size}")
    # Closed, the scale bar is back.
    pg.evaluate("window.geosvc.map.closePopup()")
    pg.locator(".leaflet-popup").wait_for(state="detached")
    assert pg.evaluate(_SCALE)["shown"]
    assert log.problems() == [] and log.dialogs == []


#: The pin at the centre of a venue pin's icon: what a click there reaches.
_PIN_AT_CENTRE = """(sel) => {
  const pin = document.querySelector(sel), r = pin.getBoundingClientRect();
  const x = (r.left + r.right) / 2, y = (r.top + r.bottom) / 2;
  const hit = document.elementFromPoint(x, y);
  return {x, y, same: !!hit && (hit === pin || pin.contains(hit))};
}"""


def _click_opens(pg: Any, size: str, pin_sel: str, name: str) -> None:
    """A click (a tap on the phone) at the pin's centre opens the venue's popup."""
    found = pg.evaluate(_PIN_AT_CENTRE, pin_sel)
    assert found["same"], found
    if size == "phone":
        pg.touchscreen.tap(found["x"], found["y"])
    else:
        pg.mouse.click(found["x"], found["y"])
    pg.locator(".leaflet-popup-content").wait_for()
    assert name in pg.locator(".leaflet-popup-content").inner_text()


def _keys_open(pg: Any, name: str) -> None:
    """Tab reaches the venue's pin first (named by it, on top); Enter opens its popup."""
    pin = _tab_to_pin(pg)
    assert pin["label"].startswith("1. ") and any(n in pin["label"] for n in HALL_NAMES), pin
    hit = pg.evaluate("([x, y]) => document.activeElement"
                      ".contains(document.elementFromPoint(x, y))", [pin["x"], pin["y"]])
    assert hit  # the focused pin is on top, its ring too
    pg.keyboard.press("Enter")
    pg.locator(".leaflet-popup-content").wait_for()
    assert name in pg.locator(".leaflet-popup-content").inner_text()


# the search point on the venue, and 3 m north-east of it
@pytest.mark.parametrize("offset", [0.0, 0.00002])
@pytest.mark.parametrize("size", ["desk", "phone"])
def test_map_search_point_under_the_venue_pin(sized_page: SizedOpener,
                                              app_url: str, shots: Path,
                                              size: str, offset: float) -> None:
    pg, log = sized_page(size)
    pg.goto(f"{app_url}/map?lon={X + offset}&lat={Y + offset}&mode=straight&k=3"
            "&item=SB-001&lang=en", wait_until="load")
    pg.wait_for_function("code => window.geosvc && window.geosvc.markers[code]", arg=HALL)
    # The two markers overlap on the screen: the search point is under the pin.
    boxes = pg.evaluate("""(code) => {
      const r = e => { const b = e.getBoundingClientRect();
                       return [b.left, b.top, b.right, b.bottom]; };
      return [r(window.geosvc.markers[code].getElement()),
              r(document.querySelector('.leaflet-marker-pane .gs-query').parentElement)];
    }""", HALL)
    (pl, pt, pr, pb), (ql, qt, qr, qb) = boxes
    assert pl < qr and ql < pr and pt < qb and qt < pb
    # A click at the pin's centre opens the venue.
    sel = f'.leaflet-marker-icon[title="{HALL_NAME}"]'
    _click_opens(pg, size, sel, HALL_NAME)
    if offset == 0.0:
        _shot(pg, shots, f"map-popup-{size}")
        assert axe_problems(pg) == []
    # By keyboard (the page anew): Tab reaches the pin before the search point, Enter opens it.
    pg.reload(wait_until="load")
    pg.wait_for_function("code => window.geosvc && window.geosvc.markers[code]", arg=HALL)
    _keys_open(pg, HALL_NAME)
    # The search point is still a named button in the tab order.
    assert pg.get_by_role("button", name="Search point").count() == 1
    assert log.problems() == [] and log.dialogs == []


@pytest.mark.parametrize("offset", [0.0, 0.00002])
@pytest.mark.parametrize("size", ["desk", "phone"])
def test_app_start_point_under_the_venue_pin(sized_page: SizedOpener, app_url: str, shots: Path,
                                             size: str, offset: float) -> None:
    pg, log = sized_page(size)
    start = f"{X + offset:.6f},{Y + offset:.6f}"
    pg.goto(f"{app_url}/?lang=en#start={start}&item=SB-001", wait_until="load")
    pg.locator("#gs-list > li").first.wait_for()
    pg.wait_for_function("() => document.querySelectorAll('.leaflet-marker-pane .gs-pin')"
                         ".length === document.querySelectorAll('#gs-list > li').length")
    assert pg.locator("#gs-list > li").first.get_attribute("data-id") == HALL
    # The start marker is drawn at the pin's spot, under it.
    start_box = pg.locator(".gs-start-marker").bounding_box()
    # an English page names the pin in English (the popup adds the sign's Chinese name)
    sel = f'.leaflet-marker-pane .gs-pin[title="{HALL_NAMES[1]}"]'
    pin_box = pg.locator(sel).bounding_box()
    assert abs((start_box["x"] + start_box["width"] / 2)
               - (pin_box["x"] + pin_box["width"] / 2)) < pin_box["width"] / 2
    # ... and its halo, wider than the pin, still shows around it.
    halo = pg.locator(".leaflet-overlay-pane path.gs-start-halo").bounding_box()
    assert halo["width"] > pin_box["width"] + 6 and halo["height"] > pin_box["height"] + 6
    _click_opens(pg, size, sel, HALL_NAMES[1])
    assert HALL_NAME in pg.locator(".leaflet-popup-content").inner_text()
    assert pg.locator("#gs-list > li.gs-selected").get_attribute("data-id") == HALL
    if offset == 0.0:
        _shot(pg, shots, f"app-popup-{size}")
        assert axe_problems(pg) == []
    pg.reload(wait_until="load")
    pg.locator("#gs-list > li").first.wait_for()
    pg.wait_for_function("() => document.querySelectorAll('.leaflet-marker-pane .gs-pin')"
                         ".length === document.querySelectorAll('#gs-list > li').length")
    _keys_open(pg, HALL_NAMES[1])
    assert log.problems() == [] and log.dialogs == []


def test_phone_map_popup_keeps_its_pin_above_the_folded_list(sized_page: SizedOpener,
                                                             app_url: str) -> None:
    """/map on a phone: a pin opened near the bottom pans clear of the folded results list."""
    pg, log = sized_page("phone")
    pg.goto(f"{app_url}/map?lon={X}&lat={Y}&mode=straight&k=3&item=SB-001&lang=en",
            wait_until="load")
    pg.wait_for_function("code => window.geosvc && window.geosvc.markers[code]", arg=HALL)
    pg.evaluate(_OPEN_NEAR_BOTTOM_LEFT, HALL)
    _settle(pg)
    boxes = pg.evaluate("""(code) => {
      const r = e => e.getBoundingClientRect();
      const pin = r(window.geosvc.markers[code].getElement());
      const sheet = document.getElementById('gs-results');
      return {pin_bottom: pin.bottom, pin_top: pin.top, sheet_top: r(sheet).top,
              folded: !sheet.open};
    }""", HALL)
    assert boxes["folded"]  # an opening popup folds the list on a phone
    assert boxes["pin_top"] >= 0 and boxes["pin_bottom"] <= boxes["sheet_top"], boxes
    assert pg.evaluate(_POPUP_COVERED) == []
    assert log.problems() == [] and log.dialogs == []


#: Drag the map (no animation) so the popup's content centre lands on ``sel``'s centre.
_POPUP_ONTO = """(sel) => {
  const map = window.geosvc.map;
  const c = document.querySelector('.leaflet-popup-content').getBoundingClientRect();
  const s = document.querySelector(sel).getBoundingClientRect();
  map.panBy([(c.left + c.right) / 2 - (s.left + s.right) / 2,
             (c.top + c.bottom) / 2 - (s.top + s.bottom) / 2], {animate: false});
  return [(s.left + s.right) / 2, (s.top + s.bottom) / 2];
}"""


#: The /map query of the small-frame tests.
_MAP_QUERY = f"lon={X}&lat={Y}&mode=straight&k=3&item=SB-001&lang=en"


@contextmanager
def _frame(browser: Any, url: str, width: int, height: int) -> Iterator[tuple[Any, PageLog]]:
    """A page of ``url`` in a ``width`` x ``height`` frame (an embedding iframe), pins drawn."""
    context, log = offline_context(browser, locale="en-GB",
                                   viewport={"width": width, "height": height})
    try:
        pg = watch_page(context.new_page(), log, timeout_ms=15_000)
        pg.goto(url, wait_until="load")
        pg.wait_for_function("code => window.geosvc && window.geosvc.markers[code]",
                             arg=HALL)
        yield pg, log
    finally:
        context.close()


@pytest.mark.parametrize("box", [".leaflet-control-layers", "#gs-legend"])
def test_small_frame_popup_wins_over_the_layers_control_and_legend(
        browser: Any, app_url: str, box: str) -> None:
    """A 700 x 420 embedding frame: a popup over the layers control or legend shows whole."""
    with _frame(browser, f"{app_url}/map?{_MAP_QUERY}", 700, 420) as (pg, log):
        assert pg.locator(box).is_visible()
        pg.evaluate(f"window.geosvc.markers[{HALL!r}].openPopup()")
        _settle(pg)
        x, y = pg.evaluate(_POPUP_ONTO, box)
        pg.wait_for_function(_POPUP_SETTLED)
        on_top = pg.evaluate("([x, y]) => !!document.elementFromPoint(x, y)"
                             ".closest('.leaflet-popup')", [x, y])
        assert on_top and not pg.locator(box).is_visible()
        pg.evaluate("window.geosvc.map.closePopup()")
        pg.locator(".leaflet-popup").wait_for(state="detached")
        assert pg.locator(box).is_visible()  # back once the popup is gone
        assert log.problems() == [] and log.dialogs == []


def test_small_frame_popup_folds_the_results_list(browser: Any, app_url: str) -> None:
    """A 700 x 420 frame: a popup too tall for the free area folds the list; it shows whole."""
    with _frame(browser, f"{app_url}/map?{_MAP_QUERY}", 700, 420) as (pg, log):
        assert pg.evaluate("document.getElementById('gs-results').open")
        pg.evaluate(f"window.geosvc.markers[{HALL!r}].openPopup()")
        _settle(pg)
        assert not pg.evaluate("document.getElementById('gs-results').open")
        # nothing over the popup but, on its bottom edge, the tiles' attribution line
        # (kept: the popup is taller than the frame's free area even then)
        covered = pg.evaluate(_POPUP_COVERED)
        over = pg.evaluate("""(pts) => pts.map(([x, y]) => {
          const el = document.elementFromPoint(x, y);
          return !!el && !!el.closest('.leaflet-control-attribution'); })""", covered)
        assert all(over), covered
        assert pg.evaluate("""() => {
          const c = document.querySelector('.leaflet-popup-content').getBoundingClientRect();
          const el = document.elementFromPoint((c.left + c.right) / 2, c.top + 8);
          return !!el && !!el.closest('.leaflet-popup'); }""")  # its heading shows
        assert HALL_NAMES[1] in pg.locator(".leaflet-popup-content").inner_text()
        assert axe_problems(pg) == []
        assert log.problems() == [] and log.dialogs == []


def test_tiny_frame_popup_narrows_and_scrolls_inside_the_frame(browser: Any,
                                                               app_url: str) -> None:
    """A 360 x 300 widget frame: the popup narrows and scrolls, whole inside the frame."""
    with _frame(browser, f"{app_url}/embed?lon={X}&lat={Y}&k=3&item=SB-001&lang=en",
                360, 300) as (pg, log):
        pg.evaluate(f"window.geosvc.markers[{HALL!r}].openPopup()")
        _settle(pg)
        left, top, right, bottom, scrolls = pg.evaluate("""() => {
          const r = document.querySelector('.leaflet-popup').getBoundingClientRect();
          const c = document.querySelector('.leaflet-popup-content');
          return [r.left, r.top, r.right, r.bottom, c.scrollHeight > c.clientHeight]; }""")
        assert 0 <= left and right <= 360 and 0 <= top and bottom <= 300
        assert scrolls  # the rest of the popup is a scroll away, not off the frame
        assert pg.evaluate(_POPUP_COVERED) == []
        assert axe_problems(pg) == []
        assert log.problems() == [] and log.dialogs == []
