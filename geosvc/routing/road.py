"""The road router: travel times on a road network (walk, bike, drive).

:class:`RoadRouter` is the :class:`~geosvc.routing.base.Router` of the road
modes.  It wraps a :class:`~geosvc.network.nearest.TravelEngine` (the
benchmarked engine: venues snapped once, bounded nearest searches, an LRU of
multi-source passes) and adds what the protocol asks beyond it: filters
resolved through the snapshot's index, one-to-many times, routes,
isochrone polygons, the covered area of a pass and planning's coverage
sets.  The engine's own methods are called unchanged, so its speed is the
router's.

:class:`RoadPass` is the protocol's :class:`~geosvc.routing.base.SourcePass`
over a :class:`~geosvc.network.paths.NodeTimes` pass.  The functions
:func:`isochrone_xy` and :func:`pass_reached` hold the road geometry
(reached street pieces, buffered) that :mod:`geosvc.analysis` used to build
itself; they also serve callers holding a bare network.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from geosvc.coords import valid_lonlat
from geosvc.errors import InvalidParameter, NoRoute
from geosvc.model import VenueFilter
from geosvc.modes import TRAVEL_MODES
from geosvc.network.paths import (
    entries,
    point_times,
    same_line_times,
    times_from_point,
)
from geosvc.network.reach import coverage_sets
from geosvc.network.snap import Snapped, snap_points
from geosvc.routing._contour import contour_bands
from geosvc.routing._distance import buffer_bands
from geosvc.routing._geometry import Raster, forward_pieces, pass_pieces, to_lonlat

if TYPE_CHECKING:
    import scipy.sparse as sp
    from shapely import Geometry

    from geosvc.config import Settings
    from geosvc.index import ServiceIndex
    from geosvc.network.graph import RoadNetwork
    from geosvc.network.nearest import NearestHit, TravelEngine
    from geosvc.network.paths import NodeTimes
    from geosvc.routing.base import Candidates, Placement

__all__ = ["DEFAULT_SHAPE", "SHAPES", "RoadPass", "RoadRouter", "check_shape", "isochrone_xy",
           "pass_reached"]

#: Isochrone outlines: ``contour`` (one travel-time grid contoured at every band;
#: fast) and ``streets`` (the reached streets buffered through exact distance fields).
SHAPES = ("contour", "streets")

#: The outline drawn when none is asked for (docs/api.md says why).
DEFAULT_SHAPE = "contour"


def check_shape(shape: str | None) -> str:
    """Return ``shape`` (None = :data:`DEFAULT_SHAPE`); InvalidParameter if unknown."""
    if shape is None:
        return DEFAULT_SHAPE
    if shape not in SHAPES:
        msg = f"must be one of {' | '.join(SHAPES)}, not {shape!r}"
        raise InvalidParameter("shape", msg)
    return shape


def default_buffer_m(mode: str) -> float:
    """Buffer around reached streets of ``mode``, metres (the registry's, else 30)."""
    spec = TRAVEL_MODES.get(mode)
    return spec.buffer_m if spec is not None else 30.0


def isochrone_xy(net: RoadNetwork, point: Snapped, bands: Sequence[float], *,
                 walk_speed_mps: float, buffer_m: float,
                 shape: str | None = None) -> list[Geometry]:
    """Return the area reached from ``point`` within each band (projected, nested).

    One forward Dijkstra cut off at the largest band; then every reached or
    partly reached edge, the point's own edge and its access leg:
    ``shape="streets"`` buffers them by ``buffer_m`` through one distance
    field per band, min-combined so they nest (see
    :mod:`geosvc.analysis.isochrone`); ``shape="contour"`` (the default)
    draws the area reached by them then a straight walk off them (at most
    60 m, as far as the time left allows), one travel-time grid of
    ``buffer_m / 2`` contoured at every band
    (:func:`geosvc.routing._contour.contour_bands`; several times faster).

    Parameters
    ----------
    net : RoadNetwork
    point : Snapped
        Exactly one snapped point.
    bands : sequence of float
        Minutes, ascending (validated by the caller).
    walk_speed_mps : float
        Speed of the access leg, m/s.
    buffer_m : float
        Buffer around reached streets, metres.
    shape : {"contour", "streets"}, optional
        Outline (default :data:`DEFAULT_SHAPE`).

    Raises
    ------
    InvalidParameter
        Unknown ``shape``.
    """
    shape = check_shape(shape)
    times = times_from_point(net, point, cutoff_s=bands[-1] * 60.0,
                             walk_speed_mps=walk_speed_mps)
    if shape == "contour":
        return contour_bands(net, point, times, [m * 60.0 for m in bands],
                             walk_speed_mps=walk_speed_mps, buffer_m=float(buffer_m))
    pieces = [forward_pieces(net, point, times, m * 60.0, walk_speed_mps) for m in bands]
    return buffer_bands(pieces, float(buffer_m))


def pass_reached(net: RoadNetwork, nt: NodeTimes, limit_s: float, walk_speed_mps: float, *,
                 around_x: NDArray[np.float64], around_y: NDArray[np.float64],
                 buffer_m: float, cell_m: float | None,
                 pad_m: float) -> tuple[Raster, NDArray[np.bool_]]:
    """Return the raster and the covered cells of a pass (streets reached, buffered).

    The raster spans the network's nodes and the points ``around``, padded
    by ``max(buffer_m, pad_m)``, cells of ``cell_m`` (default
    ``buffer_m / 2.5``); the street pieces from which a source is reached
    within ``limit_s`` are rasterised and dilated by ``buffer_m``.
    """
    pieces = pass_pieces(net, nt, limit_s, walk_speed_mps)
    gx = np.concatenate([net.node_x, around_x])
    gy = np.concatenate([net.node_y, around_y])
    if len(gx):
        raster = Raster.around(float(gx.min()), float(gy.min()), float(gx.max()),
                               float(gy.max()), cell_m or buffer_m / 2.5,
                               max(buffer_m, pad_m))
    else:
        raster = Raster(0.0, 0.0, cell_m or buffer_m / 2.5, 1, 1)
    return raster, raster.dilate(raster.mark_pieces(pieces), buffer_m)


@dataclass(frozen=True, eq=False)
class RoadPass:
    """A multi-source pass on a road network (the :class:`SourcePass` of road routers).

    Attributes
    ----------
    net : RoadNetwork
    nt : NodeTimes
        The pass itself (every node's time TO its nearest source).
    walk_speed_mps : float
        Speed of the points' access legs, m/s.
    """

    net: RoadNetwork
    nt: NodeTimes
    walk_speed_mps: float

    @property
    def source_ids(self) -> NDArray[np.int64]:
        """Venue positions (or the caller's ids) of the sources."""
        return self.nt.source_ids

    @property
    def sources_placed(self) -> int:
        """Sources snapped to the network."""
        return int((self.nt.sources.edge >= 0).sum())

    def times_at(self, points: Placement) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """Each point's time to its nearest source and that source's index (see the protocol).

        Raises
        ------
        InvalidParameter
            ``points`` were snapped to another network (named ``demand``).
        """
        if not isinstance(points, Snapped):
            msg = "must be snapped to the road network (a Snapped)"
            raise InvalidParameter("demand", msg)
        if len(points) and points.edge.max() >= self.net.n_edges:
            msg = "was built for another network; build it with this network"
            raise InvalidParameter("demand", msg)
        return point_times(self.net, points, self.nt, walk_speed_mps=self.walk_speed_mps)

    def reached(self, limit_s: float, *, around_x: NDArray[np.float64],
                around_y: NDArray[np.float64], buffer_m: float, cell_m: float | None,
                pad_m: float) -> tuple[Raster, NDArray[np.bool_]]:
        """Covered area of the pass within ``limit_s`` (:func:`pass_reached`)."""
        return pass_reached(self.net, self.nt, limit_s, self.walk_speed_mps,
                            around_x=around_x, around_y=around_y, buffer_m=buffer_m,
                            cell_m=cell_m, pad_m=pad_m)


class RoadRouter:
    """The :class:`~geosvc.routing.base.Router` of one road network.

    Parameters
    ----------
    engine : TravelEngine
        The engine of the network (its venues are the router's venues).
    index : ServiceIndex, optional
        The snapshot's index, to resolve :class:`~geosvc.model.VenueFilter`
        candidates into masks; without it only positions / masks are accepted.

    Notes
    -----
    Cheap to build (it only holds the engine): wrapping an engine a caller
    already has shares its pass cache and counters.
    """

    def __init__(self, engine: TravelEngine, index: ServiceIndex | None = None) -> None:
        self.engine = engine
        self.index = index

    # -- what the engine holds ----------------------------------------------------
    @property
    def mode(self) -> str:
        """The network's travel mode."""
        return self.engine.net.mode

    @property
    def crs(self) -> str:
        """The network's projected CRS."""
        return self.engine.net.crs

    @property
    def net(self) -> RoadNetwork:
        """The road network."""
        return self.engine.net

    @property
    def network(self) -> RoadNetwork | None:
        """The road network (None only for routers without one)."""
        return self.engine.net

    @property
    def settings(self) -> Settings:
        """The engine's settings."""
        return self.engine.settings

    @property
    def venues(self) -> Snapped:
        """Every venue snapped once (unsnappable ones have ``edge == -1``)."""
        return self.engine.venues

    @property
    def speed_mps(self) -> float:
        """Access-leg speed (walking), m/s."""
        return self.engine.walk_speed_mps

    @property
    def walk_speed_mps(self) -> float:
        """Access-leg speed (walking), m/s (as :class:`TravelEngine`)."""
        return self.engine.walk_speed_mps

    @property
    def unsnappable(self) -> NDArray[np.int64]:
        """Positions of venues that cannot be reached (bad coordinate, off the network)."""
        return self.engine.unsnappable

    @property
    def warnings(self) -> list[str]:
        """One line per unsnappable venue."""
        return self.engine.warnings

    @property
    def cache_hits(self) -> int:
        """The engine's pass-cache hits."""
        return self.engine.cache_hits

    @property
    def cache_misses(self) -> int:
        """The engine's pass-cache misses."""
        return self.engine.cache_misses

    # -- protocol -----------------------------------------------------------------
    def _mask(self, candidates: Candidates) -> ArrayLike | None:
        """Positions / mask of ``candidates`` (a filter resolved through the index)."""
        if isinstance(candidates, VenueFilter):
            if self.index is None:
                msg = "must be venue positions or a mask: this router has no venue index"
                raise InvalidParameter("candidates", msg)
            return self.index.mask(candidates)
        return candidates

    def snap(self, lon: ArrayLike, lat: ArrayLike) -> Snapped:
        """Snap points by the engine's rule (its ``snap_max_m``, ``min_component_nodes``).

        Invalid coordinates and points farther than the snapping limit get
        ``edge == -1``.
        """
        settings = self.settings
        lo = np.atleast_1d(np.asarray(lon, dtype=np.float64))
        la = np.atleast_1d(np.asarray(lat, dtype=np.float64))
        good = valid_lonlat(lo, la)
        s = snap_points(self.net, np.where(good, lo, 0.0), np.where(good, la, 0.0),
                        max_dist_m=self.engine.snap_max_m,
                        min_component_nodes=settings.min_component_nodes)
        edge = np.where(good, s.edge, -1)
        return Snapped(edge=edge, frac=s.frac, dist_m=np.where(edge >= 0, s.dist_m, np.inf),
                       x=s.x, y=s.y, px=s.px, py=s.py, lon=lo, lat=la)

    def times(self, lon: float, lat: float, *,
              candidates: Candidates = None) -> NDArray[np.float64]:
        """Trip time (s) FROM (lon, lat) to every venue: one forward Dijkstra.

        Includes both access legs and trips along the point's own street line,
        as :meth:`nearest` measures them.  Raises OutsideNetwork beyond
        ``snap_max_m``.
        """
        q = self.engine.snap_query(lon, lat)
        w = self.speed_mps
        venues = self.venues
        n = len(venues)
        allowed = np.zeros(n, dtype=bool)
        c = self._mask(candidates)
        if c is None:
            allowed[:] = True
        else:
            arr = np.asarray(c)
            if arr.dtype == bool:
                allowed[:] = arr
            else:
                allowed[arr.astype(np.int64)] = True
        allowed &= venues.ok
        out = np.full(n, np.inf)
        pos = np.flatnonzero(allowed)
        if not len(pos):
            return out
        node_t = times_from_point(self.net, q, walk_speed_mps=w)
        sub = venues.take(pos)
        vi, vnode, vsec = entries(self.net, sub, w)
        np.minimum.at(out, pos[vi], node_t[vnode] + vsec)
        _, si, sec = same_line_times(self.net, q, sub, w)
        np.minimum.at(out, pos[si], sec)
        return out

    def pass_for(self, candidates: Candidates, key: Hashable | None = None, *,
                 cutoff_s: float | None = None) -> RoadPass:
        """Return the engine's cached pass of ``candidates`` (:meth:`TravelEngine.pass_for`).

        With ``cutoff_s`` the pass may stop there (cached apart from the uncut
        pass ``nearest`` reuses): times beyond it are inf.
        """
        nt = self.engine.pass_for(self._mask(candidates), key, cutoff_s=cutoff_s)
        return RoadPass(self.net, nt, self.speed_mps)

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
        """Run the engine's nearest search (:meth:`TravelEngine.nearest`), filters resolved."""
        return self.engine.nearest(lon, lat, candidates=self._mask(candidates), k=k, key=key,
                                   max_minutes=max_minutes, accept=accept, route=route)

    def route(self, lon: float, lat: float, pos: int) -> list[tuple[float, float]]:
        """Return the quickest trip's polyline from (lon, lat) to venue ``pos``.

        Raises
        ------
        NoRoute
            The venue is not reached from the point.
        """
        hit = self.engine.route_to(lon, lat, int(pos))
        if hit is None or hit.route_lonlat is None:
            msg = f"venue {int(pos)} cannot be reached from the point by {self.mode}"
            raise NoRoute(msg)
        return hit.route_lonlat

    def isochrone(self, lon: float, lat: float, minutes: Sequence[float], *,
                  buffer_m: float | None = None, shape: str | None = None) -> list[Geometry]:
        """Area reached within each band (:func:`isochrone_xy`), projected.

        The start snaps as nearest queries do (OutsideNetwork beyond
        ``snap_max_m``); the buffer defaults to the mode's (:mod:`geosvc.modes`),
        the outline to :data:`DEFAULT_SHAPE`.
        """
        shape = check_shape(shape)
        q = self.engine.snap_query(lon, lat)
        buf = default_buffer_m(self.mode) if buffer_m is None else buffer_m
        return isochrone_xy(self.net, q, list(minutes), walk_speed_mps=self.speed_mps,
                            buffer_m=buf, shape=shape)

    def reach_sets(self, points: Placement, sites: Placement, cutoff_s: float, *,
                   rows: ArrayLike | None = None) -> sp.csr_matrix:
        """Return planning's coverage sets (:func:`~geosvc.network.reach.coverage_sets`)."""
        if not isinstance(points, Snapped) or not isinstance(sites, Snapped):
            msg = "must be snapped to the road network (Snapped)"
            raise InvalidParameter("points", msg)
        return coverage_sets(self.net, points, sites, cutoff_s,
                             walk_speed_mps=self.speed_mps, rows=rows)

    def to_lonlat(self, geom: Geometry) -> Geometry:
        """Project from the network's CRS to WGS-84 (rounded to 1e-7)."""
        return to_lonlat(self.net, geom)

    def __repr__(self) -> str:
        return f"RoadRouter({self.mode}, {self.net.n_nodes:,} nodes, {len(self.venues)} venues)"


def as_road_router(engine: Any, index: ServiceIndex | None = None) -> RoadRouter:
    """Return ``engine`` as a :class:`RoadRouter` (a router is returned as it is)."""
    if isinstance(engine, RoadRouter):
        return engine
    return RoadRouter(engine, index)
