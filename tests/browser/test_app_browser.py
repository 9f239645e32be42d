"""The citizens' app at ``/`` in real headless Chromium, on the demo city (issue 10).

Each verb is driven as a citizen would, on a desktop (1280 x 800) and a phone
(390 x 844): type ``sb`` and pick 社会保障卡申领, read the guide, see the route
and the directions links; search a 一件事 bundle; use the browser's
geolocation; switch language; the 长辈版; the landing state; an empty state
and an error in words.  Venue names of the demo are never written here: the
tests compare what the page shows with what the JSON API answers for the
same question.  axe-core must find no serious or critical violation in
either language, layout or mode, with results on screen.  Screenshots go to
the session's ``screenshots`` folder.  Requests leaving 127.0.0.1 (tiles)
are aborted.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from geosvc.coords import from_wgs84
from geosvc.render.popup import amap_uri, osm_directions_url
from geosvc.render.venue_page import baidu_uri
from tests.browser._axe import axe_problems
from tests.browser.conftest import (
    CENTRE,
    XSS_NAME,
    PageLog,
    _local,
    offline_context,
    watch_page,
)

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
ITEM_NAME = "社会保障卡申领"  # the example: typing `sb` must offer it

Opener = Callable[..., tuple[Any, PageLog]]


@pytest.fixture
def open_page(browser: Any) -> Iterator[Opener]:
    """Open pages in fresh contexts of a given size; off-host requests abort."""
    contexts: list[Any] = []

    def opener(size: str = "desktop", *, locale: str = "zh-CN",
               geolocation: tuple[float, float] | None = None) -> tuple[Any, PageLog]:
        phone = size == "phone"
        options: dict[str, Any] = {"viewport": SIZES[size], "locale": locale,
                                   "is_mobile": phone, "has_touch": phone}
        if geolocation is not None:
            options["geolocation"] = {"longitude": geolocation[0], "latitude": geolocation[1]}
            options["permissions"] = ["geolocation"]
        context, log = offline_context(browser, **options)
        contexts.append(context)
        pg = watch_page(context.new_page(), log, timeout_ms=15_000)

        def console(msg: Any) -> None:
            # a Content-Security-Policy violation is a console error; so is a failed
            # request of this host (aborted tile requests are expected and left out)
            where = (msg.location or {}).get("url", "")
            if msg.type == "error" and not (
                    "Failed to load resource" in msg.text and not _local(where)):
                log.console_errors.append(f"{msg.text} @ {where}")

        pg.on("console", console)
        return pg, log

    yield opener
    for context in contexts:
        context.close()


def _api(pg: Any, base: str, path: str, **query: Any) -> Any:
    """GET a JSON API answer from inside the page's context (same cookies, same host)."""
    resp = pg.request.get(f"{base}{path}", params={k: str(v) for k, v in query.items()})
    return resp.json()


def _js_round(x: float) -> int:
    """JavaScript's Math.round (halves up; Python's round() rounds halves to even)."""
    return math.floor(x + 0.5)


def _data(pg: Any) -> dict[str, Any]:
    return json.loads(pg.locator("#geosvc-app-data").text_content())


def _shot(pg: Any, shots: Path, name: str) -> None:
    shots.mkdir(exist_ok=True)
    pg.screenshot(path=str(shots / f"app_{name}.png"), full_page=True)


def _results(pg: Any) -> list[str]:
    return pg.locator("#gs-list > li").evaluate_all("els => els.map(e => e.dataset.id)")


def _item_code(pg: Any, base: str) -> str:
    """The code of 社会保障卡申领, as the API's item search finds it for ``sb``."""
    found = _api(pg, base, "/api/v1/items", q="sb", limit=50)["items"]
    return next(i["code"] for i in found if i["name"] == ITEM_NAME)


def _pick_item(pg: Any, size: str, code: str) -> None:
    """Type ``sb`` and pick 社会保障卡申领: keyboard on the desktop, touch on the phone."""
    box = pg.locator("#gs-q")
    box.click()
    box.type("sb", delay=30)
    option = pg.locator(f"#gs-suggest [role=option][data-kind=item][data-code='{code}']")
    option.wait_for()
    if pg.evaluate("document.documentElement.lang") == "zh-CN":
        assert option.locator(".gs-option-name").inner_text() == ITEM_NAME
    assert box.get_attribute("aria-expanded") == "true"
    if size == "desktop":
        wanted = option.get_attribute("id")
        for _ in range(pg.locator("#gs-suggest [role=option]").count()):
            box.press("ArrowDown")
            if box.get_attribute("aria-activedescendant") == wanted:
                break
        assert pg.locator(f"#{wanted}").get_attribute("aria-selected") == "true"
        box.press("Enter")
    else:
        option.tap()
    pg.wait_for_function("() => document.querySelectorAll('#gs-list > li').length > 0 "
                         "&& !document.getElementById('gs-guide').hidden")


def _wait_results(pg: Any) -> None:
    pg.wait_for_function("() => !document.getElementById('gs-list').hasAttribute('aria-busy')"
                         " && (document.querySelectorAll('#gs-list > li').length > 0"
                         " || !document.getElementById('gs-empty').hidden)")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_landing_shows_the_nearest_open_hall(open_page: Opener, demo_url: str, shots: Path,
                                             size: str) -> None:
    pg, log = open_page(size)
    resp = pg.goto(f"{demo_url}/")
    assert resp.status == 200
    _wait_results(pg)
    data = _data(pg)
    lon, lat = data["centre"]
    query = {"lon": f"{lon:.6f}", "lat": f"{lat:.6f}", "kind": "hall", "k": 1,
             "mode": data["modes"][0]}
    answer = _api(pg, demo_url, "/api/v1/nearest", open_now="true", **query)
    assert pg.locator("h1").count() == 1 and pg.locator("main").count() == 1
    first = pg.locator("#gs-list > li").first
    if answer["features"]:
        expect(pg.locator("#gs-results-h")).to_have_text("离地图中心最近的营业中政务服务大厅")
        assert "营业中" in first.locator(".gs-open").inner_text()
    else:  # the demo's clock says every hall is closed: the nearest one and when it opens
        assert answer["empty_reason"] == "closed"
        expect(pg.locator("#gs-results-h")).to_have_text(
            "离地图中心最近的政务服务大厅（现在都已关闭）")
        answer = _api(pg, demo_url, "/api/v1/nearest", **query)
        assert first.locator(".gs-open").inner_text().startswith("已关闭")
    feature = answer["features"][0]
    assert _results(pg) == [feature["id"]]
    link = first.locator("a.gs-venue-link")
    assert link.inner_text() == feature["properties"]["name"]
    assert link.get_attribute("href") == f"/venues/{feature['id']}"
    assert pg.locator("#gs-status").inner_text() == "找到 1 个地点"
    assert axe_problems(pg) == []
    _shot(pg, shots, f"landing_{size}")
    assert log.problems() == [] and log.dialogs == []
    assert all("tile" in u or "openstreetmap" in u for u in log.blocked)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_search_item_guide_route_and_links(open_page: Opener, demo_url: str, shots: Path,
                                           size: str) -> None:
    pg, log = open_page(size)
    pg.goto(f"{demo_url}/")
    _wait_results(pg)
    code = _item_code(pg, demo_url)
    _pick_item(pg, size, code)
    data = _data(pg)
    lon, lat = data["centre"]
    mode = data["modes"][0]
    item = _api(pg, demo_url, f"/api/v1/items/{code}")
    answer = _api(pg, demo_url, "/api/v1/nearest", lon=f"{lon:.6f}", lat=f"{lat:.6f}",
                  item=item["code"], k=5, mode=mode)
    # the list names the item and ranks exactly the API's venues
    expect(pg.locator("#gs-results-h")).to_have_text(f"办理“{ITEM_NAME}”的地点")
    assert _results(pg) == [f["id"] for f in answer["features"]]
    assert pg.locator("#gs-status").inner_text() == f"找到 {len(answer['features'])} 个地点"
    first = answer["features"][0]
    card = pg.locator("#gs-list > li").first
    facts = card.locator(".gs-facts").inner_text()
    assert f"{max(1, _js_round(first['properties']['travel_time_min']))} 分钟" in facts
    labels = _data(pg)["channels"]
    assert card.locator(".gs-channel-text").inner_text() == (
        "办理渠道：" + "、".join(labels[c] for c in first["properties"]["item_channels"]))
    # the service guide, from /api/v1/items/{code}
    guide = pg.locator("#gs-guide")
    assert guide.is_visible()
    expect(guide.locator("h2")).to_have_text(f"办事指南：{ITEM_NAME}")
    body = guide.inner_text()
    assert item["department"] in body
    for material in item["guide"]["materials"]:
        assert material in body
    if item["guide"]["apply_url"]:
        assert guide.locator(".gs-url").inner_text() == item["guide"]["apply_url"]
        assert guide.locator("a").count() == 0  # the address is text, never a link
    if not any(item["guide"][k] for k in ("materials", "conditions", "fee", "apply_url")):
        assert "暂无该事项的办事指南" in body
    # the route of the selected result is drawn (a Leaflet SVG path)
    assert pg.locator(".leaflet-overlay-pane path.gs-route").count() >= 1
    # directions links: each map's own coordinate system, as the server computes them
    vlon, vlat = first["geometry"]["coordinates"]
    name = first["properties"]["name"]
    start = tuple(data["centre"])
    assert pg.locator("#gs-nav-links a.gs-nav-amap").get_attribute("href") == amap_uri(
        vlon, vlat, name, mode=mode)
    assert pg.locator("#gs-nav-links a.gs-nav-baidu").get_attribute("href") == baidu_uri(
        vlon, vlat, name, mode=mode)
    assert pg.locator("#gs-nav-links a.gs-nav-osm").get_attribute("href") == \
        osm_directions_url(vlon, vlat, origin=start, mode=mode)
    assert pg.get_by_role("link", name="高德地图导航").is_visible()
    # picking another result moves the route and the links
    if len(answer["features"]) > 1:
        button = pg.locator("#gs-list > li").nth(1).locator("button.gs-route-button")
        button.focus()
        pg.keyboard.press("Enter")
        assert button.get_attribute("aria-pressed") == "true"
        assert pg.evaluate("document.activeElement.classList.contains('gs-route-button')")
        second = answer["features"][1]
        assert pg.locator("#gs-list > li").nth(1).get_attribute("class") == \
            "gs-result gs-selected"
        href = pg.locator("#gs-nav-links a.gs-nav-amap").get_attribute("href")
        assert href == amap_uri(*second["geometry"]["coordinates"],
                                second["properties"]["name"], mode=mode)
    assert axe_problems(pg) == []
    _shot(pg, shots, f"item_{size}")
    pg.locator("#gs-nav").scroll_into_view_if_needed()
    _shot(pg, shots, f"item_guide_{size}")
    assert log.problems() == [] and log.dialogs == []


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_bundle_search_answers_one_or_two_stops(open_page: Opener, demo_url: str,
                                                shots: Path, size: str) -> None:
    pg, log = open_page(size)
    pg.goto(f"{demo_url}/")
    _wait_results(pg)
    bundle = _api(pg, demo_url, "/api/v1/items", limit=50)["bundles"][0]
    pg.locator("#gs-q").fill(bundle["name"])
    option = pg.locator("#gs-suggest [role=option][data-kind=bundle]").first
    option.wait_for()
    assert option.get_attribute("data-code") == bundle["code"]
    option.click()
    _wait_results(pg)
    data = _data(pg)
    lon, lat = data["centre"]
    answer = _api(pg, demo_url, "/api/v1/nearest", lon=f"{lon:.6f}", lat=f"{lat:.6f}",
                  bundle=bundle["code"], k=5, mode=data["modes"][0])
    assert bundle["name"] in pg.locator("#gs-results-h").inner_text()
    if answer["features"]:
        assert _results(pg) == [f["id"] for f in answer["features"]]
        assert pg.locator("#gs-two-stop").inner_text() == "一处办完全部事项"
    else:
        stops = answer["two_stop"]["stops"]
        assert _results(pg) == [s["id"] for s in stops]
        assert pg.locator(".gs-stop").all_inner_texts() == ["第 1 站", "第 2 站"]
        assert pg.locator(".leaflet-overlay-pane path.gs-route").count() >= 2
    # the bundle's items are listed with their names
    detail = _api(pg, demo_url, f"/api/v1/bundles/{bundle['code']}")
    names = [i["name"] for i in detail["items"]]
    pg.wait_for_function("() => !document.getElementById('gs-guide').hidden")
    assert pg.locator("#gs-guide .gs-bundle-items li").all_inner_texts() == names
    assert axe_problems(pg) == []
    _shot(pg, shots, f"bundle_{size}")
    assert log.problems() == [] and log.dialogs == []


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_geolocation_sets_the_start(open_page: Opener, demo_url: str, shots: Path,
                                    size: str) -> None:
    pg, log = open_page(size, geolocation=(0.0, 0.0))
    pg.goto(f"{demo_url}/")
    _wait_results(pg)
    data = _data(pg)
    here = (round(data["centre"][0] + 0.002, 6), round(data["centre"][1] - 0.001, 6))
    pg.context.set_geolocation({"longitude": here[0], "latitude": here[1]})
    with pg.expect_request("**/api/v1/nearest?*") as req:
        pg.get_by_role("button", name="使用我的位置").click()
    query = parse_qs(urlparse(req.value.url).query)
    assert (float(query["lon"][0]), float(query["lat"][0])) == pytest.approx(here, abs=1e-6)
    _wait_results(pg)
    assert pg.locator("#gs-start-text").inner_text().startswith("出发：我的位置")
    assert pg.locator(".leaflet-overlay-pane path.gs-start-marker").count() == 1
    assert pg.locator("#gs-results-h").inner_text() == "附近的政务服务大厅"
    _shot(pg, shots, f"geolocation_{size}")
    assert log.problems() == []


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_tap_on_the_map_sets_the_start(open_page: Opener, demo_url: str, shots: Path,
                                       size: str) -> None:
    pg, log = open_page(size)
    pg.goto(f"{demo_url}/")
    _wait_results(pg)
    box = pg.locator("#gs-map").bounding_box()
    x, y = round(box["width"] * 0.8), round(box["height"] * 0.3)
    # the landing view may still be panning or zooming: read the point once the map rests
    pg.wait_for_function("() => !geosvcApp.map._animatingZoom && !(geosvcApp.map._panAnim"
                         " && geosvcApp.map._panAnim._inProgress)")
    want, pixel = pg.evaluate(
        f"() => {{ const m = geosvcApp.map, p = m.containerPointToLatLng([{x}, {y}]),"
        f" q = m.containerPointToLatLng([{x} + 1, {y} + 1]);"
        " return [[p.lng, p.lat],"
        " Math.max(Math.abs(q.lng - p.lng), Math.abs(q.lat - p.lat))]; }")
    with pg.expect_request("**/api/v1/nearest?*") as req:
        if size == "phone":
            pg.locator("#gs-map").tap(position={"x": x, "y": y})
        else:
            pg.locator("#gs-map").click(position={"x": x, "y": y})
    query = parse_qs(urlparse(req.value.url).query)
    # the tapped point, within one screen pixel (touch points may land between pixels; CI saw
    # 0.35 m off on the phone) and the app's 6-decimal rounding
    assert (float(query["lon"][0]), float(query["lat"][0])) == pytest.approx(
        want, abs=pixel + 1e-6)
    assert pixel < 5e-5  # a pixel is a few metres at the landing zoom, not a kilometre
    _wait_results(pg)
    assert pg.locator("#gs-start-text").inner_text().startswith("出发：地图上选的点")
    assert pg.locator("#gs-results-h").inner_text() == "附近的政务服务大厅"
    _shot(pg, shots, f"tap_{size}")
    assert log.problems() == []


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_place_from_search_sets_the_start(open_page: Opener, demo_url: str, shots: Path,
                                          size: str) -> None:
    pg, log = open_page(size)
    pg.goto(f"{demo_url}/")
    _wait_results(pg)
    data = _data(pg)
    lon, lat = data["centre"]
    places = _api(pg, demo_url, "/api/v1/search", q="tie", lon=f"{lon:.6f}",
                  lat=f"{lat:.6f}", limit=5)["places"]
    assert places, "the demo extract names streets"
    place = places[0]
    pg.locator("#gs-q").fill(place["name"])
    option = pg.locator("#gs-suggest [role=option][data-kind=place]",
                        has_text=place["name"]).first
    option.wait_for()
    with pg.expect_request("**/api/v1/nearest?*") as req:
        option.click()
    query = parse_qs(urlparse(req.value.url).query)
    assert (float(query["lon"][0]), float(query["lat"][0])) == pytest.approx(
        (place["lon"], place["lat"]), abs=1e-6)
    _wait_results(pg)
    assert pg.locator("#gs-start-text").inner_text() == f"出发：{place['name']}"
    _shot(pg, shots, f"place_{size}")
    assert log.problems() == []


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_language_switch_and_memory(open_page: Opener, demo_url: str, shots: Path,
                                    size: str) -> None:
    pg, log = open_page(size)
    pg.goto(f"{demo_url}/")
    _wait_results(pg)
    assert pg.evaluate("document.documentElement.lang") == "zh-CN"
    pg.get_by_role("link", name="Switch to English").click()
    pg.wait_for_url("**/?lang=en*")
    _wait_results(pg)
    assert pg.evaluate("document.documentElement.lang") == "en"
    assert pg.locator("h1").inner_text() == "Government services map"
    data = _data(pg)
    lon, lat = data["centre"]
    now_open = _api(pg, demo_url, "/api/v1/nearest", open_now="true", lon=f"{lon:.6f}",
                    lat=f"{lat:.6f}", kind="hall", k=1, mode=data["modes"][0])
    # the landing heading follows the demo's clock (every hall may be closed now)
    expect(pg.locator("#gs-results-h")).to_have_text(
        "Nearest open service hall to the map centre" if now_open["features"] else
        "Nearest service hall to the map centre (all are closed now)")
    assert "政务" not in pg.locator("header").inner_text().replace("中文", "")
    cookies = {c["name"]: c["value"] for c in pg.context.cookies()}
    assert cookies["geosvc_lang"] == "en"
    pg.goto(f"{demo_url}/")  # remembered
    _wait_results(pg)
    assert pg.evaluate("document.documentElement.lang") == "en"
    code = _item_code(pg, demo_url)
    _pick_item(pg, size, code)
    item = _api(pg, demo_url, f"/api/v1/items/{code}")
    expect(pg.locator("#gs-results-h")).to_have_text(
        f"Places for “{item['name_en'] or item['name']}”")
    expect(pg.locator("#gs-status")).to_contain_text("places found")
    assert pg.get_by_role("link", name="Amap directions").is_visible()
    assert axe_problems(pg) == []
    _shot(pg, shots, f"english_{size}")
    pg.get_by_role("link", name="切换到中文").click()
    pg.wait_for_url("**/?lang=zh*")
    _wait_results(pg)
    assert pg.evaluate("document.documentElement.lang") == "zh-CN"
    # the item choice travels with the switch (in the URL's hash)
    expect(pg.locator("#gs-results-h")).to_have_text(f"办理“{ITEM_NAME}”的地点")
    assert log.problems() == []


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_elder_mode_is_large_plain_and_clean(open_page: Opener, demo_url: str, shots: Path,
                                             size: str, lang: str) -> None:
    pg, log = open_page(size)
    pg.goto(f"{demo_url}/?lang={lang}")
    _wait_results(pg)
    switch = pg.locator("#gs-elder")
    assert switch.inner_text() == ("长辈版" if lang == "zh" else "Large-print mode")
    switch.click()
    pg.wait_for_url("**/?elder=1*")
    _wait_results(pg)
    assert pg.evaluate("document.body.classList.contains('gs-elder')")
    base_px = float(pg.evaluate("parseFloat(getComputedStyle(document.body).fontSize)"))
    assert base_px >= 20
    assert pg.locator("#gs-channel").count() == 0  # fewer choices
    # one column: the map sits below the search box, not beside it
    search = pg.locator("#gs-search").bounding_box()
    the_map = pg.locator("#gs-map").bounding_box()
    assert the_map["y"] > search["y"] + search["height"] - 1
    _pick_item(pg, size, _item_code(pg, demo_url))
    assert axe_problems(pg) == []
    _shot(pg, shots, f"elder_{lang}_{size}")
    assert pg.locator("#gs-elder").inner_text() == ("标准版" if lang == "zh"
                                                    else "Standard mode")
    assert log.problems() == []


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_axe_with_results_both_languages(open_page: Opener, demo_url: str, size: str,
                                         lang: str) -> None:
    pg, _ = open_page(size)
    pg.goto(f"{demo_url}/?lang={lang}&elder=0")
    _wait_results(pg)
    _pick_item(pg, size, _item_code(pg, demo_url))
    assert axe_problems(pg) == []


def _empty_combination(pg: Any, base: str, centre: list[float], mode: str) -> tuple[str, str]:
    """An (item code, channel) that no venue offers, found through the API."""
    items = _api(pg, base, "/api/v1/items", limit=200)["items"]
    for item in items:
        for channel in ("smart_teller", "self_service", "window"):
            answer = _api(pg, base, "/api/v1/nearest", lon=centre[0], lat=centre[1], k=1,
                          item=item["code"], channel=channel, mode=mode)
            if answer.get("empty_reason") == "no_venue_offers_item":
                return item["code"], channel
    pytest.fail("every item is offered through every channel in the demo")


def test_empty_state_says_why(open_page: Opener, demo_url: str, shots: Path) -> None:
    pg, log = open_page("desktop")
    pg.goto(f"{demo_url}/")
    _wait_results(pg)
    data = _data(pg)
    code, channel = _empty_combination(pg, demo_url, data["centre"], data["modes"][0])
    pg.goto(f"{demo_url}/?lang=zh#item={code}")  # a new document: the hash is read
    _wait_results(pg)
    pg.locator("#gs-channel").select_option(channel)
    pg.wait_for_function("() => !document.getElementById('gs-empty').hidden")
    box = pg.locator("#gs-empty")
    assert box.locator(".gs-empty-why").inner_text() == "没有场所办理所选事项。"
    assert "渠道" in box.locator(".gs-empty-try").inner_text()
    assert pg.locator("#gs-status").inner_text() == "没有场所办理所选事项。"
    assert pg.locator("#gs-list > li").count() == 0
    assert axe_problems(pg) == []
    _shot(pg, shots, "empty_desktop")
    assert log.problems() == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_error_in_words_not_json(open_page: Opener, demo_url: str, shots: Path,
                                 lang: str) -> None:
    """A start far from every road: the API's 422 problem is shown as a sentence."""
    pg, log = open_page("phone")
    pg.goto(f"{demo_url}/?lang={lang}#start=25.400000,60.600000")
    pg.wait_for_function("() => !document.getElementById('gs-empty').hidden")
    text = pg.locator("#gs-empty").inner_text()
    assert "{" not in text and "problem" not in text
    if lang == "zh":
        assert pg.locator("#gs-status").inner_text() == "出发地点离道路太远，无法规划路线。"
        assert "靠近道路" in text
    else:
        assert pg.locator("#gs-status").inner_text() == \
            "The start is too far from any road to plan a route."
        assert "Details: " in text and "1,000 m" in text
    assert axe_problems(pg) == []
    _shot(pg, shots, f"error_{lang}_phone")
    # the browser logs the API's 422 itself; nothing else went wrong
    assert [p for p in log.problems() if "status of 422" not in p] == []
    assert any("/api/v1/nearest" in p for p in log.problems())


def test_bad_lang_is_an_html_page(open_page: Opener, demo_url: str) -> None:
    pg, _ = open_page("desktop")
    resp = pg.goto(f"{demo_url}/?lang=fr")
    assert resp.status == 400
    assert resp.headers["content-type"] == "text/html; charset=utf-8"
    assert "lang" in pg.locator("main").inner_text()
    assert pg.locator("h1").count() == 1


def test_hostile_names_are_text_and_amap_tiles_shift(open_page: Opener, app_url: str) -> None:
    """On the Xuancheng data (China): no script runs; Amap tiles move the pins to GCJ-02."""
    pg, log = open_page("desktop")
    pg.goto(f"{app_url}/?tiles=amap")
    _wait_results(pg)
    pg.locator("#gs-q").fill("<img")
    option = pg.locator("#gs-suggest [role=option][data-kind=venue]").first
    option.wait_for()
    assert option.locator(".gs-option-name").inner_text() == XSS_NAME
    assert pg.locator("#gs-suggest img").count() == 0
    option.click()
    _wait_results(pg)
    assert pg.locator("#gs-list img, #gs-suggest img").count() == 0
    assert pg.locator("#gs-start-text").inner_text() == f"出发：{XSS_NAME} · 场所详情"
    assert pg.locator("#gs-start-text a").get_attribute("href") == "/venues/XC-K-0002"
    pins = pg.evaluate("""() => {
        const out = [];
        geosvcApp.map.eachLayer(l => { if (l.options && l.options.icon && l.getLatLng) {
            const p = l.getLatLng(); out.push([p.lng, p.lat]); } });
        return out; }""")
    features = pg.evaluate("() => geosvcApp.state.features.map(f => f.geometry.coordinates)")
    assert features and len(pins) == len(features)
    expected = sorted(from_wgs84(x, y, "gcj02") for x, y in features)
    for got, want in zip(sorted(pins), expected, strict=True):
        assert got == pytest.approx(want, abs=1e-9)
    assert abs(expected[0][0] - sorted(features)[0][0]) > 1e-3  # the shift is real here
    pg.wait_for_timeout(200)
    assert log.dialogs == [] and log.problems() == []


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_english_page_names_venues_in_english_with_the_sign_name(
        open_page: Opener, app_url: str, size: str) -> None:
    """English page: a venue's English name in list, pin and popup; its sign's name under it."""
    pg, log = open_page(size)
    pg.goto(f"{app_url}/?lang=en#item=SB-001")  # every venue handles it
    _wait_results(pg)
    feature = pg.evaluate(
        "() => geosvcApp.state.features.find(f => f.id === 'XC-H-0001')")
    props = feature["properties"]
    assert props["name_en"] and props["name_en"] != props["name"]  # the case under test
    row = pg.locator("#gs-list > li[data-id='XC-H-0001']")
    assert row.locator("a.gs-venue-link").inner_text() == props["name_en"]
    sign = row.locator(".gs-sign-name")
    assert sign.inner_text() == props["name"] and sign.get_attribute("lang") == "zh"
    others = pg.locator("#gs-list > li:not([data-id='XC-H-0001']) .gs-sign-name")
    assert others.count() == 0  # venues without an English name: their one name, once
    pin = pg.locator(f".gs-pin[aria-label*='{props['name_en']}']")
    assert pin.count() == 1
    pin.focus()  # by keyboard: on a phone a neighbour's pin may overlap this one
    pg.keyboard.press("Enter")
    popup = pg.locator(".gs-pin-popup")
    expect(popup.locator("a.gs-venue-link")).to_have_text(props["name_en"])
    expect(popup.locator(".gs-sign-name")).to_have_text(props["name"])
    pg.wait_for_function("() => getComputedStyle(document.querySelector('.leaflet-popup'))"
                         ".opacity === '1'")  # faded in: axe reads the colours drawn
    assert axe_problems(pg) == []
    pg.goto(f"{app_url}/?lang=zh#item=SB-001")  # Chinese page: the sign's name, no 2nd line
    _wait_results(pg)
    row = pg.locator("#gs-list > li[data-id='XC-H-0001']")
    assert row.locator("a.gs-venue-link").inner_text() == props["name"]
    assert pg.locator("#gs-list .gs-sign-name").count() == 0
    assert log.problems() == []


def test_js_coordinates_match_geosvc_coords(open_page: Opener, app_url: str) -> None:
    pg, _ = open_page("desktop")
    pg.goto(f"{app_url}/")
    _wait_results(pg)
    for lon, lat in (CENTRE, (116.397, 39.909), (121.4737, 31.2304), (24.94, 60.17)):
        gcj = pg.evaluate(f"geosvcApp.wgsToGcj({lon}, {lat})")
        assert gcj == pytest.approx(from_wgs84(lon, lat, "gcj02"), abs=1e-9)
        bd = pg.evaluate(f"geosvcApp.wgsToBd({lon}, {lat})")
        assert bd == pytest.approx(from_wgs84(lon, lat, "bd09"), abs=1e-9)
        back = pg.evaluate(f"geosvcApp.gcjToWgs({gcj[0]}, {gcj[1]})")
        assert back == pytest.approx([lon, lat], abs=1e-8)


def test_choices_go_into_the_query_and_escape_closes(open_page: Opener, demo_url: str) -> None:
    pg, log = open_page("desktop")
    pg.goto(f"{demo_url}/")
    _wait_results(pg)
    code = _item_code(pg, demo_url)
    _pick_item(pg, "desktop", code)
    with pg.expect_request("**/api/v1/nearest?*") as req:
        pg.get_by_label("只看营业中").check()
    query = parse_qs(urlparse(req.value.url).query)
    assert query["open_now"] == ["true"] and query["item"] == [code]
    _wait_results(pg)
    with pg.expect_request("**/api/v1/nearest?*") as req:
        pg.get_by_label("办理渠道").select_option("window")
    query = parse_qs(urlparse(req.value.url).query)
    assert query["channel"] == ["window"] and query["open_now"] == ["true"]
    _wait_results(pg)
    for card in pg.locator("#gs-list .gs-channel-text").all_inner_texts():
        assert card == "办理渠道：窗口"
    # the modes the server loaded, and only those
    data = _data(pg)
    assert pg.locator("input[name=mode]").evaluate_all(
        "els => els.map(e => e.value)") == data["modes"]
    box = pg.locator("#gs-q")
    box.fill("")
    box.type("sb", delay=30)
    pg.locator("#gs-suggest [role=option]").first.wait_for()
    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == "gs-opt-0"
    box.press("Escape")
    assert box.get_attribute("aria-expanded") == "false"
    assert pg.locator("#gs-suggest").is_hidden()
    assert box.get_attribute("aria-activedescendant") is None
    assert log.problems() == []


GUIDE = {"materials": ("居民身份证原件", "<b>近期一寸白底照片</b>"),
         "conditions": "本市参保人员", "fee": "免费", "legal_days": 20, "promised_days": 5,
         "apply_url": "https://zwfw.example.gov.cn/apply?item=SB-001&x=<y>",
         "can_do_online": True, "at_kiosk": True}


@pytest.fixture(scope="module")
def guide_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Xuancheng data with a full service guide on 社会保障卡申领 (SB-001).

    And a bundle (B-TWO) that no single venue handles: a two-stop answer.
    """
    import dataclasses

    from geosvc.model import Bundle, DatasetInfo, Link, ServiceItem, VenueKind
    from geosvc.store import open_store
    from geosvc.store.base import Batch
    from geosvc.web import create_app
    from tests.browser.conftest import _items, _links, _Server, _venues

    path = tmp_path_factory.mktemp("guide-data") / "guide.sqlite"
    items = [dataclasses.replace(i, **GUIDE) if i.code == "SB-001" else i for i in _items()]
    # a bank-only item: with the hall-only YB-002 no single venue covers the bundle
    items.append(ServiceItem("BK-004", "银行代发社保待遇", "Benefit paid through a bank",
                             "人社局"))
    venues = _venues()
    links = _links() + [Link(v.code, "BK-004", frozenset(v.channels)) for v in venues
                        if v.kind is VenueKind.BANK_OUTLET]
    bundle = Bundle("B-TWO", "退休一件事", ("YB-002", "BK-004"), name_en="Retiring: one thing")
    store = open_store(str(path))
    try:
        store.write(Batch(info=DatasetInfo(name="宣城 guide", timezone="Asia/Shanghai",
                                           country="CN"),
                          venues=venues, items=items, links=links, bundles=[bundle]))
    finally:
        store.close()
    server = _Server(create_app({"db": str(path), "osm": None, "TESTING": True,
                                 "cache_dir": str(tmp_path_factory.mktemp("guide-cache"))}))
    yield server.url
    server.close()


@pytest.mark.parametrize(("size", "lang"), [("desktop", "zh"), ("phone", "en")])
def test_service_guide_shows_every_field_as_text(open_page: Opener, guide_url: str,
                                                 shots: Path, size: str, lang: str) -> None:
    pg, log = open_page(size)
    pg.goto(f"{guide_url}/?lang={lang}#item=SB-001")
    pg.wait_for_function("() => !document.getElementById('gs-guide').hidden")
    guide = pg.locator("#gs-guide")
    item = _api(pg, guide_url, "/api/v1/items/SB-001")
    assert guide.locator("ul li").all_inner_texts()[:2] == list(item["guide"]["materials"])
    assert guide.locator("b").count() == 0  # markup in the data stays text
    assert guide.locator(".gs-url").inner_text() == item["guide"]["apply_url"]
    assert guide.locator("a").count() == 0  # the apply URL is never a link
    text = guide.inner_text()
    if lang == "zh":
        assert guide.locator("h2").inner_text() == "办事指南：社会保障卡申领"
        for part in ("本市参保人员", "免费", "法定 20 个工作日；承诺 5 个工作日", "可网上办理",
                     "可在自助终端办理"):
            assert part in text
        assert "可邮寄办理" not in text
    else:
        assert guide.locator("h2").inner_text() == \
            "Service guide: Apply for a social-security card"
        for part in ("legal limit 20 working days; promised 5 working days",
                     "can be done online", "can be done at a self-service kiosk", "Fee"):
            assert part in text
    assert "暂无" not in text and "No service guide" not in text
    _wait_results(pg)
    assert axe_problems(pg) == []
    guide.scroll_into_view_if_needed()
    _shot(pg, shots, f"guide_{lang}_{size}")
    pg.wait_for_timeout(200)
    assert log.problems() == [] and log.dialogs == []


def test_landing_without_road_network_is_straight(open_page: Opener, app_url: str,
                                                  shots: Path) -> None:
    """The Xuancheng data has no road network: no mode choice, straight-line distances."""
    pg, log = open_page("phone")
    pg.goto(f"{app_url}/")
    _wait_results(pg)
    data = _data(pg)
    assert data["modes"] == ["straight"]
    assert pg.locator("input[name=mode]").count() == 0
    assert pg.locator("#gs-straight").inner_text() == "服务器未加载道路网络，按直线距离排序。"
    lon, lat = data["centre"]
    query = {"lon": f"{lon:.6f}", "lat": f"{lat:.6f}", "kind": "hall", "k": 1}
    answer = _api(pg, app_url, "/api/v1/nearest", open_now="true", **query)
    if not answer["features"]:
        expect(pg.locator("#gs-results-h")).to_have_text(
            "离地图中心最近的政务服务大厅（现在都已关闭）")
        answer = _api(pg, app_url, "/api/v1/nearest", **query)
        words = pg.locator("#gs-list .gs-open").first.inner_text()
        assert words.startswith("已关闭，") and words.endswith("开门")
    assert _results(pg) == [answer["features"][0]["id"]]
    facts = pg.locator("#gs-list .gs-facts").first.inner_text()
    assert facts.startswith("直线 ")
    assert axe_problems(pg) == []
    _shot(pg, shots, "straight_phone")
    assert log.problems() == []


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_bundle_two_stops_show_both_legs(open_page: Opener, guide_url: str, shots: Path,
                                         size: str) -> None:
    pg, log = open_page(size)
    pg.goto(f"{guide_url}/")
    _wait_results(pg)
    pg.locator("#gs-q").fill("退休")
    option = pg.locator("#gs-suggest [role=option][data-kind=bundle][data-code=B-TWO]")
    option.wait_for()
    option.click()
    pg.wait_for_function("() => document.querySelectorAll('#gs-list .gs-stop').length == 2")
    data = _data(pg)
    lon, lat = data["centre"]
    answer = _api(pg, guide_url, "/api/v1/nearest", lon=f"{lon:.6f}", lat=f"{lat:.6f}",
                  bundle="B-TWO", k=5, mode="straight")
    assert answer["features"] == [] and answer["empty_reason"] == "no_venue_offers_item"
    stops = answer["two_stop"]["stops"]
    assert _results(pg) == [f["id"] for f in stops]
    expect(pg.locator("#gs-results-h")).to_have_text("一件事“退休一件事”的办理地点")
    total = _js_round(answer["two_stop"]["total_time_min"])
    stay = _js_round(answer["two_stop"]["stop_minutes"])
    assert pg.locator("#gs-two-stop").inner_text() == \
        f"需要跑两处，路上共约 {total} 分钟（在第一处约办理 {stay} 分钟）"
    assert pg.locator(".gs-stop").all_inner_texts() == ["第 1 站", "第 2 站"]
    names = {"YB-002": "医保参保信息查询", "BK-004": "银行代发社保待遇"}
    for card, stop in zip(pg.locator("#gs-list > li").all(), stops, strict=True):
        done = "、".join(names[c] for c in stop["properties"]["bundle_items"])
        expect(card.locator(".gs-stop-items")).to_have_text(f"在此办理：{done}")
    for fact in pg.locator("#gs-list .gs-facts").all_inner_texts():
        assert fact.endswith("分钟") or fact.endswith("米")  # nothing dangles
    # both legs are drawn
    assert pg.locator(".leaflet-overlay-pane path.gs-route").count() == 2
    assert axe_problems(pg) == []
    _shot(pg, shots, f"two_stops_{size}")
    assert log.problems() == [] and log.dialogs == []
