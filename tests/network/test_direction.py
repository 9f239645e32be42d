"""Direction-aware snapping: points snap only to edges inside a travel core (issue 9).

The trap: a 5 x 3 drive grid (100 m) whose top row (nodes 10..14) runs east
only and whose two east side streets up to it (8-13, 9-14) are missing.
Nodes 13 and 14 can be reached (from 12) but never left: each is its own
strongly connected component, although the weak component is the whole grid.

    10 -> 11 -> 12 -> 13 -> 14      (one-way east; 13, 14: the trap)
    |     |     |
    5 --- 6 --- 7 --- 8 --- 9
    |     |     |     |     |
    0 --- 1 --- 2 --- 3 --- 4
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order

from geosvc.config import Settings
from geosvc.network.nearest import TravelEngine
from geosvc.network.snap import edge_index, snap_xy, snappable_edges
from geosvc.network.synthetic import grid_network, synthetic_city

TRAP_NODES = (13, 14)


def trap_network(mode: str = "drive"):
    """The grid of the module docstring (one-way top row, missing 8-13 and 9-14)."""
    return grid_network(5, 3, one_way_rows=[2], missing_edges=[(8, 13), (9, 14)], mode=mode)


def trap_point(net) -> tuple[float, float]:
    """30 m north of the middle of the trap edge 13 -> 14 (130 m from street 8-9)."""
    x = (net.node_x[13] + net.node_x[14]) / 2
    return float(x), float(net.node_y[13] + 30.0)


def old_weak_rule(net, threshold: int) -> np.ndarray:
    """The rule before issue 9: the weak component has at least ``threshold`` nodes."""
    sizes = net.component_sizes
    big = sizes >= threshold
    if not big.any():
        big = sizes == sizes.max()
    return big[net.component_labels[net.edge_u]]


def test_trap_components():
    net = trap_network()
    assert net.components() == 1  # one weak component: the old rule saw no problem
    assert sorted(net.strong_sizes.tolist()) == [1, 1, 13]
    core = net.main_strong[net.strong_labels]
    assert np.flatnonzero(~core).tolist() == list(TRAP_NODES)
    assert net.main_strong.sum() == 1  # one core per weak component


def test_trap_edges_are_not_snappable():
    net = trap_network()
    ok = snappable_edges(net, 2)
    bad = sorted(zip(net.edge_u[~ok].tolist(), net.edge_v[~ok].tolist(), strict=True))
    assert bad == [(12, 13), (13, 14)]
    assert old_weak_rule(net, 2).all()  # the old rule indexed them
    assert snappable_edges(net, 1).all() and snappable_edges(net, 0).all()  # rule off
    assert snappable_edges(net, 2) is ok  # cached per threshold, read-only
    assert not ok.flags.writeable


def test_point_beside_the_trap_snaps_to_the_next_eligible_edge():
    net = trap_network()
    x, y = trap_point(net)
    old = snap_xy(net, np.array([x]), np.array([y]), min_component_nodes=1)
    assert (int(net.edge_u[old.edge[0]]), int(net.edge_v[old.edge[0]])) == (13, 14)
    assert old.dist_m[0] == pytest.approx(30.0)
    new = snap_xy(net, np.array([x]), np.array([y]), min_component_nodes=2)
    e = int(new.edge[0])
    assert {int(net.edge_u[e]), int(net.edge_v[e])} == {8, 9}
    assert new.dist_m[0] == pytest.approx(130.0)


def test_one_way_trap_used_to_return_nothing_and_now_returns_the_venue():
    net = trap_network()
    venue_lon, venue_lat = net.node_lon[[0]], net.node_lat[[0]]
    x, y = trap_point(net)
    lon, lat = net.transformer_inverse.transform(x, y)
    # every edge snappable (as the weak rule did here): the point is trapped on 13 -> 14
    trapped = TravelEngine(net, venue_lon, venue_lat, settings=Settings(min_component_nodes=1))
    assert trapped.nearest(lon, lat, candidates=None, k=1) == []
    engine = TravelEngine(net, venue_lon, venue_lat, settings=Settings())
    hits = engine.nearest(lon, lat, candidates=None, k=1)
    assert [h.pos for h in hits] == [0]
    # access 130 m on foot, then 300 m east-west + 100 m south... at most 5 edges of 100 m
    assert 0 < hits[0].distance_m <= 130 + 500 + 1e-6


def test_venue_on_the_trap_moves_to_the_core():
    net = trap_network()
    x, y = trap_point(net)
    lon, lat = net.transformer_inverse.transform(x, y)
    engine = TravelEngine(net, [lon], [lat], settings=Settings())
    e = int(engine.venues.edge[0])
    assert {int(net.edge_u[e]), int(net.edge_v[e])} == {8, 9}
    # reached from anywhere in the core, e.g. from node 0
    hits = engine.nearest(net.node_lon[0], net.node_lat[0], candidates=None, k=1)
    assert [h.pos for h in hits] == [0]


@pytest.mark.parametrize("threshold", [2, 5, 50])
def test_walk_networks_keep_the_weak_rule(threshold):
    # walk: every street both ways, so strong = weak components and nothing changes
    for net in (synthetic_city(900, mode="walk"), grid_network(6, 6, disconnected=True)):
        assert (net.edge_twin >= 0).all()  # symmetric
        assert len(net.strong_sizes) == net.components()
        np.testing.assert_array_equal(snappable_edges(net, threshold),
                                      old_weak_rule(net, threshold))


def test_helsinki_walk_keeps_the_weak_rule(helsinki_walk, settings):
    t = settings.min_component_nodes
    # the street edges; the zero-length barrier edges of its timed gates (rule 10) are
    # never snapped to, as the turn edges of a turn-expanded network
    street = ~helsinki_walk.edge_is_turn
    assert street.sum() < helsinki_walk.n_edges  # the demo has timed gates
    ok = snappable_edges(helsinki_walk, t)
    np.testing.assert_array_equal(ok[street], old_weak_rule(helsinki_walk, t)[street])
    assert not ok[~street].any()


def _reach(csr: sp.csr_matrix, start: int) -> np.ndarray:
    seen = np.zeros(csr.shape[0], dtype=bool)
    seen[breadth_first_order(csr, start, directed=True, return_predecessors=False)] = True
    return seen


@pytest.mark.parametrize("mode", ["drive", "bike", "walk"])
def test_rule_per_mode_every_snappable_end_reaches_and_is_reached(mode):
    net = synthetic_city(2500, mode=mode, seed=3)
    ok = snappable_edges(net, 50)
    ends = np.unique(np.concatenate([net.edge_u[ok], net.edge_v[ok]]))
    start = int(ends[0])
    forward, backward = _reach(net.csr, start), _reach(net.csr.T.tocsr(), start)
    main = forward & backward  # the SCC of `start`
    assert main[ends].all()
    weak = old_weak_rule(net, 50)
    if mode == "drive":  # one-way rows: a subset of the weak rule's edges
        assert (weak | ~ok).all()
    else:  # every street both ways: the weak rule exactly
        np.testing.assert_array_equal(ok, weak)


def test_helsinki_drive_random_points_always_get_an_answer(helsinki_drive, settings):
    net = helsinki_drive
    rng = np.random.default_rng(9)
    # random points on the network: the middle of random edges, nudged 5 m east
    edges = rng.choice(net.n_edges, 300, replace=False)
    mid = net.geom_offsets[edges]
    x, y = net.geom_x[mid] + 5.0, net.geom_y[mid]
    lon, lat = net.transformer_inverse.transform(x, y)
    # venues: 40 random core nodes (every venue is where a trip can end and start)
    core = np.flatnonzero(net.main_strong[net.strong_labels]
                          & (net.strong_sizes[net.strong_labels] >= 50))
    vn = rng.choice(core, 40, replace=False)
    # and one in every core (the island's too: its points can reach no other venue)
    labels = net.strong_labels
    vn = np.concatenate([vn, [core[labels[core] == c][0]
                              for c in np.unique(labels[core]) if c not in labels[vn]]])
    engine = TravelEngine(net, net.node_lon[vn], net.node_lat[vn], settings=settings)
    loose = TravelEngine(net, net.node_lon[vn], net.node_lat[vn],
                         settings=settings.with_(min_component_nodes=1))
    empty_new = sum(not engine.nearest(a, b, candidates=None, k=1)
                    for a, b in zip(lon, lat, strict=True))
    empty_old = sum(not loose.nearest(a, b, candidates=None, k=1)
                    for a, b in zip(lon, lat, strict=True))
    assert empty_new == 0
    assert empty_old > 0  # one-way traps of the real extract (the issue saw 23 %)


def test_edge_index_holds_only_snappable_edges():
    net = trap_network()
    idx = edge_index(net, 2)
    assert set(idx.seg_edge.tolist()) <= set(np.flatnonzero(snappable_edges(net, 2)).tolist())
