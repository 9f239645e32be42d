"""Use cases of the travel queries: nearest venues, isochrones, coverage, site plans.

Each use case takes the service, the snapshot a request holds and a typed,
already validated request (a frozen dataclass), asks the mode's router
(:meth:`geosvc.app.service.GeoService.travel`, typed as
:class:`~geosvc.routing.base.Router`) and returns a typed result.  The
framework-free handlers of :mod:`geosvc.api` parse query strings into these
requests and serialise the results; the CLI, batch jobs and page builders
can call the same functions.

Modes come from the registry (:mod:`geosvc.modes`).  A mode whose answers
carry travel times (``open_on_arrival``: walk, bike, drive) ranks venues by
time and checks ``open_at`` on arrival; ``straight`` ranks by great-circle
distance and checks opening at departure.  Every result of a straight-line
mode says so (:attr:`IsochronesResult.straight_line` ...): the speed used
and the registry's note.

The heavy use cases (:func:`find_isochrones`, :func:`measure_coverage`,
:func:`plan_new_sites`) take a ``deadline`` (:class:`geosvc.budget.Deadline`):
the API handlers pass one of ``analysis_budget_s``, the CLI none
(:data:`~geosvc.budget.UNLIMITED`).  Beyond it they raise
:class:`~geosvc.errors.BudgetExceeded` and the analysis stops.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from geosvc.analysis.coverage import compute_coverage, population_warnings
from geosvc.analysis.isochrone import isochrones
from geosvc.analysis.planning import build_candidates, plan_sites
from geosvc.analysis.planning.plan import admit_plan
from geosvc.budget import UNLIMITED
from geosvc.model import VenueFilter
from geosvc.modes import get_mode

if TYPE_CHECKING:
    from collections.abc import Hashable

    from geosvc.analysis.coverage import CoverageResult
    from geosvc.analysis.isochrone import Isochrone
    from geosvc.analysis.planning import PlanResult
    from geosvc.app.service import GeoService, Snapshot
    from geosvc.budget import Deadline
    from geosvc.config import Settings
    from geosvc.routing.base import Router

__all__ = [
    "CoverageRequest",
    "CoverageResultSet",
    "IsochronesRequest",
    "IsochronesResult",
    "NearestRequest",
    "NearestResult",
    "NearestVenue",
    "EMPTY_REASONS",
    "ISOCHRONE_NODE_BANDS_PER_S",
    "Opening",
    "PlanRequest",
    "PlanResultSet",
    "StraightLine",
    "find_nearest",
    "find_isochrones",
    "isochrone_estimate",
    "measure_coverage",
    "plan_new_sites",
]


# --------------------------------------------------------------------------- shared


@dataclass(frozen=True, slots=True)
class StraightLine:
    """How a straight-line answer was measured (added to its JSON as ``straight_line``).

    Attributes
    ----------
    speed_kph : float
        Speed along the great circle, km/h.
    note : str
        The registry's one-line explanation.
    """

    speed_kph: float
    note: str

    def to_dict(self) -> dict[str, Any]:
        """``{"speed_kph", "note"}``."""
        return {"speed_kph": self.speed_kph, "note": self.note}


def straight_line(settings: Settings, mode: str) -> StraightLine | None:
    """Return the :class:`StraightLine` label of ``mode`` under ``settings`` (None on roads)."""
    spec = get_mode(mode)
    if spec.needs_network:
        return None
    return StraightLine(speed_kph=spec.speed_kph(settings), note=spec.note)


# --------------------------------------------------------------------------- nearest


@dataclass(frozen=True, slots=True)
class NearestRequest:
    """The ``k`` best venues from a point.

    Attributes
    ----------
    lon, lat : float
        WGS-84 degrees.
    at : datetime
        Departure time (aware): opening is evaluated at arrival (timed
        modes) or at departure (straight).
    mode : str
        A mode of :mod:`geosvc.modes`.
    k : int
    filter : VenueFilter
        ``open_at`` set = only venues open then (on arrival for timed modes).
    max_minutes : float, optional
        Only venues reached within this many minutes (straight: within
        ``speed x max_minutes``).
    route : bool
        Add each trip's polyline.
    """

    lon: float
    lat: float
    at: datetime
    mode: str = "straight"
    k: int = 5
    filter: VenueFilter = field(default_factory=VenueFilter)
    max_minutes: float | None = None
    route: bool = False


@dataclass(frozen=True, slots=True)
class Opening:
    """Opening state of a venue at an instant: open, next opening, closing (aware times)."""

    open: bool | None
    next_open: datetime | None
    closes_at: datetime | None


@dataclass(frozen=True, slots=True)
class NearestVenue:
    """One ranked venue of :func:`find_nearest`.

    ``travel_time_s`` and ``arrives_at`` are None for modes that rank by
    distance (straight); ``opening`` is then at departure, else at arrival.
    """

    pos: int
    rank: int
    distance_m: float
    travel_time_s: float | None
    arrives_at: datetime | None
    opening: Opening
    route_lonlat: tuple[tuple[float, float], ...] | None = None


#: Why a nearest answer holds no venue (:attr:`NearestResult.empty_reason`), in the
#: order they are checked.
EMPTY_REASONS: tuple[str, ...] = (
    "no_venue_offers_item",  # the filters name items and no venue matches them all
    "no_venue_matches",  # no venue matches the other filters
    "unreachable",  # venues match, none can be reached from the point
    "beyond_max_minutes",  # the quickest reachable one takes longer than `max_minutes`
    "closed",  # matching venues are reached in time, none is open (on arrival)
)


@dataclass(frozen=True, slots=True)
class NearestResult:
    """The ranked venues of a :class:`NearestRequest`.

    ``empty_reason`` is set exactly when ``venues`` is empty: one of
    :data:`EMPTY_REASONS`.
    """

    request: NearestRequest
    venues: tuple[NearestVenue, ...]
    empty_reason: str | None = None


def _opening(snap: Snapshot, pos: int, at: datetime,
             memo: dict[tuple[int, datetime], Opening]) -> Opening:
    """Return the opening of venue ``pos`` at ``at`` (memoised per schedule and instant)."""
    schedule = snap.index.schedule(pos)
    key = (id(schedule), at)
    hit = memo.get(key)
    if hit is not None:
        return hit
    if not schedule.known:
        out = Opening(None, None, None)
    else:
        is_open, change = schedule.state(at)
        # next_open is `at` itself when open; `change` is then when it closes
        out = Opening(True, at, change) if is_open else Opening(False, change, None)
    memo[key] = out
    return out


def find_nearest(service: GeoService, snap: Snapshot, request: NearestRequest) -> NearestResult:
    """Rank the venues quickest (or nearest, for straight lines) to reach from a point.

    Raises
    ------
    ModeUnavailable
        A mode that needs a road network without one loaded.
    OutsideNetwork
        The point is farther than the snapping limit from the network.
    """
    spec = get_mode(request.mode)
    router = service.travel(request.mode, snap)
    flt = request.filter
    depart = request.at
    memo: dict[tuple[int, datetime], Opening] = {}
    out: list[NearestVenue] = []
    if not spec.open_on_arrival:
        hits = router.nearest(request.lon, request.lat, candidates=flt, k=request.k,
                              max_minutes=request.max_minutes, route=request.route)
        for rank, hit in enumerate(hits, 1):
            out.append(NearestVenue(
                pos=hit.pos, rank=rank, distance_m=float(hit.distance_m), travel_time_s=None,
                arrives_at=None, opening=_opening(snap, hit.pos, depart, memo),
                route_lonlat=_route(hit.route_lonlat)))
        return _nearest_result(snap, router, request, out, key=None)
    index = snap.index
    static = flt.without_time()
    accept = None
    if flt.open_at is not None:
        margin = service.settings.open_margin_min

        def accept(pos: int, time_s: float) -> bool:
            return index.schedule(pos).open_for(depart + timedelta(seconds=time_s), margin)

    key = static.cache_key()
    hits = router.nearest(request.lon, request.lat, candidates=static, k=request.k,
                          key=key, max_minutes=request.max_minutes,
                          accept=accept, route=request.route)
    for rank, hit in enumerate(hits, 1):
        arrival = depart + timedelta(seconds=float(hit.time_s))
        out.append(NearestVenue(
            pos=hit.pos, rank=rank, distance_m=float(hit.distance_m),
            travel_time_s=float(hit.time_s), arrives_at=arrival,
            opening=_opening(snap, hit.pos, arrival, memo),
            route_lonlat=_route(hit.route_lonlat)))
    return _nearest_result(snap, router, request, out, key=key)


def _nearest_result(snap: Snapshot, router: Router, request: NearestRequest,
                    out: list[NearestVenue], *, key: Hashable | None) -> NearestResult:
    """Return the result of ``out``, with :func:`empty_reason` when it is empty."""
    if out:
        return NearestResult(request, tuple(out))
    return NearestResult(request, (), empty_reason(snap, router, request, key=key))


def empty_reason(snap: Snapshot, router: Router, request: NearestRequest, *,
                 key: Hashable | None = None) -> str:
    """Say why ``request`` found no venue (one of :data:`EMPTY_REASONS`).

    Cheap: the filter masks are cached by the index, and at most one more
    search runs (``k=1``, no time limit, no opening condition, with the
    same pass-cache ``key``), and only when the request had a time limit
    or an opening condition.  Call it only for an empty answer.
    """
    flt = request.filter
    static = flt.without_time()
    if not len(snap.index.candidate_positions(static)):
        return "no_venue_offers_item" if flt.items else "no_venue_matches"
    if request.max_minutes is None and flt.open_at is None:
        return "unreachable"
    hits = router.nearest(request.lon, request.lat, candidates=static, k=1, key=key)
    if not hits:
        return "unreachable"
    if flt.open_at is None:
        return "beyond_max_minutes"
    limit_s = math.inf if request.max_minutes is None else request.max_minutes * 60.0
    return "beyond_max_minutes" if hits[0].time_s > limit_s * (1 + 1e-9) else "closed"


def _route(lonlat: list[tuple[float, float]] | None) -> tuple[tuple[float, float], ...] | None:
    return None if lonlat is None else tuple((float(x), float(y)) for x, y in lonlat)


# --------------------------------------------------------------------------- isochrones


@dataclass(frozen=True, slots=True)
class IsochronesRequest:
    """Areas reached from a point within each band of ``minutes`` (ascending)."""

    lon: float
    lat: float
    mode: str = "walk"
    minutes: tuple[float, ...] = (5.0, 10.0, 15.0)
    shape: str | None = None  # road outline: "contour" | "streets"; None = the default


@dataclass(frozen=True, slots=True)
class IsochronesResult:
    """The bands (smallest first) with their area and residents.

    ``warnings`` (``{code, message}``) says why the bands' ``population`` is
    None (the dataset counts nobody), as coverage's ``warnings`` do.
    """

    request: IsochronesRequest
    bands: tuple[Isochrone, ...]
    straight_line: StraightLine | None = None
    warnings: tuple[dict[str, str], ...] = ()


def find_isochrones(service: GeoService, snap: Snapshot, request: IsochronesRequest,
                    *, deadline: Deadline = UNLIMITED) -> IsochronesResult:
    """Build the isochrone bands of a point (streets reached, or geodesic circles).

    ``population`` of a band counts the dataset's demand inside it: None
    when the dataset counts nobody (no population layer nor building
    estimate, or a layer of zeros), exactly when coverage's population
    figures are null; ``warnings`` then says so.

    The bands are refused up front when :func:`isochrone_estimate` (nodes
    reached x bands) is beyond what ``deadline`` admits, and not started
    once it has passed.

    Raises
    ------
    ModeUnavailable, OutsideNetwork, InvalidParameter, BudgetExceeded
    """
    router = service.travel(request.mode, snap)
    deadline.admit("reached_node_bands", isochrone_estimate(router, request.minutes),
                   per_s=ISOCHRONE_NODE_BANDS_PER_S, unit="network nodes x bands")
    demand = service.demand(request.mode, snap)
    deadline.check("demand")
    known = demand.total > 0
    bands = isochrones(router, request.lon, request.lat, list(request.minutes),
                       demand=demand if known else None, shape=request.shape)
    label = straight_line(service.settings, request.mode)
    notes = tuple(population_warnings(len(demand), demand.total))
    return IsochronesResult(request, tuple(bands), label, notes)


#: Network nodes x bands an isochrone request gets through per second (measured
#: about 70,000 on the demo city's walking network, 2026-11; set higher so that
#: only obviously too big requests are refused up front).
ISOCHRONE_NODE_BANDS_PER_S = 250_000.0


def isochrone_estimate(router: Router, minutes: tuple[float, ...]) -> float:
    """Return an upper estimate of the network nodes the bands reach, summed over bands.

    Per band: the nodes of the network times the share of its bounding box
    a disc of radius (fastest edge speed x minutes) covers, at most all of
    them.  Vectorised over the network's arrays (a few ms at a million
    edges); 0 for routers without a network (straight lines: circles).
    """
    net = router.network
    if net is None or not len(net.node_x):
        return 0.0
    width = float(net.node_x.max() - net.node_x.min())
    height = float(net.node_y.max() - net.node_y.min())
    times = net.edge_time_s
    fastest = float((net.edge_length_m[times > 0] / times[times > 0]).max(initial=1.0))
    box = max(width * height, 1.0)
    nodes = len(net.node_x)
    return float(sum(nodes * min(1.0, math.pi * (fastest * m * 60.0) ** 2 / box)
                     for m in minutes))


# --------------------------------------------------------------------------- coverage


@dataclass(frozen=True, slots=True)
class CoverageRequest:
    """Share of residents within ``minutes`` of the venues matching ``filter``."""

    mode: str = "walk"
    minutes: float = 10.0
    filter: VenueFilter = field(default_factory=VenueFilter)


@dataclass(frozen=True, slots=True)
class CoverageResultSet:
    """The coverage of a :class:`CoverageRequest` (shares, areas, gaps, catchments)."""

    request: CoverageRequest
    result: CoverageResult
    straight_line: StraightLine | None = None


def measure_coverage(service: GeoService, snap: Snapshot, request: CoverageRequest,
                     *, deadline: Deadline = UNLIMITED) -> CoverageResultSet:
    """Measure coverage with one multi-source pass of the mode's router.

    The pass is cached per filter set (by its cache key; with a time, by the
    venue positions).  Demand is built once per mode and data revision.
    ``deadline`` is checked after the demand set and between the phases of
    :func:`~geosvc.analysis.coverage.compute_coverage`.

    Raises
    ------
    ModeUnavailable, InvalidParameter, BudgetExceeded
    """
    router = service.travel(request.mode, snap)
    demand = service.demand(request.mode, snap)
    deadline.check("demand")
    index = snap.index
    flt = request.filter
    candidates = index.mask(flt)
    key = flt.cache_key() if flt.open_at is None else None  # a time: key by positions
    result = compute_coverage(
        router, demand, candidates=candidates, minutes=request.minutes, key=key,
        venue_labels=[(v.code, v.name) for v in index.venues], deadline=deadline,
    )
    return CoverageResultSet(request, result, straight_line(service.settings, request.mode))


# --------------------------------------------------------------------------- plans


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """Choose new sites among candidates that raise coverage most.

    Exactly one problem: ``add`` (what-if), else ``target_share`` (fewest
    sites), else ``k`` (maximal covering).  ``candidates`` is
    ``"bank_outlets"``, ``"kiosk_sites"`` or a FeatureCollection of points;
    ``filter`` selects the fixed sites (as coverage).
    """

    mode: str = "walk"
    minutes: float = 10.0
    k: int | None = None  # maximal covering: 10, or every candidate when fewer
    target_share: float | None = None
    add: tuple[str, ...] | None = None
    candidates: Any = "bank_outlets"
    solver: str = "auto"
    site_spacing_m: float | None = None
    filter: VenueFilter = field(default_factory=VenueFilter)


@dataclass(frozen=True, slots=True)
class PlanResultSet:
    """The plan of a :class:`PlanRequest`."""

    request: PlanRequest
    result: PlanResult
    straight_line: StraightLine | None = None


def plan_new_sites(service: GeoService, snap: Snapshot, request: PlanRequest,
                   *, deadline: Deadline = UNLIMITED) -> PlanResultSet:
    """Solve the site-planning problem of ``request`` with the mode's router.

    Raises
    ------
    InvalidParameter
        ``k`` above the number of candidates, unknown or unplaced ``add``
        ids, an empty candidate set.
    ModeUnavailable
        A mode that needs a road network without one loaded.
    BudgetExceeded
        Over ``deadline``: refused up front (candidates x demand cells, see
        :func:`~geosvc.analysis.planning.plan.plan_sites`) or stopped
        between phases.
    """
    router = service.travel(request.mode, snap)
    demand = service.demand(request.mode, snap)
    deadline.check("demand")
    supplied = request.candidates
    if isinstance(supplied, Mapping) and isinstance(supplied.get("features"), list):
        admit_plan(deadline, len(supplied["features"]), len(demand))  # before snapping them
    cands = build_candidates(request.candidates, index=snap.index, engine=router,
                             demand=demand, flt=request.filter,
                             spacing_m=request.site_spacing_m)
    deadline.check("candidates")
    result = plan_sites(router, demand, snap.index, request.filter, cands,
                        minutes=request.minutes, k=request.k,
                        target_share=request.target_share,
                        add=list(request.add) if request.add is not None else None,
                        solver=request.solver, deadline=deadline)
    return PlanResultSet(request, result, straight_line(service.settings, request.mode))
