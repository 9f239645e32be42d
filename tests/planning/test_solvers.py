"""Covering solvers on hand-built and random instances."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from geosvc.analysis.planning import (
    exact_max_cover,
    exact_min_sites,
    greedy_max_cover,
    greedy_min_sites,
    order_by_gain,
    reduce_instance,
)
from geosvc.errors import InvalidParameter

# Six residents r0..r5 (one each).  C0 covers r1..r4 (4), C1 r0..r2 (3), C2 r3..r5 (3).
# With k=2 greedy takes C0 first and then gains 1 more (5); the optimum is C1+C2 (6).
TRAP = sp.csr_matrix(np.array([
    [0, 1, 0],
    [1, 1, 0],
    [1, 1, 0],
    [1, 0, 1],
    [1, 0, 1],
    [0, 0, 1],
], dtype=bool))
ONES = np.ones(6)


def random_instance(seed: int, n: int = 120, m: int = 30, density: float = 0.08):
    rng = np.random.default_rng(seed)
    a = sp.random(n, m, density=density, random_state=rng, format="csr").astype(bool)
    w = rng.integers(1, 50, size=n).astype(float)
    return a, w


def test_greedy_is_suboptimal_on_the_trap_and_exact_finds_the_optimum():
    g = greedy_max_cover((TRAP, ONES), 2)
    assert g.selected[0] == 0 and g.covered == 5.0
    for backend in ("spopt", "pulp"):
        e = exact_max_cover((TRAP, ONES), 2, backend=backend)
        assert e.optimal, backend
        assert sorted(e.selected) == [1, 2], backend
        assert e.covered == 6.0 and sum(e.gains) == 6.0
        assert e.solver.startswith("exact:")


@pytest.mark.parametrize("seed", range(8))
def test_greedy_never_beats_exact_and_keeps_the_bound(seed):
    a, w = random_instance(seed)
    for k in (1, 3, 6):
        g = greedy_max_cover((a, w), k)
        e = exact_max_cover((a, w), k, backend="pulp")
        assert e.optimal
        assert g.covered <= e.covered + 1e-9
        assert g.covered >= (1 - 1 / math.e) * e.covered - 1e-9
        # the reported covered weight is what the selection really covers
        rows = np.asarray(a[:, e.selected].sum(axis=1)).ravel() > 0
        assert e.covered == pytest.approx(w[rows].sum())
        assert len(e.selected) <= k
        # gains are ordered, positive and add up
        assert all(x >= y for x, y in zip(e.gains, e.gains[1:], strict=False))
        assert sum(e.gains) == pytest.approx(e.covered)


@pytest.mark.parametrize("seed", range(3))
def test_spopt_and_sparse_model_agree(seed):
    a, w = random_instance(seed, n=60, m=15)
    s = exact_max_cover((a, w), 4, backend="spopt")
    p = exact_max_cover((a, w), 4, backend="pulp")
    assert s.covered == pytest.approx(p.covered)
    assert "spopt" in s.solver and "pulp" in p.solver


def test_reduction_keeps_the_optimum():
    a, w = random_instance(11, n=300, m=20, density=0.05)
    red = reduce_instance(a, w)
    assert red.matrix.shape[0] < 300
    assert red.weight.sum() == pytest.approx(w[np.asarray(a.sum(axis=1)).ravel() > 0].sum())
    assert exact_max_cover(red, 5).covered == pytest.approx(exact_max_cover((a, w), 5).covered)


def test_min_sites_reaches_target_with_fewest():
    # every pair of candidates covers all three rows; one candidate covers two
    a = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 1], [0, 1, 1]], dtype=bool))
    w = np.array([1.0, 1.0, 1.0])
    e = exact_min_sites((a, w), 3.0)
    assert e.optimal and len(e.selected) == 2 and e.covered == 3.0
    assert exact_min_sites((a, w), 2.0).selected.__len__() == 1
    g = greedy_min_sites((a, w), 3.0)
    assert g.status == "ok" and len(g.selected) == 2


def test_min_sites_exact_beats_greedy_on_the_trap():
    assert len(greedy_min_sites((TRAP, ONES), 6).selected) == 3
    e = exact_min_sites((TRAP, ONES), 6)
    assert sorted(e.selected) == [1, 2]


def test_min_sites_unreachable_reports_best_possible():
    a = sp.csr_matrix(np.array([[1, 0], [0, 1], [0, 0]], dtype=bool))
    w = np.array([5.0, 1.0, 4.0])  # the last row is out of reach
    for sol in (exact_min_sites((a, w), 8.0), greedy_min_sites((a, w), 8.0)):
        assert sol.status == "unreachable"
        assert sol.covered == 6.0 and sorted(sol.selected) == [0, 1]


def test_greedy_stops_when_nothing_more_to_gain():
    a = sp.csr_matrix(np.array([[1, 1], [1, 1]], dtype=bool))
    g = greedy_max_cover((a, [1.0, 1.0]), 2)
    assert g.selected == [0] and g.covered == 2.0
    order, gains, total = order_by_gain((a, [1.0, 1.0]), [1, 0])
    assert order == [0, 1] and gains == [2.0, 0.0] and total == 2.0


@pytest.mark.parametrize("k", [0, -1, 2.5, True, "3"])
def test_bad_k(k):
    with pytest.raises(InvalidParameter, match="`k`"):
        greedy_max_cover((TRAP, ONES), k)
    with pytest.raises(InvalidParameter, match="`k`"):
        exact_max_cover((TRAP, ONES), k)


def test_bad_weights():
    with pytest.raises(InvalidParameter, match="`weight`"):
        reduce_instance(TRAP, [1.0, -1.0, 1, 1, 1, 1])
    with pytest.raises(InvalidParameter, match="`weight`"):
        reduce_instance(TRAP, [1.0, 1.0])
