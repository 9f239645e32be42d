"""Contract: every failing endpoint answers the same problem+json shape.

In the manner of datasette's ``test_error_shape.py``: walk each endpoint with
bad input and check ``type``, ``title``, ``status``, ``detail``, ``instance``
and the names in ``invalid_params``.
"""

from __future__ import annotations

import pytest

CASES = [
    ("/api/v1/venues?bbox=1,2,3", ["bbox"]),
    ("/api/v1/venues?kind=shop&level=galaxy&channel=fax&limit=0&offset=-2",
     ["kind", "level", "channel", "limit", "offset"]),
    ("/api/v1/venues?item=NOPE&accessible=perhaps&open_at=tomorrow",
     ["item", "open_at", "accessible"]),
    ("/api/v1/venues?open_at=2026-05-06T10:00&open_now=true", ["open_now"]),
    ("/api/v1/venues?crs=epsg:3857&q=" + "x" * 101, ["crs", "q"]),
    ("/api/v1/venues?limit=1001", ["limit"]),
    ("/api/v1/venues/XC-H-01?crs=utm", ["crs"]),
    ("/api/v1/items?q=" + "y" * 200 + "&limit=abc", ["limit", "q"]),
    ("/api/v1/nearest", ["lon", "lat"]),
    ("/api/v1/nearest?lon=181&lat=-91", ["lon", "lat"]),
    ("/api/v1/nearest?lon=118&lat=30&k=101&mode=boat&max_minutes=0&route=2",
     ["k", "mode", "max_minutes", "route"]),
    ("/api/v1/isochrones?lon=118&lat=30&minutes=0,5", ["minutes"]),
    ("/api/v1/isochrones?lat=30&mode=boat", ["lon", "mode"]),
    ("/api/v1/isochrones?lon=118&lat=30&shape=hull", ["shape"]),
    ("/api/v1/coverage?minutes=500&kind=x", ["minutes", "kind"]),
    ("/ogc/collections/venues/items?bbox=a,b,c,d&limit=-1", ["bbox", "limit"]),
]


@pytest.mark.parametrize(("url", "names"), CASES)
def test_invalid_parameters_shape(client, url: str, names: list[str]) -> None:
    resp = client.get(url)
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"
    doc = resp.get_json(force=True)
    assert set(doc) >= {"type", "title", "status", "detail", "instance", "invalid_params"}
    assert doc["type"] == "/problems/invalid-parameter"
    assert doc["title"] == "Invalid parameter" and doc["status"] == 400
    assert doc["instance"].startswith(url.split("?")[0])
    assert sorted(p["name"] for p in doc["invalid_params"]) == sorted(names)
    for p in doc["invalid_params"]:
        assert p["reason"] and f"`{p['name']}`" in doc["detail"]


@pytest.mark.parametrize(("method", "url", "status"), [
    ("get", "/nope", 404),
    ("get", "/api/v1/venues/NOPE", 404),
    ("get", "/api/v1/items/NOPE", 404),
    ("get", "/ogc/collections/roads/items", 404),
    ("get", "/ogc/collections/kiosks/items/XC-H-01", 404),
    ("post", "/api/v1/venues", 405),
    ("put", "/healthz", 405),
    ("get", "/api/v1/nearest?lon=118&lat=30&mode=walk", 422),
    ("post", "/api/v1/plans", 400),
])
def test_other_problems_shape(client, method: str, url: str, status: int) -> None:
    resp = getattr(client, method)(url)
    assert resp.status_code == status
    assert resp.mimetype == "application/problem+json"
    doc = resp.get_json(force=True)
    assert doc["status"] == status and doc["type"].startswith("/problems/")
    assert doc["title"] and doc["detail"] and doc["instance"].startswith(url.split("?")[0])
