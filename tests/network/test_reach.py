"""Planning's coverage sets on a real extract equal scipy's Dijkstra from virtual nodes."""

from __future__ import annotations

import numpy as np
import pytest

from geosvc.network.reach import coverage_sets
from geosvc.network.snap import snap_xy

W = 4.5 / 3.6


def _scipy_sets(net, demand, cands, cutoff_s):
    """The sets by scipy's Dijkstra from one virtual node per site (how they were made)."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import dijkstra

    from geosvc.network.paths import augmented_graph, entries, exits, same_line_times

    n, m = net.n_nodes, len(cands)
    pidx, pnode, psec = exits(net, demand, W)
    cidx, cnode, csec = entries(net, cands, W)
    graph = augmented_graph(net.csr_reverse, m, cidx, cnode, csec)
    dist = dijkstra(graph, directed=True, indices=n + np.arange(m), limit=cutoff_s * 1.01)
    r, c = np.nonzero((dist[:, pnode] + psec <= cutoff_s).T)
    pi, si, sec = same_line_times(net, demand, cands, W)
    r = np.concatenate([pidx[r], pi[sec <= cutoff_s]])
    c = np.concatenate([c, si[sec <= cutoff_s]])
    out = sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(demand), m))
    return out.toarray() > 0


@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_sets_equal_scipy_on_a_real_network(request, mode):
    """Real extract, walk and the turn-expanded drive network: the same pairs as scipy."""
    net = request.getfixturevalue(f"helsinki_{mode}")
    rng = np.random.default_rng(8)
    pick = rng.choice(net.n_nodes, 260, replace=False)
    jitter = rng.normal(0, 25, (2, 260))
    pts = snap_xy(net, net.node_x[pick] + jitter[0], net.node_y[pick] + jitter[1],
                  max_dist_m=200)
    demand, cands = pts.take(np.arange(200)), pts.take(np.arange(200, 260))
    for cutoff_s in (120.0, 420.0):
        got = coverage_sets(net, demand, cands, cutoff_s, walk_speed_mps=W).toarray()
        expect = _scipy_sets(net, demand, cands, cutoff_s)
        np.testing.assert_array_equal(got, expect)
        assert expect.sum() > 50
