"""``scripts/bench_peers.py``: its pure helpers (no Valhalla, no benchmark run).

The worst-start list under the isochrone rows, which shape the IoU target is
judged on, the gate-cost request Valhalla is asked with, and rows whose verdict
is shown but not counted among the run's targets.
"""

from __future__ import annotations

import doctest
import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    return importlib.import_module("bench_peers")


def test_the_helpers_doctests(bench: ModuleType) -> None:
    result = doctest.testmod(bench, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 7 and result.failed == 0


def test_worst_starts_orders_by_each_start_s_lowest_band(bench: ModuleType) -> None:
    nan = float("nan")
    ious = [[0.95, 0.90, 0.91], [0.18, 0.85, 0.90], [0.79, 0.88, 0.90], [nan, nan, nan],
            [0.80, 0.70, 0.99]]
    assert bench.worst_starts(ious, 3) == [1, 4, 2]
    assert bench.worst_starts(ious, 10) == [1, 4, 2, 0, 3]
    assert bench.worst_starts([], 3) == []


def test_the_gate_cost_request_leaves_the_original_alone(bench: ModuleType) -> None:
    q = {"sources": [{"lat": 60.1, "lon": 24.9}], "costing": "pedestrian",
         "costing_options": {"pedestrian": {"walking_speed": 4.5, "gate_cost": 30}}}
    got = bench.with_gate_cost(q, 0.0)
    assert got["costing_options"]["pedestrian"] == {"walking_speed": 4.5, "gate_cost": 0.0}
    assert got["sources"] == q["sources"] and got["costing"] == "pedestrian"
    assert q["costing_options"]["pedestrian"]["gate_cost"] == 30
    # a request without options gets them
    assert bench.with_gate_cost({"costing": "pedestrian"}, 12)["costing_options"] == {
        "pedestrian": {"gate_cost": 12}}


def test_a_row_not_counted_shows_its_verdict_and_says_so(bench: ModuleType, capsys) -> None:
    rep = bench.Report()
    rep.add("p90 judged", "", "", "0.41", "p90 <= 0.3", False)
    rep.add("p90, Valhalla gate_cost 0 s", "", "", "0.11", "p90 <= 0.3", True, counted=False)
    out = capsys.readouterr().out
    assert "0.41  [target p90 <= 0.3]  MISSED\n" in out
    assert "0.11  [target p90 <= 0.3]  MET (not counted)\n" in out
    md = rep.markdown("run")
    assert "| p90 judged |  |  | 0.41 | p90 <= 0.3 ✘ |" in md
    assert "| p90, Valhalla gate_cost 0 s |  |  | 0.11 | p90 <= 0.3 ✔ (not counted) |" in md
