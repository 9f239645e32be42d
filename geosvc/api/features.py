"""GeoJSON features of venues, shared by every handler that returns venues.

The time-independent properties of each venue are computed once per snapshot
(:func:`geosvc.app.records.base_properties`, re-exported here); a request
only adds ``open`` (and the nearest search's ranking fields) and converts the
point to the request's ``crs``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from geosvc.app.records import VenueProperties, base_properties
from geosvc.coords import from_wgs84

if TYPE_CHECKING:
    from geosvc.app.service import Snapshot

__all__ = [
    "base_properties",
    "feature_collection",
    "iso",
    "point",
    "venue_feature",
]

#: Decimal places of output coordinates (1e-7 degree is about 1 cm).
COORD_DECIMALS = 7


#: Recent :func:`iso` answers by (instant, fold, zone): nearest answers give the same
#: opening and closing instants request after request.  Bounded: emptied when full.
_ISO_MEMO: dict[tuple[datetime, int, tzinfo], str] = {}
_ISO_MEMO_MAX = 4096


def iso(dt: datetime | None, tz: tzinfo) -> str | None:
    """ISO 8601 text with offset, in the dataset's zone ``tz`` (None stays None).

    A local-mean-time offset with seconds (zone history before ~1900, e.g.
    Helsinki's +01:39:49) is not an RFC 3339 offset: such times are given in UTC.

    Examples
    --------
    >>> from datetime import datetime
    >>> from zoneinfo import ZoneInfo
    >>> iso(datetime(215, 1, 29, 20, 10, tzinfo=UTC), ZoneInfo("Europe/Helsinki"))
    '0215-01-29T20:10:00+00:00'
    >>> iso(datetime(2026, 5, 6, 8, 0, tzinfo=UTC), ZoneInfo("Asia/Shanghai"))
    '2026-05-06T16:00:00+08:00'
    """
    if dt is None:
        return None
    # equal aware datetimes are the same instant (same zone: the same wall time, so
    # `fold` is in the key too), and the text depends only on the instant and `tz`
    key = (dt, dt.fold, tz) if type(dt) is datetime and dt.tzinfo is not None else None
    if key is not None:
        hit = _ISO_MEMO.get(key)
        if hit is not None:
            return hit
    local = dt.astimezone(tz)
    offset = local.utcoffset()
    if offset is not None and offset.seconds % 60:
        local = dt.astimezone(UTC)
    text = local.isoformat(timespec="seconds")
    if key is not None:
        if len(_ISO_MEMO) >= _ISO_MEMO_MAX:
            _ISO_MEMO.clear()
        _ISO_MEMO[key] = text
    return text


def point(lon: float, lat: float, crs: str) -> list[float]:
    """``[lon, lat]`` of a WGS-84 point, converted to ``crs`` and rounded."""
    if crs != "wgs84":
        lon, lat = from_wgs84(lon, lat, crs)
    return [round(float(lon), COORD_DECIMALS), round(float(lat), COORD_DECIMALS)]


def line(lonlat: Iterable[tuple[float, float]], crs: str) -> dict[str, Any]:
    """Return a GeoJSON LineString of WGS-84 ``(lon, lat)`` pairs, converted to ``crs``."""
    return {"type": "LineString", "coordinates": [point(x, y, crs) for x, y in lonlat]}


def venue_feature(
    snap: Snapshot,
    pos: int,
    *,
    crs: str,
    at: datetime | None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the GeoJSON Feature of the venue at position ``pos``.

    Parameters
    ----------
    snap : Snapshot
        The snapshot the position belongs to.
    pos : int
        Venue position in ``snap.index``.
    crs : str
        Output coordinate system (wgs84, gcj02, bd09).
    at : datetime or None
        When ``open`` is evaluated; None leaves ``open`` out.  ``open`` is
        null when the venue's hours are unknown.
    extra : mapping, optional
        More properties (ranking, items ...), added last.
    """
    index = snap.index
    code, lon, lat, props = _located(snap, pos)
    if at is not None:
        schedule = index.schedule(pos)
        props["open"] = schedule.is_open(at) if schedule.known else None
    if extra:
        props.update(extra)
    return {
        "type": "Feature",
        "id": code,
        "geometry": {"type": "Point", "coordinates": point(lon, lat, crs)},
        "properties": props,
    }


def _located(snap: Snapshot, pos: int) -> tuple[str, float, float, dict[str, Any]]:
    """Return the code, lon, lat and a new properties dict of the venue at ``pos``."""
    props = snap.venue_props
    if isinstance(props, VenueProperties):  # remembered per position (one dict copy)
        return props.located(pos)
    venue = snap.index.venues[pos]
    return venue.code, venue.lon, venue.lat, dict(props[pos])


def feature_collection(
    features: list[dict[str, Any]], *, matched: int | None = None, **members: Any
) -> dict[str, Any]:
    """Wrap features in a FeatureCollection with ``numberMatched`` / ``numberReturned``."""
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    doc["numberMatched"] = len(features) if matched is None else matched
    doc["numberReturned"] = len(features)
    doc.update(members)
    return doc
