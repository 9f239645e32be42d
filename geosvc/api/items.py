"""`GET /api/v1/items` (search) and `GET /api/v1/items/{code}`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from geosvc.api._common import parse
from geosvc.errors import NotFound
from geosvc.model import VenueKind

if TYPE_CHECKING:
    from geosvc.model import ServiceItem
    from geosvc.app.service import GeoService, Snapshot

__all__ = ["get_item", "search_items"]


def _item_dict(snap: Snapshot, item: ServiceItem) -> dict[str, Any]:
    return {
        "code": item.code,
        "name": item.name,
        "name_en": item.name_en,
        "department": item.department,
        "category": str(item.category),
        "scope": str(item.scope),
        "high_frequency": item.high_frequency,
        "venues_count": int(len(snap.index.item_venue_positions(item.code))),
    }


def search_items(service: GeoService, params: Mapping[str, str]) -> dict[str, Any]:
    """Search items by Chinese text, pinyin or initials: ``{items, total}``.

    Without ``q`` every item is listed (catalogue order).  Paged by ``limit``
    and ``offset``; ``total`` counts every match.
    """
    snap = service.snapshot
    query = parse(service, snap, "items", params)
    all_items = snap.index.items
    if query.q:
        positions = list(snap.search.search(query.q))
    else:
        positions = list(range(len(all_items)))
    page = positions[query.offset:query.offset + query.limit]
    return {
        "items": [_item_dict(snap, all_items[p]) for p in page],
        "total": len(positions),
        "limit": query.limit,
        "offset": query.offset,
    }


def get_item(service: GeoService, code: str, params: Mapping[str, str]) -> dict[str, Any]:
    """One item with ``venues_by_kind`` (counts of venues handling it, by kind)."""
    snap = service.snapshot
    parse(service, snap, "item", params)
    index = snap.index
    item = index.item(code)
    if item is None:
        msg = f"item `code` {code[:80]!r} does not exist"
        raise NotFound(msg)
    venues = index.venues
    kinds = Counter(str(venues[p].kind) for p in index.item_venue_positions(code).tolist())
    doc = _item_dict(snap, item)
    doc["description"] = item.description
    doc["venues_by_kind"] = {str(k): kinds.get(str(k), 0) for k in VenueKind}
    return doc
