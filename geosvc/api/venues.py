"""`GET /api/v1/venues` and `GET /api/v1/venues/{id}`: parse, call the use case, serialise."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from geosvc.api._common import parse
from geosvc.api.features import feature_collection, iso, venue_feature
from geosvc.app.venues import (
    VenueSearch,
    find_venues,
    venue_detail,
    venue_position,
)
from geosvc.hours import calendar_of, holiday_warnings

if TYPE_CHECKING:
    from datetime import datetime

    from geosvc.api.params import Query
    from geosvc.app.service import GeoService, Snapshot

__all__ = ["get_venue", "list_venues", "venue_details", "venue_position", "venue_search"]


def venue_search(query: Query) -> VenueSearch:
    """Return the use-case request of a parsed venues ``query``."""
    return VenueSearch(filter=query.filter, bbox=query.bbox, q=query.q,
                       limit=query.limit, offset=query.offset)


def list_venues(service: GeoService, params: Mapping[str, str]) -> dict[str, Any]:
    """Return a page of venues as a FeatureCollection (with ``numberMatched``).

    Parameters: the shared filters, ``bbox``, ``q``, ``crs``, ``limit``,
    ``offset`` (see :data:`geosvc.api.params.ENDPOINT_PARAMS`).
    """
    snap = service.snapshot
    query = parse(service, snap, "venues", params)
    page = find_venues(snap, venue_search(query))
    features = [venue_feature(snap, p, crs=query.crs, at=query.at) for p in page.positions]
    doc = feature_collection(features, matched=page.matched)
    return _warn(snap, doc, query.at)


def _warn(snap: Snapshot, doc: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Add ``warnings`` to ``doc`` when ``at`` lies beyond the holiday data (else unchanged)."""
    notes = holiday_warnings(calendar_of(snap.info), [at], tz=snap.tz)
    if notes:
        doc["warnings"] = notes
    return doc


def venue_details(snap: Snapshot, pos: int, at: datetime | None) -> dict[str, Any]:
    """``{items: [{code, name, name_en, channels}], next_open, closes_at}`` of a venue.

    ``next_open`` / ``closes_at`` are evaluated at ``at`` (None when ``at``
    is None or the hours are unknown).  Shared by :func:`get_venue` and the
    map pages (which add it to every listed venue).
    """
    detail = venue_detail(snap, pos, at)
    items = [{
        "code": code,
        "name": item.name if item is not None else None,
        "name_en": item.name_en if item is not None else None,
        "channels": sorted(str(c) for c in channels),
        "has_guide": item is not None and item.has_guide,
    } for code, item, channels in detail.items]
    return {"items": items, "next_open": iso(detail.next_open, snap.tz),
            "closes_at": iso(detail.closes_at, snap.tz)}


def get_venue(service: GeoService, code: str, params: Mapping[str, str]) -> dict[str, Any]:
    """One venue Feature with ``items: [{code, name, channels}]``.

    ``crs`` sets the output coordinates; ``open_at`` the time of ``open``,
    ``next_open`` and ``closes_at`` (default now).
    """
    snap = service.snapshot
    query = parse(service, snap, "venue", params)
    pos = venue_position(snap, code)
    extra = venue_details(snap, pos, query.at)
    return _warn(snap, venue_feature(snap, pos, crs=query.crs, at=query.at, extra=extra),
                 query.at)
