"""Coverage sets equal per-candidate coverage passes (the coverage measure)."""

from __future__ import annotations

import numpy as np
import pytest

from geosvc.analysis.planning.sets import coverage_sets
from geosvc.network.paths import point_times, times_to_sources
from geosvc.network.snap import snap_xy
from geosvc.network.synthetic import grid_network

W = 4.5 / 3.6


@pytest.fixture(scope="module")
def grid():
    return grid_network(12, 10, one_way_rows=[3, 6], missing_edges=[(14, 15), (40, 52)],
                        disconnected=True)


def random_points(net, n, seed):
    rng = np.random.default_rng(seed)
    x0, x1 = net.node_x.min() - 60, net.node_x.max() + 400
    y0, y1 = net.node_y.min() - 60, net.node_y.max() + 60
    return snap_xy(net, rng.uniform(x0, x1, n), rng.uniform(y0, y1, n), max_dist_m=150)


@pytest.mark.parametrize("cutoff_s", [0.0, 200.0, 600.0])
def test_sets_equal_single_candidate_passes(grid, cutoff_s):
    demand = random_points(grid, 300, 1)
    cands = random_points(grid, 25, 2)
    assert (~demand.ok).any() and (~cands.ok).any()  # some off the network on purpose
    a = coverage_sets(grid, demand, cands, cutoff_s, walk_speed_mps=W)
    assert a.shape == (300, 25)
    for j in range(25):
        nt = times_to_sources(grid, cands.take([j]), walk_speed_mps=W)
        t, _ = point_times(grid, demand, nt)
        expect = t <= cutoff_s
        got = a[:, j].toarray().ravel()
        np.testing.assert_array_equal(got, expect, err_msg=f"candidate {j}")
    if cutoff_s == 600.0:
        assert a.nnz > 100


def test_union_equals_one_multi_source_pass(grid):
    demand = random_points(grid, 400, 3)
    cands = random_points(grid, 40, 4)
    a = coverage_sets(grid, demand, cands, 300.0, walk_speed_mps=W)
    chosen = [0, 5, 7, 19, 33]
    nt = times_to_sources(grid, cands.take(chosen), walk_speed_mps=W)
    t, _ = point_times(grid, demand, nt)
    union = np.asarray(a[:, chosen].sum(axis=1)).ravel() > 0
    np.testing.assert_array_equal(union, t <= 300.0)


def test_rows_restrict_the_matrix(grid):
    demand = random_points(grid, 100, 5)
    cands = random_points(grid, 10, 6)
    full = coverage_sets(grid, demand, cands, 500.0, walk_speed_mps=W)
    rows = np.arange(0, 100, 3)
    part = coverage_sets(grid, demand, cands, 500.0, walk_speed_mps=W, rows=rows)
    mask = np.zeros(100, bool)
    mask[rows] = True
    np.testing.assert_array_equal(part.toarray(), full.toarray() & mask[:, None])


def test_bad_cutoff(grid):
    from geosvc.errors import InvalidParameter

    pts = random_points(grid, 3, 7)
    with pytest.raises(InvalidParameter, match="`cutoff_s`"):
        coverage_sets(grid, pts, pts, -1.0, walk_speed_mps=W)
