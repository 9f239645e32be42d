"""Shortest-path passes over a :class:`RoadNetwork` with partial-edge offsets.

Multi-source passes (:func:`times_to_sources`) run the compiled exact
bucket-queue kernel :func:`geosvc.network._dijkstra.passes` on the cached
reverse CSR, seeded at the nodes that lead into each source (partial edge
plus access leg as the seed's start time, the source's index as its
identity), so one run gives every node its time to, and the identity of,
the nearest source; single-source searches (:func:`times_from_point`) the
compiled bounded kernel of the same module, seeded with the point's exits.
:func:`augmented_graph` builds the equivalent graph with one VIRTUAL node
per source for scipy's Dijkstra (the reference in tests and benchmarks).

Trip model (all times in seconds):

* a point at fraction ``f`` of edge ``e = (u -> v)`` leaves towards ``v`` in
  ``(1 - f) * t_e``, and towards ``u`` in ``f * t_twin`` only if the street is
  two-way (``edge_twin[e] >= 0``);
* a source at fraction ``g`` of edge ``e_s = (u_s -> v_s)`` is reached from
  ``u_s`` in ``g * t_es`` and from ``v_s`` in ``(1 - g) * t_twin`` (two-way only);
* point and source on the same line: ``(g - f) * t`` when the source lies
  ahead in an allowed direction;
* both ends add an access leg at walking speed: ``dist_m / walk_speed_mps``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, overload

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from geosvc.errors import InvalidParameter, NoRoute

if TYPE_CHECKING:
    from geosvc.network.graph import RoadNetwork
    from geosvc.network.snap import Snapped

__all__ = [
    "DEFAULT_WALK_SPEED_MPS",
    "NodeTimes",
    "Route",
    "augmented_graph",
    "entries",
    "exits",
    "point_times",
    "route",
    "same_line_times",
    "times_from_point",
    "times_to_sources",
]

#: Access-leg speed when none is given: 4.5 km/h (``Settings.walk_speed_kph`` default), m/s.
DEFAULT_WALK_SPEED_MPS = 4.5 / 3.6


@dataclass(frozen=True, eq=False)
class NodeTimes:
    """Result of a multi-source pass TO the nearest source.

    Attributes
    ----------
    time_s : float64[N]
        Travel time from each node to its nearest source, seconds (inf = unreachable),
        including the partial edge onto the source's position and its access leg.
    source : int64[N]
        Index into the pass's sources of that nearest source, -1 where unreachable.
    next_node : int32[N]
        Next node on the way to the source; -1 at the last real node (the
        trip then continues along the source's edge) and where unreachable.
    sources : Snapped
        The snapped sources of the pass (unsnapped ones are never reached).
    source_ids : int64[M]
        Caller's identity of each source (``arange(M)`` by default;
        :meth:`TravelEngine.pass_for` stores venue positions).
    walk_speed_mps : float
        Speed of the access legs, m/s.
    cutoff_s : float
        The pass's cutoff, seconds (inf = uncut): nodes farther from every
        source have ``time_s`` inf, ``source`` and ``next_node`` -1; times
        within it are exactly those of an uncut pass.
    """

    time_s: NDArray[np.float64]
    source: NDArray[np.int64]
    next_node: NDArray[np.int32]
    sources: Snapped
    source_ids: NDArray[np.int64]
    walk_speed_mps: float = field(default=DEFAULT_WALK_SPEED_MPS)
    cutoff_s: float = np.inf

    def source_id(self) -> NDArray[np.int64]:
        """Per node, the caller's id of its nearest source (-1 = none)."""
        out = np.full(self.source.shape, -1, dtype=np.int64)
        ok = self.source >= 0
        out[ok] = self.source_ids[self.source[ok]]
        return out


def _check_speed(walk_speed_mps: float) -> float:
    if not (np.isfinite(walk_speed_mps) and walk_speed_mps > 0):
        msg = f"must be a positive number of m/s, not {walk_speed_mps!r}"
        raise InvalidParameter("walk_speed_mps", msg)
    return float(walk_speed_mps)


def _check_cutoff(cutoff_s: float | None) -> float:
    if cutoff_s is None:
        return np.inf
    if not cutoff_s >= 0:
        msg = f"must be >= 0 seconds, not {cutoff_s!r}"
        raise InvalidParameter("cutoff_s", msg)
    return float(cutoff_s)


def entries(
    net: RoadNetwork, pts: Snapped, walk_speed_mps: float
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Ways INTO snapped positions: ``(point_index, node, seconds from node to point)``.

    From ``u`` along the edge, and from ``v`` along the twin when two-way;
    the seconds include the point's access leg.
    """
    return _ways(net, pts, walk_speed_mps, into=True)


def exits(
    net: RoadNetwork, pts: Snapped, walk_speed_mps: float
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Ways OUT of snapped positions: ``(point_index, node, seconds from point to node)``.

    To ``v`` along the edge, and to ``u`` along the twin when two-way; the
    seconds include the point's access leg.
    """
    return _ways(net, pts, walk_speed_mps, into=False)


def _ways(
    net: RoadNetwork, pts: Snapped, walk_speed_mps: float, *, into: bool
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """:func:`entries` (``into``) or :func:`exits`: the edge's part before / after the point."""
    ok = np.flatnonzero(pts.edge >= 0)
    e = pts.edge[ok]
    f = pts.frac[ok]
    acc = pts.dist_m[ok] / walk_speed_mps
    t = net.edge_time_s
    tw = net.edge_twin[e]
    two = tw >= 0
    idx = np.concatenate([ok, ok[two]])
    # along the edge u -> point -> v; along the twin v -> point -> u (the twin's own
    # end nodes: in a turn-expanded network they are other ports of u and v)
    near = net.edge_u if into else net.edge_v
    # share of the edge, then of its twin, between the node and the point
    along, back = (f, 1 - f) if into else (1 - f, f)
    node = np.concatenate([near[e], near[tw[two]]]).astype(np.int64)
    sec = np.concatenate([along * t[e] + acc, back[two] * t[tw[two]] + acc[two]])
    return idx, node, sec


def augmented_graph(
    base: sp.csr_matrix, n_virtual: int, vidx: NDArray[np.int64], node: NDArray[np.int64],
    sec: NDArray[np.float64],
) -> sp.csr_matrix:
    """Return ``base`` with ``n_virtual`` nodes appended; virtual i -> node costs ``sec``.

    ``vidx``, ``node`` and ``sec`` list the virtual nodes' out-edges (virtual
    index 0..n_virtual-1, real target node, seconds).  Used with
    :attr:`RoadNetwork.csr_reverse` for passes TO sources and with
    :attr:`RoadNetwork.csr` for passes FROM a point.
    """
    n = base.shape[0]
    order = np.lexsort((node, vidx))
    vidx, node, sec = vidx[order], node[order], sec[order]
    counts = np.bincount(vidx, minlength=n_virtual)
    indptr = np.concatenate([base.indptr.astype(np.int64),
                             base.indptr[-1] + np.cumsum(counts)])
    indices = np.concatenate([base.indices.astype(np.int64), node])
    data = np.concatenate([base.data, sec])
    size = n + n_virtual
    return sp.csr_matrix((data, indices, indptr), shape=(size, size))


def times_to_sources(
    net: RoadNetwork,
    sources: Snapped,
    *,
    cutoff_s: float | None = None,
    walk_speed_mps: float = DEFAULT_WALK_SPEED_MPS,
    source_ids: NDArray[np.int64] | None = None,
) -> NodeTimes:
    """Give every node its travel time TO the nearest source (one multi-source pass).

    One exact Dijkstra on the reversed graph (:func:`geosvc.network._dijkstra.passes`:
    a bucket queue, compiled), started at the nodes leading into each
    source at the partial-edge time onto the source's position plus its
    access leg (``dist_m / walk_speed_mps``).  Times equal scipy's Dijkstra
    over :func:`augmented_graph` to the last bit; where two sources are
    exactly as near, the higher source index is kept, as scipy's run over
    that graph keeps it for sources sharing a position.  Cost: O(N) for the
    result plus the search over the nodes within ``cutoff_s`` (about 25-50 ms
    for 250k nodes, all reachable; a 10-minute cut with 50 sources about 1 ms).

    Parameters
    ----------
    net : RoadNetwork
    sources : Snapped
        Snapped sources (venues); unsnapped entries (``edge == -1``) are ignored.
    cutoff_s : float, optional
        Stop at this time, seconds; nodes beyond get inf / -1 (times at or
        within it are those of an uncut pass).
    walk_speed_mps : float
        Speed of the access leg, m/s.
    source_ids : int64[M], optional
        Caller's identity of each source (stored in the result).

    Returns
    -------
    NodeTimes
    """
    walk_speed_mps = _check_speed(walk_speed_mps)
    limit = _check_cutoff(cutoff_s)
    n = net.n_nodes
    m = len(sources)
    ids = (np.arange(m, dtype=np.int64) if source_ids is None
           else np.asarray(source_ids, np.int64))
    if len(ids) != m:
        msg = f"must have one id per source ({m}), not {len(ids)}"
        raise InvalidParameter("source_ids", msg)
    idx, node, sec = entries(net, sources, walk_speed_mps)
    time_s = np.full(n, np.inf)
    source = np.full(n, -1, dtype=np.int64)
    next_node = np.full(n, -1, dtype=np.int32)
    if len(idx) and n:
        from geosvc.network._dijkstra import passes  # lazy: numba (~0.3 s, ~57 MB)

        time_s, source, next_node = passes(net.csr_reverse, node, sec, idx, limit_s=limit)
    return NodeTimes(time_s=time_s, source=source, next_node=next_node, sources=sources,
                     source_ids=ids, walk_speed_mps=walk_speed_mps, cutoff_s=limit)


def same_line_times(
    net: RoadNetwork, points: Snapped, sources: Snapped, walk_speed_mps: float
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Trips from points to sources on the same street line, without leaving it.

    Returns ``(point_index, source_index, seconds)`` for every pair whose
    source lies ahead of the point along a directed edge both sit on
    (either of two twin edges), including both access legs.  Vectorised.
    """
    def positions(
        p: Snapped,
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        ok = np.flatnonzero(p.edge >= 0)
        e = p.edge[ok]
        tw = net.edge_twin[e]
        two = tw >= 0
        return (np.concatenate([ok, ok[two]]), np.concatenate([e, tw[two]]),
                np.concatenate([p.frac[ok], 1 - p.frac[ok][two]]))

    p_idx, p_edge, p_frac = positions(points)
    s_idx, s_edge, s_frac = positions(sources)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if not len(p_idx) or not len(s_idx):
        return empty
    order = np.argsort(s_edge, kind="stable")
    s_idx, s_edge, s_frac = s_idx[order], s_edge[order], s_frac[order]
    lo = np.searchsorted(s_edge, p_edge, side="left")
    hi = np.searchsorted(s_edge, p_edge, side="right")
    cnt = hi - lo
    if not cnt.any():
        return empty
    rep = np.repeat(np.arange(len(p_idx)), cnt)
    starts = np.repeat(lo - np.concatenate([[0], np.cumsum(cnt)[:-1]]), cnt)
    sj = np.arange(len(rep)) + starts
    ahead = s_frac[sj] >= p_frac[rep]
    rep, sj = rep[ahead], sj[ahead]
    e = p_edge[rep]
    pi, si = p_idx[rep], s_idx[sj]
    sec = ((s_frac[sj] - p_frac[rep]) * net.edge_time_s[e]
           + points.dist_m[pi] / walk_speed_mps + sources.dist_m[si] / walk_speed_mps)
    return pi, si, sec


def point_times(
    net: RoadNetwork,
    points: Snapped,
    nt: NodeTimes,
    *,
    walk_speed_mps: float | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Time from each snapped point to its nearest source, using a pass's node times.

    ``min`` over leaving the point's edge towards its end nodes (partial edge,
    respecting direction) + node time, and over sources on the same line,
    plus the point's own access leg.  Vectorised; pass many points at once.

    Returns
    -------
    time_s : float64[M]
        Seconds, inf where no source is reachable (or the point is unsnapped).
    source : int64[M]
        Index into ``nt.sources``, -1 where none.
    """
    w = nt.walk_speed_mps if walk_speed_mps is None else _check_speed(walk_speed_mps)
    m = len(points)
    best = np.full(m, np.inf)
    src = np.full(m, -1, dtype=np.int64)
    idx, node, sec = exits(net, points, w)
    if len(idx):
        cand = sec + nt.time_s[node]
        cand_src = nt.source[node]
        _take_min(best, src, idx, cand, cand_src)
    pi, si, sec2 = same_line_times(net, points, nt.sources, w)
    if len(pi):
        _take_min(best, src, pi, sec2, si)
    return best, src


def _take_min(
    best: NDArray[np.float64], src: NDArray[np.int64], idx: NDArray[np.int64],
    cand: NDArray[np.float64], cand_src: NDArray[np.int64],
) -> None:
    """In place: best[i] = min(best[i], cand) per idx; ties keep the lower source."""
    order = np.lexsort((cand_src, cand, idx))
    idx, cand, cand_src = idx[order], cand[order], cand_src[order]
    first = np.ones(len(idx), dtype=bool)
    first[1:] = idx[1:] != idx[:-1]
    idx, cand, cand_src = idx[first], cand[first], cand_src[first]
    better = (cand < best[idx]) | ((cand == best[idx]) & (cand_src >= 0)
                                   & ((src[idx] < 0) | (cand_src < src[idx])))
    better &= np.isfinite(cand)
    best[idx[better]] = cand[better]
    src[idx[better]] = cand_src[better]


@overload
def times_from_point(
    net: RoadNetwork,
    point: Snapped,
    *,
    cutoff_s: float | None = None,
    walk_speed_mps: float = DEFAULT_WALK_SPEED_MPS,
    return_predecessors: Literal[False] = False,
) -> NDArray[np.float64]: ...
@overload
def times_from_point(
    net: RoadNetwork,
    point: Snapped,
    *,
    cutoff_s: float | None = None,
    walk_speed_mps: float = DEFAULT_WALK_SPEED_MPS,
    return_predecessors: Literal[True],
) -> tuple[NDArray[np.float64], NDArray[np.int32]]: ...
def times_from_point(
    net: RoadNetwork,
    point: Snapped,
    *,
    cutoff_s: float | None = None,
    walk_speed_mps: float = DEFAULT_WALK_SPEED_MPS,
    return_predecessors: bool = False,
) -> NDArray[np.float64] | tuple[NDArray[np.float64], NDArray[np.int32]]:
    """Travel time FROM one snapped point to every node (forward), seconds.

    Includes the point's access leg and the partial edge(s) to the end nodes of
    its edge; inf beyond ``cutoff_s`` or where unreachable.  One compiled
    Dijkstra (:func:`geosvc.network._dijkstra.bounded`) seeded at the end
    nodes of the point's edge, on the cached CSR (never copied): its cost
    follows the nodes within ``cutoff_s``, plus O(N) for the result.  With
    ``return_predecessors`` also the forward predecessor of each node
    (-1 at the first node after the point and where unreached).

    Raises
    ------
    InvalidParameter
        ``point`` is not exactly one point; ``cutoff_s`` < 0.

    An unsnapped point (``edge == -1``) raises nothing: every time is inf.
    """
    if len(point) != 1:
        msg = f"must hold exactly one point, not {len(point)}"
        raise InvalidParameter("point", msg)
    walk_speed_mps = _check_speed(walk_speed_mps)
    limit = _check_cutoff(cutoff_s)
    n = net.n_nodes
    times = np.full(n, np.inf)
    pred = np.full(n, -1, dtype=np.int32)
    _, node, sec = exits(net, point, walk_speed_mps)
    if len(node):
        from geosvc.network._dijkstra import bounded  # lazy: numba (~0.3 s, ~57 MB)

        times, pred = bounded(net.csr, node, sec, limit_s=limit)
    return (times, pred) if return_predecessors else times


@dataclass(frozen=True, eq=False)
class Route:
    """A trip from a point to a target along the network.

    ``nodes`` are the real nodes passed (may be empty for a same-line trip),
    ``edges`` the full edges between them, ``lonlat`` the polyline from the
    original point via its snapped position, the nodes' edge geometry and the
    target's snapped position to the target itself; ``distance_m`` its length
    (access legs included, projected metres).
    """

    nodes: list[int]
    edges: list[int]
    lonlat: list[tuple[float, float]]
    distance_m: float


def _partial_xy(net: RoadNetwork, e: int, f0: float, f1: float) -> NDArray[np.float64]:
    """Vertices of edge ``e`` between fractions f0 <= f1 (by polyline length), (k, 2)."""
    a, b = int(net.geom_offsets[e]), int(net.geom_offsets[e + 1])
    xs, ys = net.geom_x[a:b], net.geom_y[a:b]
    seg = np.hypot(np.diff(xs), np.diff(ys))
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    total = cum[-1]
    if total <= 0:
        return np.array([[xs[0], ys[0]]])
    d0, d1 = f0 * total, f1 * total
    x0, y0 = np.interp(d0, cum, xs), np.interp(d0, cum, ys)
    x1, y1 = np.interp(d1, cum, xs), np.interp(d1, cum, ys)
    inner = (cum > d0) & (cum < d1)
    return np.vstack([[x0, y0], np.column_stack([xs[inner], ys[inner]]), [x1, y1]])


def route(
    net: RoadNetwork,
    point: Snapped,
    target: Snapped,
    nodes: list[int],
) -> Route:
    """Assemble the :class:`Route` of a trip whose real-node path is known.

    Parameters
    ----------
    point, target : Snapped
        One snapped point each.
    nodes : list of int
        Real nodes passed in order (from the exit of the point's edge to the
        entry of the target's edge); empty for a trip along one line.

    Raises
    ------
    NoRoute
        The nodes do not connect the point to the target.
    """
    pe, pf = int(point.edge[0]), float(point.frac[0])
    te, tf = int(target.edge[0]), float(target.frac[0])
    parts: list[NDArray[np.float64]] = [np.array([[point.px[0], point.py[0]]])]
    edges: list[int] = []
    if not nodes:
        e_p, f_p, f_t = _same_line(net, pe, pf, te, tf)
        parts.append(_partial_xy(net, e_p, f_p, f_t))
    else:
        first, last = nodes[0], nodes[-1]
        if int(net.edge_v[pe]) == first:
            parts.append(_partial_xy(net, pe, pf, 1.0))
        elif net.edge_twin[pe] >= 0 and int(net.edge_v[net.edge_twin[pe]]) == first:
            parts.append(_partial_xy(net, int(net.edge_twin[pe]), 1 - pf, 1.0))
        else:
            raise NoRoute("the path does not start at an end of the point's street")
        if len(nodes) > 1:
            eids = net.edge_between(np.array(nodes[:-1]), np.array(nodes[1:]))
            if (eids < 0).any():
                raise NoRoute("the path uses a street that does not exist")
            edges = [int(e) for e in eids]
            for e in edges:
                a, b = int(net.geom_offsets[e]), int(net.geom_offsets[e + 1])
                parts.append(np.column_stack([net.geom_x[a:b], net.geom_y[a:b]]))
        if int(net.edge_u[te]) == last:
            parts.append(_partial_xy(net, te, 0.0, tf))
        elif net.edge_twin[te] >= 0 and int(net.edge_u[net.edge_twin[te]]) == last:
            parts.append(_partial_xy(net, int(net.edge_twin[te]), 0.0, 1 - tf))
        else:
            raise NoRoute("the path does not end at an end of the target's street")
    parts.append(np.array([[target.px[0], target.py[0]]]))
    xy = np.vstack(parts)
    keep = np.ones(len(xy), dtype=bool)
    keep[1:] = np.hypot(*np.diff(xy, axis=0).T) > 1e-6
    xy = xy[keep]
    dist = float(np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1])).sum())
    lon, lat = net.transformer_inverse.transform(xy[:, 0], xy[:, 1])
    coords = [(float(a), float(b))
              for a, b in zip(np.atleast_1d(lon), np.atleast_1d(lat), strict=True)]
    if len(coords) == 1:
        coords = coords * 2
    return Route(nodes=list(nodes), edges=edges, lonlat=coords, distance_m=dist)


def _same_line(
    net: RoadNetwork, pe: int, pf: float, te: int, tf: float
) -> tuple[int, float, float]:
    """Return the directed edge and fractions of a same-line trip from (pe, pf) to (te, tf)."""
    opts_p = [(pe, pf)] + ([(int(net.edge_twin[pe]), 1 - pf)] if net.edge_twin[pe] >= 0 else [])
    opts_t = [(te, tf)] + ([(int(net.edge_twin[te]), 1 - tf)] if net.edge_twin[te] >= 0 else [])
    for e1, f1 in opts_p:
        for e2, f2 in opts_t:
            if e1 == e2 and f2 >= f1:
                return e1, f1, f2
    raise NoRoute("the point and the target are not on one street line")
