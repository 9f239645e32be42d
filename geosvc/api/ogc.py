"""OGC API - Features (Part 1: Core) over the venues: landing page to single feature.

Collections: ``venues`` (every service point), ``halls``, ``bank_outlets``
and ``kiosks``.  Coordinates are always WGS-84 lon/lat (CRS84), as the
standard's core requires.  Items are paged with ``limit`` / ``offset`` and
carry ``next`` / ``prev`` links; ``bbox`` filters.  Unknown collections and
features are 404 problems.  Links are absolute, built from ``base_url``
(the server's root URL, with a trailing slash).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import numpy as np

from geosvc import vocab
from geosvc.api._common import parse
from geosvc.api.features import feature_collection, venue_feature
from geosvc.errors import NotFound
from geosvc.model import VenueFilter, VenueKind

if TYPE_CHECKING:
    from geosvc.app.service import GeoService, Snapshot

__all__ = [
    "COLLECTIONS",
    "CONFORMANCE",
    "collection",
    "collection_feature",
    "collection_items",
    "collections",
    "conformance",
    "landing",
]

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

#: collection id -> (title, description, venue kinds): ``venues`` (every kind), then one
#: collection per venue kind of :data:`geosvc.vocab.KINDS`.
COLLECTIONS: dict[str, tuple[str, str, tuple[VenueKind, ...]]] = {
    "venues": ("Service venues", "Every service point: halls, bank outlets and kiosks.", ()),
    **{k.collection: (k.collection_title, k.collection_description, (k.code,))
       for k in vocab.KINDS},
}
_JSON = "application/json"
_GEOJSON = "application/geo+json"


def _link(href: str, rel: str, media: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media, "title": title}


def landing(service: GeoService, base_url: str) -> dict[str, Any]:
    """Return the landing page (``GET /ogc``)."""
    name = service.snapshot.info.name
    return {
        "title": f"geosvc: {name}",
        "description": "Government-service venues (halls, bank outlets, 24/7 kiosks) "
                       "as OGC API - Features.",
        "links": [
            _link(f"{base_url}ogc", "self", _JSON, "This document"),
            _link(f"{base_url}openapi.json", "service-desc",
                  "application/vnd.oai.openapi+json;version=3.0", "The API definition"),
            _link(f"{base_url}docs", "service-doc", "text/html", "The API documentation"),
            _link(f"{base_url}ogc/conformance", "conformance", _JSON, "Conformance classes"),
            _link(f"{base_url}ogc/collections", "data", _JSON, "The collections"),
        ],
    }


def conformance() -> dict[str, Any]:
    """Return the conformance declaration (``GET /ogc/conformance``)."""
    return {"conformsTo": list(CONFORMANCE)}


def _filter(cid: str) -> VenueFilter:
    try:
        kinds = COLLECTIONS[cid][2]
    except KeyError:
        msg = (f"collection `collectionId` {cid[:80]!r} does not exist; "
               f"one of {', '.join(COLLECTIONS)}")
        raise NotFound(msg) from None
    return VenueFilter(kinds=kinds)


def _collection(snap: Snapshot, cid: str, base_url: str) -> dict[str, Any]:
    title, description, _ = COLLECTIONS[cid]
    positions = snap.index.candidate_positions(_filter(cid))
    if len(positions):
        lon, lat = snap.index.lon[positions], snap.index.lat[positions]
        bbox = [float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())]
    else:
        bbox = [-180.0, -90.0, 180.0, 90.0]
    href = f"{base_url}ogc/collections/{cid}"
    return {
        "id": cid,
        "title": title,
        "description": description,
        "itemType": "feature",
        "crs": [CRS84],
        "extent": {"spatial": {"bbox": [bbox], "crs": CRS84}},
        "links": [
            _link(href, "self", _JSON, "This collection"),
            _link(f"{href}/items", "items", _GEOJSON, "Its features"),
        ],
    }


def collections(service: GeoService, base_url: str) -> dict[str, Any]:
    """Return the collections (``GET /ogc/collections``)."""
    snap = service.snapshot
    return {
        "collections": [_collection(snap, cid, base_url) for cid in COLLECTIONS],
        "links": [_link(f"{base_url}ogc/collections", "self", _JSON, "The collections")],
    }


def collection(service: GeoService, cid: str, base_url: str) -> dict[str, Any]:
    """Return one collection (``GET /ogc/collections/{collectionId}``)."""
    _filter(cid)
    return _collection(service.snapshot, cid, base_url)


def collection_items(
    service: GeoService, cid: str, params: Mapping[str, str], base_url: str
) -> dict[str, Any]:
    """Return a page of a collection's features with ``next`` / ``prev`` links."""
    flt = _filter(cid)
    snap = service.snapshot
    query = parse(service, snap, "ogc_items", params)
    index = snap.index
    if query.bbox is not None:
        positions = np.sort(np.asarray(index.query_bbox(query.bbox, flt)))
    else:
        positions = np.asarray(index.candidate_positions(flt))
    matched = int(positions.size)
    page = positions[query.offset:query.offset + query.limit].tolist()
    features = [venue_feature(snap, p, crs="wgs84", at=None) for p in page]
    href = f"{base_url}ogc/collections/{cid}/items"
    keep = {k: v for k, v in params.items() if k not in {"offset", "limit"}}

    def page_url(offset: int) -> str:
        return f"{href}?{urlencode({**keep, 'limit': query.limit, 'offset': offset})}"

    links = [_link(page_url(query.offset), "self", _GEOJSON, "This page"),
             _link(f"{base_url}ogc/collections/{cid}", "collection", _JSON, "The collection")]
    if query.offset + query.limit < matched:
        links.append(_link(page_url(query.offset + query.limit), "next", _GEOJSON, "Next page"))
    if query.offset > 0:
        links.append(_link(page_url(max(0, query.offset - query.limit)), "prev", _GEOJSON,
                           "Previous page"))
    return feature_collection(features, matched=matched,
                              timeStamp=datetime.now(UTC).isoformat(timespec="seconds"),
                              links=links)


def collection_feature(
    service: GeoService, cid: str, fid: str, base_url: str
) -> dict[str, Any]:
    """Return one feature (``GET /ogc/collections/{collectionId}/items/{featureId}``)."""
    flt = _filter(cid)
    snap = service.snapshot
    pos = snap.index.position(fid)
    if pos is None or not bool(np.isin(pos, snap.index.candidate_positions(flt))):
        msg = f"feature `featureId` {fid[:80]!r} does not exist in collection {cid}"
        raise NotFound(msg)
    feature = venue_feature(snap, pos, crs="wgs84", at=None)
    href = f"{base_url}ogc/collections/{cid}/items"
    feature["links"] = [
        _link(f"{href}/{quote(fid, safe='')}", "self", _GEOJSON, "This feature"),
        _link(f"{base_url}ogc/collections/{cid}", "collection", _JSON, "The collection"),
    ]
    return feature
