"""Bugs the contract fuzzer (test_contract_fuzz.py) found, pinned with plain requests.

Each test names the input that used to fail and what it did; the fixes keep
the public contract of docs/api.md: a 400 problem naming the parameter instead of
a 500, and an OpenAPI document that describes what the server really sends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from geosvc.api.params import MAX_OFFSET
from tests.web._demo_app import build_demo_app

PROBLEM = "application/problem+json"
HUGE_INT = "1" + "0" * 400  # a JSON integer beyond float range


@pytest.fixture(scope="module")
def client(demo_db: Path, tmp_path_factory: pytest.TempPathFactory):
    return build_demo_app(demo_db, tmp_path_factory).test_client()


@pytest.fixture(scope="module")
def spec(client) -> dict[str, Any]:
    return client.get("/openapi.json").get_json(force=True)


def _bad(resp, name: str, status: int = 400) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    assert resp.mimetype == PROBLEM
    body = resp.get_json(force=True)
    assert body["status"] == status
    assert name in [p["name"] for p in body.get("invalid_params", [])], body
    return body


# -- 500s -------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/items", "/api/v1/venues",
                                 "/ogc/collections/venues/items"])
def test_huge_offset_is_a_400_not_a_500(client, url: str) -> None:
    # was: /api/v1/items?offset=336262072030026415472640 -> 500 (the echoed
    # offset overflowed orjson's 64-bit integers)
    _bad(client.get(f"{url}?offset=336262072030026415472640"), "offset")
    resp = client.get(f"{url}?offset={MAX_OFFSET}")
    assert resp.status_code == 200
    assert resp.get_json(force=True).get("offset", MAX_OFFSET) == MAX_OFFSET


@pytest.mark.parametrize("member", ["minutes", "target_share", "site_spacing_m"])
def test_plan_number_beyond_float_range_is_a_400(client, member: str) -> None:
    # was: 500, math.isfinite(10**400) raised OverflowError
    body = f'{{"k": 1, "candidates": "kiosk_sites", "{member}": {HUGE_INT}}}'
    _bad(client.post("/api/v1/plans", data=body, content_type="application/json"), member)


def test_plan_filter_number_beyond_float_range_is_a_400(client) -> None:
    # was: 500 from the same OverflowError, for a filter value
    body = f'{{"k": 1, "filters": {{"accessible": {HUGE_INT}}}}}'
    _bad(client.post("/api/v1/plans", data=body, content_type="application/json"),
         "filters.accessible")


def test_plan_candidate_coordinate_beyond_float_range_is_a_400(client) -> None:
    # was: 500, float(10**400) in the candidate reader raised OverflowError
    body = ('{"k": 1, "candidates": {"type": "FeatureCollection", "features": ['
            '{"type": "Feature", "properties": {}, "geometry": {"type": "Point", '
            f'"coordinates": [{HUGE_INT}, 60.17]}}}}]}}}}')
    _bad(client.post("/api/v1/plans", data=body, content_type="application/json"),
         "candidates")


def test_plan_huge_k_is_still_named(client) -> None:
    body = '{"k": 100000000000000000000, "candidates": "kiosk_sites"}'
    _bad(client.post("/api/v1/plans", data=body, content_type="application/json"), "k")


def test_plan_deeply_nested_body_is_a_400(client) -> None:
    # was: 500, RecursionError while decoding the JSON body
    body = "[" * 50_000 + "]" * 50_000
    _bad(client.post("/api/v1/plans", data=body, content_type="application/json"), "body")


def test_plan_exact_integers_still_work(client) -> None:
    resp = client.post("/api/v1/plans", json={"k": 2, "minutes": 10,
                                              "candidates": "kiosk_sites"})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    doc = resp.get_json()
    assert doc["k"] == 2 and doc["minutes"] == 10
    assert 0 <= doc["before_share"] <= doc["after_share"] <= 1


# -- the document tells the truth --------------------------------------------


def _walk(node: Any):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_exclusive_bounds_are_openapi_30_booleans(spec) -> None:
    # was: {"exclusiveMinimum": 0} (JSON Schema 2020) on max_minutes and
    # coverage's minutes: schemathesis refused /api/v1/nearest and /coverage
    seen = 0
    for node in _walk(spec):
        for key, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            if key in node and isinstance(node[key], bool | int | float) and bound in node:
                assert node[key] is True, node
                seen += 1
            elif key in node and not isinstance(node[key], dict):
                assert isinstance(node[key], bool) and bound in node, node
    assert seen >= 3  # max_minutes, coverage minutes, plan minutes
    nearest = {p["name"]: p for p in spec["paths"]["/api/v1/nearest"]["get"]["parameters"]}
    assert nearest["max_minutes"]["schema"]["minimum"] == 0


def test_map_pages_document_their_problems(client, spec) -> None:
    # was: /map and /embed answered 400 and 422 problems documented only as 200 HTML;
    # issue 10: a page's errors are HTML pages (same status), documented as such
    for path in ("/map", "/embed"):
        responses = spec["paths"][path]["get"]["responses"]
        for code in ("400", "422"):
            assert "text/html" in responses[code]["content"], (path, code)
        resp = client.get(f"{path}?crs=mars")
        assert resp.status_code == 400 and resp.mimetype == "text/html"
        assert "<code>crs</code>" in resp.get_data(as_text=True)
        resp = client.get(f"{path}?mode=drive&lon=24.94&lat=60.17")
        assert resp.status_code == 422 and resp.mimetype == "text/html"


def test_openapi_json_documents_its_own_media_type(client, spec) -> None:
    # was: served as application/vnd.oai.openapi+json, documented as application/json
    served = client.get("/openapi.json").mimetype
    ok = spec["paths"]["/openapi.json"]["get"]["responses"]["200"]
    assert list(ok["content"]) == [served]


def test_every_operation_documents_503(spec) -> None:
    # any request may first reload the store, which raises StorageUnavailable (503)
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            # the HTML pages (/, /map, /embed, /venues/{id}, /docs) answer their errors as pages
            pages = ("/", "/map", "/embed", "/venues/{id}", "/docs")
            media = "text/html" if path in pages else PROBLEM
            assert media in op["responses"]["503"]["content"], (method, path)


def test_plan_request_schema_matches_the_checks(client, spec) -> None:
    # was: `candidates` documented as required (the server defaults it to
    # bank_outlets) and minutes / site_spacing_m without their bounds
    req = spec["components"]["schemas"]["PlanRequest"]
    assert "candidates" not in req.get("required", [])
    assert req["properties"]["candidates"]["default"] == "bank_outlets"
    minutes = req["properties"]["minutes"]
    bounds = (minutes["minimum"], minutes["exclusiveMinimum"], minutes["maximum"])
    assert bounds == (0, True, 120)
    _bad(client.post("/api/v1/plans", json={"minutes": 121}), "minutes")
    spacing = req["properties"]["site_spacing_m"]
    assert (spacing["minimum"], spacing["maximum"]) == (10, 10_000)
    _bad(client.post("/api/v1/plans", json={"site_spacing_m": 9}), "site_spacing_m")
