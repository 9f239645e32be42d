"""Every page in one language per request: ``lang``, remembered cookie, ``Accept-Language``.

Pages: ``/map``, ``/embed``, ``/venues/{id}``, ``/docs``, the HTML error pages and
the planner's HTML answers (``/api/v1/coverage?f=html``, ``/api/v1/plans?f=html``).
Each answer says which language it is in (``<html lang>``), carries
``Vary: Accept-Language, Cookie``, remembers an explicit choice in a cookie, and
answers a bad ``lang`` with a 400 naming it (an HTML page on the pages).
"""

from __future__ import annotations

import re

import pytest

from geosvc.render.i18n import ELDER_COOKIE, LANG_COOKIE

#: page -> (URL, a text only the Chinese page has, one only the English page has)
PAGES = {
    "map": ("/map", "政务服务地图", "Government service map"),
    "map-nearest": ("/map?lon=118.758&lat=30.94&mode=straight&k=2", "最近 2 个场所",
                    "2 nearest"),
    "map-coverage": ("/map?layer=coverage&mode=straight&minutes=10", "服务圈覆盖",
                     "Service-circle coverage"),
    "embed": ("/embed", "政务服务地图", "Government service map"),
    "venue": ("/venues/XC-H-01", "办公时间", "Opening hours"),
    "docs": ("/docs", "接口参考", "API · reference"),
    "error": ("/venues/NOPE", "没有找到", "Not found"),
    "report": ("/api/v1/coverage?f=html&mode=straight&minutes=10", "服务圈覆盖分析",
               "Service-circle coverage report"),
}
HTML_LANG = re.compile(r"<html lang=['\"]([^'\"]+)['\"]")


def _lang_of(resp) -> str:
    found = HTML_LANG.search(resp.get_data(as_text=True))
    assert found, resp.get_data(as_text=True)[:200]
    return found.group(1)


def _url(path: str, extra: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}{extra}"


@pytest.mark.parametrize("name", list(PAGES))
def test_lang_query_cookie_and_vary(client, name: str) -> None:
    path, zh, en = PAGES[name]
    status = 404 if name == "error" else 200
    default = client.get(path)
    assert default.status_code == status
    assert _lang_of(default) == "zh-CN"
    body = default.get_data(as_text=True)
    assert zh in body and en not in body
    assert {"Accept-Language", "Cookie"} <= set(default.vary)
    assert LANG_COOKIE not in (default.headers.get("Set-Cookie") or "")  # nothing asked
    # lang=en: the page in English, the choice remembered
    resp = client.get(_url(path, "lang=en"))
    assert resp.status_code == status
    assert _lang_of(resp) == "en"
    body = resp.get_data(as_text=True)
    assert en in body and zh not in body
    assert f"{LANG_COOKIE}=en" in resp.headers["Set-Cookie"]
    assert {"Accept-Language", "Cookie"} <= set(resp.vary)
    # the cookie decides when the request names no language, even over Accept-Language
    again = client.get(path, headers={"Accept-Language": "zh-CN"})
    assert _lang_of(again) == "en"
    # an explicit lang wins over the cookie
    assert _lang_of(client.get(_url(path, "lang=zh"))) == "zh-CN"


@pytest.mark.parametrize("name", list(PAGES))
def test_accept_language_picks_the_language(client, name: str) -> None:
    path, zh, en = PAGES[name]
    resp = client.get(path, headers={"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"})
    assert _lang_of(resp) == "en" and en in resp.get_data(as_text=True)
    resp = client.get(path, headers={"Accept-Language": "zh-TW,en;q=0.5"})
    assert _lang_of(resp) == "zh-CN" and zh in resp.get_data(as_text=True)
    resp = client.get(path, headers={"Accept-Language": "fr, de;q=0.8"})
    assert _lang_of(resp) == "zh-CN"  # neither: the default


@pytest.mark.parametrize("name", [n for n in PAGES if n != "report"])
def test_bad_lang_is_a_400_page_naming_it(client, name: str) -> None:
    path = PAGES[name][0]
    for query, field in (("lang=fr", "lang"), ("elder=maybe", "elder")):
        resp = client.get(_url(path, query), headers={"Accept-Language": "en"})
        assert resp.status_code == 400
        assert resp.mimetype == "text/html"
        html = resp.get_data(as_text=True)
        assert f"<code>{field}</code>" in html
        assert _lang_of(resp) == "en"  # the page itself follows Accept-Language
        assert LANG_COOKIE not in (resp.headers.get("Set-Cookie") or "")  # nothing stored
        assert {"Accept-Language", "Cookie"} <= set(resp.vary)


def test_planner_html_answers_take_lang(client) -> None:
    bad = client.get("/api/v1/coverage?f=html&mode=straight&minutes=10&lang=fr")
    assert bad.status_code == 400 and bad.mimetype == "application/problem+json"
    assert bad.get_json()["invalid_params"][0]["name"] == "lang"
    # JSON answers do not vary by language
    plain = client.get("/api/v1/coverage?mode=straight&minutes=10&lang=en")
    assert "Cookie" not in plain.vary and "Set-Cookie" not in plain.headers
    sites = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "S1", "properties": {"name": "s1"},
         "geometry": {"type": "Point", "coordinates": [118.80, 30.90]}}]}
    body = {"mode": "straight", "minutes": 5, "k": 1, "candidates": sites}
    for lang, says, html_lang in (("zh", "选址方案", "zh-CN"), ("en", "Site plan", "en")):
        resp = client.post(f"/api/v1/plans?f=html&lang={lang}", json=body)
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
        assert _lang_of(resp) == html_lang and says in resp.get_data(as_text=True)
        assert {"Accept-Language", "Cookie"} <= set(resp.vary)


@pytest.mark.parametrize("path", ["/map", "/embed", "/venues/XC-H-01", "/venues/NOPE"])
def test_elder_mode_switch_and_cookie(client, path: str) -> None:
    resp = client.get(_url(path, "elder=1"))
    html = resp.get_data(as_text=True)
    assert re.search(r"<(html|body)[^>]*class=\"(gs-)?elder\"", html)
    assert f"{ELDER_COOKIE}=1" in resp.headers["Set-Cookie"]
    # the switch back to the standard view, the other switch to English
    assert 'data-gs-switch="elder">标准版</a>' in html
    assert re.search(r'href="[^"]*elder=0[^"]*" data-gs-switch="elder"', html)
    assert re.search(r'href="[^"]*lang=en[^"]*"[^>]*data-gs-switch="lang">English</a>', html)
    # remembered
    html = client.get(path).get_data(as_text=True)
    assert re.search(r"<(html|body)[^>]*class=\"(gs-)?elder\"", html)
    html = client.get(_url(path, "elder=0")).get_data(as_text=True)
    assert not re.search(r"<(html|body)[^>]*class=\"(gs-)?elder\"", html)


def test_map_page_cache_keys_on_language(client) -> None:
    """Two languages of one URL are two cached pages, two ETags; a repeat is a 304."""
    zh = client.get("/map?kind=hall", headers={"Accept-Language": "zh"})
    en = client.get("/map?kind=hall", headers={"Accept-Language": "en"})
    assert _lang_of(zh) == "zh-CN" and _lang_of(en) == "en"
    assert zh.get_etag()[0] != en.get_etag()[0]
    again = client.get("/map?kind=hall", headers={"Accept-Language": "en",
                                                  "If-None-Match": f'"{en.get_etag()[0]}"'})
    assert again.status_code == 304
    elder = client.get("/map?kind=hall&elder=1", headers={"Accept-Language": "en"})
    assert elder.get_etag()[0] not in (zh.get_etag()[0], en.get_etag()[0])


def test_switch_links_keep_the_query(client) -> None:
    html = client.get("/venues/XC-H-01?open_at=2026-09-28T10:00&crs=gcj02").get_data(
        as_text=True)
    assert ('href="/venues/XC-H-01?open_at=2026-09-28T10%3A00&amp;crs=gcj02&amp;lang=en"'
            in html)
    assert ('href="/venues/XC-H-01?open_at=2026-09-28T10%3A00&amp;crs=gcj02&amp;elder=1"'
            in html)


def test_docs_page_speaks_the_language(client, app) -> None:
    """Headings, tags and summaries of /docs in Chinese; every path has a Chinese summary."""
    from geosvc.web.docs import _SUMMARIES_ZH

    html = client.get("/docs?lang=zh").get_data(as_text=True)
    assert "<h2 id='citizens'>市民</h2>" in html and "最近的场所" in html
    assert "<th scope='col'>参数</th>" in html
    spec = client.get("/openapi.json").get_json()
    assert set(spec["paths"]) == set(_SUMMARIES_ZH)
    html = client.get("/docs?lang=en").get_data(as_text=True)
    assert "<h2 id='citizens'>citizens</h2>" in html and "Nearest venues" in html
    assert "最近的场所" not in html and "参数" not in html


@pytest.mark.parametrize("path", ["/map", "/venues/XC-H-01", "/venues/NOPE", "/docs"])
def test_switch_links_escape_the_request(client, path: str) -> None:
    """A hostile query value reaches the switch links only URL-encoded (never as markup)."""
    html = client.get(_url(path, 'x="><script>alert(1)</script>')).get_data(as_text=True)
    assert "<script>alert(1)" not in html and '"><script' not in html
    assert "x=%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E" in html


def test_map_landing_names_the_nearest_open_hall(client) -> None:
    """A map without a search opens with the open hall nearest its centre, or says none is."""
    html = client.get("/map?open_at=2026-09-28T10:00&lang=zh").get_data(as_text=True)
    assert 'id="gs-landing"' in html and "离地图中心最近的营业中大厅" in html
    hall = r'<a href="/venues/XC-H-0\d">宣[^<]+</a> · <b class="gs-open">营业中'
    assert re.search(hall, html)
    html = client.get("/map?open_at=2026-09-28T10:00&lang=en").get_data(as_text=True)
    assert "Nearest open service hall to the map centre" in html
    assert re.search(r"open until \d\d:\d\d<", html)  # the time of that day, no date
    # at night every hall is closed: the box says so and what to do
    html = client.get("/map?open_at=2026-09-28T23:00&lang=en").get_data(as_text=True)
    assert "No service hall is open right now." in html and "Tap a hall" in html
    # a search or a filter is no landing state; nor is the embedded map
    for url in ("/map?kind=kiosk", "/map?lon=118.758&lat=30.94&mode=straight",
                "/embed?open_at=2026-09-28T10:00"):
        assert 'id="gs-landing"' not in client.get(url).get_data(as_text=True), url
