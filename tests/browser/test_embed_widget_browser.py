"""/embed in an iframe and the widget, each on a page of ANOTHER origin (second server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser._axe import axe_problems
from tests.browser.conftest import CENTRE, XSS_NAME, PageLog, offline_context, watch_page

pytestmark = pytest.mark.browser


def test_embed_in_iframe_of_other_origin(page: Any, app_url: str, host_site: Any,
                                         shots: Path) -> None:
    site, host_url = host_site
    x, y = CENTRE
    site.pages["/embed.html"] = (
        "<!DOCTYPE html><html><body><h1>Portal</h1>"
        f'<iframe id="gs" src="{app_url}/embed?lon={x}&lat={y}&k=3&item=SB-001" '
        'width="600" height="400"></iframe></body></html>')
    pg, log = page
    resp = pg.goto(f"{host_url}/embed.html")
    assert resp.ok
    frame = pg.frame_locator("#gs")
    frame.locator(".gs-ranked").first.wait_for()
    assert frame.locator(".gs-ranked").count() == 3
    assert frame.locator("#gs-legend").count() == 0  # compact page: no legend
    child = next(f for f in pg.frames if f.url.startswith(app_url))
    assert child.evaluate("Object.keys(window.geosvc.markers).length") == 3
    shots.mkdir(exist_ok=True)
    pg.screenshot(path=str(shots / "embed.png"))
    assert log.problems() == []


def test_embed_headers_allow_framing(app_url: str) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{app_url}/embed", timeout=10) as resp:
        assert "X-Frame-Options" not in resp.headers
        # any site may frame it; its scripts are only its own (inline ones by hash)
        policy = [d.strip() for d in resp.headers["Content-Security-Policy"].split(";")]
        assert policy[-1] == "frame-ancestors *" and "object-src 'none'" in policy
        assert any(d.startswith("script-src 'self' 'sha256-") for d in policy)
        assert resp.headers["Content-Type"].startswith("text/html")


def test_widget_on_other_origin_search_and_list(page: Any, app_url: str, host_site: Any,
                                                shots: Path) -> None:
    site, host_url = host_site
    x, y = CENTRE
    site.pages["/widget.html"] = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body><h1>Host</h1>"
        '<div id="finder"></div>'
        f'<script src="{app_url}/static/geosvc-widget.js" data-target="#finder" '
        f'data-lon="{x}" data-lat="{y}" data-k="8"></script></body></html>')
    pg, log = page
    pg.goto(f"{host_url}/widget.html")
    box = pg.locator("#finder input.gsw-q")
    box.fill("shebao")
    sugg = pg.locator("#finder .gsw-sugg button")
    sugg.first.wait_for()
    assert "社会保障卡申领" in sugg.first.inner_text()
    sugg.first.click()
    results = pg.locator("#finder .gsw-results li")
    results.first.wait_for()
    assert results.count() == 8
    assert "社会保障卡申领" in pg.locator("#finder .gsw-item").inner_text()
    src = pg.locator("#finder iframe").get_attribute("src")
    assert src.startswith(f"{app_url}/embed?") and "item=SB-001" in src
    # The hostile kiosk handles SB-001 and is near: its name shows as text only.
    names = [results.nth(i).locator(".gsw-name").inner_text() for i in range(8)]
    assert XSS_NAME in names
    assert pg.locator("#finder img").count() == 0
    pg.wait_for_timeout(300)
    shots.mkdir(exist_ok=True)
    pg.screenshot(path=str(shots / "widget.png"), full_page=True)
    assert log.dialogs == [] and log.problems() == []


def test_widget_mount_api_and_error_text(page: Any, app_url: str, host_site: Any) -> None:
    site, host_url = host_site
    site.pages["/mount.html"] = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body><div id='w'></div>"
        f"<script src='{app_url}/static/geosvc-widget.js'></script>"
        "<script>window.w = GeosvcWidget.mount(document.getElementById('w'), "
        f"{{base: '{app_url}', lon: {CENTRE[0]}, lat: {CENTRE[1]}, item: 'NOPE'}});</script>"
        "</body></html>")
    pg, log = page
    pg.goto(f"{host_url}/mount.html")
    status = pg.locator("#w .gsw-status")
    pg.wait_for_function(
        "document.querySelector('#w .gsw-status').textContent.includes('NOPE')"
    )
    assert "item" in status.inner_text()  # the API's problem detail, shown as text
    assert log.page_errors == [] and log.dialogs == []


# --------------------------------------------------------------------------- issue 10, item 8

#: Near 鳌峰街道便民服务中心 (XC-H-0003): where the browser says the citizen is.
HERE = (118.748, 30.9458)


def _host_page(site: Any, app_url: str, name: str, extra: str = "") -> str:
    x, y = CENTRE
    site.pages[name] = (
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>某政务门户 A portal</title></head><body><main><h1>门户 Portal</h1>"
        '<div id="finder"></div></main>'
        f'<script src="{app_url}/static/geosvc-widget.js" data-target="#finder" '
        f'data-item="SB-001" data-lon="{x}" data-lat="{y}" data-k="5" {extra}></script>'
        "</body></html>")
    return name


def _context(browser: Any, **kw: Any) -> tuple[Any, PageLog]:
    """A browser context like the `page` fixture's: off-host requests abort, errors logged."""
    context, log = offline_context(browser, **kw)

    def watch(pg: Any) -> None:
        watch_page(pg, log)
        pg.on("console", lambda m: log.console_errors.append(m.text)
              if m.type == "error" and "Failed to load resource" not in m.text else None)

    context.on("page", watch)
    return context, log


def _names(pg: Any) -> list[str]:
    return pg.locator("#finder .gsw-results li a").all_inner_texts()


def _wait_first(pg: Any, name: str) -> None:
    pg.wait_for_function(
        "n => { const a = document.querySelector('#finder .gsw-results li a');"
        " return a && a.textContent === n; }", arg=name)


def test_widget_links_address_place_location_and_language(browser: Any, app_url: str,
                                                           host_site: Any,
                                                           shots: Path) -> None:
    site, host_url = host_site
    path = _host_page(site, app_url, "/widget-citizen.html")
    context, log = _context(browser, viewport={"width": 1100, "height": 900},
                            locale="zh-CN",
                            geolocation={"longitude": HERE[0], "latitude": HERE[1]})
    context.grant_permissions(["geolocation"])
    pg = context.new_page()
    pg.goto(host_url + path)
    results = pg.locator("#finder .gsw-results li")
    results.first.wait_for()
    assert results.count() == 5
    # From the centre: the city hall first, with its address and the item's channels
    assert _names(pg)[0] == "宣城市政务服务中心"
    first = results.first
    assert "宣城市宣州区鳌峰中路 1 号" in first.locator(".gsw-addr").inner_text()
    meta = first.locator(".gsw-meta").inner_text()
    assert "0 m" in meta and ("营业中" in meta or "已关闭" in meta)
    assert first.locator(".gsw-chan").all_inner_texts() == ["窗口", "自助终端"]
    # closed venues say when they open: "已关闭，周一 08:30 开门"
    for text in pg.locator("#finder .gsw-closed").all_inner_texts():
        assert text == "已关闭" or (text.startswith("已关闭，") and text.endswith(" 开门"))
    for text in pg.locator("#finder .gsw-open").all_inner_texts():
        assert text == "营业中" or text.startswith("营业中，至 ")
    # the hostile kiosk's address is text, never markup
    assert '"><script>alert(2)</script>' in pg.locator("#finder .gsw-results").inner_text()
    assert pg.locator("#finder .gsw-results script").count() == 0
    assert pg.locator("#finder").get_attribute("lang") is None
    assert pg.locator("#finder .gsw").get_attribute("lang") == "zh-CN"
    assert axe_problems(pg) == []
    shots.mkdir(exist_ok=True)
    pg.screenshot(path=str(shots / "widget-citizen-desktop.png"), full_page=True)

    # a result opens the venue's page, in a new tab
    link = first.locator("a")
    assert link.get_attribute("href") == f"{app_url}/venues/XC-H-0001?lang=zh"
    assert link.get_attribute("target") == "_blank"
    with context.expect_page() as opened:
        link.click()
    venue_page = opened.value
    venue_page.wait_for_load_state()
    assert venue_page.url.startswith(f"{app_url}/venues/XC-H-0001")
    assert "宣城市政务服务中心" in venue_page.locator("h1").first.inner_text()
    venue_page.close()

    # typing a place (here a venue's name) moves the start; the list follows
    before = _names(pg)
    pg.locator("#finder input.gsw-loc").fill("敬亭")
    pick = pg.locator("#finder .gsw-psugg button", has_text="敬亭社区为民服务站")
    pick.wait_for()
    assert "场所" in pick.inner_text()
    pick.click()
    _wait_first(pg, "敬亭社区为民服务站")
    assert _names(pg) != before
    assert pg.locator("#finder .gsw-start").inner_text() == "起点：敬亭社区为民服务站"
    src = pg.locator("#finder iframe").get_attribute("src")
    assert "lon=118.762" in src and "lang=zh" in src

    # "use my location": the browser's (granted) position becomes the start
    pg.locator("#finder .gsw-locate").click()
    _wait_first(pg, "鳌峰街道便民服务中心")
    assert pg.locator("#finder .gsw-start").inner_text() == "起点：我的位置"
    assert "lon=118.748&lat=30.9458" in pg.locator("#finder iframe").get_attribute("src")

    # the language switch: one language at a time, the map follows
    pg.locator("#finder .gsw-lang").click()
    assert pg.locator("#finder .gsw-title").inner_text() == "Where to get it done"
    assert pg.locator("#finder .gsw-locate").inner_text() == "Use my location"
    assert pg.locator("#finder .gsw-start").inner_text() == "Start: my location"
    assert pg.locator("#finder .gsw-item").inner_text() == "Apply for a social-security card"
    assert pg.locator("#finder .gsw").get_attribute("lang") == "en"
    words = " ".join(pg.locator("#finder .gsw-meta").all_inner_texts())
    assert "营业中" not in words and "已关闭" not in words and "窗口" not in words
    assert "open" in words or "closed" in words
    assert "counter" in words
    for text in pg.locator("#finder .gsw-closed").all_inner_texts():
        assert text == "closed" or text.startswith("closed, opens ")
    hrefs = pg.locator("#finder .gsw-results a").evaluate_all("as => as.map(a => a.href)")
    assert all(h.endswith("?lang=en") for h in hrefs)
    assert "lang=en" in pg.locator("#finder iframe").get_attribute("src")
    assert axe_problems(pg) == []
    pg.wait_for_timeout(300)
    pg.screenshot(path=str(shots / "widget-citizen-desktop-en.png"), full_page=True)
    assert log.dialogs == [] and log.page_errors == []
    context.close()


def test_widget_language_from_attribute_and_phone_layout(browser: Any, app_url: str,
                                                         host_site: Any, shots: Path) -> None:
    site, host_url = host_site
    path = _host_page(site, app_url, "/widget-en.html", "data-lang='en'")
    context, log = _context(browser, viewport={"width": 390, "height": 844},
                            device_scale_factor=2, is_mobile=True, has_touch=True,
                            locale="zh-CN")
    pg = context.new_page()
    pg.goto(host_url + path)
    pg.locator("#finder .gsw-results li").first.wait_for()
    # data-lang wins over the browser's zh-CN
    assert pg.locator("#finder .gsw-title").inner_text() == "Where to get it done"
    assert _names(pg)[0] == "Xuancheng Government Service Centre"
    # nothing wider than the phone's screen
    wide = pg.evaluate("document.documentElement.scrollWidth")
    assert wide <= 390
    assert axe_problems(pg) == []
    pg.wait_for_timeout(300)
    shots.mkdir(exist_ok=True)
    pg.screenshot(path=str(shots / "widget-citizen-phone.png"), full_page=True)
    pg.locator("#finder .gsw-lang").tap()
    assert pg.locator("#finder .gsw-title").inner_text() == "就近办事"
    pg.wait_for_timeout(300)
    pg.screenshot(path=str(shots / "widget-citizen-phone-zh.png"), full_page=True)
    assert log.dialogs == [] and log.page_errors == []
    context.close()
