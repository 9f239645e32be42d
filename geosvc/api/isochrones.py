"""`GET /api/v1/isochrones`: service circles (reachable areas) around a point."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from geosvc.api._common import parse
from geosvc.api.features import feature_collection, point

if TYPE_CHECKING:
    from geosvc.service import GeoService

__all__ = ["isochrones"]


def isochrones(service: GeoService, params: Mapping[str, str]) -> dict[str, Any]:
    """One (Multi)Polygon Feature per band, smallest first.

    Properties: ``minutes``, ``area_km2``, ``population`` (residents inside
    the band's polygon, from the dataset's population layer; null when the
    dataset has none).  Output coordinates in the request's ``crs``.

    Raises
    ------
    InvalidParameter, ModeUnavailable, OutsideNetwork
    """
    snap = service.snapshot
    query = parse(service, snap, "isochrones", params)
    net = service.network(query.mode)
    from geosvc.analysis import isochrone_polygons

    bands = isochrone_polygons(net, query.lon, query.lat, query.minutes,
                               settings=service.settings)
    features = []
    for band in bands:
        props = dict(band["properties"])
        features.append({
            "type": "Feature",
            "geometry": _convert_geometry(band["geometry"], query.crs),
            "properties": props,
        })
    return feature_collection(
        features, mode=query.mode,
        query={"point": point(query.lon, query.lat, query.crs), "crs": query.crs},
    )


def _convert_geometry(geom: Mapping[str, Any], crs: str) -> dict[str, Any]:
    """Convert a GeoJSON (Multi)Polygon's WGS-84 coordinates to ``crs``."""
    if crs == "wgs84":
        return dict(geom)

    def ring(coords: Any) -> list[list[float]]:
        return [point(x, y, crs) for x, y, *_ in coords]

    if geom["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": [ring(r) for r in geom["coordinates"]]}
    return {"type": "MultiPolygon",
            "coordinates": [[ring(r) for r in poly] for poly in geom["coordinates"]]}
