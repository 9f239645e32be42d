"""axe-core (WCAG 2 A/AA) on every page, both languages, desk and phone, normal and elder mode.

Zero serious or critical violations are allowed (tests/browser/_axe.py).  Each
page is also checked for what axe cannot judge on its own: ``<html lang>``
matches the language asked for, one ``main`` and one ``h1``, the language
switch leads to the other language, and the elder mode (长辈版) has large
type.  Screenshots of the citizen pages go to the session's screenshot folder
(``a11y-<page>-<lang>-<layout>[-elder].png``) for review.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser._axe import axe_problems
from tests.browser.conftest import CENTRE, PageLog, offline_context, watch_page

pytestmark = pytest.mark.browser

X, Y = CENTRE
#: name -> (path, elder mode offered, a map page)
PAGES: dict[str, tuple[str, bool, bool]] = {
    "map": ("/map", True, True),
    "map-landing": ("/map?open_at=2026-09-28T10:00", True, True),
    "map-nearest": (f"/map?lon={X + 0.0005}&lat={Y + 0.0005}&mode=straight&k=3&item=SB-001",
                    True, True),
    "map-coverage": ("/map?layer=coverage&mode=straight&minutes=10", True, True),
    "map-isochrones": (f"/map?layer=isochrones&lon={X}&lat={Y}&mode=straight&minutes=5,10",
                       True, True),
    "embed": (f"/embed?lon={X}&lat={Y}&mode=straight&k=3", True, True),
    "venue": ("/venues/XC-H-0001?open_at=2026-09-28T10:00", True, False),
    "error": ("/venues/NOPE", True, False),
    "docs": ("/docs", False, False),
    "report": ("/api/v1/coverage?f=html&mode=straight&minutes=10", False, False),
    "plan": ("/plan.html", False, True),  # POST /api/v1/plans?f=html, served by a host site
}
#: Pages whose screenshots are kept (and reviewed).
SHOTS = {"map", "map-landing", "map-nearest", "map-coverage", "embed", "venue", "error",
         "docs", "plan"}
LAYOUTS = {"desk": {"viewport": {"width": 1280, "height": 800}},
           "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
                     "is_mobile": True, "has_touch": True}}
CASES = [(name, lang, layout, elder)
         for name, (_, offers_elder, _) in PAGES.items()
         for lang in ("zh", "en") for layout in LAYOUTS
         for elder in ((False, True) if offers_elder else (False,))]


def _plan_html(app_url: str, lang: str) -> str:
    sites = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": f"S{i}", "properties": {"name": f"候选点 {i}"},
         "geometry": {"type": "Point", "coordinates": [X + dx, Y - 0.012]}}
        for i, dx in ((1, -0.012), (2, 0.012))]}
    body = json.dumps({"mode": "straight", "minutes": 2, "k": 2, "candidates": sites})
    req = urllib.request.Request(f"{app_url}/api/v1/plans?f=html&lang={lang}",
                                 data=body.encode("utf-8"), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.headers["Content-Type"].startswith("text/html")
        return resp.read().decode("utf-8")


@pytest.fixture
def context_for(browser: Any) -> Iterator[Any]:
    """Open contexts of a layout (off-host requests aborted); closed after the test."""
    opened: list[Any] = []

    def make(layout: str, lang: str) -> tuple[Any, PageLog]:
        locale = "zh-CN" if lang == "zh" else "en-GB"
        context, log = offline_context(browser, locale=locale, **LAYOUTS[layout])
        opened.append(context)
        return watch_page(context.new_page(), log, timeout_ms=15_000), log

    yield make
    for context in opened:
        context.close()


IDS = [f"{n}-{la}-{lo}{'-elder' if e else ''}" for n, la, lo, e in CASES]


@pytest.mark.parametrize(("name", "lang", "layout", "elder"), CASES, ids=IDS)
def test_page_has_no_serious_axe_violation(context_for: Any, app_url: str, host_site: Any,
                                           shots: Path, name: str, lang: str, layout: str,
                                           elder: bool) -> None:
    path, _, is_map = PAGES[name]
    pg, log = context_for(layout, lang)
    if name == "plan":
        site, host_url = host_site
        site.pages[f"/plan-{lang}.html"] = _plan_html(app_url, lang)
        url = f"{host_url}/plan-{lang}.html"
    else:
        sep = "&" if "?" in path else "?"
        url = f"{app_url}{path}{sep}lang={lang}" + ("&elder=1" if elder else "")
    pg.goto(url, wait_until="load")
    if is_map:
        pg.wait_for_function("() => window.geosvc && window.geosvc.map")
    pg.wait_for_timeout(250)
    assert pg.evaluate("document.documentElement.lang") == ("zh-CN" if lang == "zh" else "en")
    assert pg.locator("main").count() == 1
    assert pg.locator("h1").count() == 1
    problems = axe_problems(pg)
    if name in SHOTS:
        shots.mkdir(exist_ok=True)
        suffix = "-elder" if elder else ""
        pg.screenshot(path=str(shots / f"a11y-{name}-{lang}-{layout}{suffix}.png"),
                      full_page=not is_map)
    assert problems == []
    assert log.page_errors == []
    if name in ("report", "plan"):
        return
    # The language switch: a visible link to the same page in the other language
    other = "en" if lang == "zh" else "zh"
    switch = pg.locator('[data-gs-switch="lang"]')
    assert switch.count() == 1 and switch.is_visible()
    href = switch.get_attribute("href") or ""
    assert parse_qs(urlparse(href).query)["lang"] == [other]
    assert urlparse(href).path == urlparse(url).path
    if elder:
        size = pg.evaluate("""() => {
            const el = document.querySelector('main p, .gs-box, main td, main li');
            return parseFloat(getComputedStyle(el).fontSize); }""")
        assert size >= 20
        back = pg.locator('[data-gs-switch="elder"]')
        assert back.is_visible()
        assert parse_qs(urlparse(back.get_attribute("href") or "").query)["elder"] == ["0"]


def test_map_controls_and_query_marker_have_names(context_for: Any, app_url: str) -> None:
    """Keyboard users reach the query point, markers and zoom buttons by name."""
    pg, log = context_for("desk", "en")
    path = PAGES["map-nearest"][0]
    pg.goto(f"{app_url}{path}&lang=en", wait_until="load")
    pg.wait_for_function("() => window.geosvc && window.geosvc.map")
    assert pg.get_by_role("button", name="Search point").count() == 1
    assert pg.get_by_role("button", name="Zoom in").count() == 1
    assert pg.locator(".leaflet-control-layers-toggle").get_attribute("aria-label") == "Layers"
    assert pg.locator(".leaflet-marker-icon[role=button]:not([title])").count() == 0
    # The results list is reachable by keyboard and opens the venue's popup
    pg.locator("#gs-results .gs-result").first.focus()
    pg.keyboard.press("Enter")
    pg.locator(".leaflet-popup-content").wait_for()
    assert "Details" in pg.locator(".leaflet-popup-content").inner_text()
    assert pg.get_by_role("button", name="Close", exact=True).count() == 1
    # In Chinese the controls are named in Chinese
    pg.goto(f"{app_url}{path}&lang=zh", wait_until="load")
    pg.wait_for_function("() => window.geosvc && window.geosvc.map")
    assert pg.get_by_role("button", name="查询位置").count() == 1
    assert pg.get_by_role("button", name="放大").count() == 1
    assert pg.get_by_role("button", name="缩小").count() == 1
    assert log.page_errors == []
