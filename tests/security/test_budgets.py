"""Time budgets of the heavy analyses (issue 11, item 2): 503 + Retry-After, no hung worker.

The demo city (walking network) is served on loopback with different
``analysis_budget_s``; requests go through real sockets.  A tiny budget
answers coverage, plans, isochrones and the pages built on them with a 503
problem at once; a normal one still answers 200.  The analyses' own checks
(between phases, in the greedy loop, the solver's time limit) are tested on
the analysis functions with deadlines that are already spent.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from click.testing import CliRunner

import geosvc.demo
from geosvc.analysis.coverage import compute_coverage
from geosvc.analysis.planning.solvers import greedy_max_cover, greedy_min_sites
from geosvc.app.travel import PlanRequest, plan_new_sites
from geosvc.budget import UNLIMITED, Deadline
from geosvc.cli import main
from geosvc.config import Settings
from geosvc.errors import BudgetExceeded, ConfigError
from geosvc.web import create_app
from tests.security._serve import serve_in_thread
from tests.web.citydata import build_city_db

P = (24.9414, 60.1699)  # central Helsinki, on the demo's walking network


@pytest.fixture(scope="module")
def demo_app(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    """Build the demo app (walk network, cached across builds) with settings overrides."""
    cache = tmp_path_factory.getbasetemp() / "demo-walk-cache"
    cache.mkdir(exist_ok=True)

    def build(**overrides: Any) -> Any:
        app = create_app({"TESTING": True, "db": str(demo_db),
                          "osm": str(geosvc.demo.demo_osm_path()), "modes": "walk",
                          "cache_dir": str(cache), "heavy_rate_limit": "", **overrides})
        service = app.extensions["geosvc"]
        service.travel("walk", service.snapshot)  # warm engine and demand (as `geosvc
        service.demand("walk", service.snapshot)  # serve` does): budgets meet the analyses
        return app

    return build


def _call(base: str, path: str, body: Any = None) -> tuple[int, dict[str, str], bytes, float]:
    data = None if body is None else json.dumps(body).encode()
    method = "GET" if data is None else "POST"
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, dict(resp.headers), resp.read(), time.monotonic() - started
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read(), time.monotonic() - started


HEAVY = [
    ("/api/v1/coverage?mode=walk&minutes=10", None),
    ("/api/v1/coverage?mode=walk&minutes=15&circles=true", None),
    (f"/api/v1/isochrones?lon={P[0]}&lat={P[1]}&minutes=2", None),
    ("/api/v1/plans", {"mode": "walk", "minutes": 10, "k": 3}),
    ("/api/v1/plans", {"mode": "walk", "minutes": 5, "k": 5, "candidates": "kiosk_sites"}),
]


def test_a_tiny_budget_answers_503_with_retry_after_at_once(
        demo_app: Callable[..., Any]) -> None:
    with serve_in_thread(demo_app(analysis_budget_s=1e-6)) as base:
        for path, body in HEAVY:
            status, headers, raw, took = _call(base, path, body)
            assert status == 503, (path, raw[:300])
            assert headers["Content-Type"].startswith("application/problem+json")
            assert headers["Retry-After"] == "1"
            doc = json.loads(raw)
            assert doc["type"] == "/problems/analysis-budget-exceeded"
            assert doc["title"] == "Analysis time budget exceeded"
            assert doc["budget_s"] == 1e-6 and "`analysis_budget_s`" in doc["detail"]
            assert "phase" in doc or "estimate" in doc
            assert took < 1.5, f"{path} took {took:.2f} s to be refused"


def test_the_map_page_and_the_report_over_budget_are_503_pages(
        demo_app: Callable[..., Any]) -> None:
    with serve_in_thread(demo_app(analysis_budget_s=1e-6)) as base:
        for path in ("/map?layer=coverage&lang=en", "/map?layer=isochrones&lon=24.9414"
                     "&lat=60.1699&lang=en"):
            status, headers, raw, took = _call(base, path)
            assert status == 503 and headers["Retry-After"] == "1"
            assert headers["Content-Type"].startswith("text/html")
            assert b"longer than the server allows" in raw and took < 1.5
        status, headers, raw, _ = _call(base, "/api/v1/coverage?f=html")
        assert status == 503 and headers["Retry-After"] == "1"


def test_obviously_too_big_work_is_refused_by_its_estimate(
        demo_app: Callable[..., Any]) -> None:
    feats = [{"type": "Feature", "properties": {"id": f"c{i}"},
              "geometry": {"type": "Point", "coordinates": [24.93 + (i % 200) * 1e-4,
                                                            60.16 + (i // 200) * 1e-4]}}
             for i in range(20_000)]
    body = {"k": 3, "candidates": {"type": "FeatureCollection", "features": feats}}
    with serve_in_thread(demo_app(analysis_budget_s=0.01, max_body_bytes=8_000_000)) as base:
        status, headers, raw, took = _call(base, "/api/v1/plans", body)
        doc = json.loads(raw)
        assert status == 503 and headers["Retry-After"] == "1", raw[:300]
        assert doc["estimate"]["name"] == "candidate_demand_pairs"
        assert doc["estimate"]["value"] > doc["estimate"]["limit"]
        assert "`candidate_demand_pairs`" in doc["detail"] and took < 3.0
        path = f"/api/v1/isochrones?lon={P[0]}&lat={P[1]}&minutes=30,60"
        status, headers, raw, took = _call(base, path)
        doc = json.loads(raw)
        assert status == 503 and doc["estimate"]["name"] == "reached_node_bands"
        assert "`reached_node_bands`" in doc["detail"] and took < 1.0


def test_a_normal_budget_still_answers(demo_app: Callable[..., Any]) -> None:
    app = demo_app()
    assert app.extensions["geosvc"].settings.analysis_budget_s == 20.0  # the default
    with serve_in_thread(app) as base:
        for path, body in HEAVY:
            status, headers, raw, _ = _call(base, path, body)
            assert status == 200, (path, raw[:300])
            assert "Retry-After" not in headers
        status, _, raw, _ = _call(base, "/map?layer=coverage")
        assert status == 200


def test_no_budget_when_it_is_zero(demo_app: Callable[..., Any]) -> None:
    app = demo_app(analysis_budget_s=0)
    with serve_in_thread(app) as base:
        status, _, raw, _ = _call(base, "/api/v1/plans", {"k": 2, "minutes": 3})
        assert status == 200 and len(json.loads(raw)["selected"]) == 2


# --------------------------------------------------------------------------- the checks


def _spent(budget_s: float = 0.5) -> Deadline:
    """A deadline whose budget was spent a second ago (e.g. waiting behind other work)."""
    return Deadline(budget_s, what="test", started=time.monotonic() - budget_s - 1.0)


def test_coverage_stops_after_its_first_phase(demo_app: Callable[..., Any]) -> None:
    service = demo_app().extensions["geosvc"]
    snap = service.snapshot
    router, demand = service.travel("walk", snap), service.demand("walk", snap)
    with pytest.raises(BudgetExceeded) as caught:
        compute_coverage(router, demand, minutes=10, deadline=_spent())
    assert caught.value.phase == "pass" and caught.value.status == 503
    full = compute_coverage(router, demand, minutes=10, deadline=Deadline(60))
    assert full.total_population > 0


def test_a_plan_with_its_budget_spent_builds_no_reach_sets(
        demo_app: Callable[..., Any]) -> None:
    service = demo_app().extensions["geosvc"]
    request = PlanRequest(mode="walk", minutes=3, k=2)
    with pytest.raises(BudgetExceeded) as caught:
        plan_new_sites(service, service.snapshot, request, deadline=_spent())
    assert caught.value.phase == "demand"
    answer = plan_new_sites(service, service.snapshot, request, deadline=Deadline(60))
    assert len(answer.result.selected) == 2 and answer.result.solver.startswith("exact")


def test_with_little_time_left_the_plan_is_greedy(demo_app: Callable[..., Any]) -> None:
    service = demo_app().extensions["geosvc"]
    request = PlanRequest(mode="walk", minutes=3, k=2)
    short = Deadline(10.0, started=time.monotonic() - 9.5)  # 0.5 s left: no exact solve
    answer = plan_new_sites(service, service.snapshot, request, deadline=short)
    assert answer.result.solver.startswith("greedy (no time left")
    assert len(answer.result.selected) == 2


def _instance(n_rows: int = 4000, n_cols: int = 2000) -> tuple[sp.csc_matrix, np.ndarray]:
    rng = np.random.default_rng(7)
    mat = sp.random(n_rows, n_cols, density=0.002, random_state=rng, format="csc") > 0
    return mat.tocsc(), rng.uniform(1, 10, n_rows)


def test_the_greedy_loop_checks_its_deadline() -> None:
    instance = _instance()
    with pytest.raises(BudgetExceeded) as caught:
        greedy_max_cover(instance, 900, deadline=_spent())
    assert caught.value.phase == "greedy"
    with pytest.raises(BudgetExceeded):
        greedy_min_sites(instance, float(instance[1].sum()), deadline=_spent())
    assert len(greedy_max_cover(instance, 5, deadline=_spent()).selected) == 5  # < 256 steps
    assert len(greedy_max_cover(instance, 900).selected) > 256


def test_the_solver_gets_at_most_what_is_left() -> None:
    assert UNLIMITED.time_limit_s(30.0) == 30.0
    left = Deadline(10.0, started=time.monotonic() - 5.0).time_limit_s(30.0)
    assert 3.5 < left <= 4.0  # 80 % of the 5 s left
    assert Deadline(100.0).time_limit_s(30.0) == 30.0


def test_the_budget_setting_is_validated() -> None:
    assert Settings().analysis_budget_s == 20.0
    with pytest.raises(ConfigError, match="analysis_budget_s"):
        Settings(analysis_budget_s=-1)
    with pytest.raises(ConfigError, match="analysis_budget_s"):
        Settings(analysis_budget_s=float("nan"))
    assert Deadline.start(0) is UNLIMITED and Deadline.start(5).limited


def test_the_cli_has_no_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = build_city_db(tmp_path / "city.sqlite")
    monkeypatch.setenv("GEOSVC_ANALYSIS_BUDGET_S", "0.000001")
    out = tmp_path / "plan.json"
    result = CliRunner().invoke(main, ["plan", "--db", str(db), "--mode", "straight",
                                       "--k", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8"))["selected"]
    # the same setting does limit the server
    app = create_app({"TESTING": True, "db": str(db), "osm": None, "heavy_rate_limit": ""})
    resp = app.test_client().post("/api/v1/plans", json={"mode": "straight", "k": 1})
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "1"
