"""Routers: travel times of one mode over the venues of one snapshot.

:class:`~geosvc.routing.base.Router` is the protocol the analysis and the
use cases are typed against; each router kind of the travel-mode registry
(:attr:`geosvc.modes.TravelMode.router`) is a registered factory in
:data:`ROUTERS`, and :func:`build_router` picks it by the mode's name:

``road``
    :class:`~geosvc.routing.road.RoadRouter` over a road network (a
    :class:`~geosvc.network.nearest.TravelEngine` inside).
``straight``
    :class:`~geosvc.routing.straight.StraightRouter`: great-circle distance
    at the mode's speed; needs no network.

Layering: ``network`` < ``routing`` < ``analysis`` < ``app`` < ``api``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from geosvc.errors import InvalidParameter
from geosvc.modes import ROAD, STRAIGHT, TravelMode, get_mode
from geosvc.network.nearest import TravelEngine
from geosvc.routing.base import Candidates, NearestHit, Placement, Router, SourcePass
from geosvc.routing.road import RoadPass, RoadRouter, as_road_router
from geosvc.routing.straight import Placed, StraightPass, StraightRouter

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from geosvc.config import Settings
    from geosvc.index import ServiceIndex
    from geosvc.network.graph import RoadNetwork

__all__ = [
    "ROUTERS",
    "Candidates",
    "NearestHit",
    "Placed",
    "Placement",
    "RoadPass",
    "RoadRouter",
    "Router",
    "RouterFactory",
    "SourcePass",
    "StraightPass",
    "StraightRouter",
    "as_router",
    "build_router",
]

#: ``factory(mode, venue_lon, venue_lat, *, settings, index, network) -> Router``
RouterFactory = Callable[..., Router]


def _road(mode: TravelMode, venue_lon: ArrayLike, venue_lat: ArrayLike, *,
          settings: Settings, index: ServiceIndex | None,
          network: RoadNetwork | None) -> Router:
    if network is None:
        msg = f"is needed by mode {mode.name} (a road network built from OSM)"
        raise InvalidParameter("network", msg)

    return RoadRouter(TravelEngine(network, venue_lon, venue_lat, settings=settings), index)


def _straight(mode: TravelMode, venue_lon: ArrayLike, venue_lat: ArrayLike, *,
              settings: Settings, index: ServiceIndex | None,
              network: RoadNetwork | None) -> Router:
    return StraightRouter(venue_lon, venue_lat, speed_kph=mode.speed_kph(settings),
                          index=index, mode=mode.name)


#: Router factory of each router kind of the travel-mode registry.
ROUTERS: Mapping[str, RouterFactory] = MappingProxyType({ROAD: _road, STRAIGHT: _straight})


def build_router(mode: str, venue_lon: ArrayLike, venue_lat: ArrayLike, *,
                 settings: Settings, index: ServiceIndex | None = None,
                 network: RoadNetwork | None = None) -> Router:
    """Build the router of ``mode`` over venues at (``venue_lon``, ``venue_lat``).

    Parameters
    ----------
    mode : str
        A mode of :data:`geosvc.modes.TRAVEL_MODES`.
    venue_lon, venue_lat : array of float
        WGS-84 degrees of every venue (positions index them).
    settings : Settings
        Speeds and snapping rules.
    index : ServiceIndex, optional
        The snapshot's index over the same venues (filters as candidates).
    network : RoadNetwork, optional
        The mode's network; required by road modes.

    Raises
    ------
    InvalidParameter
        Unknown ``mode``, or a road mode without ``network``.
    """
    spec = get_mode(mode)
    return ROUTERS[spec.router](spec, venue_lon, venue_lat, settings=settings, index=index,
                                network=network)


def as_router(obj: Any, index: ServiceIndex | None = None) -> Router:
    """Return ``obj`` as a :class:`Router`: routers as they are, a TravelEngine wrapped.

    Lets analysis functions keep accepting the engines callers built before
    the protocol existed (the wrapper shares the engine's pass cache).
    """
    if isinstance(obj, TravelEngine):
        return as_road_router(obj, index)
    if isinstance(obj, (RoadRouter, StraightRouter)) or isinstance(obj, Router):
        return obj
    msg = f"must be a router or a TravelEngine, not {type(obj).__name__}"
    raise InvalidParameter("router", msg)
