"""Property-based contract test: every operation of ``/openapi.json`` against the real app.

Schemathesis reads the document the app serves and runs as ``st run`` does
(tests/web/_contract.py): the examples, coverage and fuzzing phases, **every
check** it has (not_a_server_error, status_code_conformance,
content_type_conformance, response_headers_conformance,
response_schema_conformance, negative_data_rejection,
positive_data_acceptance, missing_required_header, unsupported_method,
allow_header_conformance, use_after_free, ensure_resource_availability,
ignored_auth, ...; those without a subject here, such as the resource and
auth checks over an API with no writes to undo and no security schemes,
pass trivially).  The app is the demo city with its walking network, called
in-process (WSGI, no sockets).

Bounded and deterministic: a fixed number of examples per operation (fewer
for the costly coverage, isochrone and plan analyses), ``deterministic``
generation, no example database; the cases are counted and the count is
asserted, so the bound is real.  ``scripts/fuzz_contract.py`` runs longer.
Bugs it found are pinned in ``test_regressions.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402

from tests.web._contract import IDENTITY, contract_schema, run_contract  # noqa: E402
from tests.web._demo_app import build_demo_app  # noqa: E402

#: Examples per operation and phase; the rest get DEFAULT_EXAMPLES.
EXAMPLES = {
    "/api/v1/coverage": 5,
    "/api/v1/plans": 5,
    "/api/v1/isochrones": 10,
    "/api/v1/nearest": 25,
    "/map": 8,
    "/embed": 8,
}
DEFAULT_EXAMPLES = 45
#: Fewest cases the bounded run must have sent (it sends about 3,150: 3,084 with 40
#: default examples, 3,216 with 50; about 40-70 s on 2 shared cores).
MIN_CASES = 3000


@pytest.fixture(scope="module")
def contract_app(demo_db: Path, tmp_path_factory: pytest.TempPathFactory):
    """Build the demo city with its walking network (the document's examples fit it)."""
    return build_demo_app(demo_db, tmp_path_factory)


@pytest.fixture(scope="module")
def api_schema(contract_app):
    """The document with the run's configuration: every check, 422 for valid data too."""
    return contract_schema(contract_app, examples=EXAMPLES, default_examples=DEFAULT_EXAMPLES)


def test_every_operation_honours_its_contract(contract_app) -> None:
    """Every check, >= 3,000 cases over every operation, no failure."""
    schema = contract_schema(contract_app, examples=EXAMPLES,
                             default_examples=DEFAULT_EXAMPLES)
    outcome = run_contract(schema)
    report = outcome.report()
    assert not outcome.errors, report
    assert not outcome.failures, report
    assert outcome.cases >= MIN_CASES, report
    documented = {f"{m.upper()} {p}" for p, ops in schema.raw_schema["paths"].items()
                  for m in ops}
    # schemathesis leaves out the operation serving the document it reads (that
    # document is checked by tests/web/test_openapi.py and tests/test_docs.py)
    untested = documented - set(outcome.by_operation) - {"GET /openapi.json"}
    assert not untested, report


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
        case.call_and_validate(headers=IDENTITY)  # every check

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
    response = case.call_and_validate(headers=IDENTITY)  # every check
    assert response.status_code == 200
