"""Cut one dataset's coverage into parts by area, each with a travel-time buffer.

A province is too large for one process: its demand (10 M population cells)
is split by area (the dataset's counties / cities, or a square grid in the
network's projected CRS), and each part is sent, with only the piece of road
network it can need, to a worker (:mod:`geosvc.distributed.province`).

What a part holds (:func:`part_arrays`), for the demand points ``D`` of the
part with envelope ``B`` (their bounding box, projected metres):

* the nodes within ``R = minutes x 60 x V`` of ``B`` (``V``:
  :func:`max_speed_mps`), plus both ends of every edge touching one of them
  and of every edge a demand point of the part is snapped to;
* the edges of the full network between those nodes (the induced
  sub-network; twins, parallel edges and one-way streets as they are);
* the demand points of the part and the venues whose snapped edge is in the
  sub-network, with their snapped edge renumbered and everything else
  (fraction, access distance) as the FULL network's snapping gave it.

**Exactness.**  Snapping is done once, centrally, on the full network (its
snappable-edge rule depends on whole components): the parts get the
snapped positions, never snap again.  ``V`` bounds every leg of a trip by
straight-line displacement per second: the access legs at
``walk_speed_mps``, and each edge (whole or partial) by its projected
polyline length over its time (``frac`` is measured along that polyline,
so a partial edge of time ``g x t`` is a polyline piece of length
``g x len``; the turn edges of a turn-expanded network have no length and
move nobody).  A straight line is never longer than the path, so after
``s`` seconds of any trip the traveller is within ``V x s`` of where they
started.  Take a demand point ``p`` of the part whose single-process time
``t(p)`` (:func:`geosvc.network.paths.point_times`: access leg, partial
edge, node path, partial edge, the venue's access leg) is at most
``L = minutes x 60``.  Every node of that trip, both ends of its first
and last edges and the venue, lie within ``V x L = R`` of ``p``, hence
of ``B``; the node set holds them all (both ends of an edge touching a
node within ``R``; a trip along the point's own street line, which passes
no node, uses the point's edge, kept whole), so the sub-network holds the
whole trip and the venue.  Every path of the sub-network is a path of the full network, so
its times are never shorter.  Dijkstra computes, exactly in floating
point, the minimum over paths of the sums along them (adding a
non-negative edge is monotone), so with the optimal path present the
sub-network gives the SAME float ``t(p)``; where the full network gives
more than ``L`` the sub-network does too.  The covered points and their
times are the single-process ones.  Their venues too, but for exact ties
(two venues at the same float time) that argument alone does not settle:
the sub-network keeps the nodes' and the sources' relative order (so
:func:`~geosvc.network.paths.point_times`' "lower source index wins" picks
the same one), and a regular grid with co-located venues, where ties
abound, is among the tests.  ``R`` is widened by ``1e-9`` relative plus 1 m
for rounding.

Vectorised; each part costs O(its nodes and edges) after a one-off index of
the network (nodes by x, edges by their ends).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from geosvc.errors import InvalidParameter

if TYPE_CHECKING:
    from geosvc.analysis.demand import DemandSet
    from geosvc.network.graph import RoadNetwork
    from geosvc.network.snap import Snapped

__all__ = ["PartPlan", "buffer_radius_m", "max_speed_mps", "nodes_near", "parse_partition",
           "part_arrays", "plan_parts", "prepare"]

_GRID = re.compile(r"^grid:(\d+(?:\.\d+)?)$")
#: Partitions by the dataset's areas (counties / cities).
AREA_PARTITIONS = ("area", "county")
#: Where :func:`prepare` caches a network's part index (in ``net.__dict__``).
PART_INDEX_KEY = "_part_adjacency"
#: Edges measured at a time by :func:`max_speed_mps` (bounds its temporary arrays).
_SPEED_CHUNK = 1 << 19


def parse_partition(text: str) -> tuple[str, float | None]:
    """Return ``("area", None)`` or ``("grid", km)`` for ``area`` / ``county`` / ``grid:<km>``.

    Examples
    --------
    >>> parse_partition("county"), parse_partition("grid:25")
    (('area', None), ('grid', 25.0))
    """
    t = str(text).strip().lower()
    if t in AREA_PARTITIONS:
        return "area", None
    m = _GRID.match(t)
    if m and float(m.group(1)) > 0:
        return "grid", float(m.group(1))
    msg = f"must be `area` (or `county`) or `grid:<km>` with km > 0, not {text!r}"
    raise InvalidParameter("partition", msg)


def max_speed_mps(net: RoadNetwork, walk_speed_mps: float, *,
                  chunk_edges: int = _SPEED_CHUNK) -> float:
    """Return the fastest straight-line displacement per second of any leg, m/s.

    The largest of ``walk_speed_mps`` (access legs) and, per edge, its
    projected polyline length over its travel time.  Vectorised over the
    edges' vertices, ``chunk_edges`` at a time (one running sum continued
    from slice to slice: the floats of a single ``np.cumsum``).

    Examples
    --------
    >>> from geosvc.network.synthetic import grid_network
    >>> round(max_speed_mps(grid_network(3, 3, speed_kph=36.0), 1.25), 6)
    10.0
    """
    speed = float(walk_speed_mps)
    off = np.asarray(net.geom_offsets)
    gx, gy = net.geom_x, net.geom_y
    carry = 0.0  # the running length over every vertex (jumps between edges included)
    step = max(int(chunk_edges), 1)
    for e0 in range(0, net.n_edges, step):  # a slice of edges at a time: the same floats
        e1 = min(e0 + step, net.n_edges)
        a, b = int(off[e0]), int(off[e1])
        seg = np.hypot(np.diff(gx[a:b]), np.diff(gy[a:b]))
        cum = np.cumsum(np.concatenate([[carry], seg]))  # cum[i - a]: vertex i
        # vertices of edge e: off[e]..off[e+1]-1; its length skips the jump to the next edge
        length = cum[off[e0 + 1:e1 + 1] - 1 - a] - cum[off[e0:e1] - a]
        t = np.asarray(net.edge_time_s[e0:e1])
        # turn edges of a turn-expanded network: no length, time >= 0 (no displacement)
        fast = np.divide(length, t, out=np.zeros_like(length), where=t > 0)
        speed = max(speed, float(fast.max()))
        if b < len(gx):
            carry = float(cum[-1] + np.hypot(np.diff(gx[b - 1:b + 1]),
                                             np.diff(gy[b - 1:b + 1]))[0])
    return speed


def buffer_radius_m(net: RoadNetwork, minutes: float, walk_speed_mps: float) -> float:
    """Return ``R``: how far (straight line) a trip of ``minutes`` can take anyone, metres.

    ``minutes x 60 x`` :func:`max_speed_mps`, widened by ``1e-9`` relative
    plus 1 m against rounding.
    """
    r = float(minutes) * 60.0 * max_speed_mps(net, walk_speed_mps)
    return r * (1 + 1e-9) + 1.0


@dataclass(frozen=True, slots=True)
class PartPlan:
    """One part of the demand: its name, its points and their envelope.

    Attributes
    ----------
    label : str
        ``area:<code>`` / ``area:-`` (outside every area) or ``grid:<col>,<row>``.
    points : int64[k]
        Positions of the part's demand points in the demand set.
    bbox : (float, float, float, float)
        ``(x0, y0, x1, y1)`` of those points, projected metres.
    """

    label: str
    points: NDArray[np.int64]
    bbox: tuple[float, float, float, float]


def plan_parts(demand: DemandSet, partition: str, *,
               snapped_only: bool = True) -> list[PartPlan]:
    """Split the demand points into parts by area or by grid square (empty parts dropped).

    Only points snapped to the network are planned (the others are never
    covered: no worker needs them), unless ``snapped_only`` is False (the
    parts snap their points themselves, or the gaps need every point in a
    part).  ``area`` puts each point in the part of its area
    (:attr:`DemandSet.area`; one more part for the points outside every
    area); ``grid:<km>`` in the square of that side, in the network's
    projected CRS, counted from the points' south-west corner.

    Raises
    ------
    InvalidParameter
        A bad ``partition`` (see :func:`parse_partition`).
    """
    how, km = parse_partition(partition)
    ok = (np.flatnonzero(np.asarray(demand.snapped.ok)) if snapped_only
          else np.arange(len(demand.x), dtype=np.int64))
    if not len(ok):
        return []
    x, y = demand.x[ok], demand.y[ok]
    if how == "area":
        n = len(demand.areas)
        key = np.where(demand.area[ok] >= 0, demand.area[ok], n)
        names = [f"area:{a.code}" for a in demand.areas] + ["area:-"]
    else:
        side = float(km or 0.0) * 1000.0
        col = np.floor((x - x.min()) / side).astype(np.int64)
        row = np.floor((y - y.min()) / side).astype(np.int64)
        ncol = int(col.max()) + 1
        key = row * ncol + col
        names = []
    order = np.argsort(key, kind="stable")
    keys, starts = np.unique(key[order], return_index=True)
    bounds = [*starts[1:], len(order)]
    plans = []
    for k, a, b in zip(keys, starts, bounds, strict=True):
        sel = order[a:b]
        label = (names[int(k)] if how == "area"
                 else f"grid:{int(k) % ncol},{int(k) // ncol}")
        plans.append(PartPlan(label, ok[sel].astype(np.int64),
                              (float(x[sel].min()), float(y[sel].min()),
                               float(x[sel].max()), float(y[sel].max()))))
    return plans


@dataclass(frozen=True, eq=False)
class _Adjacency:
    """Nodes sorted by x and edges grouped by tail and by head (built once per network)."""

    by_x: NDArray[np.int64]  # node positions by ascending x
    xs: NDArray[np.float64]  # node_x[by_x]
    out_edges: NDArray[np.int64]  # edges by ascending edge_u (stable)
    out_ptr: NDArray[np.int64]  # out_edges[out_ptr[n]:out_ptr[n + 1]] leave node n
    in_edges: NDArray[np.int64]  # edges by ascending edge_v (stable)
    in_ptr: NDArray[np.int64]


def prepare(net: RoadNetwork) -> None:
    """Build the network's part index now (else on the first :func:`part_arrays`)."""
    _adjacency(net)


def _adjacency(net: RoadNetwork) -> _Adjacency:
    """Return the (cached) :class:`_Adjacency` of ``net``: O(N log N + E log E) once."""
    hit = net.__dict__.get(PART_INDEX_KEY)
    if isinstance(hit, _Adjacency):
        return hit
    by_x = np.argsort(net.node_x, kind="stable").astype(np.int64)

    def grouped(ends: NDArray[np.int32]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        order = np.argsort(ends, kind="stable").astype(np.int64)
        ptr = np.zeros(net.n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(ends, minlength=net.n_nodes), out=ptr[1:])
        return order, ptr

    out_edges, out_ptr = grouped(net.edge_u)
    in_edges, in_ptr = grouped(net.edge_v)
    adj = _Adjacency(by_x, np.ascontiguousarray(net.node_x[by_x]), out_edges, out_ptr,
                     in_edges, in_ptr)
    net.__dict__[PART_INDEX_KEY] = adj
    return adj


def nodes_near(net: RoadNetwork, adj: _Adjacency, bbox: tuple[float, float, float, float],
               radius_m: float) -> NDArray[np.int64]:
    """Return the nodes within ``radius_m`` of the box (a rounded box: corners cut), ascending.

    Reads only the nodes of the strip ``x0 - r .. x1 + r`` (nodes sorted by x).
    """
    x0, y0, x1, y1 = bbox
    lo = int(np.searchsorted(adj.xs, x0 - radius_m, side="left"))
    hi = int(np.searchsorted(adj.xs, x1 + radius_m, side="right"))
    cand = np.asarray(adj.by_x[lo:hi])
    nx, ny = net.node_x[cand], net.node_y[cand]
    dx = np.maximum(np.maximum(x0 - nx, nx - x1), 0.0)
    dy = np.maximum(np.maximum(y0 - ny, ny - y1), 0.0)
    return np.sort(cand[dx * dx + dy * dy <= radius_m * radius_m])


def _gather(order: NDArray[np.int64], ptr: NDArray[np.int64],
            nodes: NDArray[np.int64]) -> NDArray[np.int64]:
    """Return ``order[ptr[n]:ptr[n+1]]`` for every node ``n`` of ``nodes``, concatenated."""
    a, b = ptr[nodes], ptr[nodes + 1]
    lens = b - a
    total = int(lens.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(a - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
    return order[np.arange(total, dtype=np.int64) + starts]


def part_arrays(net: RoadNetwork, plan: PartPlan, demand: Snapped, venues: Snapped,
                venue_ids: NDArray[np.int64], *, radius_m: float,
                candidates: Snapped | None = None) -> dict[str, Any]:
    """Return the plain arrays a worker needs for one part (see the module notes).

    Costs O(the part's nodes and edges) after a one-off index of the
    network (nodes sorted by x, edges grouped by their ends; cached on it).

    Parameters
    ----------
    net : RoadNetwork
        The full network the demand and venues were snapped to.
    plan : PartPlan
    demand : Snapped
        Every demand point, snapped on the full network.
    venues : Snapped
        The candidate venues (the pass's sources, in its order), snapped on
        the full network.
    venue_ids : int64[V]
        Their ids (venue positions), as the single-process pass stores them.
    radius_m : float
        :func:`buffer_radius_m`.
    candidates : Snapped, optional
        A plan's candidate sites, snapped on the full network: those the
        part can need (snapped edge in the sub-network; the same argument as
        for the venues: every site a resident of the part reaches within the
        limit) are added as ``cand_edge`` / ``cand_frac`` / ``cand_dist_m``
        and ``cand_cols`` (their positions in ``candidates``, ascending).

    Returns
    -------
    dict
        ``label``, ``mode``, ``crs``, ``points`` (demand positions),
        ``node_pos`` (the sub-network's nodes' positions in ``net``),
        ``node_id`` / ``node_x`` / ``node_y`` of the sub-network, ``edge_u`` /
        ``edge_v`` / ``edge_time_s`` / ``edge_length_m`` (0 marks a turn edge) /
        ``edge_twin`` (renumbered), ``demand_edge`` /
        ``demand_frac`` / ``demand_dist_m``, ``venue_edge`` / ``venue_frac`` /
        ``venue_dist_m`` / ``venue_ids``; numpy arrays and str only.
    """
    adj = _adjacency(net)
    near = nodes_near(net, adj, plan.bbox, radius_m)
    u, v = net.edge_u, net.edge_v
    touch = np.concatenate([_gather(adj.out_edges, adj.out_ptr, near),
                            _gather(adj.in_edges, adj.in_ptr, near)])
    d_on = demand.edge[plan.points]
    d_on = d_on[d_on >= 0]  # a trip along the point's own street needs its edge
    mark = np.zeros(net.n_nodes, dtype=bool)  # calloc: only the touched pages cost
    for ends in (near, u[touch], v[touch], u[d_on], v[d_on]):
        mark[ends] = True
    nodes = np.flatnonzero(mark).astype(np.int64)
    out = _gather(adj.out_edges, adj.out_ptr, nodes)
    edges = np.sort(out[mark[v[out]]])  # ascending: relative order kept

    def renumber(e: NDArray[np.int64]) -> NDArray[np.int64]:
        """Sub-network position of full-network edges (-1: not in the part)."""
        pos = np.searchsorted(edges, np.maximum(e, 0))
        ok = (e >= 0) & (pos < len(edges))
        ok[ok] = edges[pos[ok]] == e[ok]
        return np.where(ok, pos, -1).astype(np.int64)

    d = demand.take(plan.points)
    v_new = renumber(np.asarray(venues.edge, dtype=np.int64))
    vsel = np.flatnonzero(v_new >= 0)  # ascending: the full pass's source order kept
    extra: dict[str, Any] = {}
    if candidates is not None:
        c_new = renumber(np.asarray(candidates.edge, dtype=np.int64))
        csel = np.flatnonzero(c_new >= 0)
        extra = {"cand_edge": c_new[csel], "cand_frac": np.asarray(candidates.frac[csel]),
                 "cand_dist_m": np.asarray(candidates.dist_m[csel]), "cand_cols": csel}
    return {
        "label": plan.label, "mode": net.mode, "crs": net.crs,
        "points": plan.points, "node_pos": nodes,
        "node_id": np.ascontiguousarray(net.node_id[nodes]),
        "node_x": np.ascontiguousarray(net.node_x[nodes]),
        "node_y": np.ascontiguousarray(net.node_y[nodes]),
        "edge_u": np.searchsorted(nodes, u[edges]).astype(np.int32),
        "edge_v": np.searchsorted(nodes, v[edges]).astype(np.int32),
        "edge_time_s": np.ascontiguousarray(net.edge_time_s[edges]),
        "edge_length_m": np.ascontiguousarray(net.edge_length_m[edges]),
        "edge_twin": renumber(np.asarray(net.edge_twin[edges], dtype=np.int64)),
        "demand_edge": renumber(np.asarray(d.edge, dtype=np.int64)),
        "demand_frac": np.asarray(d.frac), "demand_dist_m": np.asarray(d.dist_m),
        "venue_edge": v_new[vsel],
        "venue_frac": np.asarray(venues.frac[vsel]),
        "venue_dist_m": np.asarray(venues.dist_m[vsel]),
        "venue_ids": np.asarray(venue_ids, dtype=np.int64)[vsel],
        **extra,
    }


def part_nbytes(arrays: dict[str, Any]) -> int:
    """Bytes of a part's arrays (what is sent to its worker)."""
    return int(sum(a.nbytes for a in arrays.values() if isinstance(a, np.ndarray)))


def grid_side_km(net: RoadNetwork, parts: int) -> float:
    """Return the grid side (km) that cuts the network's extent into about ``parts`` squares.

    Examples
    --------
    >>> from geosvc.network.synthetic import grid_network
    >>> grid_side_km(grid_network(11, 11), 4)   # 1 km x 1 km -> 2 x 2
    0.5
    """
    if parts < 1:
        raise InvalidParameter("parts", f"must be >= 1, not {parts!r}")
    w = float(net.node_x.max() - net.node_x.min())
    h = float(net.node_y.max() - net.node_y.min())
    side = math.sqrt(max(w * h, 1.0) / parts)
    return round(max(side, 1.0) / 1000.0, 3)
