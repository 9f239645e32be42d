"""`GET /`, the citizens' app shell, over HTTP (issue 10, items 1, 6, 7 and 10).

The shell is HTML in one language with a strict Content-Security-Policy and
no inline script or style; it is generated once per (revision, lang, elder)
and answered with a strong ETag, 304 and gzip; its script and style sheet
carry their content digest in the URL and are cached for a year.  The
first view (shell, Leaflet, the app's files and the landing API answer)
stays under 250 KB gzip'd.
"""

from __future__ import annotations

import gzip
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from geosvc.render.app_page import (
    APP_ASSETS,
    STRINGS,
    AppData,
    app_page_html,
    asset_url,
    json_for_html,
)
from geosvc.render.i18n import Prefs
from geosvc.web.home import CSP

GZ = {"Accept-Encoding": "gzip"}
#: The first view's budget (issue 10): gzip'd bytes, tiles excluded.
FIRST_VIEW_BYTES = 250 * 1024


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text of each <script>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def _parse(html: str) -> _Tags:
    tags = _Tags()
    tags.feed(html)
    return tags


def _page_data(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="geosvc-app-data">(.*?)</script>',
                      html, re.S)
    assert found is not None
    return json.loads(found.group(1))


def test_shell_is_html_with_a_strict_csp(client):
    resp = client.get("/")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = resp.headers["Content-Security-Policy"]
    assert csp == CSP
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'",
                      "img-src 'self' data: https:", "connect-src 'self'"):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    html = resp.get_data(as_text=True)
    tags = _parse(html)
    scripts = [a for t, a in tags.tags if t == "script"]
    # every script is a file of this origin, except the (never executed) data block
    assert all(a.get("src", "").startswith("/static/") or a.get("type") == "application/json"
               for a in scripts)
    assert [a.get("type") for a in scripts if not a.get("src")] == ["application/json"]
    assert not any(t == "style" for t, _ in tags.tags)
    assert not any("style" in a or any(k.startswith("on") for k in a) for _, a in tags.tags)
    names = [t for t, _ in tags.tags]
    assert names.count("main") == 1 and names.count("h1") == 1
    assert 'lang="zh-CN"' in html
    # the page's data: the dataset's centre, the loaded modes, one language of texts
    data = _page_data(html)
    assert data["lang"] == "zh" and data["elder"] is False
    assert data["modes"] == ["straight"]  # the web tests' app loads no road network
    assert data["items_count"] > 0 and data["venues_count"] > 0
    assert set(data["strings"]) == set(STRINGS)
    assert data["strings"]["title"] == STRINGS["title"][0]
    assert "osm" in data["basemaps"] and "tianditu" not in data["basemaps"]  # no key


def test_shell_links_digest_assets_cached_for_a_year(client):
    html = client.get("/").get_data(as_text=True)
    for name in APP_ASSETS:
        url = asset_url(name)
        assert url in html
        with client.get(url) as resp:
            assert resp.status_code == 200
            assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            kind = "text/javascript" if name.endswith(".js") else "text/css"
            assert resp.headers["Content-Type"].startswith(kind)
        # a digest of an older version still gets the file, briefly cached
        stale = url.replace(url.split("/")[3], "000000000000")
        with client.get(stale) as resp:
            assert resp.status_code == 200
            assert resp.headers["Cache-Control"] == "public, max-age=60"
    assert client.get("/static/app/000000000000/other.js").status_code == 404


def test_shell_etag_304_and_gzip(client):
    first = client.get("/")
    tag = first.headers["ETag"]
    assert tag.startswith('"') and not tag.startswith("W/")
    assert first.headers["Cache-Control"] == "public, max-age=60"
    assert client.get("/").headers["ETag"] == tag  # the same shell: generated once
    again = client.get("/", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.data == b""
    zipped = client.get("/", headers=GZ)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == first.data
    assert zipped.headers["ETag"] != tag
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert client.get("/", headers={**GZ, "If-None-Match": zipped.headers["ETag"]}
                      ).status_code == 304


def test_shell_is_generated_once_per_revision_and_prefs(app, client):
    client.get("/?lang=en")
    client.get("/?lang=zh")
    client.get("/?lang=zh&elder=1")
    client.get("/", headers={"Accept-Language": "en"})
    cache = app.extensions["geosvc.app_shell"]
    revision = app.extensions["geosvc"].snapshot.revision
    assert {(r, lang, elder) for r, lang, elder in cache.pages} >= {
        (revision, "en", False), (revision, "zh", False), (revision, "zh", True)}
    assert all(r == revision for r, _, _ in cache.pages)


@pytest.mark.parametrize(("query", "headers", "lang"), [
    ("", {}, "zh"),
    ("?lang=en", {}, "en"),
    ("", {"Accept-Language": "en-GB,en;q=0.9"}, "en"),
    ("", {"Accept-Language": "zh-TW,en;q=0.5"}, "zh"),
    ("?lang=zh", {"Accept-Language": "en"}, "zh"),
])
def test_language_by_query_or_accept_language(client, query, headers, lang):
    resp = client.get(f"/{query}", headers=headers)
    html = resp.get_data(as_text=True)
    assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}">' in html
    title = STRINGS["title"][0 if lang == "zh" else 1]
    assert f"<h1>{title}</h1>" in html
    other = STRINGS["title"][1 if lang == "zh" else 0]
    assert other not in html  # one language at a time
    assert "Accept-Language" in resp.headers["Vary"] and "Cookie" in resp.headers["Vary"]


def test_language_and_elder_are_remembered(app):
    client = app.test_client()
    resp = client.get("/?lang=en&elder=1")
    cookies = resp.headers.getlist("Set-Cookie")
    assert any(c.startswith("geosvc_lang=en") for c in cookies)
    assert any(c.startswith("geosvc_elder=1") for c in cookies)
    assert resp.headers["Cache-Control"].startswith("private")
    html = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<html lang="en">' in html and 'class="gs-app gs-elder"' in html
    assert 'id="gs-channel"' not in html  # fewer choices in the elder mode
    assert "Standard mode" in html  # the switch back


@pytest.mark.parametrize(("query", "name"), [("?lang=fr", "lang"), ("?elder=maybe", "elder")])
def test_bad_preference_is_an_html_400_page(client, query, name):
    resp = client.get(f"/{query}")
    assert resp.status_code == 400
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    html = resp.get_data(as_text=True)
    assert f"<code>{name}</code>" in html and "<main>" in html


def test_unknown_paths_stay_problem_json(client):
    resp = client.get("/nope")
    assert resp.status_code == 404
    assert resp.headers["Content-Type"] == "application/problem+json"


def test_data_block_cannot_be_escaped():
    hostile = "</script><script>alert(1)</script><!--"
    data = AppData(dataset=hostile, centre=(1.0, 2.0), bounds=(1.0, 2.0, 1.0, 2.0),
                   modes=("walk",), items_count=1, venues_count=1)
    html = app_page_html(data, Prefs("en"))
    assert "<script>alert(1)" not in html and "<!--" not in html
    assert _page_data(html)["dataset"] == hostile
    assert json.loads(json_for_html({"x": "a&b\u2028"})) == {"x": "a&b\u2028"}
    assert "&lt;/script&gt;" in html  # the title and footer, escaped as text


def test_first_view_under_250_kb_gzip(client):
    """Shell + every file it links + the landing state's API answer, as a browser gets them."""
    shell = client.get("/", headers=GZ)
    total = len(shell.data)
    html = gzip.decompress(shell.data).decode("utf-8")
    links = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert len(links) == 5  # Leaflet's JS and CSS, the pins script, the app's JS and CSS
    for url in links:
        with client.get(url, headers=GZ) as resp:
            assert resp.status_code == 200
            total += len(resp.get_data())
    data = _page_data(html)
    lon, lat = data["centre"]
    landing = client.get(f"/api/v1/nearest?lon={lon}&lat={lat}&mode={data['modes'][0]}"
                         "&route=true&k=1&kind=hall&open_now=true", headers=GZ)
    total += len(landing.data)
    assert total <= FIRST_VIEW_BYTES, f"first view {total} bytes"
