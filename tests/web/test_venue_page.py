"""The venue page `GET /venues/{id}` and the HTML error pages of the page paths (issue 10).

A small city with the official Chinese calendar (``calendar: cn``): a hall with a
lunch break and ``PH off``, and a hall whose name is a script-injection payload;
one item with a service guide.  Each page is in one language (``lang``, cookie,
``Accept-Language``, default Chinese): the texts are checked in both.
"""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from geosvc.coords import from_wgs84
from geosvc.store import Batch, open_store
from geosvc.web import create_app
from tests.web.citydata import AREAS, INFO, ITEMS, LINKS, POPULATION, VENUES

XSS = "<img src=x onerror=alert(1)>"
HOURS = "Mo-Fr 09:00-12:00,13:30-17:00; Sa 09:00-12:00; PH off"
APPLY_URL = "https://zwfw.example.gov.cn/apply?item=SB-01&x=<b>"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    venues = []
    for v in VENUES:
        if v.code == "XC-H-01":
            v = dataclasses.replace(v, opening_hours=HOURS)
        elif v.code == "XC-H-02":
            v = dataclasses.replace(v, name=XSS, address='"><script>alert(2)</script>')
        venues.append(v)
    items = [dataclasses.replace(
        it, materials=("居民身份证原件", "近期免冠照片<script>"), conditions="本市参保人员",
        fee="免费", legal_days=20, promised_days=5, apply_url=APPLY_URL, can_do_online=True,
        at_kiosk=True) if it.code == "SB-01" else it for it in ITEMS]
    db = tmp_path_factory.mktemp("venue-page") / "city.sqlite"
    store = open_store(str(db))
    try:
        store.write(Batch(venues=venues, items=items, links=LINKS, areas=AREAS,
                          population=POPULATION, info=dataclasses.replace(INFO, calendar="cn")))
    finally:
        store.close()
    return create_app({"TESTING": True, "db": str(db), "osm": None})


@pytest.fixture
def client(app):
    """A fresh client per test: no remembered language (cookies) from another test."""
    return app.test_client()


class _Page(HTMLParser):
    """Tags, links and the rows of the next-7-days table of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.links: dict[str, str] = {}
        self.rows: list[list[str]] = []
        self._href: str | None = None
        self._text: list[str] = []
        self._in_week = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs_d = dict(attrs)
        self.tags.append((tag, attrs_d))
        if tag == "a":
            self._href, self._text = attrs_d.get("href"), []
        elif tag == "table" and attrs_d.get("class") == "week":
            self._in_week = True
        elif tag == "tr" and self._in_week:
            self.rows.append([])
        elif tag == "td" and self._in_week:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links["".join(self._text).strip()] = self._href
            self._href = None
        elif tag == "table":
            self._in_week = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _html(resp, status: int = 200) -> str:
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "text/html"
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    return resp.get_data(as_text=True)


def test_venue_page_landmarks_and_facts(client) -> None:
    html = _html(client.get("/venues/XC-H-01?open_at=2026-09-28T10:00"))
    page = _parse(html)
    assert ("html", {"lang": "zh-CN"}) in page.tags
    assert [t for t, _ in page.tags].count("h1") == 1
    assert [t for t, _ in page.tags].count("main") == 1
    assert "宣城市政务服务中心" in html and "宣城市鳌峰中路1号" in html
    assert 'href="tel:05631234567"' in html
    assert "绿色通道" in html
    # hours in words, in the page's language, with the lunch break and the holiday rule
    assert "周一至周五 09:00–12:00, 13:30–17:00（午休 12:00–13:30）" in html
    assert "Mon–Fri" not in html and "lunch break" not in html
    assert "法定节假日休息" in html and "调休" in html
    assert "营业中，至 12:00" in html
    # items grouped by channel: 医保 is handled at the window and at the machine
    assert html.count("医保参保信息查询") == 2
    assert not re.search(r"https?://(?!uri\.amap|api\.map\.baidu|www\.openstreetmap)",
                         html.replace(APPLY_URL.replace("&", "&amp;").replace("<", "&lt;")
                                      .replace(">", "&gt;"), ""))


def test_venue_page_in_english(client) -> None:
    html = _html(client.get("/venues/XC-H-01?open_at=2026-09-28T10:00&lang=en"))
    page = _parse(html)
    assert ("html", {"lang": "en"}) in page.tags
    assert [t for t, _ in page.tags].count("h1") == 1
    assert page.links["← Back to the map"] == "/map"
    assert "Xuancheng Service Centre" in html  # name_en is the heading
    assert "Mon–Fri 09:00–12:00, 13:30–17:00 (lunch break 12:00–13:30)" in html
    assert "closed on public holidays" in html and "make-up working days" in html
    assert "Open now, until 12:00" in html
    assert "Priority service" in html
    assert html.count("Medical insurance enrolment query") == 2
    # No Chinese of ours: the only Chinese left is data (names, address), marked or escaped
    for zh in ("营业中", "午休", "返回地图", "办公时间", "可办事项", "绿色通道", "未来 7 天"):
        assert zh not in html


def test_item_guide_shown_as_text(client) -> None:
    for lang, says in (("zh", ("办事指南", "所需材料", "居民身份证原件", "20 个工作日",
                                "5 个工作日", "免费", "本市参保人员", "可网上办理",
                                "可在自助终端办理", "网上申办地址")),
                       ("en", ("Service guide", "Materials to bring", "居民身份证原件",
                               "20 working days", "5 working days", "can be done online",
                               "at a self-service kiosk", "Apply online at"))):
        html = _html(client.get(f"/venues/XC-H-01?lang={lang}"))
        for text in says:
            assert text in html, (lang, text)
        # once per page as a <details>; the second mention links to it
        assert html.count('<details class="guide"') == 1
        assert 'href="#guide-SB-01"' in html
        # the URL is text, never a link; data text escaped
        assert "https://zwfw.example.gov.cn/apply?item=SB-01&amp;x=&lt;b&gt;" in html
        assert 'href="https://zwfw' not in html
        assert "近期免冠照片&lt;script&gt;" in html and "<script>" not in html
        assert ("可邮寄办理" in html) is False and "by post" not in html  # flag not set


def test_next_seven_days_follow_the_official_calendar(client) -> None:
    for lang, (mon, closed, holiday, makeup) in (
            ("zh", ("周一", "休息", "法定节假日", "调休上班")),
            ("en", ("Mon", "closed", "public holiday", "make-up working day"))):
        url = f"/venues/XC-H-01?lang={lang}&open_at="
        page = _parse(_html(client.get(url + "2026-09-28T08:00")))
        rows = {r[0]: r for r in page.rows if r}
        assert list(rows) == [f"2026-09-{d}" for d in (28, 29, 30)] + [
            f"2026-10-0{d}" for d in range(1, 5)]
        assert rows["2026-09-28"][1:3] == [mon, "09:00–12:00, 13:30–17:00"]
        assert rows["2026-10-01"][2:] == [closed, holiday]
        assert rows["2026-10-03"][2].startswith(closed)  # a Saturday inside the break: PH off
        # make-up working Saturday 2026-10-10 opens with Monday's hours
        page = _parse(_html(client.get(url + "2026-10-08T08:00")))
        rows = {r[0]: r for r in page.rows if r}
        assert rows["2026-10-10"][2:] == ["09:00–12:00, 13:30–17:00", makeup]
        assert rows["2026-10-11"][2] == closed


def test_days_beyond_the_holiday_data_are_flagged(client) -> None:
    html = _html(client.get("/venues/XC-H-01?open_at=2027-09-28T10:00&lang=zh"))
    assert "注意：节假日数据只到" in html
    html = _html(client.get("/venues/XC-H-01?open_at=2027-09-28T10:00&lang=en"))
    assert "Note: the holiday data ends on" in html
    html = _html(client.get("/venues/XC-H-01?open_at=2026-09-28T10:00&lang=en"))
    assert "holiday data ends" not in html


def test_closed_state_names_the_next_opening(client) -> None:
    html = _html(client.get("/venues/XC-H-01?open_at=2026-10-01T10:00&lang=zh"))
    assert "已关闭，周四 10-08 09:00 开门" in html
    html = _html(client.get("/venues/XC-H-01?open_at=2026-10-01T10:00&lang=en"))
    assert "Closed, opens Thu 10-08 09:00" in html


@pytest.mark.parametrize(("lang", "amap_text", "baidu_text", "osm_text"), [
    ("zh", "高德地图导航", "百度地图导航", "OpenStreetMap 路线"),
    ("en", "Amap directions", "Baidu Maps directions", "OpenStreetMap directions"),
])
def test_route_links_use_each_maps_coordinate_system(client, lang, amap_text, baidu_text,
                                                     osm_text) -> None:
    links = _parse(_html(client.get(f"/venues/XC-H-01?crs=gcj02&lang={lang}"))).links
    lon, lat = 118.7580, 30.9400
    amap = parse_qs(urlparse(links[amap_text]).query)
    glon, glat = from_wgs84(lon, lat, "gcj02")
    assert amap["to"][0].split(",")[:2] == [f"{glon:.6f}", f"{glat:.6f}"]
    assert amap["coordinate"] == ["gaode"]
    baidu = parse_qs(urlparse(links[baidu_text]).query)
    blon, blat = from_wgs84(lon, lat, "bd09")
    assert baidu["destination"][0].startswith(f"latlng:{blat:.6f},{blon:.6f}|name:")
    assert baidu["coord_type"] == ["bd09ll"]
    osm = parse_qs(urlparse(links[osm_text]).query)
    assert osm["route"] == [f";{lat:.6g},{lon:.6g}"]
    assert abs(glon - lon) > 0.003 and abs(blon - glon) > 0.003  # three different points
    # the page prints the coordinates in the system asked for
    html = _html(client.get(f"/venues/XC-H-01?crs=gcj02&lang={lang}"))
    assert f"{glon:.6f}, {glat:.6f} (gcj02)" in html


def test_hostile_venue_name_is_text(client) -> None:
    for lang, amap_text in (("zh", "高德地图导航"), ("en", "Amap directions")):
        html = _html(client.get(f"/venues/XC-H-02?lang={lang}"))
        assert "&lt;img src=x onerror=alert(1)&gt;" in html
        assert "<img" not in html and "<script>" not in html
        assert "&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in html
        link = _parse(html).links[amap_text]
        assert XSS in unquote(link)  # in the URL as data, escaped in the attribute


@pytest.mark.parametrize(("url", "status", "says", "says_en"), [
    ("/venues/NOPE", 404, "没有找到", "Not found"),
    ("/venues/XC-H-01?open_at=tomorrow", 400, "<code>open_at</code>", "<code>open_at</code>"),
    ("/map?item=NOPE", 400, "<code>item</code>", "<code>item</code>"),
    ("/embed?tiles=google", 400, "<code>tiles</code>", "<code>tiles</code>"),
    ("/map?lon=118.76&lat=30.94&mode=walk", 422, "mode=straight", "mode=straight"),
    ("/docs?lang=fr", 400, "<code>lang</code>", "<code>lang</code>"),
])
def test_page_errors_are_html_pages(client, url: str, status: int, says: str,
                                    says_en: str) -> None:
    html = _html(client.get(url), status)
    page = _parse(html)
    assert says in html
    assert [t for t, _ in page.tags].count("h1") == 1 and ("main", {}) in page.tags
    # back to the page the citizen came from: the planner's map, else the app at /
    back = "/map" if url.startswith(("/map", "/embed")) else "/"
    assert page.links["返回地图"] == back
    assert client.get(url).headers["Cache-Control"] == "no-store"
    # The same page in English (Accept-Language: a bad `lang` is ignored for the page)
    html = _html(client.get(url, headers={"Accept-Language": "en-GB,en;q=0.9"}), status)
    page = _parse(html)
    assert says_en in html and ("html", {"lang": "en"}) in page.tags
    assert page.links["Back to the map"] == back
    assert "返回地图" not in html


def test_api_paths_keep_problem_json(client) -> None:
    for url in ("/api/v1/venues/NOPE", "/api/v1/venues?item=NOPE", "/nope", "/venues"):
        resp = client.get(url, headers={"Accept": "text/html"})
        assert resp.mimetype == "application/problem+json", url


def test_error_page_escapes_the_request(client) -> None:
    html = _html(client.get("/venues/%3Cimg%20src=x%20onerror=alert(1)%3E"), 404)
    assert "<img" not in html


def test_openapi_documents_the_venue_page(client) -> None:
    op = client.get("/openapi.json").get_json()["paths"]["/venues/{id}"]["get"]
    assert "text/html" in op["responses"]["200"]["content"]
    assert "text/html" in op["responses"]["404"]["content"]
    assert {p["name"] for p in op["parameters"]} >= {"id", "open_at", "crs"}
