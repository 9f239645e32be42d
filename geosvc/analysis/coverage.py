"""Coverage of demand by venues within N minutes: shares, areas, gaps, catchments.

ONE multi-source pass of the router (:meth:`geosvc.routing.base.Router.pass_for`:
on roads every node's travel time TO the nearest venue within ``minutes``
(the pass stops there: nothing below needs a farther time), turned into each
demand point's time by :func:`~geosvc.network.paths.point_times`; on
straight lines the great-circle distance to the nearest venue at the
mode's speed) gives each demand point its time to, and identity of, its
nearest venue.  Then, exactly with respect to that pass:

* a demand point is **covered** iff its time <= ``minutes * 60`` (its own
  access leg to the street included); points farther than the snapping
  limit from every road are never covered;
* venues and demand snap by ONE rule: only to road components of at least
  ``min_component_nodes`` nodes (``Settings.min_component_nodes``; the
  engine's setting, or for a bare network the threshold the demand was
  built with), so a home beside a tiny clipped fragment is reached over
  the main network instead of showing as a gap;
* **by_area**: total and covered residents per area (plus one row
  ``area_id = None`` for demand outside every area, when there is any), so
  the rows add up to the totals; a share is 0 where there is nobody;
* **catchments**: each covered point belongs to the venue it reaches first;
  residents per venue add up to the covered total;
* **covered area** ("service circles", :meth:`SourcePass.reached`): on
  roads the street parts from which a venue is reached in time (fully and
  partly reached edges, the same construction as isochrones), buffered by
  ``buffer_m``; on straight lines the union of the circles of radius
  speed x minutes around the venues.  Computed on a
  square raster of ``cell_m`` (default ``buffer_m / 2.5``; coarser only
  when the extent would need more than 16 M cells): the buffer is a disk
  dilation of the rasterised pieces, the polygon its marching-squares
  outline, ``covered_area_km2`` the covered cells' area (planar, UTM;
  measured 2-8 % below the exact vector buffer of the same pieces);
* **gaps**: uncovered demand points, dilated by ``gap_radius_m`` on the same
  raster, minus the covered area; each connected group is one gap feature
  (Polygon / MultiPolygon, WGS-84) with its ``uncovered_population``,
  sorted largest first (ties by position);
* **no residents** (no population layer and no building estimate, or a
  layer that counts nobody): every population figure and share of the
  document is ``null`` (never a fake 0 %), and ``warnings`` holds
  ``{code: "no-population", message}`` saying how to get residents;
* **covered area share** (with or without residents): the share of the
  areas' km² inside the service circles, overall (the union of the
  areas) and per area (``covered_area_share``); covered cells of the
  raster whose centre lies in the area, over the area's planar km².  It
  measures land, not people: the labelled fallback when there are no
  residents.

Vectorised throughout; about 1-2 s for 2,000 venues on a 250k-node network.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from geosvc.analysis.demand import area_geometries
from geosvc.budget import UNLIMITED
from geosvc.coords import projection
from geosvc.errors import InvalidParameter
from geosvc.network.graph import RoadNetwork as _Net
from geosvc.network.paths import DEFAULT_WALK_SPEED_MPS, times_to_sources
from geosvc.network.snap import snap_points
from geosvc.routing import RoadPass, RoadRouter, Router, SourcePass, as_router
from geosvc.routing._geometry import Raster, to_lonlat
from geosvc.routing.road import default_buffer_m

if TYPE_CHECKING:
    from shapely import Geometry

    from geosvc.analysis.demand import DemandSet
    from geosvc.budget import Deadline
    from geosvc.model import Area
    from geosvc.network.graph import RoadNetwork
    from geosvc.network.nearest import TravelEngine

__all__ = ["NO_POPULATION", "CoverageResult", "area_rows", "catchment_rows", "compute_coverage",
           "gap_features", "population_warnings"]

#: Default radius that groups uncovered demand into gap polygons, metres.
DEFAULT_GAP_RADIUS_M = 100.0

#: Warning code of an answer without residents (population figures are null).
NO_POPULATION = "no-population"

_NO_POPULATION_FIX = (
    "import a population layer (geosvc import population FILE) or give an OSM extract "
    "(.osm.pbf or .osm) with residential buildings for the building estimate")


def population_warnings(cells: int, total: float) -> list[dict[str, str]]:
    """Return the ``warnings`` of an answer whose demand has ``cells`` points and ``total``.

    Empty when there are residents; else one ``{code: "no-population", message}``
    that says why the population figures are null and how to fix it.

    Examples
    --------
    >>> population_warnings(3, 10.0)
    []
    >>> population_warnings(0, 0.0)[0]["code"]
    'no-population'
    """
    if total > 0:
        return []
    why = ("the dataset has no residents (no population layer, and no building estimate)"
           if cells == 0 else "the population layer counts nobody (every count is 0)")
    msg = (f"{why}: population figures and shares are null; {_NO_POPULATION_FIX}. "
           "covered_area_share is the share of the areas' km² inside the service circles "
           "(land, not people).")
    return [{"code": NO_POPULATION, "message": msg}]


@dataclass(frozen=True, eq=False)
class CoverageResult:
    """Result of :func:`compute_coverage`; :meth:`to_dict` is the API document.

    Attributes
    ----------
    mode : str
    minutes : float
    total_population, covered_population : float
    covered_area_km2 : float
    venues_used : int
        Candidate venues that could be placed on the network.
    venues_off_network : int
        Candidate venues that could not be placed (too far from every road
        they may snap to): counted here, left out of the pass.
    by_area : list of dict
        ``{area_id, name, total_population, covered_population, covered_share,
        covered_area_share}`` (population members None without residents;
        ``covered_area_share`` None for the row outside every area).
    gaps : list of dict
        GeoJSON Features (WGS-84) with ``uncovered_population``, largest first.
    catchments : list of dict
        ``{venue, code, name, population, share}`` per venue reaching covered
        demand first, largest first; ``venue`` is the venue position (or the
        caller's id), ``share`` its part of the covered population.
    time_s : float64[M]
        Each demand point's time to its nearest venue (inf = unreachable).
        On roads the pass behind the figures stops at the limit; the first
        access to ``time_s`` or ``venue`` runs (or reuses) the uncut pass.
    venue : int64[M]
        Each demand point's nearest venue (position / id; -1 = none).
    off_network_population : float
        Residents too far from every road to be snapped (never covered).
    covered_area_share : float or None
        Share of the areas' km² (their union) inside the service circles;
        None without areas.
    warnings : tuple of dict
        ``{code, message}`` (see :func:`population_warnings`).
    """

    mode: str
    minutes: float
    total_population: float
    covered_population: float
    covered_area_km2: float
    venues_used: int
    by_area: list[dict[str, Any]]
    gaps: list[dict[str, Any]]
    catchments: list[dict[str, Any]]
    off_network_population: float
    covered_area_share: float | None = None
    venues_off_network: int = 0
    warnings: tuple[dict[str, str], ...] = ()
    timings_s: dict[str, float] = field(default_factory=dict)
    _raster: Raster | None = None
    _covered_mask: NDArray[np.bool_] | None = None
    _to_lonlat: Callable[[Geometry], Geometry] | None = None
    _nearest: Callable[[], tuple[NDArray[np.float64], NDArray[np.int64]]] | None = None

    @cached_property
    def _time_venue(self) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        if self._nearest is None:
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        return self._nearest()

    @property
    def time_s(self) -> NDArray[np.float64]:
        """Each demand point's time to its nearest venue, seconds (inf = unreachable)."""
        return self._time_venue[0]

    @property
    def venue(self) -> NDArray[np.int64]:
        """Each demand point's nearest venue (position / id; -1 = none)."""
        return self._time_venue[1]

    @property
    def covered_share(self) -> float:
        """Covered / total population (0 when nobody lives there; the document says null)."""
        return _share(self.covered_population, self.total_population)

    @property
    def has_population(self) -> bool:
        """Whether the demand counts anybody (else the document's population is null)."""
        return self.total_population > 0

    @cached_property
    def covered_geometry(self) -> Geometry:
        """The service-circle polygon (WGS-84, holes kept); built on first use."""
        import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it

        if self._raster is None or self._covered_mask is None or self._to_lonlat is None:
            return shapely.MultiPolygon()
        polys = self._raster.polygons(self._covered_mask)
        if not polys:
            return shapely.MultiPolygon()
        return self._to_lonlat(shapely.MultiPolygon(polys) if len(polys) > 1 else polys[0])

    def gaps_geojson(self) -> dict[str, Any]:
        """Return the gaps as a FeatureCollection (``numberMatched`` / ``numberReturned``)."""
        return {"type": "FeatureCollection", "features": list(self.gaps),
                "numberMatched": len(self.gaps), "numberReturned": len(self.gaps)}

    def to_dict(self, *, catchments: bool = True) -> dict[str, Any]:
        """Return the docs/api.md ``/api/v1/coverage`` document.

        Plus ``catchments`` (unless False), ``off_network_population`` and
        ``venues_off_network``.
        Without residents (:attr:`has_population` False) every population
        figure and share is None, and ``warnings`` says why.
        """
        known = self.has_population
        out: dict[str, Any] = {
            "mode": self.mode,
            "minutes": _num(self.minutes),
            "total_population": _round(self.total_population) if known else None,
            "covered_population": _round(self.covered_population) if known else None,
            "covered_share": round(self.covered_share, 4) if known else None,
            "covered_area_km2": round(self.covered_area_km2, 4),
            "covered_area_share": (None if self.covered_area_share is None
                                   else round(self.covered_area_share, 4)),
            "venues_used": int(self.venues_used),
            "venues_off_network": int(self.venues_off_network),
            "by_area": [dict(r) for r in self.by_area],
            "gaps": self.gaps_geojson(),
            "off_network_population": _round(self.off_network_population) if known else None,
            "warnings": [dict(w) for w in self.warnings],
        }
        if catchments:
            out["catchments"] = [dict(c) for c in self.catchments]
        return out


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else float(v)


def _round(v: float) -> float:
    return round(float(v), 1)


def _share(part: float, whole: float) -> float:
    return float(part) / float(whole) if whole > 0 else 0.0


def _check_minutes(minutes: float) -> float:
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float, np.number)) or \
            not (math.isfinite(minutes) and 0 < minutes <= 240):
        msg = f"must be a number of minutes > 0 and <= 240, not {minutes!r}"
        raise InvalidParameter("minutes", msg)
    return float(minutes)


def _check_m(name: str, value: float | None) -> None:
    if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value)
                                  and value > 0):
        raise InvalidParameter(name, f"must be a number of metres > 0, not {value!r}")


def _same_rule(a: int | None, b: int | None) -> bool:
    """Tell whether two snapping thresholds mean the same (0 and 1 are both "any edge")."""
    return a is None or b is None or max(int(a), 1) == max(int(b), 1)


def _bare_pass(net: RoadNetwork, candidates: ArrayLike | None,
               venues: tuple[ArrayLike, ArrayLike] | None, walk_speed_mps: float | None,
               min_component_nodes: int | None, demand: DemandSet,
               cutoff_s: float) -> tuple[RoadPass, Callable[[], SourcePass]]:
    """Snap ``venues`` to a bare network and run their pass cut at ``cutoff_s``.

    Returns the pass and a function running the uncut one.
    """
    w = DEFAULT_WALK_SPEED_MPS if walk_speed_mps is None else float(walk_speed_mps)
    if venues is None:
        msg = "must give the venues' (lon, lat) arrays when a bare network is passed"
        raise InvalidParameter("venues", msg)
    lon = np.atleast_1d(np.asarray(venues[0], dtype=np.float64))
    lat = np.atleast_1d(np.asarray(venues[1], dtype=np.float64))
    ids = np.arange(len(lon), dtype=np.int64)
    if candidates is not None:
        c = np.asarray(candidates)
        ids = np.flatnonzero(c) if c.dtype == bool else c.astype(np.int64).ravel()
        if len(ids) and (ids.min() < 0 or ids.max() >= len(lon)):
            msg = f"must be venue positions 0..{len(lon) - 1}"
            raise InvalidParameter("candidates", msg)
    mcn = min_component_nodes if min_component_nodes is not None \
        else demand.min_component_nodes
    snapped = snap_points(net, lon[ids], lat[ids], max_dist_m=1000.0,
                          min_component_nodes=mcn)
    nt = times_to_sources(net, snapped, cutoff_s=cutoff_s, walk_speed_mps=w, source_ids=ids)

    def uncut() -> SourcePass:
        full = times_to_sources(net, snapped, walk_speed_mps=w, source_ids=ids)
        return RoadPass(net, full, w)

    return RoadPass(net, nt, w), uncut


def _router_pass(router: Router, candidates: ArrayLike | None, key: Hashable | None,
                 walk_speed_mps: float | None, min_component_nodes: int | None,
                 cutoff_s: float) -> tuple[SourcePass, Callable[[], SourcePass]]:
    """Return the router's (cached) pass, refusing settings that contradict the router.

    A road router's pass is cut at ``cutoff_s`` (cached apart from the uncut
    one); also returns a function giving the uncut pass.
    """
    settings = getattr(router, "settings", None)
    rule = getattr(settings, "min_component_nodes", None)
    if rule is not None and not _same_rule(min_component_nodes, rule):
        msg = (f"must be the engine's setting ({rule}) when an engine is passed, "
               f"not {min_component_nodes!r}")
        raise InvalidParameter("min_component_nodes", msg)
    if walk_speed_mps is not None and not math.isclose(float(walk_speed_mps),
                                                       router.speed_mps):
        msg = (f"must be the router's speed ({router.speed_mps:g} m/s) when a router is "
               f"passed, not {walk_speed_mps!r}")
        raise InvalidParameter("walk_speed_mps", msg)
    def uncut() -> SourcePass:
        return router.pass_for(candidates, key)

    if isinstance(router, RoadRouter):
        return router.pass_for(candidates, key, cutoff_s=cutoff_s), uncut
    npass = uncut()
    return npass, lambda: npass


def compute_coverage(
    engine_or_net: Router | TravelEngine | RoadNetwork,
    demand: DemandSet,
    *,
    candidates: ArrayLike | None = None,
    minutes: float = 10.0,
    key: Hashable | None = None,
    venues: tuple[ArrayLike, ArrayLike] | None = None,
    venue_labels: Sequence[tuple[str, str]] | None = None,
    walk_speed_mps: float | None = None,
    buffer_m: float | None = None,
    cell_m: float | None = None,
    gap_radius_m: float = DEFAULT_GAP_RADIUS_M,
    progress: Callable[[str], None] | None = None,
    min_component_nodes: int | None = None,
    deadline: Deadline = UNLIMITED,
) -> CoverageResult:
    """Compute the coverage of ``demand`` by ``candidates`` within ``minutes`` (see module).

    Parameters
    ----------
    engine_or_net : Router, TravelEngine or RoadNetwork
        A router (:mod:`geosvc.routing`: road or straight line; its pass is
        used, cached by road routers), a :class:`TravelEngine` (wrapped as a
        road router), or a bare network plus ``venues``.
    demand : DemandSet
        Placed by the same router / built for the same network
        (:func:`~geosvc.analysis.demand.build_demand`,
        :func:`~geosvc.analysis.demand.build_point_demand`).
    candidates : int array, bool mask, VenueFilter or None
        Venue positions to count (None = all venues; empty = none); a
        filter needs a router built over the snapshot's index.
    minutes : float
        The service-circle limit, minutes (> 0, <= 240).
    key : hashable, optional
        Cache key of the candidate set in the engine's pass LRU.
    venues : (lon array, lat array), optional
        Venue coordinates (WGS-84) when ``engine_or_net`` is a network.
    venue_labels : sequence of (code, name), optional
        Per venue position, for the catchment rows.
    walk_speed_mps : float, optional
        Bare network: access-leg speed, m/s (default 4.5 km/h).  With a
        router it must be None or the router's speed.
    buffer_m : float, optional
        Buffer of reached streets, metres (default the mode's,
        :mod:`geosvc.modes`: walk 30, bike 40, drive 50).
    cell_m : float, optional
        Raster cell, metres (default ``buffer_m / 2.5`` on roads; ``radius /
        40`` for straight lines).
    gap_radius_m : float
        Radius grouping uncovered demand into gap polygons, metres.
    progress : callable(str), optional
        Called with the name of each step (for a progress bar).
    min_component_nodes : int, optional
        Bare network only: venues snap to road components of at least this
        many nodes (0 or 1 = any edge); None = the threshold ``demand`` was
        built with, so venues and demand follow one rule.  With an engine
        its ``settings.min_component_nodes`` is used (a different value is
        refused); build ``demand`` with that setting too.
    deadline : Deadline, optional
        Checked before each phase after the pass (demand, area, gaps): a
        phase is not started once it has passed (:mod:`geosvc.budget`).

    Returns
    -------
    CoverageResult

    Raises
    ------
    InvalidParameter
        Bad ``minutes`` / ``candidates`` / distances /
        ``min_component_nodes``, or a demand set built for another network
        (``demand``).
    BudgetExceeded
        ``deadline`` passed between two phases.

    Examples
    --------
    >>> from geosvc.network.synthetic import grid_network
    >>> from geosvc.analysis.demand import build_demand
    >>> from geosvc.model import PopulationCell
    >>> net = grid_network(5, 5)              # 100 m blocks, 80 s each on foot
    >>> cells = [PopulationCell(float(net.node_lon[i]), float(net.node_lat[i]), 10.0)
    ...          for i in (0, 12, 24)]
    >>> ds = build_demand(net, cells)
    >>> res = compute_coverage(net, ds, venues=([net.node_lon[12]], [net.node_lat[12]]),
    ...                        minutes=3)     # 180 s: two blocks from the centre
    >>> res.covered_population, res.total_population, len(res.gaps)
    (10.0, 30.0, 2)
    """
    step = progress or (lambda _s: None)
    minutes = _check_minutes(minutes)
    for name, val in (("buffer_m", buffer_m), ("cell_m", cell_m),
                      ("gap_radius_m", gap_radius_m)):
        _check_m(name, val)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    step("pass")
    # every figure needs only the times up to the limit: the pass stops there
    limit = minutes * 60.0
    npass: SourcePass
    if isinstance(engine_or_net, _Net):
        net = engine_or_net
        npass, uncut = _bare_pass(net, candidates, venues, walk_speed_mps,
                                  min_component_nodes, demand, limit)
        mode, crs = net.mode, net.crs

        def back(geom: Geometry) -> Geometry:
            return to_lonlat(net, geom)
    else:
        router = as_router(engine_or_net)
        npass, uncut = _router_pass(router, candidates, key, walk_speed_mps,
                                    min_component_nodes, limit)
        mode, crs, back = router.mode, router.crs, router.to_lonlat
    if demand.crs != crs:
        msg = "was built for another network; build it with this network"
        raise InvalidParameter("demand", msg)
    timings["pass"] = time.perf_counter() - t0
    deadline.check("pass")
    buffer_m = float(buffer_m if buffer_m is not None else default_buffer_m(mode))

    t0 = time.perf_counter()
    step("demand")
    time_s, src = npass.times_at(demand.snapped)
    covered = (time_s <= limit) & (src >= 0)
    venue = np.full(len(demand), -1, dtype=np.int64)
    venue[src >= 0] = npass.source_ids[src[src >= 0]]
    count = demand.count
    total = float(count.sum())
    covered_pop = float(count[covered].sum())
    by_area = area_rows(demand, covered, known=total > 0)
    catchments = catchment_rows(venue, covered, count, covered_pop, venue_labels)
    timings["demand"] = time.perf_counter() - t0
    deadline.check("demand")

    t0 = time.perf_counter()
    step("area")
    raster, covered_mask = npass.reached(limit, around_x=demand.x, around_y=demand.y,
                                         buffer_m=buffer_m, cell_m=cell_m,
                                         pad_m=gap_radius_m)
    per_area, area_share = _area_shares(demand.areas, crs, raster, covered_mask)
    for row, share in zip(by_area, per_area, strict=False):
        row["covered_area_share"] = share
    for row in by_area[len(per_area):]:
        row["covered_area_share"] = None  # the row outside every area
    timings["area"] = time.perf_counter() - t0
    deadline.check("area")

    t0 = time.perf_counter()
    step("gaps")
    gaps = gap_features(back, raster, covered_mask, demand, ~covered, gap_radius_m)
    timings["gaps"] = time.perf_counter() - t0
    return CoverageResult(
        mode=mode, minutes=minutes, total_population=total,
        covered_population=covered_pop, covered_area_km2=raster.area_m2(covered_mask) / 1e6,
        venues_used=npass.sources_placed, by_area=by_area, gaps=gaps,
        venues_off_network=len(npass.source_ids) - npass.sources_placed,
        catchments=catchments,
        off_network_population=float(count[~demand.snapped.ok].sum()),
        covered_area_share=area_share,
        warnings=tuple(population_warnings(len(demand), total)),
        timings_s={k: round(v, 4) for k, v in timings.items()},
        _raster=raster, _covered_mask=covered_mask, _to_lonlat=back,
        _nearest=(_nearest_of(uncut, demand) if _is_cut(npass) else lambda: (time_s, venue)),
    )


def _is_cut(npass: SourcePass) -> bool:
    """Tell whether a pass stops short of some nodes (a road pass with a finite cutoff)."""
    return isinstance(npass, RoadPass) and bool(np.isfinite(npass.nt.cutoff_s))


def _nearest_of(uncut: Callable[[], SourcePass], demand: DemandSet,
                ) -> Callable[[], tuple[NDArray[np.float64], NDArray[np.int64]]]:
    """Return a function giving each demand point's time to, and id of, its nearest venue."""
    def nearest() -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        npass = uncut()
        time_s, src = npass.times_at(demand.snapped)
        venue = np.full(len(demand), -1, dtype=np.int64)
        venue[src >= 0] = npass.source_ids[src[src >= 0]]
        return time_s, venue

    return nearest


def area_rows(demand: DemandSet, covered: NDArray[np.bool_], *,
              known: bool = True) -> list[dict[str, Any]]:
    """Per-area residents (population members None when the demand counts nobody).

    ``covered`` marks the demand points covered; the merge of a partitioned run
    (:mod:`geosvc.distributed.province`) builds its table with this too.
    """
    n = len(demand.areas)
    idx = np.where(demand.area >= 0, demand.area, n)
    tot = np.bincount(idx, weights=demand.count, minlength=n + 1)
    cov = np.bincount(idx[covered], weights=demand.count[covered], minlength=n + 1)

    def row(code: str | None, name: str, i: int) -> dict[str, Any]:
        if not known:
            return {"area_id": code, "name": name, "total_population": None,
                    "covered_population": None, "covered_share": None}
        return {"area_id": code, "name": name, "total_population": _round(tot[i]),
                "covered_population": _round(cov[i]),
                "covered_share": round(_share(cov[i], tot[i]), 4)}

    rows = [row(a.code, a.name, i) for i, a in enumerate(demand.areas)]
    if (idx == n).any():
        rows.append(row(None, "outside every area", n))
    return rows


def _area_shares(areas: Sequence[Area], crs: str, raster: Raster,
                 mask: NDArray[np.bool_]) -> tuple[list[float | None], float | None]:
    """Return each area's share of km² inside the covered cells, and the union's.

    A covered cell counts for an area when its centre lies inside the area
    (projected to ``crs``); the share is the covered cells' area over the
    area's planar area, capped at 1.  None for an empty area, and overall
    None without areas.
    """
    import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it

    if not areas:
        return [], None
    fwd = projection(crs).forward
    rows, cols = np.nonzero(mask)
    cx = raster.x0 + (cols + 0.5) * raster.cell
    cy = raster.y0 + (rows + 0.5) * raster.cell
    cell_m2 = raster.cell * raster.cell
    geoms = [shapely.transform(g, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))
             for g in area_geometries(areas)]

    def share(g: Geometry) -> float | None:
        area = float(g.area)
        if not area > 0:
            return None
        x0, y0, x1, y1 = g.bounds
        sel = np.flatnonzero((cx >= x0) & (cx <= x1) & (cy >= y0) & (cy <= y1))
        inside = int(shapely.contains_xy(g, cx[sel], cy[sel]).sum()) if len(sel) else 0
        return round(min(1.0, inside * cell_m2 / area), 4)

    return [share(g) for g in geoms], share(shapely.union_all(geoms))


def catchment_rows(venue: NDArray[np.int64], covered: NDArray[np.bool_],
                   count: NDArray[np.float64],
                   covered_pop: float, labels: Sequence[tuple[str, str]] | None,
                   ) -> list[dict[str, Any]]:
    """Residents per venue reached first (``venue`` per demand point), largest first."""
    v = venue[covered]
    if not len(v):
        return []
    ids, inv = np.unique(v, return_inverse=True)
    pop = np.bincount(inv, weights=count[covered], minlength=len(ids))
    order = np.lexsort((ids, -pop))
    rows = []
    for i in order:
        pos = int(ids[i])
        code, name = (labels[pos] if labels is not None and 0 <= pos < len(labels)
                      else (None, None))
        rows.append({"venue": pos, "code": code, "name": name, "population": _round(pop[i]),
                     "share": round(_share(pop[i], covered_pop), 4)})
    return rows


def gap_features(back: Callable[[Geometry], Geometry], raster: Raster,
          covered_mask: NDArray[np.bool_], demand: DemandSet,
          uncovered: NDArray[np.bool_], radius_m: float) -> list[dict[str, Any]]:
    """Gap features: uncovered demand grouped by ``radius_m``, minus the covered area.

    Only the covered cells within ``radius_m`` (plus two coarse cells) of an
    uncovered point matter; the partitioned run
    (:mod:`geosvc.distributed.province`) relies on it.
    """
    import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it
    from scipy import ndimage  # lazy: scipy takes ~0.2 s to import; only this path needs it

    sel = np.flatnonzero(uncovered & (demand.count > 0))
    if not len(sel):
        return []
    # gaps live on a coarser grid (cell ~ radius / 2): fewer cells to outline
    factor = max(1, int(round(radius_m / 2 / raster.cell)))
    grid, covered_c = raster.coarsen(covered_mask, factor)
    seeds = grid.mark_points(demand.x[sel], demand.y[sel])
    region = grid.dilate(seeds, radius_m, points=True)
    labels, n = ndimage.label(region)
    r, c = grid.index(demand.x[sel], demand.y[sel])
    lab = labels[r, c]
    pop = np.bincount(lab, weights=demand.count[sel], minlength=n + 1)
    polys = grid.polygons(region & ~covered_c)
    # assign each polygon to its component through a cell inside it
    groups: dict[int, list] = {}
    for p in polys:
        q = p.representative_point()
        rr, cc = grid.index(np.array([q.x]), np.array([q.y]))
        k = int(labels[rr[0], cc[0]])
        if k:
            groups.setdefault(k, []).append(p)
    boxes = ndimage.find_objects(labels)
    feats = []
    for k in range(1, n + 1):
        if pop[k] <= 0:
            continue
        parts = groups.get(k)
        if not parts:  # wholly inside the covered area: show the group itself
            rs, cs = boxes[k - 1]
            sub = Raster(grid.x0 + cs.start * grid.cell, grid.y0 + rs.start * grid.cell,
                         grid.cell, cs.stop - cs.start, rs.stop - rs.start)
            parts = sub.polygons(labels[rs, cs] == k)
        geom = parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
        geom_ll = back(geom)
        feats.append((float(pop[k]), k, {
            "type": "Feature",
            "geometry": shapely.geometry.mapping(geom_ll),
            "properties": {"uncovered_population": _round(pop[k]),
                           "area_km2": round(float(geom.area) / 1e6, 4),
                           "points": int((lab == k).sum())},
        }))
    feats.sort(key=lambda f: (-f[0], f[1]))
    out = []
    for rank, (_, _, f) in enumerate(feats, start=1):
        f["id"] = f"gap-{rank}"
        f["properties"]["rank"] = rank
        out.append(f)
    return out
