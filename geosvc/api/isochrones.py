"""`GET /api/v1/isochrones`: service circles (reachable areas) around a point."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from geosvc.api._common import parse
from geosvc.api._geometry import convert_geometry
from geosvc.api.features import feature_collection, point

if TYPE_CHECKING:
    from geosvc.app.service import GeoService

__all__ = ["isochrones"]


def isochrones(service: GeoService, params: Mapping[str, str]) -> dict[str, Any]:
    """One (Multi)Polygon Feature per band, smallest first.

    Properties: ``minutes``, ``area_km2``, ``population`` (residents inside
    the band, from the dataset's population layer; null when the dataset has
    none).  Bands follow the streets reached (buffered), not circles.
    Output coordinates in the request's ``crs``.

    Raises
    ------
    InvalidParameter, ModeUnavailable, OutsideNetwork
    """
    snap = service.snapshot
    query = parse(service, snap, "isochrones", params)
    net = service.network(query.mode)
    demand = service.demand(query.mode, snap)
    from geosvc.analysis.isochrone import isochrone_polygons

    settings = service.settings
    bands = isochrone_polygons(
        net, query.lonlat(), list(query.minutes),
        walk_speed_mps=settings.walk_speed_kph / 3.6,
        demand=demand if len(demand) else None,
        max_snap_m=settings.snap_max_m,
        min_component_nodes=settings.min_component_nodes,
    )
    features = []
    for band in bands:
        feature = band.to_feature()
        feature["geometry"] = convert_geometry(feature["geometry"], query.crs)
        features.append(feature)
    return feature_collection(
        features, mode=query.mode,
        query={"point": point(*query.lonlat(), query.crs), "crs": query.crs},
    )
