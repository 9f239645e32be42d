"""The segment grid behind snapping (issue 13, item 2: lean networks).

Exact nearest segments against a brute force over every segment: random
short and very long segments (the sampled registration), points inside and
far outside the grid, search limits, masks, ties (lowest id), and an empty
grid; then the memory of a real network's index against its CSR.
"""

from __future__ import annotations

import numpy as np
import pytest

from geosvc.network._segindex import build_grid, nearest_segments
from geosvc.network.snap import edge_index, snap_xy


def _brute(ax, ay, bx, by, px, py, eligible=None):
    dx, dy = bx - ax, by - ay
    l2 = dx * dx + dy * dy
    t = np.clip(np.where(l2 > 0, ((px[:, None] - ax) * dx + (py[:, None] - ay) * dy)
                         / np.where(l2 > 0, l2, 1), 0), 0, 1)
    d = np.hypot(px[:, None] - (ax + t * dx), py[:, None] - (ay + t * dy))
    if eligible is not None:
        d = np.where(eligible, d, np.inf)
    return d


def _segments(rng, n, *, long_share=0.1, extent=5000.0):
    ax = rng.uniform(0, extent, n)
    ay = rng.uniform(0, extent, n)
    ang = rng.uniform(0, 2 * np.pi, n)
    length = np.where(rng.random(n) < long_share, rng.uniform(500, 4000, n),
                      rng.uniform(0, 60, n))
    length[:3] = 0.0  # degenerate segments (points)
    return ax, ay, ax + length * np.cos(ang), ay + length * np.sin(ang)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_nearest_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ax, ay, bx, by = _segments(rng, 3000)
    grid = build_grid(ax, ay, bx, by)
    px = rng.uniform(-2000, 7000, 800)  # inside and well outside the grid
    py = rng.uniform(-2000, 7000, 800)
    d_all = _brute(ax, ay, bx, by, px, py)
    for limit in (None, 50.0, 400.0):
        seg, d, _ = nearest_segments(grid, px, py, max_dist=limit)
        best = d_all.min(axis=1)
        hit = best <= (np.inf if limit is None else limit)
        assert ((seg >= 0) == hit).all()
        np.testing.assert_allclose(d[hit], best[hit], rtol=0, atol=1e-9)
        # ties go to the lowest id: the first segment at the minimum distance
        assert (seg[hit] == np.argmin(d_all[hit], axis=1)).all()
        assert np.isinf(d[~hit]).all()


def test_large_batches_queried_by_cell_give_the_same_floats() -> None:
    """A batch of >= 4,096 points is queried in grid-cell order: the same answer per point."""
    from geosvc.network._segindex import _SORT_MIN_POINTS

    rng = np.random.default_rng(11)
    ax, ay, bx, by = _segments(rng, 4000)
    grid = build_grid(ax, ay, bx, by)
    m = 3 * _SORT_MIN_POINTS
    px = rng.uniform(-2000, 7000, m)  # inside and well outside the grid
    py = rng.uniform(-2000, 7000, m)
    eligible = rng.random(len(ax)) < 0.8
    for limit, mask in ((None, None), (300.0, eligible)):
        whole = nearest_segments(grid, px, py, max_dist=limit, eligible=mask)
        step = _SORT_MIN_POINTS // 2  # below the threshold: queried as given
        pieces = [nearest_segments(grid, px[i:i + step], py[i:i + step], max_dist=limit,
                                   eligible=mask) for i in range(0, m, step)]
        joined = [np.concatenate([piece[k] for piece in pieces]) for k in range(3)]
        for got, want in zip(whole, joined, strict=True):
            assert np.array_equal(got, want)
        assert 0 < (whole[0] >= 0).sum() < m or limit is None


def test_mask_and_position_along() -> None:
    rng = np.random.default_rng(7)
    ax, ay, bx, by = _segments(rng, 2000)
    grid = build_grid(ax, ay, bx, by)
    eligible = rng.random(2000) < 0.3
    px, py = rng.uniform(0, 5000, 500), rng.uniform(0, 5000, 500)
    seg, d, t = nearest_segments(grid, px, py, eligible=eligible)
    d_all = _brute(ax, ay, bx, by, px, py, eligible)
    assert eligible[seg].all()
    np.testing.assert_allclose(d, d_all.min(axis=1), atol=1e-9)
    x = ax[seg] + t * (bx[seg] - ax[seg])
    y = ay[seg] + t * (by[seg] - ay[seg])
    np.testing.assert_allclose(np.hypot(px - x, py - y), d, atol=1e-9)
    assert ((t >= 0) & (t <= 1)).all()


def test_ties_at_a_shared_vertex_go_to_the_lowest_id() -> None:
    # four segments meeting at (0, 0); the query point is nearest to the shared end
    ax = np.array([10.0, -10.0, 0.0, 0.0])
    ay = np.array([0.0, 0.0, 10.0, -10.0])
    grid = build_grid(ax, ay, np.zeros(4), np.zeros(4), cell=3.0)
    seg, d, _ = nearest_segments(grid, np.array([-3.0]), np.array([-3.0]))
    assert d[0] == pytest.approx(3.0)  # (-3, 0) on segment 1 and (0, -3) on segment 3
    assert seg[0] == 1


def test_empty_grid_and_no_points() -> None:
    empty = np.zeros(0)
    grid = build_grid(empty, empty, empty, empty)
    seg, d, _ = nearest_segments(grid, np.array([1.0]), np.array([2.0]))
    assert seg.tolist() == [-1] and np.isinf(d).all()
    grid = build_grid(np.array([0.0]), np.array([0.0]), np.array([1.0]), np.array([0.0]))
    assert len(nearest_segments(grid, empty, empty)[0]) == 0


def test_the_index_of_a_real_network_is_lean_and_exact(helsinki_walk) -> None:
    net = helsinki_walk
    idx = edge_index(net)
    csr = sum(a.nbytes for c in (net.csr, net.csr_reverse)
              for a in (c.data, c.indices, c.indptr))
    assert idx.nbytes <= 2 * csr  # issue 13: the snapping index at most 2x the CSR
    rng = np.random.default_rng(3)
    px = rng.uniform(net.node_x.min(), net.node_x.max(), 300)
    py = rng.uniform(net.node_y.min(), net.node_y.max(), 300)
    snapped = snap_xy(net, px, py, max_dist_m=1000.0)
    g = idx.grid
    ground = _brute(g.ax, g.ay, g.bx, g.by, px, py, idx.seg_ground).min(axis=1)
    every = _brute(g.ax, g.ay, g.bx, g.by, px, py).min(axis=1)
    want = np.where(ground <= 1000.0, ground, every)  # ground first, then any edge
    ok = want <= 1000.0
    np.testing.assert_allclose(snapped.dist_m[ok], want[ok], atol=1e-6)
    assert np.isinf(snapped.dist_m[~ok]).all()
