"""Records of a snapshot: the time-independent properties of every venue.

Computed once per snapshot by :class:`~geosvc.app.service.GeoService` and
shared by every answer that shows venues (API features, pages, reports).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geosvc.index import ServiceIndex

__all__ = ["base_properties"]


def base_properties(index: ServiceIndex) -> tuple[dict[str, Any], ...]:
    """Return the time-independent properties of every venue of ``index``.

    One dict per venue position; shared by all requests of a snapshot, so
    callers copy before adding to it.
    """
    props = []
    for pos, v in enumerate(index.venues):
        props.append({
            "name": v.name,
            "name_en": v.name_en,
            "kind": str(v.kind),
            "level": str(v.level) if v.level is not None else None,
            "address": v.address,
            "phone": v.phone,
            "opening_hours": v.opening_hours,
            "channels": sorted(str(c) for c in v.channels),
            "items_count": len(index.venue_items(pos)),
            "accessible": v.accessible,
            "cross_province": v.cross_province,
            "regional": v.regional,
            "bank": v.bank,
            "machines": v.machines,
            "area_code": v.area_code,
            "area_name": v.area_name,
            "candidate": v.is_candidate,
            "status": str(v.status),
        })
    return tuple(props)
