"""Travel-time engine: OSM road networks as arrays, snapping, passes, nearest.

Public names (see docs/architecture.md, "network"):

- :class:`RoadNetwork`, :func:`build_network`, :func:`load_network` (cached),
- :func:`snap_points`, :class:`Snapped`, :func:`check_snapped`,
- :class:`NodeTimes`, :func:`times_to_sources`, :func:`point_times`,
  :func:`times_from_point`, :func:`route`,
- :class:`TravelEngine`, :class:`NearestHit`,
- :func:`grid_network`, :func:`synthetic_city` (synthetic networks).
"""

from __future__ import annotations

from geosvc.network.cache import load_network
from geosvc.network.graph import MODES, RoadNetwork
from geosvc.network.nearest import NearestHit, TravelEngine
from geosvc.network.osm import build_network
from geosvc.network.paths import (
    NodeTimes,
    point_times,
    route,
    times_from_point,
    times_to_sources,
)
from geosvc.network.snap import Snapped, check_snapped, snap_points
from geosvc.network.synthetic import grid_network, synthetic_city

__all__ = [
    "MODES",
    "NearestHit",
    "NodeTimes",
    "RoadNetwork",
    "TravelEngine",
    "Snapped",
    "build_network",
    "check_snapped",
    "grid_network",
    "load_network",
    "point_times",
    "route",
    "snap_points",
    "synthetic_city",
    "times_from_point",
    "times_to_sources",
]
