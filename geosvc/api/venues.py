"""`GET /api/v1/venues` and `GET /api/v1/venues/{id}`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from geosvc.api._common import parse
from geosvc.api.features import feature_collection, iso, venue_feature
from geosvc.errors import NotFound

if TYPE_CHECKING:
    from datetime import datetime

    from geosvc.api.params import Query
    from geosvc.app.service import GeoService, Snapshot

__all__ = ["get_venue", "list_venues", "select_venues", "venue_details", "venue_position"]


def select_venues(snap: Snapshot, query: Query) -> np.ndarray:
    """Positions of the venues matching ``query``'s filters, ``bbox`` and ``q``.

    Sorted by position (the index's stable order).  ``q`` matches, ignoring
    case, a substring of the name, English name, address or code.
    """
    index = snap.index
    if query.bbox is not None:
        hits = index.query_bbox(query.bbox, query.filter)
        positions = np.sort(np.asarray(hits, dtype=np.int64))
    else:
        positions = np.flatnonzero(index.mask(query.filter, at=query.filter.open_at))
    if query.q:
        needle = query.q.casefold()
        venues = index.venues
        keep = [
            p for p in positions.tolist()
            if needle in venues[p].name.casefold()
            or needle in (venues[p].name_en or "").casefold()
            or needle in (venues[p].address or "").casefold()
            or needle in venues[p].code.casefold()
        ]
        positions = np.asarray(keep, dtype=np.int64)
    return positions


def list_venues(service: GeoService, params: Mapping[str, str]) -> dict[str, Any]:
    """Return a page of venues as a FeatureCollection (with ``numberMatched``).

    Parameters: the shared filters, ``bbox``, ``q``, ``crs``, ``limit``,
    ``offset`` (see :data:`geosvc.api.params.ENDPOINT_PARAMS`).
    """
    snap = service.snapshot
    query = parse(service, snap, "venues", params)
    positions = select_venues(snap, query)
    page = positions[query.offset:query.offset + query.limit].tolist()
    features = [venue_feature(snap, p, crs=query.crs, at=query.at) for p in page]
    return feature_collection(features, matched=int(positions.size))


def venue_position(snap: Snapshot, code: str) -> int:
    """Position of venue ``code``; raises :class:`NotFound`."""
    pos = snap.index.position(code)
    if pos is None:
        msg = f"venue `id` {code[:80]!r} does not exist"
        raise NotFound(msg)
    return pos


def venue_details(snap: Snapshot, pos: int, at: datetime | None) -> dict[str, Any]:
    """``{items: [{code, name, name_en, channels}], next_open, closes_at}`` of a venue.

    ``next_open`` / ``closes_at`` are evaluated at ``at`` (None when ``at``
    is None or the hours are unknown).  Shared by :func:`get_venue` and the
    map pages (which add it to every listed venue).
    """
    index = snap.index
    items = []
    for item_code, channels in index.venue_items(pos):
        item = index.item(item_code)
        items.append({
            "code": item_code,
            "name": item.name if item is not None else None,
            "name_en": item.name_en if item is not None else None,
            "channels": sorted(str(c) for c in channels),
        })
    schedule = index.schedule(pos)
    out: dict[str, Any] = {"items": items, "next_open": None, "closes_at": None}
    if schedule.known and at is not None:
        out["next_open"] = iso(schedule.next_open(at), snap.tz)
        if schedule.is_open(at):
            out["closes_at"] = iso(schedule.next_close(at), snap.tz)
    return out


def get_venue(service: GeoService, code: str, params: Mapping[str, str]) -> dict[str, Any]:
    """One venue Feature with ``items: [{code, name, channels}]``.

    ``crs`` sets the output coordinates; ``open_at`` the time of ``open``,
    ``next_open`` and ``closes_at`` (default now).
    """
    snap = service.snapshot
    query = parse(service, snap, "venue", params)
    pos = venue_position(snap, code)
    extra = venue_details(snap, pos, query.at)
    return venue_feature(snap, pos, crs=query.crs, at=query.at, extra=extra)
