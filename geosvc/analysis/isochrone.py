"""Isochrones: the area reachable from a point within N minutes, as polygons.

:func:`isochrones` asks any router (:meth:`geosvc.routing.base.Router.isochrone`):
straight-line routers draw a geodesic circle per band
(:mod:`geosvc.routing.straight`); road routers, and
:func:`isochrone_polygons` on a bare network, build the streets reached
(:func:`geosvc.routing.road.isochrone_xy`), in one of two outlines:
``shape="contour"`` (the default: the area a resident reaches, the streets
reached then a straight walk off them at walking speed, at most
``OFF_STREET_M`` (60 m) and only as far as the time left allows; one
travel-time grid of ``buffer_m / 2`` contoured at every band,
:mod:`geosvc.routing._contour`, docs/routing.md) or ``shape="streets"``,
built as follows.

Street construction (projected metres, the network's UTM CRS):

1. one forward Dijkstra from the snapped point, cut off at the largest band
   (:func:`geosvc.network.paths.times_from_point`, access leg included);
2. every edge ``u -> v`` with ``t_u <= T`` is reached over the first
   ``min(1, (T - t_u) / t_e)`` of its length, so PARTLY reached edges are cut
   where the time runs out; the point's own edge is reached both ways from
   the snapped position (one way on a one-way street), and the access leg
   from the original point to the street is drawn;
3. the pieces are buffered by ``buffer_m`` (default 30 m: a street and the
   buildings along it) through a distance field on a ``buffer_m / 10``
   grid (:func:`geosvc.routing._distance.buffer_bands`: exact distances
   to samples of the pieces every half cell, contoured at ``buffer_m``;
   area within 0.5 % of the exact vector buffer, 4-6x faster); holes
   (blocks not reached from any side) are kept, nothing is convex-hulled.

Bands share one Dijkstra; a larger band reaches a superset of the pieces of
a smaller one, and its distance field is taken as the minimum of its own
and the smaller band's, so bands nest and every reached or partly reached
street lies inside its band.  ``area_km2`` is planar in the UTM CRS
(scale error < 0.1 % within a zone's central part); ``population`` is the
demand whose point lies inside the band polygon.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from geosvc.errors import InvalidParameter
from geosvc.modes import TRAVEL_MODES
from geosvc.network.snap import Snapped as _Snapped
from geosvc.network.snap import check_snapped, snap_points
from geosvc.routing._geometry import area_km2, to_lonlat
from geosvc.routing.road import (
    DEFAULT_SHAPE,
    SHAPES,
    check_shape,
    default_buffer_m,
    isochrone_xy,
)

if TYPE_CHECKING:
    from shapely import Geometry

    from geosvc.analysis.demand import DemandSet
    from geosvc.network.graph import RoadNetwork
    from geosvc.network.snap import Snapped
    from geosvc.routing.base import Router

__all__ = ["DEFAULT_BUFFER_M", "DEFAULT_SHAPE", "SHAPES", "Isochrone", "isochrone_polygons",
           "isochrones", "parse_minutes"]

#: Buffer around reached streets per road mode, metres (from :mod:`geosvc.modes`).
DEFAULT_BUFFER_M = {m.name: m.buffer_m for m in TRAVEL_MODES.values() if m.needs_network}

#: Most bands in one request, and the longest band, minutes.
MAX_BANDS = 10
MAX_MINUTES = 240.0


@dataclass(frozen=True, eq=False)
class Isochrone:
    """One band: the area reachable within ``minutes``.

    ``geometry`` is a (Multi)Polygon in WGS-84 lon/lat (empty if nothing is
    reached), ``geometry_xy`` the same in the network's CRS (metres).
    """

    minutes: float
    geometry: Geometry
    geometry_xy: Geometry
    area_km2: float
    population: float | None

    def __iter__(self):  # (minutes, geometry) unpacking, as in ``for m, g in bands``
        return iter((self.minutes, self.geometry))

    def to_feature(self) -> dict[str, Any]:
        """GeoJSON Feature with properties ``minutes``, ``area_km2``, ``population``."""
        import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it

        geom = None if self.geometry.is_empty else shapely.geometry.mapping(self.geometry)
        return {
            "type": "Feature",
            "geometry": geom,
            "properties": {
                "minutes": _num(self.minutes),
                "area_km2": round(self.area_km2, 4),
                "population": None if self.population is None else round(self.population, 1),
            },
        }


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else float(v)


def parse_minutes(minutes: Sequence[float] | float, *, name: str = "minutes") -> list[float]:
    """Validate and sort band lengths (minutes, > 0, at most 10 bands of <= 240).

    Examples
    --------
    >>> parse_minutes([15, 5, 10, 5])
    [5.0, 10.0, 15.0]
    """
    vals = [minutes] if isinstance(minutes, (int, float)) else list(minutes)
    if not vals:
        raise InvalidParameter(name, "must list at least one number of minutes")
    out = []
    for v in vals:
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise InvalidParameter(name, f"must be numbers of minutes, not {v!r}") from None
        if isinstance(v, bool) or not (math.isfinite(f) and 0 < f <= MAX_MINUTES):
            raise InvalidParameter(name, f"must be numbers of minutes > 0 and <= "
                                         f"{MAX_MINUTES:g}, not {v!r}")
        out.append(f)
    out = sorted(set(out))
    if len(out) > MAX_BANDS:
        raise InvalidParameter(name, f"may list at most {MAX_BANDS} bands, not {len(out)}")
    return out


def isochrone_polygons(
    net: RoadNetwork,
    point: Snapped | tuple[float, float],
    minutes: Sequence[float] | float,
    *,
    walk_speed_mps: float = 4.5 / 3.6,
    buffer_m: float | None = None,
    demand: DemandSet | None = None,
    max_snap_m: float | None = 1000.0,
    min_component_nodes: int | None = None,
    shape: str | None = None,
) -> list[Isochrone]:
    """Isochrone bands from one point, smallest first (see the module docstring).

    Parameters
    ----------
    net : RoadNetwork
    point : Snapped (one point) or (lon, lat)
        Start; a lon/lat pair is snapped here.
    minutes : number or sequence of numbers
        Band lengths, minutes (> 0, <= 240, at most 10); duplicates merge.
    walk_speed_mps : float
        Speed of the access leg from the point to the street, m/s.
    buffer_m : float, optional
        Buffer around reached streets, metres; default by mode
        (:data:`DEFAULT_BUFFER_M`).
    demand : DemandSet, optional
        Gives each band a ``population``; None leaves it None.
    max_snap_m : float, optional
        Refuse a lon/lat start farther than this from the network (metres).
    min_component_nodes : int, optional
        A lon/lat start snaps only to road components of at least this many
        nodes (the largest when none is that big), as venues and demand do;
        None = ``Settings.min_component_nodes`` default (50); 0 or 1 = any
        edge.  Pass ``settings.min_component_nodes``.
    shape : {"contour", "streets"}, optional
        Outline: a contour of the travel-time grid (default,
        :data:`DEFAULT_SHAPE`) or the buffered streets (see the module docstring).

    Returns
    -------
    list of Isochrone
        One per band, ascending; iterate as ``(minutes, geometry)`` pairs.

    Raises
    ------
    InvalidParameter
        Bad ``minutes`` / ``buffer_m`` / coordinates / ``min_component_nodes`` /
        ``shape``.
    OutsideNetwork
        The start is farther than ``max_snap_m`` from the network.
    """
    bands = parse_minutes(minutes)
    shape = check_shape(shape)
    if buffer_m is None:
        buffer_m = default_buffer_m(net.mode)
    if not (isinstance(buffer_m, (int, float)) and math.isfinite(buffer_m) and buffer_m > 0):
        raise InvalidParameter("buffer_m", f"must be a number of metres > 0, not {buffer_m!r}")
    if isinstance(point, _Snapped):
        snapped = point
        if len(snapped) != 1:
            raise InvalidParameter("point", f"must hold exactly one point, not {len(snapped)}")
    else:
        try:
            lon, lat = point
        except (TypeError, ValueError):
            raise InvalidParameter("point", "must be a (lon, lat) pair") from None
        reach = None if max_snap_m is None else max_snap_m * 1.5 + 1000
        snapped = snap_points(net, lon, lat, max_dist_m=reach,
                              min_component_nodes=min_component_nodes)
        if max_snap_m is not None:
            check_snapped(snapped, max_snap_m, mode=net.mode)
    geoms = isochrone_xy(net, snapped, bands, walk_speed_mps=walk_speed_mps,
                         buffer_m=float(buffer_m), shape=shape)
    return _bands(bands, geoms, lambda g: to_lonlat(net, g), demand)


def isochrones(
    router: Router,
    lon: float,
    lat: float,
    minutes: Sequence[float] | float,
    *,
    demand: DemandSet | None = None,
    shape: str | None = None,
) -> list[Isochrone]:
    """Isochrone bands of any router (:meth:`Router.isochrone`), smallest first.

    Road routers give the area reached (as :func:`isochrone_polygons` with
    the router's settings; ``shape`` as there); straight-line
    routers a geodesic circle of radius speed x minutes per band.
    ``area_km2`` is planar in the router's UTM CRS; ``population`` is the
    demand (placed by the same router) whose point lies inside the band.

    Raises
    ------
    InvalidParameter
        Bad ``minutes``, coordinates or ``shape``.
    OutsideNetwork
        A road router's start is farther than ``snap_max_m`` from the network.
    """
    bands = parse_minutes(minutes)
    geoms = router.isochrone(lon, lat, bands, shape=check_shape(shape))
    return _bands(bands, geoms, router.to_lonlat, demand)


def _bands(bands: Sequence[float], geoms: Sequence[Geometry],
           back: Callable[[Geometry], Geometry],
           demand: DemandSet | None) -> list[Isochrone]:
    out: list[Isochrone] = []
    for m, geom in zip(bands, geoms, strict=True):
        pop = None
        if demand is not None:
            pop = population_inside(geom, demand)
        out.append(Isochrone(minutes=m, geometry=back(geom), geometry_xy=geom,
                             area_km2=area_km2(geom), population=pop))
    return out


def population_inside(geom_xy: Geometry, demand: DemandSet) -> float:
    """Residents of ``demand`` whose point lies inside a projected polygon."""
    import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it

    if geom_xy is None or geom_xy.is_empty or not len(demand):
        return 0.0
    x0, y0, x1, y1 = geom_xy.bounds
    near = np.flatnonzero((demand.x >= x0) & (demand.x <= x1)
                          & (demand.y >= y0) & (demand.y <= y1))
    if not len(near):
        return 0.0
    shapely.prepare(geom_xy)
    inside = shapely.contains_xy(geom_xy, demand.x[near], demand.y[near])
    return float(demand.count[near][inside].sum())


def isochrones_geojson(bands: Sequence[Isochrone]) -> dict[str, Any]:
    """FeatureCollection of the bands (docs/api.md ``/api/v1/isochrones``)."""
    feats = [b.to_feature() for b in bands]
    return {"type": "FeatureCollection", "features": feats,
            "numberMatched": len(feats), "numberReturned": len(feats)}
