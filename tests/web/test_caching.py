"""ETag, 304, gzip and the map-page cache (issue 10, speed).

GET answers that may be cached carry a strong ETag (the body's hash, or
werkzeug's for static files) and ``If-None-Match`` answers 304; text-like
bodies of 1 KB or more say ``Vary: Accept-Encoding`` and are gzip'd when the
client accepts it, and gunzip to exactly the identity body.
"""

from __future__ import annotations

import gzip

import pytest

GZ = {"Accept-Encoding": "gzip, deflate"}
API = "/api/v1/venues?kind=hall"
MAP = "/map?kind=hall&tiles=none"
ASSET = "/static/vendor/leaflet/leaflet.js"


class _Answer:
    """Status, headers and body of a response, read and closed at once (streamed files)."""

    def __init__(self, client, path: str, headers: dict[str, str] | None = None) -> None:
        with client.get(path, headers=headers or {}) as resp:
            self.status_code = resp.status_code
            self.headers = resp.headers
            self.data = resp.get_data()


def _get(client, path: str, headers: dict[str, str] | None = None) -> _Answer:
    return _Answer(client, path, headers)


@pytest.mark.parametrize("path", [API, "/api/v1/items", ASSET, "/static/geosvc-widget.js", MAP])
def test_etag_and_304(client, path):
    first = _get(client, path)
    body = first.data
    assert first.status_code == 200
    tag = first.headers["ETag"]
    assert tag.startswith('"') and not tag.startswith("W/")  # strong
    assert "max-age" in first.headers["Cache-Control"]
    again = _get(client, path, {"If-None-Match": tag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == tag
    other = _get(client, path, {"If-None-Match": '"nope"'})
    assert other.status_code == 200 and other.data == body


def test_api_etag_is_the_body_hash(client):
    a, b = client.get(API), client.get(API)
    assert a.headers["ETag"] == b.headers["ETag"]
    assert client.get("/api/v1/venues?kind=kiosk").headers["ETag"] != a.headers["ETag"]


@pytest.mark.parametrize("path", [API, ASSET, MAP])
def test_gzip_when_accepted_identical_after_gunzip(client, path):
    plain = _get(client, path)
    zipped = _get(client, path, GZ)
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in plain.headers["Vary"]
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert gzip.decompress(zipped.data) == plain.data
    assert int(zipped.headers["Content-Length"]) == len(zipped.data) < len(plain.data)
    # the two representations never share an ETag; each revalidates itself
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    again = _get(client, path, {**GZ, "If-None-Match": zipped.headers["ETag"]})
    assert again.status_code == 304


def test_map_page_is_gzipped_well_and_cached(client):
    plain = client.get(MAP)
    zipped = client.get(MAP, headers=GZ)
    assert plain.headers["Content-Type"] == "text/html; charset=utf-8"
    assert len(zipped.data) < len(plain.data) / 3
    # a repeat within the cache's lifetime is the same page (Folium ids are random)
    assert client.get(MAP).data == plain.data
    assert client.get(MAP + "&k=3").status_code == 200


def test_small_and_uncacheable_answers(client):
    for path in ("/api/v1/venues/XC-H-01", "/api/v1/items?limit=1"):
        size = len(client.get(path).data)
        small = client.get(path, headers=GZ)
        assert ("Content-Encoding" in small.headers) is (size >= 1024)
        assert ("Accept-Encoding" in small.headers.get("Vary", "")) is (size >= 1024)
    health = client.get("/healthz", headers=GZ)
    assert health.headers["Cache-Control"] == "no-store"
    assert "ETag" not in health.headers


def test_errors_and_posts_are_untouched(client):
    bad = client.get("/api/v1/venues?kind=castle", headers=GZ)
    assert bad.status_code == 400 and "ETag" not in bad.headers
    assert "Content-Encoding" not in bad.headers


@pytest.mark.parametrize(("path", "vary"), [
    ("/api/v1/nearest?lon=118.76&lat=30.94&mode=straight&k=5",
     "Accept-Encoding"),  # no Vary before: set directly
    (API, "Accept, Accept-Encoding"),  # negotiated: werkzeug's header set, written back
])
def test_vary_names_accept_encoding_once_after_what_the_view_said(client, path, vary):
    plain, zipped = _get(client, path), _get(client, path, GZ)
    assert plain.status_code == zipped.status_code == 200
    assert plain.headers.get_all("Vary") == zipped.headers.get_all("Vary") == [vary]
