"""`GET /api/v1/search`: the citizens' search box over items, bundles, venues and places.

Parse, use case (:func:`geosvc.app.finder.search_everything`), serialise.
Coordinates come in and go out in the request's ``crs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from geosvc.api._common import parse
from geosvc.api.features import point
from geosvc.api.items import bundle_dict, item_dict
from geosvc.app.finder import SearchRequest, search_everything

if TYPE_CHECKING:
    from geosvc.app.service import GeoService

__all__ = ["search"]


def search(service: GeoService, params: Mapping[str, str]) -> dict[str, Any]:
    """Search items, bundles, venues and places: ``{q, items, bundles, venues, places}``.

    Each group holds at most ``limit`` entries, best match first; with
    ``lon``/``lat``, venues and places matching equally well come nearer first.

    Raises
    ------
    InvalidParameter
        ``q`` missing or too long, ``limit`` out of 1..50, a bad ``crs``,
        ``lon`` without ``lat`` (all named).
    """
    snap = service.snapshot
    query = parse(service, snap, "search", params)
    q = query.q or ""
    result = search_everything(snap, service.finder(snap),
                               SearchRequest(q=q, limit=query.limit, lon=query.lon,
                                             lat=query.lat))
    crs = query.crs
    venues = []
    for pos in result.venues:
        v = snap.index.venues[pos]
        lon, lat = point(v.lon, v.lat, crs)
        venues.append({"id": v.code, "name": v.name, "name_en": v.name_en,
                       "kind": str(v.kind), "address": v.address, "lon": lon, "lat": lat,
                       "area_name": v.area_name})
    places = []
    for place in result.places:
        lon, lat = point(place.lon, place.lat, crs)
        places.append({"name": place.name, "kind": place.kind, "lon": lon, "lat": lat,
                       "code": place.code or None})
    return {
        "q": q,
        "items": [item_dict(snap, item) for item in result.items],
        "bundles": [bundle_dict(b) for b in result.bundles],
        "venues": venues,
        "places": places,
    }
