"""The venue page `GET /venues/{id}` and the HTML error pages of the page paths (issue 10).

A small city with the official Chinese calendar (``calendar: cn``): a hall with a
lunch break and ``PH off``, and a hall whose name is a script-injection payload.
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


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    venues = []
    for v in VENUES:
        if v.code == "XC-H-01":
            v = dataclasses.replace(v, opening_hours=HOURS)
        elif v.code == "XC-H-02":
            v = dataclasses.replace(v, name=XSS, address='"><script>alert(2)</script>')
        venues.append(v)
    db = tmp_path_factory.mktemp("venue-page") / "city.sqlite"
    store = open_store(str(db))
    try:
        store.write(Batch(venues=venues, items=ITEMS, links=LINKS, areas=AREAS,
                          population=POPULATION, info=dataclasses.replace(INFO, calendar="cn")))
    finally:
        store.close()
    return create_app({"TESTING": True, "db": str(db), "osm": None}).test_client()


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
    # hours in words, both languages, with the lunch break and the holiday rule
    assert "周一至周五 09:00–12:00, 13:30–17:00（午休 12:00–13:30）" in html
    assert "Mon–Fri 09:00–12:00, 13:30–17:00 (lunch break 12:00–13:30)" in html
    assert "法定节假日休息" in html and "调休" in html
    assert "营业中，至 12:00" in html
    # items grouped by channel: 医保 is handled at the window and at the machine
    assert html.count("医保参保信息查询") == 2
    assert not re.search(r"https?://(?!uri\.amap|api\.map\.baidu|www\.openstreetmap)", html)


def test_next_seven_days_follow_the_official_calendar(client) -> None:
    page = _parse(_html(client.get("/venues/XC-H-01?open_at=2026-09-28T08:00")))
    rows = {r[0]: r for r in page.rows if r}
    assert list(rows) == [f"2026-09-{d}" for d in (28, 29, 30)] + [
        f"2026-10-0{d}" for d in range(1, 5)]
    assert rows["2026-09-28"][1:3] == ["周一 Mon", "09:00–12:00, 13:30–17:00"]
    assert rows["2026-10-01"][2:] == ["休息 closed", "法定节假日 public holiday"]
    assert rows["2026-10-03"][2].startswith("休息")  # a Saturday inside the break: PH off
    # make-up working Saturday 2026-10-10 opens with Monday's hours
    page = _parse(_html(client.get("/venues/XC-H-01?open_at=2026-10-08T08:00")))
    rows = {r[0]: r for r in page.rows if r}
    assert rows["2026-10-10"][2:] == ["09:00–12:00, 13:30–17:00",
                                      "调休上班 make-up working day"]
    assert rows["2026-10-11"][2] == "休息 closed"


def test_closed_state_names_the_next_opening(client) -> None:
    html = _html(client.get("/venues/XC-H-01?open_at=2026-10-01T10:00"))
    assert "已关闭，周四 10-08 09:00 开门" in html
    assert "closed, opens Thu 10-08 09:00" in html


def test_route_links_use_each_maps_coordinate_system(client) -> None:
    links = _parse(_html(client.get("/venues/XC-H-01?crs=gcj02"))).links
    lon, lat = 118.7580, 30.9400
    amap = parse_qs(urlparse(links["高德地图导航 Amap directions"]).query)
    glon, glat = from_wgs84(lon, lat, "gcj02")
    assert amap["to"][0].split(",")[:2] == [f"{glon:.6f}", f"{glat:.6f}"]
    assert amap["coordinate"] == ["gaode"]
    baidu = parse_qs(urlparse(links["百度地图导航 Baidu Maps directions"]).query)
    blon, blat = from_wgs84(lon, lat, "bd09")
    assert baidu["destination"][0].startswith(f"latlng:{blat:.6f},{blon:.6f}|name:")
    assert baidu["coord_type"] == ["bd09ll"]
    osm = parse_qs(urlparse(links["OpenStreetMap 路线 OpenStreetMap directions"]).query)
    assert osm["route"] == [f";{lat:.6g},{lon:.6g}"]
    assert abs(glon - lon) > 0.003 and abs(blon - glon) > 0.003  # three different points
    # the page prints the coordinates in the system asked for
    html = _html(client.get("/venues/XC-H-01?crs=gcj02"))
    assert f"{glon:.6f}, {glat:.6f} (gcj02)" in html


def test_hostile_venue_name_is_text(client) -> None:
    html = _html(client.get("/venues/XC-H-02"))
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img" not in html and "<script>" not in html
    assert "&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in html
    link = _parse(html).links["高德地图导航 Amap directions"]
    assert XSS in unquote(link)  # in the URL as data, escaped in the attribute


@pytest.mark.parametrize(("url", "status", "says"), [
    ("/venues/NOPE", 404, "没有找到"),
    ("/venues/XC-H-01?open_at=tomorrow", 400, "<code>open_at</code>"),
    ("/map?item=NOPE", 400, "<code>item</code>"),
    ("/embed?tiles=google", 400, "<code>tiles</code>"),
    ("/map?lon=118.76&lat=30.94&mode=walk", 422, "mode=straight"),
])
def test_page_errors_are_html_pages(client, url: str, status: int, says: str) -> None:
    html = _html(client.get(url), status)
    page = _parse(html)
    assert says in html
    assert [t for t, _ in page.tags].count("h1") == 1 and ("main", {}) in page.tags
    assert page.links["返回地图 Back to the map"] == "/map"
    assert client.get(url).headers["Cache-Control"] == "no-store"


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
