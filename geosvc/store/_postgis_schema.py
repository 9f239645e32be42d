"""The PostGIS table layout: column lists and the geometry encoding of rows.

The DDL is the history in :mod:`geosvc.store.migrations`.

Records are stored with their geometries in PostGIS columns, SRID 4326
(WGS-84): venue and population points as ``geometry(Point)``, areas as
``geometry(MultiPolygon)`` (a single ``POLYGON`` is stored as a one-part
MultiPolygon and flagged ``single``), population cells as
``geometry(Geometry)``.  Rows are compared with what a SELECT gives back
(lon/lat via ``ST_X``/``ST_Y``, geometries as shapely's WKT), so equal records
are recognised as unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

import shapely
from shapely.geometry import MultiPolygon, Polygon

from geosvc.errors import InvalidParameter
from geosvc.model import Area, PopulationCell
from geosvc.store._rows import ITEM_COLS, area_population, pop_row

__all__ = [
    "AREA_SELECT",
    "ITEM_COLS",
    "POINT",
    "POP_SELECT",
    "VENUE_COLS",
    "VENUE_SELECT",
    "WKB",
    "area_rows",
    "copy_row",
    "parse_wkt",
    "pop_rows",
    "wkt_of",
]

#: SQL of a point from (lon, lat) parameters, and of a geometry from WKB.
POINT = "ST_SetSRID(ST_MakePoint(%s, %s), 4326)"
WKB = "ST_GeomFromWKB(%s, 4326)"
#: Columns of the venues table as written (``geom`` takes two parameters, lon and lat).
VENUE_COLS = ("code", "name", "kind", "geom", "level", "channels", "area_code", "area_name",
              "address", "phone", "opening_hours", "official_calendar", "accessible",
              "cross_province", "regional", "bank", "machines", "name_en", "source", "status")
#: SELECT lists giving rows in the form of :func:`geosvc.store._rows.venue_row`,
#: ``(code, name, level, wkb, single, population)`` and ``(code, lon, lat, count, wkb)``.
VENUE_SELECT = ", ".join("ST_X(geom), ST_Y(geom)" if c == "geom" else c for c in VENUE_COLS)
AREA_SELECT = "code, name, level, ST_AsBinary(geom), single, population"
POP_SELECT = "code, ST_X(geom), ST_Y(geom), count, ST_AsBinary(cell)"


@overload
def wkt_of(wkb: bytes, *, single: bool = False) -> str: ...
@overload
def wkt_of(wkb: None, *, single: bool = False) -> None: ...
def wkt_of(wkb: bytes | None, *, single: bool = False) -> str | None:
    """Return shapely's WKT of a WKB geometry; the one polygon when ``single``."""
    if wkb is None:
        return None
    geom = shapely.from_wkb(bytes(wkb))
    if single and isinstance(geom, MultiPolygon) and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    return geom.wkt


def parse_wkt(wkt: str, what: str) -> Any:
    """Return the shapely geometry of ``wkt`` (``what`` names the record in the error).

    Raises
    ------
    InvalidParameter
        Named ``batch``: ``wkt`` does not parse.
    """
    try:
        return shapely.from_wkt(wkt)
    except (shapely.errors.GEOSException, TypeError, ValueError) as exc:
        msg = f"has {what} with invalid WKT ({exc}); nothing was written"
        raise InvalidParameter("batch", msg) from exc


def area_rows(a: Area) -> tuple[tuple, tuple]:
    """Return ``(comparable row, write parameters)`` of an area."""
    geom = parse_wkt(a.wkt, f"area {a.code!r}")
    single = isinstance(geom, Polygon)
    multi = MultiPolygon([geom]) if single else geom
    pop = area_population(a)
    cmp = (a.code, a.name, str(a.level), geom.wkt, single, pop)
    return cmp, (a.code, a.name, str(a.level), shapely.to_wkb(multi), single, pop)


def pop_rows(p: PopulationCell) -> tuple[tuple, tuple]:
    """Return ``(comparable row, write parameters)`` of a population cell."""
    geom = None if p.wkt is None else parse_wkt(p.wkt, f"population cell {p.code!r}")
    if geom is None:
        return pop_row(p, None), pop_row(p, None)
    return pop_row(p, geom.wkt), pop_row(p, shapely.to_wkb(geom))


def copy_row(params: tuple, points: Sequence[int]) -> tuple:
    """Turn the (lon, lat) parameter pairs at ``points`` into EWKT for COPY.

    Examples
    --------
    >>> copy_row(("V1", 118.1, 30.25, "x"), [1])
    ('V1', 'SRID=4326;POINT(118.1 30.25)', 'x')
    """
    out: list[Any] = []
    k = 0
    for col in range(len(params) - len(points)):
        if col in points:
            out.append(f"SRID=4326;POINT({float(params[k])!r} {float(params[k + 1])!r})")
            k += 2
        else:
            out.append(params[k])
            k += 1
    return tuple(out)
