"""Property-based contract test: every operation of ``/openapi.json`` against the real app.

Schemathesis reads the document the app serves, generates requests from it
(valid ones, and for operations with inputs also invalid ones) and checks
each response: never a server error, a documented status code, a documented
content type and a body that matches the documented schema.  The app is the
demo city with its walking network, called in-process (WSGI, no sockets).

Bounded and deterministic: a fixed number of examples per operation (fewer
for the costly coverage, isochrone, plan and map pages), ``derandomize``,
no example database.  Bugs it found are pinned in ``test_regressions.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from geosvc.api.openapi import PATH_ENDPOINTS  # noqa: E402
from tests.web._demo_app import build_demo_app  # noqa: E402

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
#: Examples per operation and generation mode; the rest get DEFAULT_EXAMPLES.
EXAMPLES = {
    "/api/v1/coverage": 4,
    "/api/v1/plans": 4,
    "/api/v1/isochrones": 6,
    "/api/v1/nearest": 10,
    "/map": 4,
    "/embed": 4,
}
DEFAULT_EXAMPLES = 12
OPERATIONS = sorted(PATH_ENDPOINTS)


@pytest.fixture(scope="module")
def contract_app(demo_db: Path, tmp_path_factory: pytest.TempPathFactory):
    """Build the demo city with its walking network (the document's examples fit it)."""
    return build_demo_app(demo_db, tmp_path_factory)


@pytest.fixture(scope="module")
def api_schema(contract_app):
    return schemathesis.openapi.from_wsgi("/openapi.json", contract_app)


#: The in-process WSGI transport does not decode gzip as an HTTP client does; ask for
#: identity bodies (gzip itself is tested in tests/web/test_caching.py).
IDENTITY = {"Accept-Encoding": "identity"}


def _has_inputs(operation: Any) -> bool:
    """Tell whether a request can be made invalid (query, body or an enum path part)."""
    raw = operation.definition.raw
    if "requestBody" in raw:
        return True
    return any(p["in"] == "query" or "enum" in p.get("schema", {})
               for p in raw.get("parameters", []))


def _run(operation: Any, mode: GenerationMode, max_examples: int) -> None:
    @settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate, Phase.shrink],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                     HealthCheck.data_too_large])
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        # buffered: werkzeug closes the app's iterator (a served file) after reading it
        case.call_and_validate(checks=CHECKS, buffered=True, headers=IDENTITY)

    check()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["valid", "invalid"])
@pytest.mark.parametrize(("path", "method"), OPERATIONS,
                         ids=[f"{m.upper()} {p}" for p, m in OPERATIONS])
def test_operation_honours_its_contract(api_schema, path: str, method: str,
                                        mode: GenerationMode) -> None:
    operation = api_schema[path][method]
    if mode is GenerationMode.NEGATIVE and not _has_inputs(operation):
        # nothing to make invalid: the valid run covers the operation
        assert mode is GenerationMode.NEGATIVE
        return
    _run(operation, mode, EXAMPLES.get(path, DEFAULT_EXAMPLES))


def _example(api_schema, path: str, name: str) -> str:
    params = api_schema.raw_schema["paths"][path]["get"]["parameters"]
    return next(p["example"] for p in params if p["name"] == name)


@pytest.mark.parametrize("path", ["/api/v1/nearest", "/api/v1/isochrones", "/map"])
def test_point_operations_inside_the_city(api_schema, path: str) -> None:
    """Fuzz a point operation with ``lon``/``lat`` pinned inside the city.

    Random points rarely fall on the demo network: the document's example
    (a point of the served city) is kept and the rest generated, so the
    bodies of 200 answers are checked too.
    """
    query = {"lon": _example(api_schema, path, "lon"), "lat": _example(api_schema, path, "lat")}
    operation = api_schema[path]["get"]
    strategy = operation.as_strategy(generation_mode=GenerationMode.POSITIVE, query=query)

    @settings(max_examples=EXAMPLES.get(path, DEFAULT_EXAMPLES), derandomize=True,
              database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate, Phase.shrink],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                     HealthCheck.data_too_large])
    @given(case=strategy)
    def check(case: Any) -> None:
        case.call_and_validate(checks=CHECKS, buffered=True, headers=IDENTITY)

    check()


@pytest.mark.parametrize("body", [
    {"k": 2, "candidates": "kiosk_sites"},
    {"target_share": 1, "candidates": "bank_outlets", "filters": {"kind": "hall,bank_outlet"}},
    {"k": 1, "minutes": 5, "solver": "greedy", "candidates": {
        "type": "FeatureCollection", "features": [
            {"type": "Feature", "id": "c1", "properties": {"name": "a"},
             "geometry": {"type": "Point", "coordinates": [24.94, 60.17]}}]}},
], ids=["max-cover", "min-sites", "supplied"])
def test_plan_answers_match_the_plan_schema(api_schema, body: dict[str, Any]) -> None:
    """Valid plan requests (the generated bodies are almost always rejected)."""
    case = api_schema["/api/v1/plans"]["post"].Case(body=body, media_type="application/json")
    response = case.call_and_validate(checks=CHECKS, buffered=True, headers=IDENTITY)
    assert response.status_code == 200
