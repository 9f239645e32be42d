"""Snap points on the piece of network around them, as the whole network would.

A province's driver cannot afford the snapping index of its whole network
(about 680 MB per million nodes) nor the time to snap 10 M residents in one
process.  :func:`snap_local` snaps a group of nearby points (a part's
residents, on its worker) with an index of only the edges near them, and
gives exactly what :func:`geosvc.network.snap.snap_xy` gives on the full
network:

* **Which edges may be snapped to** depends on whole components
  (:func:`~geosvc.network.snap.snappable_edges`): that mask is computed
  once on the full network (:class:`SnapBasis`) and handed to the part.
* **Which edges are candidates.**  A segment of edge ``e`` within ``d`` of a
  point ``p`` has a point ``q`` with ``|pq| <= d``; ``q`` is on ``e``'s
  polyline, so ``|u_e q| <= len(e)`` (a straight line is never longer).
  Hence ``u_e`` lies within ``max_dist_m + L`` (``L``: the longest edge
  polyline) of ``p`` and of the points' bounding box: the edges leaving the
  nodes within that reach hold every segment the full search could pick
  (plus their twins, so the one-of-two-twins rule sees both).
* **Same floats.**  The full index measures each segment's position along
  its edge as a difference of ONE running sum over all polyline vertices
  (``cum``); the part uses the same ``cum`` values (from the basis), so the
  fraction along the edge is the same float, not merely close.  The
  nearest-segment search breaks ties by segment order, and the part keeps
  the segments in the full network's order.

``tests/test_province.py`` checks edge, fraction and distance against
:func:`~geosvc.network.snap.snap_xy` on the full network, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from geosvc.network.graph import RoadNetwork
from geosvc.network.snap import (
    EdgeIndex,
    Snapped,
    cum_lengths,
    default_min_component_nodes,
    edge_index_of,
    snap_xy,
    snappable_edges,
)

from geosvc.distributed.partition import _adjacency, _gather, nodes_near  # isort: skip

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["SnapBasis", "longest_edge_m", "snap_basis", "snap_basis_threshold",
           "snap_by_squares", "snap_local"]


@dataclass(frozen=True, eq=False)
class SnapBasis:
    """What the full network decides for snapping, computed once (O(E + vertices)).

    Attributes
    ----------
    threshold : int
        The component threshold (``min_component_nodes``; 0 and 1 -> 1).
    eligible : bool[E]
        :func:`~geosvc.network.snap.snappable_edges` of the full network.
    cum : float64[V]
        Running length over all polyline vertices (the full index's sums).
    longest_m : float
        The longest edge polyline, metres.
    """

    threshold: int
    eligible: NDArray[np.bool_]
    cum: NDArray[np.float64]
    longest_m: float

    def arrays(self) -> dict[str, NDArray]:
        """Return the arrays to store (:mod:`geosvc.distributed.shared`)."""
        return {"snap_eligible": self.eligible, "snap_cum": self.cum}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray], threshold: int,
                    longest_m: float) -> SnapBasis:
        """Rebuild from :meth:`arrays` (e.g. memory-mapped)."""
        return cls(threshold, arrays["snap_eligible"], arrays["snap_cum"], float(longest_m))


def snap_basis_threshold(min_component_nodes: int | None) -> int:
    """Return the threshold as :mod:`geosvc.network.snap` keys its caches (0, 1 -> 1).

    Examples
    --------
    >>> snap_basis_threshold(0), snap_basis_threshold(50)
    (1, 50)
    """
    if min_component_nodes is None:
        return default_min_component_nodes()
    return max(int(min_component_nodes), 1)


def snap_basis(net: RoadNetwork, min_component_nodes: int | None = None) -> SnapBasis:
    """Return the full network's :class:`SnapBasis` (components, running lengths)."""
    t = snap_basis_threshold(min_component_nodes)
    cum = cum_lengths(net)
    return SnapBasis(t, snappable_edges(net, t), cum, _longest(net, cum))


def _longest(net: RoadNetwork, cum: NDArray[np.float64]) -> float:
    off = net.geom_offsets
    return float((cum[off[1:] - 1] - cum[off[:-1]]).max()) if net.n_edges else 0.0


def longest_edge_m(net: RoadNetwork) -> float:
    """Return the longest edge polyline of ``net``, metres (0 without edges)."""
    return _longest(net, cum_lengths(net))


def _members(n: int, *groups: NDArray) -> NDArray[np.int64]:
    """Return the distinct values of ``groups`` (all in ``0..n-1``), ascending.

    A calloc'd mark: only the touched pages cost, and it beats np.unique's
    sort or hash on the hundreds of thousands of ids of a part.
    """
    mark = np.zeros(n, dtype=bool)
    for g in groups:
        mark[g] = True
    return np.flatnonzero(mark).astype(np.int64)


def _ranges(ptr: NDArray[np.int64], idx: NDArray[np.int64]) -> NDArray[np.int64]:
    """Return ``concat(arange(ptr[i], ptr[i + 1]) for i in idx)``, vectorised.

    Examples
    --------
    >>> _ranges(np.array([0, 2, 5, 6]), np.array([0, 2])).tolist()
    [0, 1, 5]
    """
    a = np.asarray(ptr[idx], dtype=np.int64)
    lens = np.asarray(ptr[idx + 1], dtype=np.int64) - a
    total = int(lens.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(a - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
    return np.arange(total, dtype=np.int64) + starts


def _snap_network(net: RoadNetwork, edges: NDArray[np.int64], basis: SnapBasis) -> RoadNetwork:
    """Return the sub-network of ``edges`` (ascending), its snapping index from ``basis``."""
    u, v = net.edge_u[edges], net.edge_v[edges]
    nodes = _members(net.n_nodes, u, v)
    off = net.geom_offsets
    verts = _ranges(off, edges)
    lens = off[edges + 1] - off[edges]
    sub_off = np.zeros(len(edges) + 1, dtype=np.int64)
    np.cumsum(lens, out=sub_off[1:])
    tw = np.asarray(net.edge_twin[edges], dtype=np.int64)
    pos = np.searchsorted(edges, np.maximum(tw, 0))
    has = (tw >= 0) & (pos < len(edges))
    has[has] = edges[pos[has]] == tw[has]
    twin = np.where(has, pos, -1).astype(np.int64)
    zn = np.zeros(len(nodes))
    sub = RoadNetwork(
        mode=net.mode, crs=net.crs, source_hash=f"{net.source_hash}:snap-part",
        node_id=np.asarray(net.node_id[nodes]), node_lon=zn, node_lat=zn,
        node_x=np.asarray(net.node_x[nodes]), node_y=np.asarray(net.node_y[nodes]),
        edge_u=np.searchsorted(nodes, u).astype(np.int32),
        edge_v=np.searchsorted(nodes, v).astype(np.int32),
        edge_length_m=np.asarray(net.edge_length_m[edges]),
        edge_time_s=np.asarray(net.edge_time_s[edges]), edge_twin=twin,
        geom_offsets=sub_off, geom_x=np.asarray(net.geom_x[verts]),
        geom_y=np.asarray(net.geom_y[verts]), edge_layer=np.asarray(net.edge_layer[edges]))
    eligible = np.asarray(basis.eligible[edges], dtype=bool)
    # the index as snap._build_edge_index builds it on the FULL network: same segments,
    # same order, positions along the edge from the full running sums
    sub.__dict__["_edge_index"] = {basis.threshold: _index(sub, verts, eligible, basis)}
    eligible.flags.writeable = False
    sub.__dict__["_snappable"] = {basis.threshold: eligible}
    return sub


def _index(sub: RoadNetwork, verts: NDArray[np.int64], eligible: NDArray[np.bool_],
           basis: SnapBasis) -> EdgeIndex:
    """Return the :class:`EdgeIndex` of ``sub`` (the full network's rules and lengths).

    The part's edges keep the full network's order, so "the lower-numbered
    twin" is the same edge in both.
    """
    return edge_index_of(sub, eligible, cum=basis.cum[verts])


def _unsnapped(px: NDArray[np.float64], py: NDArray[np.float64]) -> Snapped:
    """Points snapped nowhere (edge -1, distance inf)."""
    m = len(px)
    z = np.zeros(m)
    return Snapped(edge=np.full(m, -1, dtype=np.int64), frac=np.full(m, np.nan),
                   dist_m=np.full(m, np.inf), x=np.full(m, np.nan), y=np.full(m, np.nan),
                   px=px, py=py, lon=z, lat=z)


def snap_local(net: RoadNetwork, px: NDArray[np.float64], py: NDArray[np.float64], *,
               max_dist_m: float, basis: SnapBasis) -> Snapped:
    """Snap projected points as ``snap_xy(net, ...)`` would, indexing only the edges near them.

    Costs O(the edges within ``max_dist_m`` + the longest edge of the
    points' bounding box): pass points that lie close together (a part).
    ``lon`` / ``lat`` of the result are zeros (not computed).

    Parameters
    ----------
    net : RoadNetwork
        The full network (memory-mapped arrays are fine: only the rows near
        the points are read).
    px, py : float64[M]
        Projected metres in ``net.crs``.
    max_dist_m : float
        Search radius, metres (finite: it bounds the piece of network).
    basis : SnapBasis
        :func:`snap_basis` of ``net`` with the threshold wanted.
    """
    px = np.asarray(px, dtype=np.float64)
    py = np.asarray(py, dtype=np.float64)
    m = len(px)
    z = np.zeros(m)
    if not m or not net.n_edges:
        return _unsnapped(px, py)
    reach = (float(max_dist_m) + basis.longest_m) * (1 + 1e-9) + 1.0
    bbox = (float(px.min()), float(py.min()), float(px.max()), float(py.max()))
    adj = _adjacency(net)
    near = nodes_near(net, adj, bbox, reach)
    out = _gather(adj.out_edges, adj.out_ptr, near)
    out = out[basis.eligible[out]]
    tw = np.asarray(net.edge_twin[out], dtype=np.int64)
    edges = _members(net.n_edges, out, tw[tw >= 0])
    if not len(edges):
        return _unsnapped(px, py)
    sub = _snap_network(net, edges, basis)
    s = snap_xy(sub, px, py, lon=z, lat=z, max_dist_m=max_dist_m,
                min_component_nodes=basis.threshold)
    edge = np.where(s.edge >= 0, edges[np.maximum(s.edge, 0)], -1).astype(np.int64)
    return Snapped(edge=edge, frac=s.frac, dist_m=s.dist_m, x=s.x, y=s.y, px=px, py=py,
                   lon=z, lat=z)


def snap_by_squares(net: RoadNetwork, px: NDArray[np.float64], py: NDArray[np.float64], *,
                    max_dist_m: float, basis: SnapBasis, side_m: float = 20_000.0) -> Snapped:
    """Snap scattered points square by square with :func:`snap_local` (same answer).

    For the driver's venues: never builds the whole network's index; each
    square of ``side_m`` indexes only the edges near its points.
    """
    px = np.asarray(px, dtype=np.float64)
    py = np.asarray(py, dtype=np.float64)
    m = len(px)
    edge = np.full(m, -1, dtype=np.int64)
    frac, dist = np.full(m, np.nan), np.full(m, np.inf)
    sx, sy = np.full(m, np.nan), np.full(m, np.nan)
    if m:
        col = np.floor((px - px.min()) / side_m).astype(np.int64)
        row = np.floor((py - py.min()) / side_m).astype(np.int64)
        key = row * (int(col.max()) + 1) + col
        order = np.argsort(key, kind="stable")
        _, starts = np.unique(key[order], return_index=True)
        for a, b in zip(starts, [*starts[1:], m], strict=True):
            sel = order[a:b]
            s = snap_local(net, px[sel], py[sel], max_dist_m=max_dist_m, basis=basis)
            edge[sel], frac[sel], dist[sel] = s.edge, s.frac, s.dist_m
            sx[sel], sy[sel] = s.x, s.y
    z = np.zeros(m)
    return Snapped(edge=edge, frac=frac, dist_m=dist, x=sx, y=sy, px=px, py=py, lon=z, lat=z)
