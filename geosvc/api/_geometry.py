"""Convert GeoJSON geometries from WGS-84 to the request's ``crs``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from geosvc.coords import from_wgs84

__all__ = ["convert_geometry"]


def _convert(coords: Any, crs: str) -> Any:
    arr = np.asarray(coords, dtype=float)
    if arr.ndim == 1:
        lon, lat = from_wgs84(arr[0], arr[1], crs)
        return [round(float(lon), 7), round(float(lat), 7)]
    if arr.ndim == 2:
        lon, lat = from_wgs84(arr[:, 0], arr[:, 1], crs)
        return np.round(np.column_stack([lon, lat]), 7).tolist()
    return [_convert(part, crs) for part in coords]


def convert_geometry(geom: Mapping[str, Any] | None, crs: str) -> dict[str, Any] | None:
    """Return a GeoJSON geometry with WGS-84 coordinates converted to ``crs``.

    ``None`` stays ``None``; wgs84 returns the geometry unchanged (a copy of
    the top-level mapping).  Works for every geometry type with coordinates.
    """
    if geom is None:
        return None
    if crs == "wgs84" or "coordinates" not in geom:
        return dict(geom)
    coords = geom["coordinates"]
    if geom["type"] in ("Polygon", "MultiLineString", "MultiPolygon"):
        converted = [_convert(part, crs) for part in coords]
    else:
        converted = _convert(coords, crs)
    return {"type": geom["type"], "coordinates": converted}
