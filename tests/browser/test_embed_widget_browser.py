"""/embed in an iframe and the widget, each on a page of ANOTHER origin (second server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CENTRE, XSS_NAME

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
        assert resp.headers["Content-Security-Policy"] == "frame-ancestors *"
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
    box = pg.locator("#finder input[type=search]")
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
