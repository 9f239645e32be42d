"""`GET /api/v1/items` (search), `GET /api/v1/items/{code}` and `GET /api/v1/bundles/{code}`.

Parse, use case, serialise.  The search also lists the 一件事 bundles that
match (``bundles``, kept apart so ``items`` stays as it was); one item
carries its service guide (``guide``).  Guide URLs are data: they are
returned as text, never turned into links here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from geosvc.api._common import parse
from geosvc.app.bundles import bundle_of, search_bundles
from geosvc.app.venues import ItemSearch, item_detail
from geosvc.app.venues import search_items as find_items

if TYPE_CHECKING:
    from geosvc.app.service import GeoService, Snapshot
    from geosvc.model import Bundle, ServiceItem

__all__ = ["bundle_dict", "get_bundle", "get_item", "guide_dict", "item_dict", "search_items"]


def item_dict(snap: Snapshot, item: ServiceItem) -> dict[str, Any]:
    """Return an item as a search lists it (with `venues_count`)."""
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


def guide_dict(item: ServiceItem) -> dict[str, Any]:
    """Return the service guide of an item (办事指南): every field, empty ones included.

    ``legal_days`` / ``promised_days`` are whole days or null; ``apply_url``
    is text ('' when none).
    """
    return {
        "materials": list(item.materials),
        "conditions": item.conditions,
        "fee": item.fee,
        "legal_days": item.legal_days,
        "promised_days": item.promised_days,
        "apply_url": item.apply_url,
        "can_do_online": item.can_do_online,
        "by_post": item.by_post,
        "at_kiosk": item.at_kiosk,
    }


def bundle_dict(bundle: Bundle) -> dict[str, Any]:
    """Return a bundle as a search lists it: ``{code, name, name_en, items}`` (codes)."""
    return {"code": bundle.code, "name": bundle.name, "name_en": bundle.name_en,
            "items": list(bundle.items)}


def search_items(service: GeoService, params: Mapping[str, str]) -> dict[str, Any]:
    """Search items by Chinese text, pinyin or initials: ``{items, total, bundles}``.

    Without ``q`` every item is listed (catalogue order).  Paged by ``limit``
    and ``offset``; ``total`` counts every match.  ``bundles`` lists the
    first ``limit`` bundles matching ``q`` (every bundle without ``q``),
    ``bundles_total`` counts them.
    """
    snap = service.snapshot
    query = parse(service, snap, "items", params)
    page = find_items(snap, ItemSearch(q=query.q, limit=query.limit, offset=query.offset))
    bundles = search_bundles(snap, query.q, limit=query.limit)
    return {
        "items": [item_dict(snap, item) for item in page.items],
        "total": page.total,
        "limit": query.limit,
        "offset": query.offset,
        "bundles": [bundle_dict(b) for b in bundles.bundles],
        "bundles_total": bundles.total,
    }


def get_item(service: GeoService, code: str, params: Mapping[str, str]) -> dict[str, Any]:
    """One item with ``venues_by_kind`` (venues by kind), ``guide`` and ``bundles``."""
    snap = service.snapshot
    parse(service, snap, "item", params)
    detail = item_detail(snap, code)
    doc = item_dict(snap, detail.item)
    doc["description"] = detail.item.description
    doc["venues_by_kind"] = detail.venues_by_kind
    doc["guide"] = guide_dict(detail.item)
    doc["bundles"] = [b.code for b in snap.bundles if code in b.items]
    return doc


def get_bundle(service: GeoService, code: str, params: Mapping[str, str]) -> dict[str, Any]:
    """One bundle with its items in order (each with ``venues_count`` and ``has_guide``)."""
    snap = service.snapshot
    parse(service, snap, "bundle", params)
    bundle = bundle_of(snap, code)
    items = []
    for item_code in bundle.items:
        item = snap.index.item(item_code)
        items.append({"code": item_code,
                      "name": None if item is None else item.name,
                      "name_en": None if item is None else item.name_en,
                      "venues_count": int(len(snap.index.item_venue_positions(item_code))),
                      "has_guide": item is not None and item.has_guide})
    return {"code": bundle.code, "name": bundle.name, "name_en": bundle.name_en,
            "description": bundle.description, "items": items}
