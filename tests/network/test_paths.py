"""Hand-checkable travel times on grids: 100 m at 4.5 km/h = 80 s per edge."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from geosvc.errors import InvalidParameter
from geosvc.network.paths import (
    entries,
    point_times,
    same_line_times,
    times_from_point,
    times_to_sources,
)
from geosvc.network.snap import snap_xy
from geosvc.network.synthetic import grid_network, synthetic_city

from .conftest import reference_times

EDGE_S = 80.0


def at(net, i, j, dx=0.0, dy=0.0):
    """Snap the point dx, dy metres from grid node (column i, row j)."""
    x = net.node_x[0] + i * 100.0 + dx
    y = net.node_y[0] + j * 100.0 + dy
    return snap_xy(net, np.array([x]), np.array([y]))


def test_grid_times_from_a_node_source(grid5):
    nt = times_to_sources(grid5, at(grid5, 0, 0))
    expected = EDGE_S * (np.arange(5)[None, :] + np.arange(5)[:, None])
    np.testing.assert_allclose(nt.time_s.reshape(5, 5), expected, atol=1e-6)
    assert (nt.source == 0).all()


def test_source_mid_edge_with_access_leg(grid5):
    # 50 m east of node 0, 10 m south of the street: half an edge + 8 s access leg
    src = at(grid5, 0, 0, dx=50, dy=-10)
    assert src.frac[0] == pytest.approx(0.5) and src.dist_m[0] == pytest.approx(10)
    nt = times_to_sources(grid5, src)
    assert nt.time_s[0] == pytest.approx(40 + 8)
    assert nt.time_s[1] == pytest.approx(40 + 8)
    assert nt.time_s[24] == pytest.approx(40 + 8 + 80 * 7)


def test_point_times_include_both_partial_edges(grid5):
    nt = times_to_sources(grid5, at(grid5, 4, 4))
    pts = snap_xy(grid5, grid5.node_x[0] + np.array([30.0, 0.0]),
                  grid5.node_y[0] + np.array([0.0, 250.0]))
    t, s = point_times(grid5, pts, nt)
    # 70 m on to node 1 then 3 east + 4 north edges; 50 m up to row 3 then 4 east + 1 north
    np.testing.assert_allclose(
        t, [0.7 * EDGE_S + 7 * EDGE_S, 0.5 * EDGE_S + 5 * EDGE_S], atol=1e-6
    )
    np.testing.assert_array_equal(s, [0, 0])


def test_same_edge_point_and_source(grid5):
    src = at(grid5, 2, 2, dx=80)
    nt = times_to_sources(grid5, src)
    pt = at(grid5, 2, 2, dx=20, dy=5)
    t, _ = point_times(grid5, pt, nt)
    assert t[0] == pytest.approx(0.6 * EDGE_S + 5 / (4.5 / 3.6))


def test_one_way_row_trip_to_differs_from_trip_from():
    net = grid_network(5, 2, one_way_rows=[0])  # row 0 runs east only
    src = snap_xy(net, np.array([net.node_x[0]]), np.array([net.node_y[0]]))  # node 0 (west)
    to_src = times_to_sources(net, src).time_s
    from_src = times_from_point(net, src)
    # node 4 -> node 0: cannot go west on row 0: up, 4 west on row 1, down = 6 edges
    assert to_src[4] == pytest.approx(6 * EDGE_S)
    # node 0 -> node 4: straight east along the one-way row
    assert from_src[4] == pytest.approx(4 * EDGE_S)


def test_same_edge_against_one_way_goes_around():
    net = grid_network(5, 2, one_way_rows=[0])
    src = snap_xy(net, net.node_x[:1] + 20.0, net.node_y[:1])  # 20 m east of node 0, row 0
    nt = times_to_sources(net, src)
    pt = snap_xy(net, net.node_x[:1] + 60.0, net.node_y[:1])  # 60 m east: source is behind
    t, _ = point_times(net, pt, nt)
    # on to node 1 (40 m), up, west, down, then 20 m along the edge = 0.5+3+0.2 edges
    assert t[0] == pytest.approx((0.4 + 3 + 0.2) * EDGE_S)


def test_disconnected_part_is_unreachable():
    net = grid_network(3, 3, disconnected=True)
    assert net.components() == 2
    nt = times_to_sources(net, snap_xy(net, net.node_x[:1], net.node_y[:1]))
    assert np.isinf(nt.time_s[9:]).all() and (nt.source[9:] == -1).all()
    assert np.isfinite(nt.time_s[:9]).all()


def test_cutoff_and_nearest_of_two_sources(grid5):
    srcs = snap_xy(grid5, grid5.node_x[[0, 24]], grid5.node_y[[0, 24]])
    nt = times_to_sources(grid5, srcs, cutoff_s=2 * EDGE_S, source_ids=np.array([10, 20]))
    assert nt.time_s[2] == pytest.approx(160) and nt.source_id()[2] == 10
    assert nt.time_s[22] == pytest.approx(160) and nt.source_id()[22] == 20
    assert np.isinf(nt.time_s[12]) and nt.source_id()[12] == -1


def test_times_from_point_rejects_bad_input(grid5):
    pts = snap_xy(grid5, grid5.node_x[:2], grid5.node_y[:2])
    with pytest.raises(InvalidParameter, match="`point`"):
        times_from_point(grid5, pts)
    with pytest.raises(InvalidParameter, match="`cutoff_s`"):
        times_from_point(grid5, pts.take([0]), cutoff_s=-1)


@pytest.mark.parametrize("cutoff_s", [None, 0.0, 300.0, 1500.0])
def test_times_from_point_equal_scipy_from_a_virtual_start(cutoff_s):
    """The seeded kernel gives scipy's answer on the graph with a start node appended."""
    net = synthetic_city(3_000, seed=3)  # drive: one-way rows, missing streets, islands
    rng = np.random.default_rng(7)
    i = rng.integers(0, net.n_nodes, 25)
    pts = snap_xy(net, net.node_x[i] + rng.uniform(-40, 40, 25),
                  net.node_y[i] + rng.uniform(-40, 40, 25))
    n = net.n_nodes
    reached_some = False
    for k in range(len(pts)):
        q = pts.take([k])
        t, pred = times_from_point(net, q, cutoff_s=cutoff_s, return_predecessors=True)
        e, f, acc = int(q.edge[0]), float(q.frac[0]), float(q.dist_m[0]) / (4.5 / 3.6)
        rows, cols, vals = [n], [int(net.edge_v[e])], [(1 - f) * net.edge_time_s[e] + acc]
        tw = int(net.edge_twin[e])
        if tw >= 0:
            rows.append(n)
            cols.append(int(net.edge_u[e]))
            vals.append(f * net.edge_time_s[tw] + acc)
        base = net.csr.tocoo()
        ij = (np.concatenate([base.row, rows]), np.concatenate([base.col, cols]))
        g = sp.csr_matrix((np.concatenate([base.data, vals]), ij), shape=(n + 1, n + 1))
        limit = np.inf if cutoff_s is None else cutoff_s
        ref = dijkstra(g, indices=n, limit=limit)[:n]
        np.testing.assert_allclose(t, ref, rtol=1e-12, atol=1e-9)
        assert (t[np.isfinite(t)] <= limit).all()
        reached_some |= bool(np.isfinite(t).sum() > 1)
        # predecessors are consistent: t[v] = t[p] + the edge p -> v
        has = np.flatnonzero(pred >= 0)
        eid = net.edge_between(pred[has].astype(np.int64), has.astype(np.int64))
        assert (eid >= 0).all()
        assert (t[has] >= t[pred[has]]).all()
        starts = np.flatnonzero(np.isfinite(t) & (pred < 0))
        assert set(starts.tolist()) <= set(cols)
    assert reached_some or cutoff_s == 0.0


def test_times_from_point_matches_networkx_on_helsinki(helsinki_walk):
    """Random Helsinki points: node times from the point = an independent networkx search."""
    net = helsinki_walk
    rng = np.random.default_rng(11)
    i = rng.integers(0, net.n_nodes, 6)
    pts = snap_xy(net, net.node_x[i] + 15.0, net.node_y[i] - 10.0)
    targets = snap_xy(net, net.node_x[i[::-1]], net.node_y[i[::-1]])
    for k in range(len(pts)):
        q = pts.take([k])
        node_t = times_from_point(net, q, cutoff_s=900.0)
        ref = reference_times(net, q, targets)
        vi, vnode, vsec = entries(net, targets, 4.5 / 3.6)
        got = np.full(len(targets), np.inf)
        np.minimum.at(got, vi, node_t[vnode] + vsec)
        _, si, sec = same_line_times(net, q, targets, 4.5 / 3.6)
        np.minimum.at(got, si, sec)
        ref = np.where(ref <= 900.0, ref, np.inf)
        # beyond the cutoff a target can still be found through a node within it
        ok = np.isfinite(ref)
        np.testing.assert_allclose(got[ok], ref[ok], rtol=1e-9, atol=1e-6)
        assert (got[~ok] > 900.0 - 1e-6).all()
