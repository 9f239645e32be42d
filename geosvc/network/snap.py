"""Snap points to the nearest road EDGE (not node) of a network.

The index is a grid of the straight segments of the edge polylines in the
network's projected CRS (:mod:`geosvc.network._segindex`: flat arrays, an
exact compiled nearest-segment search, about 50 bytes a segment), built once
per network and component threshold (cached on the network object).  Of two twin edges (the
two directions of a two-way street share one line) only one is indexed; the
pass functions use the twin for the other direction.  A point snapped to a
one-way edge can only leave it towards its end node.

Only edges that can be both reached from and left towards the rest of the
network are indexed ("snappable"; :func:`snappable_edges`).  Per weakly
connected component (directions ignored) the network has one travel core:
its largest strongly connected component (SCC; every node of it reaches,
and is reached from, every other).  An edge ``u -> v`` is snappable when both
``u`` and ``v`` lie in a core of at least ``min_component_nodes`` nodes (the
largest core when none is that big; ``0`` or ``1`` = every edge, the rule
off).

Why both ends in the core: a point on ``u -> v`` is reached through ``u`` and
leaves through ``v``.  "``v`` reaches the core and ``u`` is reached from it"
is the weakest rule that lets trips both start and end there, and it implies
the strict one: ``u`` then reaches the core through ``v`` and is reached from
it, so ``u`` is in the core, and so is ``v``.  Of a two-way street (twin
edges) both directions are in or out together.

What it prevents: on a real drive network nearly a quarter of random points
snapped to a one-way segment (an elevated motorway, a one-way street leaving
the extract) whose SCC is a single node, and got no venue at all.  Such a
point now snaps to the nearest snappable edge within the limit instead.  An
extract's clipping also leaves tiny fragments (the Helsinki walk network has
62 components, 61 of them < 50 nodes): a building whose nearest street is a
4-node fragment would otherwise be unreachable from every venue.  Real islands
whose core reaches the threshold keep their points (unreachable from the
mainland).  Walk networks are symmetric: their cores are their weak
components, so for them the rule is the size threshold alone.

Turn edges (the zero-length edges joining the ports of an intersection in a
turn-expanded network, :mod:`geosvc.network.turns`) are never snappable.

Ground first.  A point (a venue, a resident, a query) carries no layer: it is
taken to be on the ground.  Of the snappable edges, those on the ground
(:attr:`RoadNetwork.edge_layer` 0) are searched first; underground ways (a
negative ``layer`` or ``level``) and bridges only for the points with no
ground edge within the search radius ``max_dist_m`` (when None: only when the
network has no ground edge at all).  Routes still use every edge: a point
next to an underground passage walks to its entrance.  What it prevents:
central Helsinki lies above a service tunnel (``tunnel=yes``, ``layer=-4``,
portals a kilometre apart); a street corner 13 m above it snapped into the
tunnel and walked 1,459 m (19.5 min) to a kiosk 103 m away, which the street
reaches in 207 m.  Both directions of a
two-way street share their layer, so twins stay in or out together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from geosvc.config import Settings
from geosvc.errors import InvalidParameter, OutsideNetwork
from geosvc.network._segindex import SegmentGrid, build_grid, nearest_segments
from geosvc.network.graph import GROUND

if TYPE_CHECKING:
    from geosvc.network.graph import RoadNetwork

__all__ = [
    "EdgeIndex",
    "Snapped",
    "check_snapped",
    "cum_lengths",
    "default_min_component_nodes",
    "edge_index",
    "edge_index_of",
    "snappable_edges",
    "snap_point",
    "snap_points",
    "snap_xy",
]


@dataclass(frozen=True, eq=False)
class Snapped:
    """Points snapped to directed edges (all arrays of length M).

    Attributes
    ----------
    edge : int64[M]
        Directed edge index, -1 where nothing was found within the search radius.
    frac : float64[M]
        Position along the edge from u (0) to v (1), by length along its polyline.
    dist_m : float64[M]
        Access distance from the point to the snapped position, metres (inf if none).
    x, y : float64[M]
        Snapped position, projected metres (NaN if none).
    px, py : float64[M]
        The original points, projected metres.
    lon, lat : float64[M]
        The original points, WGS-84 degrees.
    """

    edge: NDArray[np.int64]
    frac: NDArray[np.float64]
    dist_m: NDArray[np.float64]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    px: NDArray[np.float64]
    py: NDArray[np.float64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.edge.shape[0])

    def take(self, idx: ArrayLike) -> Snapped:
        """Return the subset of points at ``idx`` (integer positions or boolean mask)."""
        i = np.asarray(idx)
        return Snapped(*(getattr(self, f)[i] for f in _FIELDS))

    @property
    def ok(self) -> NDArray[np.bool_]:
        """True where the point was snapped to an edge."""
        return self.edge >= 0


_FIELDS = ("edge", "frac", "dist_m", "x", "y", "px", "py", "lon", "lat")


@dataclass(frozen=True, eq=False)
class EdgeIndex:
    """The straight segments of the snappable edges' polylines, on a grid.

    One index serves both searches of :func:`snap_xy` (ground edges first,
    then every snappable edge) through the per-segment ``seg_ground`` mask.
    """

    grid: SegmentGrid  # segment ends and their grid cells (geosvc.network._segindex)
    seg_edge: NDArray[np.int64]  # edge of each segment
    seg_start_m: NDArray[np.float64]  # polyline length before the segment
    seg_ground: NDArray[np.bool_]  # the segment's edge is on the ground
    edge_geom_len: NDArray[np.float64]  # projected polyline length per edge

    @cached_property
    def every_on_ground(self) -> bool:
        """True when every indexed segment is on the ground (one search per point)."""
        return bool(self.seg_ground.all())

    @property
    def nbytes(self) -> int:
        """Bytes held by the index's arrays."""
        return self.grid.nbytes + sum(a.nbytes for a in (
            self.seg_edge, self.seg_start_m, self.seg_ground, self.edge_geom_len))


#: ``Settings().min_component_nodes``, read once (building Settings validates every field).
_DEFAULT_MIN_COMPONENT_NODES: Final = Settings().min_component_nodes


def default_min_component_nodes() -> int:
    """Return the default of ``Settings.min_component_nodes`` (used for None).

    Examples
    --------
    >>> default_min_component_nodes()
    50
    """
    return _DEFAULT_MIN_COMPONENT_NODES


def _threshold(min_component_nodes: int | None) -> int:
    """Validate the threshold (None = the Settings default); 0 and 1 both mean any edge."""
    if min_component_nodes is None:
        return default_min_component_nodes()
    if isinstance(min_component_nodes, bool) or not isinstance(
        min_component_nodes, (int, np.integer)
    ) or min_component_nodes < 0:
        msg = f"must be an integer >= 0, not {min_component_nodes!r}"
        raise InvalidParameter("min_component_nodes", msg)
    return max(int(min_component_nodes), 1)


def snappable_edges(
    net: RoadNetwork, min_component_nodes: int | None = None
) -> NDArray[np.bool_]:
    """Mark the directed edges points may snap to: both ends in a big enough travel core.

    Returns ``bool[E]`` (read-only, cached on the network per threshold).

    An edge ``u -> v`` is eligible when ``u`` and ``v`` both lie in the
    largest strongly connected component of their weak component
    (:attr:`RoadNetwork.main_strong`) and that component has at least
    ``min_component_nodes`` nodes; when no such core is that big, the
    largest core(s) are used (and every edge when even those hold no edge:
    a network of one-way traps only).  ``0``/``1`` make every edge eligible.  See the
    module notes for why.  Vectorised: O(E) after the components (computed
    once per network).

    Parameters
    ----------
    net : RoadNetwork
    min_component_nodes : int, optional
        Node threshold; None = ``Settings().min_component_nodes`` (50).

    Raises
    ------
    InvalidParameter
        ``min_component_nodes`` is not an integer >= 0.

    Examples
    --------
    A 3 x 2 grid whose top row (nodes 3, 4, 5) runs east only and whose
    east side street (2-5) is missing: node 5 can be reached but not left.

    >>> from geosvc.network.synthetic import grid_network
    >>> net = grid_network(3, 2, one_way_rows=[1], missing_edges=[(2, 5)], mode="drive")
    >>> ok = snappable_edges(net, 2)
    >>> int(ok.sum()), net.n_edges, net.edge_u[~ok].tolist(), net.edge_v[~ok].tolist()
    (9, 10, [4], [5])
    """
    t = _threshold(min_component_nodes)
    cache = net.__dict__.get("_snappable")
    if not isinstance(cache, dict):
        cache = {}
        net.__dict__["_snappable"] = cache
    hit = cache.get(t)
    if hit is not None:
        return hit
    ok = np.ones(net.n_edges, dtype=bool)
    if t > 1 and net.n_edges:
        sizes = net.strong_sizes
        main = net.main_strong
        core = main & (sizes >= t)
        if not core.any():
            core = main & (sizes == sizes[main].max())
        in_core = core[net.strong_labels]
        inside = in_core[net.edge_u] & in_core[net.edge_v]
        if inside.any():  # else a network of one-way traps only: every edge
            ok = inside
    ok &= ~net.edge_is_turn  # turn edges of a turn-expanded network: never snapped to
    ok.flags.writeable = False
    cache[t] = ok
    return ok


def edge_index(net: RoadNetwork, min_component_nodes: int | None = None) -> EdgeIndex:
    """Return the (cached) segment index of ``net``'s snappable edges; built on first use.

    One index per distinct threshold, cached on the network (vectorised
    build; see :func:`snappable_edges` for ``min_component_nodes``); it marks
    the segments on the ground (:attr:`RoadNetwork.edge_layer` 0).
    """
    t = _threshold(min_component_nodes)
    cache = net.__dict__.get("_edge_index")
    if not isinstance(cache, dict):
        cache = {}
        net.__dict__["_edge_index"] = cache
    idx = cache.get(t)
    if idx is None:
        idx = _build_edge_index(net, snappable_edges(net, t))
        cache[t] = idx
    return idx


def _build_edge_index(net: RoadNetwork, eligible: NDArray[np.bool_]) -> EdgeIndex:
    return edge_index_of(net, eligible)


#: Vertices summed at a time by :func:`cum_lengths` (bounds its temporary arrays).
_CUM_CHUNK = 1 << 20


def cum_lengths(net: RoadNetwork, *, chunk: int = _CUM_CHUNK) -> NDArray[np.float64]:
    """Return the running polyline length at every vertex (no jump between edges).

    One sequential sum over the vertices, ``chunk`` at a time into the
    result (each slice continues where the previous ended: the same floats
    as one ``np.cumsum``), so that a province's 80 M vertices cost the
    result plus a few slices, not five arrays of that size.
    """
    gx, gy = net.geom_x, net.geom_y
    n = len(gx)
    out = np.zeros(max(n, 1))
    ends = np.asarray(net.geom_offsets[1:-1] - 1)  # an edge's last vertex: no jump after it
    ends = ends[(ends >= 0) & (ends < n - 1)]
    step = max(int(chunk), 1)
    for a in range(0, n - 1, step):
        b = min(a + step, n - 1)  # segments a .. b-1 join vertices a .. b
        seg = np.hypot(np.diff(gx[a:b + 1]), np.diff(gy[a:b + 1]))
        jumps = ends[np.searchsorted(ends, a):np.searchsorted(ends, b)]
        seg[jumps - a] = 0.0
        out[a + 1:b + 1] = np.cumsum(np.concatenate([[out[a]], seg]))[1:]
    return out


def edge_index_of(net: RoadNetwork, eligible: NDArray[np.bool_],
                  cum: NDArray[np.float64] | None = None) -> EdgeIndex:
    """Return the snapping index of ``net``'s ``eligible`` edges.

    ``cum`` are the running polyline lengths at each vertex (default: summed
    here); a part of a larger network passes the whole network's sums at its
    vertices so that positions along an edge come out bit for bit the same
    (:mod:`geosvc.distributed.snapping`).
    """
    off = net.geom_offsets
    gx, gy = net.geom_x, net.geom_y
    # segment k joins vertex k and k+1, except across edge boundaries
    seg_ok = np.ones(max(len(gx) - 1, 0), dtype=bool)
    ends = off[1:-1] - 1
    seg_ok[ends[(ends >= 0) & (ends < len(seg_ok))]] = False
    seg_edge_all = (
        np.repeat(np.arange(net.n_edges, dtype=np.int64), np.diff(off))[:-1]
        if len(gx)
        else np.zeros(0, np.int64)
    )
    if cum is None:
        cum = cum_lengths(net)
    edge_geom_len = cum[off[1:] - 1] - cum[off[:-1]] if net.n_edges else np.zeros(0)
    seg_start_all = cum[:-1] - cum[off[:-1]][seg_edge_all] if len(seg_edge_all) else np.zeros(0)
    # index each line once: skip the higher-numbered twin of a two-way pair, unless
    # only it is eligible (in a turn-expanded network twins may differ)
    twin = net.edge_twin
    twin_ok = np.zeros(net.n_edges, dtype=bool)
    has = twin >= 0
    twin_ok[has] = eligible[twin[has]]
    indexed_edge = ((twin < 0) | (np.arange(net.n_edges) < twin) | ~twin_ok) & eligible
    sel = (
        np.flatnonzero(seg_ok & indexed_edge[seg_edge_all])
        if len(seg_edge_all)
        else np.zeros(0, np.int64)
    )
    seg_edge = seg_edge_all[sel]
    return EdgeIndex(
        grid=build_grid(gx[sel], gy[sel], gx[sel + 1], gy[sel + 1]),
        seg_edge=seg_edge,
        seg_start_m=seg_start_all[sel],
        seg_ground=np.asarray(net.edge_layer == GROUND)[seg_edge],
        edge_geom_len=edge_geom_len,
    )


def _as_coords(
    lon: ArrayLike, lat: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    try:
        lo = np.atleast_1d(np.asarray(lon, dtype=np.float64))
        la = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    except (TypeError, ValueError):
        msg = "must be numbers"
        raise InvalidParameter("lon", msg, more=[("lat", msg)]) from None
    if lo.shape != la.shape or lo.ndim != 1:
        msg = f"must have the same 1-d shape as `lat` ({lo.shape} vs {la.shape})"
        raise InvalidParameter("lon", msg)
    bad_lon = ~(np.isfinite(lo) & (np.abs(lo) <= 180))
    bad_lat = ~(np.isfinite(la) & (np.abs(la) <= 90))
    problems = []
    if bad_lon.any():
        problems.append(("lon", "must be a number between -180 and 180"))
    if bad_lat.any():
        problems.append(("lat", "must be a number between -90 and 90"))
    if problems:
        raise InvalidParameter.many(problems)
    return lo, la


def snap_points(
    net: RoadNetwork,
    lon: ArrayLike,
    lat: ArrayLike,
    *,
    max_dist_m: float | None = None,
    min_component_nodes: int | None = None,
) -> Snapped:
    """Snap WGS-84 points to the nearest edge of ``net`` (vectorised; pass arrays).

    Only snappable edges (:func:`snappable_edges`: both ends in a travel
    core of at least ``min_component_nodes`` nodes) are candidates, so a
    point next to a tiny fragment or a one-way trap snaps to the nearest edge
    of the main network even when the fragment is nearer.  Of those, edges
    on the ground come first: a point snaps to an underground way or a bridge
    only when no ground edge lies within ``max_dist_m`` (see the module notes).

    Parameters
    ----------
    net : RoadNetwork
    lon, lat : float or array of float
        WGS-84 degrees.
    max_dist_m : float, optional
        Search radius in metres; points farther from every eligible edge get
        ``edge = -1`` and ``dist_m = inf``.  Unbounded when None.
    min_component_nodes : int, optional
        Smallest travel core (in nodes) points may snap to; None = the
        ``Settings.min_component_nodes`` default (50); 0 or 1 = any edge.

    Returns
    -------
    Snapped
        Use :func:`check_snapped` to raise for points too far away.

    Raises
    ------
    InvalidParameter
        ``lon``/``lat`` not finite numbers in range; ``min_component_nodes``
        not an integer >= 0.
    """
    lo, la = _as_coords(lon, lat)
    px, py = net.transformer.transform(lo, la)
    return snap_xy(net, np.asarray(px, dtype=np.float64), np.asarray(py, dtype=np.float64),
                   lon=lo, lat=la, max_dist_m=max_dist_m,
                   min_component_nodes=min_component_nodes)


def snap_point(
    net: RoadNetwork,
    lon: float,
    lat: float,
    *,
    max_dist_m: float | None = None,
    min_component_nodes: int | None = None,
) -> Snapped:
    """Snap ONE point: the same :class:`Snapped` (same floats) as :func:`snap_points`.

    The per-request path (a query point): scalar checks and one segment
    search instead of the vectorised bookkeeping.  Anything but two finite
    Python floats in range goes through :func:`snap_points` (same errors).
    """
    if not (type(lon) is float and type(lat) is float and math.isfinite(lon)
            and math.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90):
        return snap_points(net, lon, lat, max_dist_m=max_dist_m,
                           min_component_nodes=min_component_nodes)
    # pyproj transforms a scalar through a one-element buffer: the array path's floats
    x0, y0 = net.transformer.transform(lon, lat)
    px = np.array([x0], dtype=np.float64)
    py = np.array([y0], dtype=np.float64)
    lo = np.array([lon], dtype=np.float64)
    la = np.array([lat], dtype=np.float64)
    idx = edge_index(net, min_component_nodes)
    if len(idx.seg_edge):
        for only in (None,) if idx.every_on_ground else (idx.seg_ground, None):
            si, d, t = nearest_segments(idx.grid, px, py, max_dist=max_dist_m, eligible=only)
            s = int(si[0])
            if s < 0:
                continue
            # _nearest_on for one segment, in float64 scalars (the same operations)
            g, tt = idx.grid, t[0]
            ax, ay = g.ax[s], g.ay[s]
            dx, dy = g.bx[s] - ax, g.by[s] - ay
            e = idx.seg_edge[s]
            glen = idx.edge_geom_len[e]
            along = idx.seg_start_m[s] + tt * np.hypot(dx, dy)
            f = min(max(float(along / glen), 0.0), 1.0) if glen > 0 else 0.0
            return Snapped(edge=np.array([e], dtype=np.int64), frac=np.array([f]), dist_m=d,
                           x=np.array([ax + tt * dx]), y=np.array([ay + tt * dy]),
                           px=px, py=py, lon=lo, lat=la)
    nan = np.full(1, np.nan)
    return Snapped(edge=np.full(1, -1, dtype=np.int64), frac=nan, dist_m=np.full(1, np.inf),
                   x=nan.copy(), y=nan.copy(), px=px, py=py, lon=lo, lat=la)


def snap_xy(
    net: RoadNetwork,
    px: NDArray[np.float64],
    py: NDArray[np.float64],
    *,
    lon: NDArray[np.float64] | None = None,
    lat: NDArray[np.float64] | None = None,
    max_dist_m: float | None = None,
    min_component_nodes: int | None = None,
) -> Snapped:
    """Snap projected points (metres in ``net.crs``) to the nearest edge.

    See :func:`snap_points` for the parameters and the result.
    """
    px = np.atleast_1d(np.asarray(px, dtype=np.float64))
    py = np.atleast_1d(np.asarray(py, dtype=np.float64))
    m = len(px)
    if lon is None or lat is None:
        lon, lat = net.transformer_inverse.transform(px, py)
        lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    edge = np.full(m, -1, dtype=np.int64)
    frac = np.full(m, np.nan)
    dist = np.full(m, np.inf)
    sx = np.full(m, np.nan)
    sy = np.full(m, np.nan)
    idx = edge_index(net, min_component_nodes)
    if m and len(idx.seg_edge):
        # ground edges first; points with none within the radius try every edge
        todo = np.arange(m)
        for only in (None,) if idx.every_on_ground else (idx.seg_ground, None):
            if not len(todo):
                break
            qi, e, f, d, x, y = _nearest_on(idx, px[todo], py[todo], max_dist_m, only)
            qi = todo[qi]
            edge[qi], frac[qi], dist[qi], sx[qi], sy[qi] = e, f, d, x, y
            todo = todo[edge[todo] < 0]
    return Snapped(edge=edge, frac=frac, dist_m=dist, x=sx, y=sy, px=px, py=py,
                   lon=np.asarray(lon, dtype=np.float64), lat=np.asarray(lat, dtype=np.float64))


def _nearest_on(
    idx: EdgeIndex, px: NDArray[np.float64], py: NDArray[np.float64], max_dist_m: float | None,
    eligible: NDArray[np.bool_] | None,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64],
           NDArray[np.float64], NDArray[np.float64]]:
    """Nearest indexed segment of each point within ``max_dist_m`` (None: unbounded).

    Only the segments ``eligible`` marks (None: all).  Returns
    ``(point, edge, frac, dist_m, x, y)`` of the points that found one.
    """
    si, d, t = nearest_segments(idx.grid, px, py, max_dist=max_dist_m, eligible=eligible)
    qi = np.flatnonzero(si >= 0)
    si, d, t = si[qi], d[qi], t[qi]
    g = idx.grid
    ax, ay = g.ax[si], g.ay[si]
    dx, dy = g.bx[si] - ax, g.by[si] - ay
    x = ax + t * dx
    y = ay + t * dy
    e = idx.seg_edge[si]
    glen = idx.edge_geom_len[e]
    along = idx.seg_start_m[si] + t * np.hypot(dx, dy)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(glen > 0, along / glen, 0.0)
    return qi.astype(np.int64), e, np.clip(f, 0.0, 1.0), d, x, y


def check_snapped(
    snapped: Snapped, max_dist_m: float, *, name: str = "lon`/`lat", mode: str = ""
) -> None:
    """Raise :class:`OutsideNetwork` if a point is farther than ``max_dist_m`` from the network.

    The message names the argument (``name``), the distance and the limit in
    whole metres, e.g. "`lon`/`lat`: point is 1,012 m from the nearest walk
    road; the limit is 1,000 m".  Distances are to the nearest road points
    may snap to (:func:`snappable_edges`).
    """
    far = ~(snapped.dist_m <= max_dist_m)
    if not far.any():
        return
    i = int(np.flatnonzero(far)[0])
    d = float(snapped.dist_m[i])
    road = f"{mode} road" if mode else "road"
    where = (f"is {_fmt_m(d)} from the nearest {road}; the limit is {_fmt_m(max_dist_m)}"
             if np.isfinite(d) else f"has no {road} within the limit of {_fmt_m(max_dist_m)}")
    count = int(far.sum())
    more = f" ({count} points)" if len(snapped) > 1 else ""
    msg = f"`{name}`: point{more} {where}"
    raise OutsideNetwork(msg, extensions={"distance_m": d if np.isfinite(d) else None,
                                          "limit_m": float(max_dist_m)})


def _fmt_m(d: float) -> str:
    """Whole metres with thousands separators (never rounded to km: 1,012 m is not 1 km).

    Examples
    --------
    >>> _fmt_m(250.4), _fmt_m(1000), _fmt_m(1012.3), _fmt_m(12500)
    ('250 m', '1,000 m', '1,012 m', '12,500 m')
    """
    return f"{d:,.0f} m"
