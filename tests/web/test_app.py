"""The Flask app: every path, content types, CORS, caching, Chinese text, problem+json."""

from __future__ import annotations

import json

import pytest

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(("url", "mimetype"), [
    ("/api/v1/venues", "application/geo+json"),
    ("/api/v1/venues/XC-H-01", "application/geo+json"),
    ("/api/v1/items?q=shebao", "application/json"),
    ("/api/v1/items/SB-01", "application/json"),
    ("/api/v1/nearest?lon=118.7581&lat=30.9401", "application/geo+json"),
    ("/ogc", "application/json"),
    ("/ogc/conformance", "application/json"),
    ("/ogc/collections", "application/json"),
    ("/ogc/collections/kiosks", "application/json"),
    ("/ogc/collections/kiosks/items", "application/geo+json"),
    ("/ogc/collections/kiosks/items/XC-K-01", "application/geo+json"),
    ("/healthz", "application/json"),
    ("/openapi.json", "application/vnd.oai.openapi+json"),
    ("/docs", "text/html"),
])
def test_every_path_answers(client, url: str, mimetype: str) -> None:
    resp = client.get(url)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == mimetype
    if mimetype != "text/html":
        assert isinstance(resp.get_json(force=True), dict)


def test_chinese_is_not_escaped_and_cache_headers(client) -> None:
    resp = client.get("/api/v1/venues/XC-H-01")
    body = resp.get_data(as_text=True)
    assert "宣城市政务服务中心" in body and "\\u" not in body
    assert resp.headers["Cache-Control"].startswith("public, max-age=")
    assert client.get("/healthz").headers["Cache-Control"] == "no-store"


def test_cors_open_for_get(client) -> None:
    for url in ("/api/v1/venues", "/ogc/collections", "/openapi.json"):
        resp = client.get(url, headers={"Origin": "https://portal.example.cn"})
        assert resp.headers.get("Access-Control-Allow-Origin") == "*", url
    pre = client.options("/api/v1/nearest", headers={
        "Origin": "https://portal.example.cn", "Access-Control-Request-Method": "GET"})
    assert pre.headers.get("Access-Control-Allow-Origin") == "*"
    assert "GET" in pre.headers.get("Access-Control-Allow-Methods", "")
    assert "Access-Control-Allow-Origin" not in client.get(
        "/healthz", headers={"Origin": "https://x.example"}).headers


def test_unknown_path_is_problem_json(client) -> None:
    resp = client.get("/api/v1/nothing-here")
    assert resp.status_code == 404 and resp.mimetype == PROBLEM
    doc = resp.get_json(force=True)
    assert doc["status"] == 404 and doc["type"] == "/problems/not-found"
    assert doc["instance"] == "/api/v1/nothing-here"


def test_wrong_method_is_problem_json(client) -> None:
    resp = client.delete("/api/v1/venues")
    assert resp.status_code == 405 and resp.mimetype == PROBLEM
    assert "GET" in resp.headers["Allow"]
    assert "DELETE" in resp.get_json(force=True)["detail"]


def test_unknown_venue_and_item_are_404_problems(client) -> None:
    for url in ("/api/v1/venues/NOPE", "/api/v1/items/NOPE", "/ogc/collections/shops",
                "/ogc/collections/halls/items/XC-K-01"):
        resp = client.get(url)
        assert resp.status_code == 404 and resp.mimetype == PROBLEM, url
        assert resp.get_json(force=True)["type"] == "/problems/not-found"


def test_repeated_parameters_are_joined(client) -> None:
    doc = client.get("/api/v1/venues?kind=hall&kind=kiosk&level=township").get_json()
    assert [f["id"] for f in doc["features"]] == ["XC-H-03"]
    doc = client.get("/api/v1/venues?kind=kiosk&kind=bank_outlet").get_json()
    assert doc["numberMatched"] == 5


def test_chinese_labels_filter_like_their_codes(client) -> None:
    """`level=县` answers as `level=county`, `kind=便民服務中心` as `kind=hall`."""
    for label, code in (("level=县", "level=county"), ("kind=便民服務中心", "kind=hall"),
                        ("kind=自助终端&level=鄉鎮", "kind=kiosk&level=township"),
                        ("channel=窗口", "channel=window")):
        by_label = client.get(f"/api/v1/venues?{label}").get_json()
        assert by_label == client.get(f"/api/v1/venues?{code}").get_json(), label
        assert by_label["numberMatched"] > 0 or "kiosk" in code, label
    resp = client.get("/api/v1/venues?level=省")
    assert resp.status_code == 400
    assert [p["name"] for p in resp.get_json(force=True)["invalid_params"]] == ["level"]


def test_ogc_paging_links_are_absolute_and_work(client) -> None:
    doc = client.get("/ogc/collections/venues/items?limit=4").get_json(force=True)
    nxt = next(link["href"] for link in doc["links"] if link["rel"] == "next")
    assert nxt.startswith("http://localhost/ogc/collections/venues/items?")
    doc2 = client.get(nxt.removeprefix("http://localhost")).get_json(force=True)
    assert doc2["numberReturned"] == 4
    assert not {f["id"] for f in doc["features"]} & {f["id"] for f in doc2["features"]}
    doc3 = client.get("/ogc/collections/venues/items?offset=100").get_json(force=True)
    assert doc3["numberReturned"] == 0 and doc3["numberMatched"] == 9


def test_gcj02_round_trip_over_http(client) -> None:
    from geosvc.coords import from_wgs84, to_wgs84

    glon, glat = from_wgs84(118.7590, 30.9410, "gcj02")  # XC-K-01
    bbox = f"{glon - 0.0005},{glat - 0.0005},{glon + 0.0005},{glat + 0.0005}"
    doc = client.get(f"/api/v1/venues?crs=gcj02&bbox={bbox}").get_json(force=True)
    assert [f["id"] for f in doc["features"]] == ["XC-K-01"]
    back = to_wgs84(*doc["features"][0]["geometry"]["coordinates"], "gcj02")
    assert back == pytest.approx((118.7590, 30.9410), abs=1e-6)


def test_network_modes_without_network_are_422_problems(client) -> None:
    for url in ("/api/v1/nearest?lon=118.758&lat=30.94&mode=walk",
                "/api/v1/isochrones?lon=118.758&lat=30.94&mode=bike",
                "/api/v1/coverage?mode=drive"):
        resp = client.get(url)
        assert resp.status_code == 422 and resp.mimetype == PROBLEM, url
        doc = resp.get_json(force=True)
        assert doc["type"] == "/problems/mode-unavailable"
        assert "--osm FILE" in doc["detail"]


def test_plans_body_must_be_json_object(client) -> None:
    resp = client.post("/api/v1/plans", data="[1,2]", content_type="application/json")
    assert resp.status_code == 400 and resp.mimetype == PROBLEM
    assert resp.get_json(force=True)["invalid_params"][0]["name"] == "body"
    resp = client.post("/api/v1/plans", json={"mode": "walk"})
    assert resp.status_code == 422


def test_json_is_valid_strict_json(client) -> None:
    body = client.get("/api/v1/nearest?lon=118.7581&lat=30.9401&k=10").get_data(as_text=True)
    json.loads(body, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))


@pytest.mark.parametrize("path", ["/api/v1/nearest?lon=118.758&lat=30.94&",
                                  "/api/v1/venues/XC-H-01?"])
@pytest.mark.parametrize("open_at", ["9999-12-31T23:59", "0001-01-01T00:00:00%2B14:00"])
def test_open_at_at_the_calendar_edge_is_a_400_not_a_500(client, path: str,
                                                          open_at: str) -> None:
    resp = client.get(f"{path}open_at={open_at}")
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    assert [p["name"] for p in resp.get_json()["invalid_params"]] == ["open_at"]


def test_ogc_feature_self_link_fetches_the_feature(client) -> None:
    doc = client.get("/ogc/collections/halls/items/XC-H-01").get_json(force=True)
    self_href = next(link["href"] for link in doc["links"] if link["rel"] == "self")
    again = client.get(self_href.removeprefix("http://localhost")).get_json(force=True)
    assert again["id"] == "XC-H-01"


def test_map_says_why_a_nearest_search_found_nothing(client) -> None:
    # issue 9: an empty nearest answer carries `empty_reason`; the map shows it in words
    url = "/map?lon=118.76&lat=30.94&mode=straight&kind=kiosk&max_minutes=0.01"
    resp = client.get(url + "&lang=zh")
    assert resp.status_code == 200
    assert "限定时间内无法到达符合条件的场所" in resp.get_data(as_text=True)
    resp = client.get(url + "&lang=en")
    assert resp.status_code == 200
    assert "No matching venue within the time limit" in resp.get_data(as_text=True)
