"""Base maps (tile layers) and the coordinate system each one is drawn in.

``tiles`` is one of ``osm`` (OpenStreetMap, WGS-84), ``amap`` (Amap / Gaode
street map, **GCJ-02**), ``tianditu`` (天地图 vector map, CGCS2000, which
equals WGS-84 at map scale; needs a key) or ``none`` (no base map).

Amap tiles are drawn in GCJ-02, so when they are chosen every overlay
(markers, routes, polygons, heat points) must be shifted to GCJ-02 too, or it
lands a few hundred metres off its street.  :func:`shift_geojson` and
:func:`shift_points` do that on copies of plain data; outside China the
shift is the identity (see :mod:`geosvc.coords`).

Tile servers may be unreachable (offline, firewalled): tiles then stay
blank and everything else on the page keeps working.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from geosvc.coords import from_wgs84, to_wgs84
from geosvc.errors import InvalidParameter

__all__ = ["BASEMAPS", "Basemap", "add_basemap", "parse_tiles", "shift_geojson", "shift_points"]


@dataclass(frozen=True, slots=True)
class Basemap:
    """One base map: tile URL template, attribution and the CRS it is drawn in."""

    name: str
    label: str
    url: str | None
    attribution: str
    crs: str  # "wgs84" or "gcj02": the system overlays must be in
    subdomains: str = "abc"
    max_zoom: int = 19
    needs_key: bool = False


BASEMAPS: dict[str, Basemap] = {
    "osm": Basemap(
        "osm", "OpenStreetMap",
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
        " contributors",
        "wgs84", subdomains="", max_zoom=19,
    ),
    "amap": Basemap(
        "amap", "高德地图 Amap",
        "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
        "&x={x}&y={y}&z={z}",
        '&copy; <a href="https://www.amap.com/">高德地图 AutoNavi</a>',
        "gcj02", subdomains="1234", max_zoom=18,
    ),
    "tianditu": Basemap(
        "tianditu", "天地图 Tianditu",
        "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
        "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}",
        '&copy; <a href="https://www.tianditu.gov.cn/">天地图 Tianditu</a>',
        "wgs84", subdomains="01234567", max_zoom=18, needs_key=True,
    ),
    "none": Basemap("none", "No base map", None, "", "wgs84"),
}


def parse_tiles(raw: str | None) -> Basemap:
    """Return the base map named by the ``tiles`` query parameter (default osm).

    Examples
    --------
    >>> parse_tiles("amap").crs
    'gcj02'
    >>> parse_tiles(None).name
    'osm'
    >>> parse_tiles("google")
    Traceback (most recent call last):
    ...
    geosvc.errors.InvalidParameter: `tiles` must be one of osm | amap | tianditu | none
    """
    if raw is None or raw.strip() == "":
        return BASEMAPS["osm"]
    value = raw.strip().lower()
    if value not in BASEMAPS:
        msg = f"must be one of {' | '.join(BASEMAPS)}"
        raise InvalidParameter("tiles", msg)
    return BASEMAPS[value]


def add_basemap(fmap: Any, basemap: Basemap, *, key: str | None = None) -> None:
    """Add ``basemap`` as the base layer of the Folium map ``fmap``.

    ``key`` is the Tianditu API key; without one the Tianditu layer is
    requested with an empty key (tiles are refused, the page still works).
    """
    import folium  # lazy: folium takes ~0.5 s to import; only this path needs it

    if basemap.url is None:
        return
    url = basemap.url.replace("{key}", key or "")
    options: dict[str, Any] = {}
    if basemap.subdomains:
        options["subdomains"] = basemap.subdomains
    folium.TileLayer(
        tiles=url, attr=basemap.attribution, name=basemap.label,
        max_zoom=basemap.max_zoom, control=False, **options,
    ).add_to(fmap)


def shift_points(lon: Sequence[float] | np.ndarray, lat: Sequence[float] | np.ndarray,
                 crs: str, *, source: str = "wgs84") -> tuple[np.ndarray, np.ndarray]:
    """Convert points from ``source`` to ``crs`` (vectorised; copies).

    Identity when both are the same.

    Examples
    --------
    >>> x, y = shift_points([116.397], [39.909], "gcj02")
    >>> round(float(x[0]) - 116.397, 4), round(float(y[0]) - 39.909, 4)
    (0.0062, 0.0014)
    """
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    if crs == source or x.size == 0:
        return x.copy(), y.copy()
    if source != "wgs84":
        x, y = (np.asarray(a, dtype=float) for a in to_wgs84(x, y, source))
    if crs != "wgs84":
        x, y = (np.asarray(a, dtype=float) for a in from_wgs84(x, y, crs))
    return x, y


def _shift_coords(coords: Any, crs: str, source: str) -> Any:
    """Shift a GeoJSON coordinate array of any nesting depth (a copy)."""
    if len(coords) == 0:
        return []
    if isinstance(coords[0], (int, float)):  # one position
        x, y = shift_points([coords[0]], [coords[1]], crs, source=source)
        return [float(x[0]), float(y[0]), *coords[2:]]
    if isinstance(coords[0][0], (int, float)):  # a list of positions
        arr = np.asarray([c[:2] for c in coords], dtype=float)
        x, y = shift_points(arr[:, 0], arr[:, 1], crs, source=source)
        return [[float(a), float(b), *c[2:]] for a, b, c in zip(x, y, coords, strict=True)]
    return [_shift_coords(part, crs, source) for part in coords]


def shift_geojson(obj: Mapping[str, Any] | None, crs: str, *, source: str = "wgs84") -> Any:
    """Return a copy of a GeoJSON object with every coordinate converted to ``crs``.

    ``source`` is the system the object is in (default WGS-84).

    Works on FeatureCollections, Features, geometries and GeometryCollections;
    other members (properties, ids) are copied unchanged.  The input is
    never modified.

    Examples
    --------
    >>> pt = {"type": "Point", "coordinates": [116.397, 39.909]}
    >>> shift_geojson(pt, "wgs84") == pt and shift_geojson(pt, "wgs84") is not pt
    True
    >>> shift_geojson(pt, "gcj02")["coordinates"][0] > 116.40
    True
    """
    if obj is None:
        return None
    kind = obj.get("type")
    out = dict(obj)
    if kind == "FeatureCollection":
        out["features"] = [
            shift_geojson(f, crs, source=source) for f in obj.get("features", [])
        ]
    elif kind == "Feature":
        out["geometry"] = shift_geojson(obj.get("geometry"), crs, source=source)
        if isinstance(obj.get("route"), Mapping):
            out["route"] = shift_geojson(obj["route"], crs, source=source)
    elif kind == "GeometryCollection":
        out["geometries"] = [
            shift_geojson(g, crs, source=source) for g in obj.get("geometries", [])
        ]
    elif "coordinates" in obj:
        coords = obj["coordinates"]
        out["coordinates"] = _shift_coords(coords, crs, source)
    return out
