"""`GET /api/v1/items` (search) and `GET /api/v1/items/{code}`: parse, use case, serialise."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from geosvc.api._common import parse
from geosvc.app.venues import ItemSearch, item_detail
from geosvc.app.venues import search_items as find_items

if TYPE_CHECKING:
    from geosvc.app.service import GeoService, Snapshot
    from geosvc.model import ServiceItem

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
    page = find_items(snap, ItemSearch(q=query.q, limit=query.limit, offset=query.offset))
    return {
        "items": [_item_dict(snap, item) for item in page.items],
        "total": page.total,
        "limit": query.limit,
        "offset": query.offset,
    }


def get_item(service: GeoService, code: str, params: Mapping[str, str]) -> dict[str, Any]:
    """One item with ``venues_by_kind`` (counts of venues handling it, by kind)."""
    snap = service.snapshot
    parse(service, snap, "item", params)
    detail = item_detail(snap, code)
    doc = _item_dict(snap, detail.item)
    doc["description"] = detail.item.description
    doc["venues_by_kind"] = detail.venues_by_kind
    return doc
