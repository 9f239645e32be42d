"""Convert GeoJSON geometries from WGS-84 to the request's ``crs``."""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Real
from typing import Any

import numpy as np

from geosvc.coords import from_wgs84

__all__ = ["convert_geometry"]


def _convert(coords: Any, crs: str) -> Any:
    """Convert a position, a list of positions, or nested lists of them (rings of any length).

    Examples
    --------
    >>> holed = [[[0, 0], [1, 0], [1, 1], [0, 0]], [[.2, .2], [.3, .2], [.2, .2]]]
    >>> [len(r) for r in _convert(holed, "wgs84")]  # rings of unequal length
    [4, 3]
    """
    if len(coords) and isinstance(coords[0], Real):  # a position
        lon, lat = from_wgs84(float(coords[0]), float(coords[1]), crs)
        return [round(float(lon), 7), round(float(lat), 7)]
    if len(coords) and isinstance(coords[0][0], Real):  # a list of positions
        arr = np.asarray(coords, dtype=float)
        lons, lats = from_wgs84(arr[:, 0], arr[:, 1], crs)
        return np.round(np.column_stack([lons, lats]), 7).tolist()
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
