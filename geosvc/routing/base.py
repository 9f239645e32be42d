"""The router protocol: travel times from points to venues, whatever measures them.

A :class:`Router` answers the travel questions of one travel mode
(:mod:`geosvc.modes`) over the venues of one snapshot (positions are indexes
into the snapshot's venue arrays):

* :meth:`~Router.snap` places points for the router (on its road network, or
  as they are for straight lines); a :class:`Placement` says which points
  could be placed;
* :meth:`~Router.times` gives the trip time from one point to every venue
  (one to many);
* :meth:`~Router.pass_for` gives the multi-source pass of a venue set, a
  :class:`SourcePass`: every placed point's time to, and identity of, its
  nearest venue of the set, the service-circle area reached within a time,
  the thing coverage and planning are built on;
* :meth:`~Router.nearest` ranks the ``k`` quickest venues (sorted by time,
  then position); :meth:`~Router.route` draws one trip;
* :meth:`~Router.isochrone` gives the nested polygons reached within each
  band; :meth:`~Router.reach_sets` which points reach which candidate site
  (planning).

Two routers implement it: :class:`geosvc.routing.road.RoadRouter` (road
networks; the benchmarked :class:`~geosvc.network.nearest.TravelEngine`
inside) and :class:`geosvc.routing.straight.StraightRouter` (great-circle
distance at the mode's speed, no network).  Analysis (coverage, planning,
isochrones) and the use cases of :mod:`geosvc.app` are typed against the
protocol.

Projected geometry: every router has one metric CRS (:attr:`Router.crs`,
the UTM zone of its data's centre); ``x``/``y`` of placements, isochrone
polygons and coverage rasters are in it, :meth:`Router.to_lonlat` converts
back to WGS-84.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Protocol, Self, TypeAlias, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from geosvc.model import VenueFilter
from geosvc.network.nearest import NearestHit

if TYPE_CHECKING:
    import scipy.sparse as sp
    from shapely import Geometry

    from geosvc.network.graph import RoadNetwork
    from geosvc.routing._geometry import Raster

__all__ = ["Candidates", "NearestHit", "Placement", "Router", "SourcePass"]

#: Venues a query may reach: positions, a bool mask over the venues, a
#: :class:`~geosvc.model.VenueFilter` (resolved with the router's snapshot
#: index), or None (every venue).
Candidates: TypeAlias = ArrayLike | VenueFilter | None


@runtime_checkable
class Placement(Protocol):
    """Points placed for one router (snapped to its network, or as they are).

    :class:`~geosvc.network.snap.Snapped` for road routers,
    :class:`~geosvc.routing.straight.Placed` for straight lines.  ``x``/``y``
    are in the router's CRS; ``ok`` is False where a point could not be
    placed (invalid coordinate, too far from the network): such points
    reach nothing and are reached by nothing.
    """

    @property
    def lon(self) -> NDArray[np.float64]:
        """WGS-84 longitude of each point, degrees."""
        ...

    @property
    def lat(self) -> NDArray[np.float64]:
        """WGS-84 latitude of each point, degrees."""
        ...

    @property
    def x(self) -> NDArray[np.float64]:
        """Projected x of each (placed) point in the router's CRS, metres."""
        ...

    @property
    def y(self) -> NDArray[np.float64]:
        """Projected y of each (placed) point in the router's CRS, metres."""
        ...

    @property
    def ok(self) -> NDArray[np.bool_]:
        """True where the point was placed."""
        ...

    def __len__(self) -> int: ...

    def take(self, idx: ArrayLike) -> Self:
        """Return the subset of points at ``idx`` (positions or a bool mask)."""
        ...


@runtime_checkable
class SourcePass(Protocol):
    """A multi-source pass: times to the nearest source of one venue set.

    Built once per venue set (:meth:`Router.pass_for`, cached by the road
    router) and asked many times: every coverage threshold, every planning
    step, every curve point.
    """

    @property
    def source_ids(self) -> NDArray[np.int64]:
        """The caller's id (venue position) of each source of the pass."""
        ...

    @property
    def sources_placed(self) -> int:
        """How many sources could be placed (the ``venues_used`` of coverage)."""
        ...

    def times_at(self, points: Placement) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """Return each point's trip time to its nearest source (s, inf = none) and its index.

        The index points into :attr:`source_ids` (-1 = no source reached).
        Points not placed get ``(inf, -1)``.
        """
        ...

    def reached(self, limit_s: float, *, around_x: NDArray[np.float64],
                around_y: NDArray[np.float64], buffer_m: float, cell_m: float | None,
                pad_m: float) -> tuple[Raster, NDArray[np.bool_]]:
        """Return a raster and the mask of its cells from which a source is reached in time.

        The raster covers the pass's extent plus the points ``around_x``,
        ``around_y`` (e.g. the demand), padded by ``pad_m``; road passes
        buffer the reached streets by ``buffer_m``; ``cell_m`` overrides the
        router's default cell.  This is the covered area ("service circles")
        of coverage.
        """
        ...


@runtime_checkable
class Router(Protocol):
    """Travel times of one mode over the venues of one snapshot (see the module)."""

    @property
    def mode(self) -> str:
        """The travel mode's name (:mod:`geosvc.modes`)."""
        ...

    @property
    def crs(self) -> str:
        """The projected metric CRS of ``x``/``y`` and geometries."""
        ...

    @property
    def network(self) -> RoadNetwork | None:
        """The road network travelled on; None for routers without one (straight lines)."""
        ...

    @property
    def venues(self) -> Placement:
        """Every venue placed (positions index it)."""
        ...

    @property
    def speed_mps(self) -> float:
        """Speed of the legs off the network (road) or of the whole trip (straight), m/s."""
        ...

    def snap(self, lon: ArrayLike, lat: ArrayLike) -> Placement:
        """Place points (WGS-84) for this router; unplaceable ones have ``ok`` False."""
        ...

    def times(self, lon: float, lat: float, *,
              candidates: Candidates = None) -> NDArray[np.float64]:
        """Return the trip time (s) from one point to every venue (inf = not reached).

        Venues outside ``candidates`` get inf.  Raises
        :class:`~geosvc.errors.OutsideNetwork` when the point cannot be placed.
        """
        ...

    def pass_for(self, candidates: Candidates, key: Hashable | None = None, *,
                 cutoff_s: float | None = None) -> SourcePass:
        """Return the multi-source pass of ``candidates`` (``key`` names it in a cache).

        With ``cutoff_s`` (seconds) only times up to it are needed: a router
        may stop its search there (times beyond it are then inf).  Within it
        the times equal an uncut pass's.
        """
        ...

    def nearest(
        self,
        lon: float,
        lat: float,
        *,
        candidates: Candidates,
        k: int = 5,
        key: Hashable | None = None,
        max_minutes: float | None = None,
        accept: Callable[[int, float], bool] | None = None,
        route: bool = False,
    ) -> list[NearestHit]:
        """Return the ``k`` candidate venues quickest to reach, sorted by time then position.

        ``accept(pos, time_s)`` may refuse a venue (open on arrival); the
        search then goes on to the next one.
        """
        ...

    def route(self, lon: float, lat: float, pos: int) -> list[tuple[float, float]]:
        """Return the WGS-84 polyline of the trip from (lon, lat) to venue ``pos``.

        Raises :class:`~geosvc.errors.NoRoute` when the venue is not reached.
        """
        ...

    def isochrone(self, lon: float, lat: float, minutes: Sequence[float], *,
                  shape: str | None = None) -> list[Geometry]:
        """Return the area reached within each band (ascending), nested, in :attr:`crs`.

        ``shape`` picks a road router's outline (``contour`` / ``streets``,
        None = the default); routers with one outline ignore it.
        """
        ...

    def reach_sets(self, points: Placement, sites: Placement, cutoff_s: float, *,
                   rows: ArrayLike | None = None) -> sp.csr_matrix:
        """Boolean matrix (points x sites): the point reaches the site within ``cutoff_s``.

        The same trip model as :meth:`pass_for`, so the union of the sets of
        chosen sites equals what one pass over them gives.  ``rows`` limits
        the points that get entries.
        """
        ...

    def to_lonlat(self, geom: Geometry) -> Geometry:
        """Project a geometry from :attr:`crs` to WGS-84 (coordinates rounded to 1e-7)."""
        ...
