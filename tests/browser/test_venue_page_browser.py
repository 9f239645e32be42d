"""The venue page and an error page in real headless Chromium, offline (issue 10)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from geosvc.coords import from_wgs84
from tests.browser.conftest import CENTRE, XSS_NAME

pytestmark = pytest.mark.browser


def test_venue_page_reads_and_links(page: Any, app_url: str, shots: Path) -> None:
    pg, log = page
    resp = pg.goto(f"{app_url}/venues/XC-H-0001?open_at=2026-09-28T10:00", wait_until="load")
    assert resp.status == 200
    assert pg.evaluate("document.documentElement.lang") == "zh-CN"
    assert pg.locator("main").count() == 1
    assert pg.locator("h1").all_inner_texts() == ["宣城市政务服务中心"]
    text = pg.locator("main").inner_text()
    assert "午休 12:00–13:30" in text and "lunch break" not in text
    assert pg.locator("table.week tbody tr").count() == 7
    amap = pg.get_by_role("link", name="高德地图导航").get_attribute("href")
    glon, glat = from_wgs84(CENTRE[0], CENTRE[1], "gcj02")
    assert parse_qs(urlparse(amap).query)["to"][0].startswith(f"{glon:.6f},{glat:.6f},")
    shots.mkdir(exist_ok=True)
    pg.screenshot(path=str(shots / "venue_page.png"), full_page=True)
    assert log.problems() == [] and log.blocked == []  # nothing leaves the host
    # The language switch leads to the same page in English, and is remembered
    pg.get_by_role("link", name="English").click()
    pg.wait_for_load_state("load")
    assert "lang=en" in pg.url and "open_at=2026-09-28T10%3A00" in pg.url
    assert pg.evaluate("document.documentElement.lang") == "en"
    assert pg.locator("h1").all_inner_texts() == ["Xuancheng Government Service Centre"]
    text = pg.locator("main").inner_text()
    assert "lunch break 12:00–13:30" in text and "午休" not in text
    amap = pg.get_by_role("link", name="Amap directions").get_attribute("href")
    assert parse_qs(urlparse(amap).query)["to"][0].startswith(f"{glon:.6f},{glat:.6f},")
    pg.goto(f"{app_url}/venues/XC-H-0001", wait_until="load")  # no lang: the cookie
    assert pg.evaluate("document.documentElement.lang") == "en"
    assert log.problems() == [] and log.blocked == []


def test_hostile_venue_page_runs_nothing(page: Any, app_url: str) -> None:
    pg, log = page
    pg.goto(f"{app_url}/venues/XC-K-0002", wait_until="load")
    assert pg.locator("h1").inner_text() == XSS_NAME
    assert pg.locator("img").count() == 0
    assert '"><script>alert(2)</script>' in pg.locator("main").inner_text()
    pg.wait_for_timeout(200)
    assert log.dialogs == [] and log.problems() == []


@pytest.mark.parametrize(("path", "status", "says", "lang", "back"), [
    ("/venues/NOPE", 404, "没有找到", "zh", "返回地图"),
    ("/map?item=NOPE", 400, "请检查下列参数", "zh", "返回地图"),
    ("/venues/NOPE?lang=en", 404, "Not found", "en", "Back to the map"),
    ("/map?item=NOPE&lang=en", 400, "Check the parameters below", "en", "Back to the map"),
])
def test_error_page_explains_and_leads_back(page: Any, app_url: str, shots: Path,
                                            path: str, status: int, says: str, lang: str,
                                            back: str) -> None:
    pg, log = page
    resp = pg.goto(f"{app_url}{path}", wait_until="load")
    assert resp.status == status
    assert resp.headers["content-type"] == "text/html; charset=utf-8"
    assert pg.locator("h1").count() == 1 and pg.locator("main").count() == 1
    assert says in pg.locator("main").inner_text()
    shots.mkdir(exist_ok=True)
    pg.screenshot(path=str(shots / f"error_{status}_{lang}.png"), full_page=True)
    pg.get_by_role("link", name=back).click()
    # back to where the citizen came from: the planner's map, else the app at /
    home = "/map" if path.startswith("/map") else "/"
    pg.wait_for_url(lambda url: urlparse(url).path == home, timeout=10_000)
    pg.wait_for_load_state("load")
    assert pg.locator("h1").count() == 1
    assert log.page_errors == [] and log.dialogs == []


def test_item_guide_opens_and_url_is_text(page: Any, app_url: str, shots: Path) -> None:
    """The service guide of an item: a <details> that opens by keyboard; its URL is text."""
    pg, log = page
    for lang, summary, materials in (("zh", "办事指南", "所需材料"),
                                     ("en", "Service guide", "Materials to bring")):
        pg.goto(f"{app_url}/venues/XC-H-0001?lang={lang}", wait_until="load")
        guide = pg.locator("details.guide")
        assert guide.count() == 1
        assert not guide.locator("dl").is_visible()
        guide.locator("summary").focus()
        pg.keyboard.press("Enter")
        assert guide.locator("dl").is_visible()
        text = guide.inner_text()
        assert summary in text and materials in text
        assert "近期一寸免冠照片<b>1</b>张" in text  # data shown as text
        assert "https://zwfw.example.gov.cn/sb?item=SB-001&x=<i>" in text
        assert guide.locator("a").count() == 0 and guide.locator("b, i").count() == 0
        shots.mkdir(exist_ok=True)
        guide.scroll_into_view_if_needed()
        pg.screenshot(path=str(shots / f"venue_guide_{lang}.png"))
    assert log.problems() == [] and log.dialogs == []
