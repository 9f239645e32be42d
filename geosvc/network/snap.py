"""Snap points to the nearest road EDGE (not node) of a network.

The index is a shapely ``STRtree`` over the straight segments of the edge
polylines in the network's projected CRS, built once per network and
component threshold (cached on the network object).  Of two twin edges (the
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

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from geosvc.config import Settings
from geosvc.errors import InvalidParameter, OutsideNetwork
from geosvc.network.graph import GROUND

if TYPE_CHECKING:
    import shapely

    from geosvc.network.graph import RoadNetwork

__all__ = [
    "EdgeIndex",
    "Snapped",
    "check_snapped",
    "default_min_component_nodes",
    "edge_index",
    "snappable_edges",
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
    """STRtree over the straight segments of the network's edge polylines."""

    tree: shapely.STRtree
    seg_edge: NDArray[np.int64]  # edge of each segment
    seg_ax: NDArray[np.float64]
    seg_ay: NDArray[np.float64]
    seg_bx: NDArray[np.float64]
    seg_by: NDArray[np.float64]
    seg_start_m: NDArray[np.float64]  # polyline length before the segment
    edge_geom_len: NDArray[np.float64]  # projected polyline length per edge


def default_min_component_nodes() -> int:
    """Return the default of ``Settings.min_component_nodes`` (used for None).

    Examples
    --------
    >>> default_min_component_nodes()
    50
    """
    return Settings().min_component_nodes


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


def edge_index(net: RoadNetwork, min_component_nodes: int | None = None, *,
               ground_only: bool = False) -> EdgeIndex:
    """Return the (cached) segment index of ``net``'s snappable edges; built on first use.

    With ``ground_only``, only the snappable edges on the ground
    (:attr:`RoadNetwork.edge_layer` 0).  One index per distinct threshold and
    flag, cached on the network (vectorised build; see :func:`snappable_edges`
    for ``min_component_nodes``).
    """
    t = _threshold(min_component_nodes)
    cache = net.__dict__.get("_edge_index")
    if not isinstance(cache, dict):
        cache = {}
        net.__dict__["_edge_index"] = cache
    idx = cache.get((t, ground_only))
    if idx is None:
        ok = snappable_edges(net, t)
        on_ground = ok & (net.edge_layer == GROUND)
        if ground_only and (on_ground == ok).all():
            idx = edge_index(net, t)  # every snappable edge is on the ground: one index
        else:
            idx = _build_edge_index(net, on_ground if ground_only else ok)
        cache[(t, ground_only)] = idx
    return idx


def _build_edge_index(net: RoadNetwork, eligible: NDArray[np.bool_]) -> EdgeIndex:
    import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it

    off = net.geom_offsets
    nverts = np.diff(off)
    gx, gy = net.geom_x, net.geom_y
    # segment k joins vertex k and k+1, except across edge boundaries
    seg_ok = np.ones(max(len(gx) - 1, 0), dtype=bool)
    ends = off[1:-1] - 1
    seg_ok[ends[(ends >= 0) & (ends < len(seg_ok))]] = False
    seg_edge_all = (
        np.repeat(np.arange(net.n_edges, dtype=np.int64), nverts)[:-1]
        if len(gx)
        else np.zeros(0, np.int64)
    )
    dx = np.diff(gx)
    dy = np.diff(gy)
    seg_len_all = np.hypot(dx, dy)
    seg_len_all = np.where(seg_ok, seg_len_all, 0.0)
    cum = np.concatenate([[0.0], np.cumsum(seg_len_all)])
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
    ax, ay, bx, by = gx[sel], gy[sel], gx[sel + 1], gy[sel + 1]
    coords = np.stack([np.stack([ax, ay], axis=1), np.stack([bx, by], axis=1)], axis=1)
    lines = shapely.linestrings(coords) if len(sel) else np.empty(0, dtype=object)
    tree = shapely.STRtree(lines)
    return EdgeIndex(
        tree=tree,
        seg_edge=seg_edge_all[sel],
        seg_ax=ax,
        seg_ay=ay,
        seg_bx=bx,
        seg_by=by,
        seg_start_m=seg_start_all[sel],
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
    if m:
        # ground edges first; points with none within the radius try every edge
        t = _threshold(min_component_nodes)
        ground = edge_index(net, t, ground_only=True)
        every = edge_index(net, t)
        todo = np.arange(m)
        for idx in (every,) if ground is every else (ground, every):
            if not len(todo) or not len(idx.seg_edge):
                continue
            qi, e, f, d, x, y = _nearest_on(idx, px[todo], py[todo], max_dist_m)
            qi = todo[qi]
            edge[qi], frac[qi], dist[qi], sx[qi], sy[qi] = e, f, d, x, y
            todo = todo[edge[todo] < 0]
    return Snapped(edge=edge, frac=frac, dist_m=dist, x=sx, y=sy, px=px, py=py,
                   lon=np.asarray(lon, dtype=np.float64), lat=np.asarray(lat, dtype=np.float64))


def _nearest_on(
    idx: EdgeIndex, px: NDArray[np.float64], py: NDArray[np.float64], max_dist_m: float | None
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64],
           NDArray[np.float64], NDArray[np.float64]]:
    """Nearest indexed segment of each point within ``max_dist_m`` (None: unbounded).

    Returns ``(point, edge, frac, dist_m, x, y)`` of the points that found one.
    """
    import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it

    pts = shapely.points(px, py)
    kw = {} if max_dist_m is None else {"max_distance": float(max_dist_m)}
    qi, si = idx.tree.query_nearest(pts, all_matches=False, **kw)
    ax, ay = idx.seg_ax[si], idx.seg_ay[si]
    dx, dy = idx.seg_bx[si] - ax, idx.seg_by[si] - ay
    seg_len2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = ((px[qi] - ax) * dx + (py[qi] - ay) * dy) / seg_len2
    t = np.clip(np.nan_to_num(t, nan=0.0), 0.0, 1.0)
    x = ax + t * dx
    y = ay + t * dy
    e = idx.seg_edge[si]
    glen = idx.edge_geom_len[e]
    along = idx.seg_start_m[si] + t * np.sqrt(seg_len2)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(glen > 0, along / glen, 0.0)
    return (qi.astype(np.int64), e, np.clip(f, 0.0, 1.0), np.hypot(px[qi] - x, py[qi] - y),
            x, y)


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
