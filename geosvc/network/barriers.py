"""Barrier times: a gate's seconds charged once per pass through it, never in part.

A mode's :attr:`~geosvc.modes.OsmRules.barrier_s` gives passing a barrier
node (a gate) a time (:func:`geosvc.network.tags.barrier_time_s`).  It is
not folded into the street edges next to the gate: a point snapped part-way
along such an edge would then pay a share of it whichever way it went (as
crossing times are shared, :func:`geosvc.network.tags.crossing_times_s`).
Instead the time goes on zero-length edges *at* the node, which nothing
snaps to and every pass counts like any edge:

* networks without turn costs (walk, bike): :func:`split_barriers` gives each
  street side of a timed node its own copy of the node (same OSM id and
  place, as the ports of a turn-expanded node) and joins every pair of
  copies by a zero-length edge of the barrier's seconds.  A route through
  the gate pays it once; one that starts or ends beside it, on either side,
  and does not go through, pays nothing.
* turn-expanded networks (drive): :func:`geosvc.network.turns.expand_turns`
  adds the seconds to every turn through the node (not to a U-turn in front
  of it), so the node's ports stay apart and the turn edges carry it.

A node where one street side ends (a gate at a dead end) is passed by no
route and keeps no time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from geosvc.network.graph import make_network

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from geosvc.network.graph import RoadNetwork

__all__ = ["split_barriers"]


def split_barriers(net: RoadNetwork, node_s: NDArray[np.float64]) -> RoadNetwork:
    """Return ``net`` with each timed node split per street side, sides joined by its time.

    ``net`` is unchanged.  Street edges keep their index, geometry, length,
    time, twin and layer; only the end at a timed node moves to that side's
    copy of the node.  The barrier edges (length 0, time ``node_s``, on the
    ground, each the twin of the one back) follow the street edges, so a
    network whose streets all run both ways stays symmetric.  A side is a two-way segment
    (an edge and its twin) or a one-way edge.

    Parameters
    ----------
    net : RoadNetwork
        A network without zero-length edges (not turn-expanded).
    node_s : array of float
        Seconds of passing each node of ``net`` (0: no barrier).

    Examples
    --------
    Three nodes in a row, a 30 s gate at the middle one:

    >>> from geosvc.network.synthetic import grid_network
    >>> net = grid_network(3, 1)
    >>> gated = split_barriers(net, np.array([0.0, 30.0, 0.0]))
    >>> gated.n_nodes, gated.n_edges, gated.node_id.tolist()
    (4, 6, [0, 1, 2, 1])
    >>> gated.edge_time_s[gated.edge_is_turn].tolist(), gated.edge_twin[4:].tolist()
    ([30.0, 30.0], [5, 4])
    """
    node_s = np.asarray(node_s, dtype=np.float64)
    u = net.edge_u.astype(np.int64)
    v = net.edge_v.astype(np.int64)
    n, e = net.n_nodes, net.n_edges
    twin = net.edge_twin
    # each edge end at a timed node, grouped by side: (node, side key)
    ends_in = np.flatnonzero(node_s[v] > 0)  # edges entering a timed node
    ends_out = np.flatnonzero(node_s[u] > 0)  # edges leaving one
    # a side is named by its entering edge, else (one-way out) by the leaving edge + e
    tw_out = twin[ends_out]
    side_out = np.where(tw_out >= 0, tw_out, ends_out + e)
    side_in = ends_in
    node_of = np.concatenate([v[ends_in], u[ends_out]])
    side = np.concatenate([side_in, side_out])
    pairs = np.unique(np.column_stack([node_of, side]), axis=0)
    if len(pairs) == 0:
        return net
    counts = np.bincount(pairs[:, 0], minlength=n)
    passed = counts >= 2
    pairs = pairs[passed[pairs[:, 0]]]
    if len(pairs) == 0:
        return net
    # the first side of each node keeps the node; the others get new positions
    first = np.ones(len(pairs), dtype=bool)
    first[1:] = pairs[1:, 0] != pairs[:-1, 0]
    copy_pos = np.where(first, pairs[:, 0], 0)
    extra = np.flatnonzero(~first)
    copy_pos[extra] = n + np.arange(len(extra))
    orig = np.concatenate([np.arange(n), pairs[extra, 0]])
    key = pairs[:, 0] * (2 * e + 1) + pairs[:, 1]  # sorted ascending (np.unique)
    new_u, new_v = u.copy(), v.copy()
    hit_in = ends_in[passed[v[ends_in]]]
    new_v[hit_in] = copy_pos[np.searchsorted(key, v[hit_in] * (2 * e + 1) + hit_in)]
    hit_out = ends_out[passed[u[ends_out]]]
    tw = twin[hit_out]
    s_out = np.where(tw >= 0, tw, hit_out + e)
    new_u[hit_out] = copy_pos[np.searchsorted(key, u[hit_out] * (2 * e + 1) + s_out)]
    # barrier edges: every ordered pair of copies of a node
    starts = np.flatnonzero(first)
    stops = np.append(starts[1:], len(pairs))
    ba: list[NDArray[np.int64]] = []
    bb: list[NDArray[np.int64]] = []
    for lo, hi in zip(starts.tolist(), stops.tolist(), strict=True):
        c = copy_pos[lo:hi]
        a, b = np.meshgrid(c, c, indexing="ij")
        off = a != b
        ba.append(a[off])
        bb.append(b[off])
    bu, bv = np.concatenate(ba), np.concatenate(bb)
    k = len(bu)
    # each barrier edge's twin: the one back between the same two copies
    m = np.int64(n + len(extra))
    bkey = bu * m + bv
    border = np.argsort(bkey)
    btwin = e + border[np.searchsorted(bkey[border], bv * m + bu)]
    g_orig = orig[bu]
    x, y = net.node_x[orig], net.node_y[orig]
    gx = np.repeat(net.node_x[g_orig], 2)
    gy = np.repeat(net.node_y[g_orig], 2)
    last = net.geom_offsets[-1]
    return make_network(
        mode=net.mode, crs=net.crs, source_hash=net.source_hash,
        node_id=net.node_id[orig], node_lon=net.node_lon[orig], node_lat=net.node_lat[orig],
        node_x=x, node_y=y,
        edge_u=np.concatenate([new_u, bu]), edge_v=np.concatenate([new_v, bv]),
        edge_length_m=np.concatenate([net.edge_length_m, np.zeros(k)]),
        edge_time_s=np.concatenate([net.edge_time_s, node_s[g_orig]]),
        geom_offsets=np.concatenate([net.geom_offsets, last + 2 * np.arange(1, k + 1)]),
        geom_x=np.concatenate([net.geom_x, gx]), geom_y=np.concatenate([net.geom_y, gy]),
        edge_twin=np.concatenate([twin, btwin]),
        edge_layer=np.concatenate([net.edge_layer, np.zeros(k, dtype=np.int8)]),
        meta=dict(net.meta),
    )
