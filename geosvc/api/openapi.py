"""The OpenAPI 3.0 document of the HTTP API, built from the parameter table.

Query parameters come from :data:`geosvc.api.params.ENDPOINT_PARAMS`, the same
definitions the handlers validate with, so the document cannot drift from
the code.  :func:`build_openapi` is pure: the web layer serves it at
``/openapi.json`` and renders it as HTML at ``/docs``.  Example values of
dataset-specific parameters (a venue code, an item code, a point inside the
city) can be passed in so that the examples work against the served data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from geosvc import __version__, formats, vocab
from geosvc.api import imports
from geosvc.api.params import ENDPOINT_PARAMS, MODES, PARAMS, REQUIRED, Param
from geosvc.app.travel import EMPTY_REASONS
from geosvc.model import PLACE_KINDS
from geosvc.modes import network_modes

__all__ = ["PATH_ENDPOINTS", "build_openapi"]

_REF = "#/components/schemas/"
_PROBLEM = {"$ref": _REF + "Problem"}

#: (path, method) -> endpoint key of ENDPOINT_PARAMS (None = no query parameters)
PATH_ENDPOINTS: dict[tuple[str, str], str | None] = {
    ("/api/v1/venues", "get"): "venues",
    ("/api/v1/venues/{id}", "get"): "venue",
    ("/api/v1/items", "get"): "items",
    ("/api/v1/items/{code}", "get"): "item",
    ("/api/v1/bundles/{bundle}", "get"): "bundle",
    ("/api/v1/search", "get"): "search",
    ("/api/v1/nearest", "get"): "nearest",
    ("/api/v1/isochrones", "get"): "isochrones",
    ("/api/v1/coverage", "get"): "coverage",
    ("/api/v1/plans", "post"): "plans",
    ("/", "get"): "app",
    ("/static/app/{digest}/{name}", "get"): None,
    (imports.PATH, "get"): None,  # keys and audit: geosvc.api.imports
    (imports.PATH, "post"): None,
    ("/map", "get"): "map",
    ("/embed", "get"): "map",
    ("/venues/{id}", "get"): "venue",
    ("/static/geosvc-widget.js", "get"): None,
    ("/ogc", "get"): None,
    ("/ogc/conformance", "get"): None,
    ("/ogc/collections", "get"): None,
    ("/ogc/collections/{collectionId}", "get"): None,
    ("/ogc/collections/{collectionId}/items", "get"): "ogc_items",
    ("/ogc/collections/{collectionId}/items/{featureId}", "get"): None,
    ("/healthz", "get"): "health",
    ("/metrics", "get"): None,
    ("/openapi.json", "get"): None,
    ("/docs", "get"): None,
}

_SUMMARIES: dict[str, tuple[str, str, str]] = {
    # path: (tag, summary, description)
    "/api/v1/venues": ("citizens", "List venues",
                       "Venues matching the shared filters, `bbox` and `q` (name search), "
                       "paged with `limit`/`offset`. Feature `id` is the venue's stable code."),
    "/api/v1/venues/{id}": ("citizens", "One venue",
                            "One venue Feature with `items: [{code, name, channels}]`, "
                            "`next_open` and `closes_at`."),
    "/api/v1/items": ("citizens", "Search service items",
                      "Item search by Chinese text, pinyin or pinyin initials "
                      "(`社保`, `shebao`, `sb`). Returns `{items, total}`, and the 一件事 "
                      "bundles matching `q` in `bundles` (`bundles_total`)."),
    "/api/v1/items/{code}": ("citizens", "One service item",
                             "One item with `venues_count`, `venues_by_kind`, its service "
                             "guide (`guide`) and the codes of the bundles naming it."),
    "/api/v1/bundles/{bundle}": ("citizens", "One 一件事 bundle",
                                 "A bundle (life event) with its items in order, each with "
                                 "`venues_count` and `has_guide`. Find venues for all of them "
                                 "with `/api/v1/nearest?bundle=`."),
    "/api/v1/search": ("citizens", "Search box",
                       "One search over service items (Chinese, pinyin, initials, code, "
                       "English), 一件事 bundles, venues by name and places (districts, and "
                       "with a road network the extract's named streets and POIs), at most "
                       "`limit` per group, best first; with `lon`/`lat`, venues and places "
                       "matching equally well come nearer first."),
    "/api/v1/nearest": ("citizens", "Nearest venues",
                        "The `k` best venues ranked by travel time ("
                        + ", ".join(f"`{m}`" for m in network_modes()) + "; "
                        "needs a loaded road network, else 422 mode-unavailable) or by "
                        "straight-line distance (`straight`, `travel_time_min` null). With "
                        "`open_at`/`open_now`, network modes keep only venues open on arrival "
                        "(and for the server's open margin after it). With `bundle`, venues "
                        "must handle every item of the bundle; when none does, `two_stop` "
                        "gives the quickest pair of venues that together handle them."),
    "/api/v1/isochrones": ("citizens", "Service circles around a point",
                           "One (Multi)Polygon per band: `minutes`, `area_km2`, `population` "
                           "(null when the dataset counts no residents; `warnings` says why). "
                           "Network modes follow the streets reached; `mode=straight` draws "
                           "geodesic circles (walking speed x minutes, no road network "
                           "needed) and the answer carries `straight_line`."),
    "/api/v1/coverage": ("planners", "Coverage of the service circles",
                         "`{mode, minutes, total_population, covered_population, "
                         "covered_share, "
                         "covered_area_km2, covered_area_share, venues_used, "
                         "venues_off_network, by_area, gaps, warnings}`; gap features carry "
                         "`uncovered_population`, largest first. Without residents the "
                         "population figures and shares are null and `warnings` holds "
                         "`no-population`; `covered_area_share` (share of the areas' km² "
                         "inside the circles) is always given. With `mode=straight` a "
                         "resident is covered within walking speed x minutes of a venue "
                         "along the great circle (no road network needed) and the answer "
                         "carries `straight_line`."),
    "/api/v1/plans": ("planners", "Plan new sites",
                      "Greedy / maximal-covering choice of `k` new sites among `candidates`. "
                      "Only candidates that would offer the filtered kind / channel / level "
                      "count (the others are listed in `candidates_not_offering`; none left "
                      "is a 400 naming `candidates`); each selected site states its "
                      "`offers`. "
                      "`mode=straight` plans by great-circle distance (no road network "
                      "needed; the answer carries `straight_line`)."),
    "/": ("maps", "The citizens' app",
          "Search a service item, 一件事 bundle, venue or place; read the service guide; "
          "the nearest venues by travel time with the route and directions links. One "
          "language per page (`lang`, else the remembered cookie, else Accept-Language); "
          "`elder=1` is the large-print mode. A cached shell: data comes from the JSON API. "
          "Errors are HTML pages."),
    "/static/app/{digest}/{name}": ("maps", "The app's scripts and style sheet",
                                    "`geosvc-pins.js` (map pins by keyboard), "
                                    "`geosvc-app.js`, `geosvc-app.css`; `digest` is the "
                                    "file's content hash (the shell names the current "
                                    "one): cached for a year."),
    imports.PATH: ("operations", "The dataset's version (ETag)",
                   "`{revision, etag, counts, layers}`; the `ETag` header is the version "
                   "that `If-Match` of `POST /api/v1/imports` names."),
    "/map": ("maps", "Full-page map", "Folium map with the same filters; `lon`/`lat` centre a "
             "nearest search; `layer=coverage|isochrones`; `tiles=osm|amap|tianditu|none`."),
    "/embed": ("maps", "Embeddable widget page", "Minimal page for an `<iframe>`."),
    "/venues/{id}": ("maps", "Venue page",
                     "One venue for citizens (HTML): address, phone, hours in words, the "
                     "next 7 days, items by channel, directions links (Amap GCJ-02, Baidu "
                     "BD-09, OpenStreetMap WGS-84). Errors are HTML pages."),
    "/static/geosvc-widget.js": ("maps", "Widget script",
                                 "Draws a widget from the JSON API into a host "
                                 "page's element."),
    "/ogc": ("ogc", "OGC API - Features landing page", ""),
    "/ogc/conformance": ("ogc", "Conformance classes", "core, geojson, oas30."),
    "/ogc/collections": ("ogc", "Collections", "venues, halls, bank_outlets, kiosks."),
    "/ogc/collections/{collectionId}": ("ogc", "One collection", ""),
    "/ogc/collections/{collectionId}/items": ("ogc", "Features of a collection",
                                              "Paged with `limit`/`offset`, `next`/`prev` "
                                              "links, `numberMatched`, `numberReturned`."),
    "/ogc/collections/{collectionId}/items/{featureId}": ("ogc", "One feature", ""),
    "/healthz": ("operations", "Health", "`{status, venues, items, network, version}`; "
                 "with `details=true` also `doctor`, the dataset's check report."),
    "/metrics": ("operations", "Prometheus metrics",
                 "Requests by route, method and status; latency histograms by route; "
                 "snapshot revision and venues; last reload time; cache look-ups "
                 "(text format 0.0.4, all server workers summed)."),
    "/openapi.json": ("operations", "This document", ""),
    "/docs": ("operations", "The HTML reference", ""),
}

_PATH_PARAMS = {
    "id": ("Venue code.", "venue"),
    "code": ("Item code.", "item"),
    "bundle": ("Bundle (一件事) code.", "bundle"),
    "collectionId": ("One of venues, halls, bank_outlets, kiosks.", "collection"),
    "featureId": ("Venue code.", "venue"),
    "digest": ("Content hash of the file (12 hex digits).", "digest"),
    "name": ("`geosvc-pins.js`, `geosvc-app.js` or `geosvc-app.css`.", "asset"),
}

_MAP_PATHS = ("/map", "/embed")
#: HTML pages: their errors are HTML pages too (geosvc.web.problems.PAGE_PATHS).
_PAGE_PATHS = ("/", *_MAP_PATHS, "/venues/{id}")
#: Paths answering in every registered output format of a result kind (``f``, ``Accept``).
_PATH_KINDS = {"/api/v1/venues": formats.FEATURES, "/api/v1/coverage": formats.COVERAGE,
               "/api/v1/plans": formats.PLAN}
_MAP_PARAMS = ("lon", "lat", "crs", "kind", "level", "item", "channel", "open_at",
               "open_now", "accessible", "mode")
_LANG_DOC: dict[str, Any] = {
    "name": "lang", "in": "query", "required": False,
    "description": "Language of the page: `zh` or `en`; without it the remembered cookie "
                   "(`geosvc_lang`), else `Accept-Language`, else `zh`. Remembered in the "
                   "cookie; answers carry `Vary: Accept-Language, Cookie`.",
    "schema": {"type": "string", "enum": ["zh", "en"]}}
_ELDER_DOC: dict[str, Any] = {
    "name": "elder", "in": "query", "required": False,
    "description": "Elder-friendly mode (长辈版): large type, high contrast, one column, "
                   "fewer choices. Remembered in the `geosvc_elder` cookie.",
    "schema": {"type": "boolean"}}
#: Page parameters of each path: the language, and on citizens' pages the elder mode.
#: (The ``html`` answers of coverage and plans also follow ``lang``; documented in
#: docs/api.md "Output formats", not here: ``ENDPOINT_PARAMS`` is their validation table.)
_PREFS_PARAMS: dict[str, tuple[dict[str, Any], ...]] = {
    **{path: (_LANG_DOC, _ELDER_DOC) for path in _PAGE_PATHS},
    "/docs": (_LANG_DOC,),
}


def _oas30(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``schema`` with JSON Schema 2020 numeric exclusive bounds in OpenAPI 3.0 form.

    The parameter table writes ``exclusiveMinimum: 0``; OpenAPI 3.0 (JSON
    Schema draft 4) wants ``minimum: 0, exclusiveMinimum: true``.

    Examples
    --------
    >>> _oas30({"type": "number", "exclusiveMinimum": 0, "maximum": 120})
    {'type': 'number', 'maximum': 120, 'minimum': 0, 'exclusiveMinimum': True}
    """
    out = dict(schema)
    for key, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = out.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            del out[key]
            out[bound] = value
            out[key] = True
    return out


def _param_doc(p: Param, examples: Mapping[str, str]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": p.name, "in": "query", "required": False,
        "description": p.description, "schema": _oas30(p.schema),
    }
    example = examples.get(p.name, p.example)
    if example is not None:
        doc["example"] = example
    return doc


def _query_params(endpoint: str | None, examples: Mapping[str, str]) -> list[dict[str, Any]]:
    if endpoint is None:
        return []
    if endpoint == "app":
        return _empty_is_absent([
            {"name": "lang", "in": "query", "required": False,
             "description": "Page language (remembered in a cookie); else the cookie, "
                            "else Accept-Language, else zh.",
             "schema": {"type": "string", "enum": ["zh", "en"]}},
            {"name": "elder", "in": "query", "required": False,
             "description": "`1`: the large-print mode 长辈版 (remembered in a cookie).",
             "schema": {"type": "boolean"}},
            {"name": "tiles", "in": "query", "required": False,
             "description": "Base map, read by the page's script: `osm`, `amap` (GCJ-02: "
                            "every overlay is shifted with it) or `tianditu` (needs a key); "
                            "any other value falls back to osm. The server does not read it: "
                            "any value is accepted (hence no schema).",
             "schema": {}},
        ])
    if endpoint == "map":
        specs = [PARAMS[n] for n in _MAP_PARAMS]
        extra = [
            {"name": "layer", "in": "query", "required": False,
             "description": "`coverage` shows service circles and gaps; `isochrones` "
                            "the bands around `lon`/`lat` (required with it: else a 400).",
             "schema": {"type": "string", "enum": ["venues", "coverage", "isochrones"]}},
            {"name": "tiles", "in": "query", "required": False, "description": "Base map.",
             "schema": {"type": "string", "enum": ["osm", "amap", "tianditu", "none"]}},
        ]
    else:
        specs, extra = list(ENDPOINT_PARAMS[endpoint]), []
    out = [_param_doc(p, examples) for p in specs]
    for doc in out:
        if doc["name"] in REQUIRED.get(endpoint, ()):
            doc["required"] = True
    return _empty_is_absent(out + extra)


def _empty_is_absent(params: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mark optional query parameters ``allowEmptyValue``: an empty value counts as absent.

    docs/api.md "Common rules": ``kind=`` is the same request as no ``kind``;
    a required parameter sent empty is missing (400).
    """
    for doc in params:
        if doc["in"] == "query" and not doc["required"]:
            doc["allowEmptyValue"] = True
    return params


def _responses(path: str) -> dict[str, Any]:
    ok_schema, media = _ok_body(path)
    content = {media: {"schema": ok_schema}}
    kind = _PATH_KINDS.get(path)
    if kind is not None:
        for fmt in formats.formats(kind):
            content.setdefault(fmt.media_type, {"schema": (
                {"$ref": _REF + "FeatureCollection"} if fmt.media_type == "application/geo+json"
                else ok_schema if fmt.media_type == "application/json"
                else {"type": "string"})})
    ok = {"description": "OK" if kind is None else "OK, in the format `f` or `Accept` picks",
          "content": content}
    return {"200": ok, **_problem_responses(path, negotiated=kind is not None)}


def _ok_body(path: str) -> tuple[dict[str, Any], str]:
    """Return the schema and media type of the (default) 200 answer of ``path``."""
    if path in ("/api/v1/venues", "/api/v1/nearest", "/api/v1/isochrones",
                "/ogc/collections/{collectionId}/items"):
        return {"$ref": _REF + "FeatureCollection"}, "application/geo+json"
    if path in ("/api/v1/venues/{id}", "/ogc/collections/{collectionId}/items/{featureId}"):
        return {"$ref": _REF + "Feature"}, "application/geo+json"
    named = {"/api/v1/items": "ItemSearch", "/api/v1/items/{code}": "Item",
             "/api/v1/bundles/{bundle}": "Bundle", "/api/v1/search": "Search",
             "/api/v1/coverage": "Coverage", "/api/v1/plans": "Plan", "/healthz": "Health"}
    if path in named:
        return {"$ref": _REF + named[path]}, "application/json"
    if path in (*_PAGE_PATHS, "/docs"):
        return {"type": "string"}, "text/html"
    if path == "/openapi.json":
        return {"type": "object"}, "application/vnd.oai.openapi+json"
    if path == "/static/geosvc-widget.js":
        return {"type": "string"}, "text/javascript"
    if path == "/metrics":
        return {"type": "string"}, "text/plain"
    if path == "/static/app/{digest}/{name}":
        return {"type": "string"}, "text/javascript"
    return {"type": "object"}, "application/json"


def _problem_responses(path: str, *, negotiated: bool) -> dict[str, Any]:
    """Return the problem answers (400, 403, 404, 406, 413, 415, 422, 429, 503) of ``path``.

    On the HTML pages (:data:`_PAGE_PATHS`, ``/docs``) the same errors are HTML pages.
    """
    responses: dict[str, Any] = {}
    problem = {"content": {"application/problem+json": {"schema": _PROBLEM}}}
    if path in (*_PAGE_PATHS, "/docs"):
        problem = {"content": {"text/html": {"schema": {"type": "string"}}}}
    if (("{" in path and not path.startswith("/static/"))
            or path.startswith(("/api/v1/", "/ogc/collections/"))
            or path in ("/", *_MAP_PATHS, "/healthz", "/docs")):
        responses["400"] = {"description": "Invalid parameter(s), all named in "
                                           "`invalid_params`",
                            **problem}
    if "{" in path:
        responses["404"] = {"description": "Not found", **problem}
    if negotiated:
        responses["406"] = {"description": "No format of the answer satisfies `Accept`",
                            **problem}
    if path in ("/api/v1/nearest", "/api/v1/isochrones", "/api/v1/coverage", "/api/v1/plans",
                *_MAP_PATHS):
        responses["422"] = {"description": "Mode unavailable, point outside the network, "
                                           "or no route", **problem}
    if path == "/api/v1/plans":  # writes and bodies: geosvc.web._guard
        responses["403"] = {"description": "A cross-origin request from an origin not in "
                                           "`write_origins`", **problem}
        responses["413"] = {"description": "The body is larger than `max_body_bytes`",
                            **problem}
        responses["415"] = {"description": "A body that is not `application/json`",
                            **problem}
    if path in ("/api/v1/coverage", "/api/v1/isochrones", "/api/v1/plans"):
        responses["429"] = {"description": "Too many requests from this address to the heavy "
                                           "analyses (`heavy_rate_limit`); see Retry-After",
                            **problem}
    # every request may pick up a new data revision first (GeoService.maybe_reload)
    responses["503"] = {"description": "The data store cannot be read", **problem}
    if path in ("/api/v1/coverage", "/api/v1/isochrones", "/api/v1/plans", *_MAP_PATHS):
        responses["503"] = {  # geosvc.budget
            "description": "The data store cannot be read, or the analysis would take or "
                           "took longer than `analysis_budget_s` "
                           "(`analysis-budget-exceeded`); see Retry-After",
            "headers": {"Retry-After": {"description": "Seconds to wait (the budget)",
                                        "schema": {"type": "integer", "minimum": 1}}},
            **problem}
    return responses


#: Schema of one channel code (from :data:`geosvc.vocab.CHANNELS`).
_CHANNEL = {"type": "string", "enum": list(vocab.CHANNELS.codes())}


def _schemas() -> dict[str, Any]:
    nullable_str = {"type": "string", "nullable": True}
    venue_props = {
        "type": "object",
        "properties": {
            "name": {"type": "string"}, "name_en": nullable_str,
            "kind": {"type": "string", "enum": list(vocab.KINDS.codes())},
            "level": {"type": "string", "nullable": True, "enum": list(vocab.LEVELS.codes())},
            "address": nullable_str, "phone": nullable_str,
            "opening_hours": {**nullable_str, "description": "OSM opening_hours syntax"},
            "open": {"type": "boolean", "nullable": True,
                     "description": "Open at `open_at` (or now; at arrival for network "
                                    "modes); null when hours are unknown"},
            "channels": {"type": "array", "items": _CHANNEL},
            "items_count": {"type": "integer"}, "accessible": {"type": "boolean"},
            "cross_province": {"type": "boolean"}, "regional": {"type": "boolean"},
            "bank": nullable_str, "machines": {"type": "integer", "nullable": True},
            "area_code": nullable_str, "area_name": nullable_str,
            "candidate": {"type": "boolean",
                          "description": "`status` is `candidate` (kept for compatibility)"},
            "status": {"type": "string", "enum": list(vocab.STATUSES.codes()),
                       "description": "Only `in_service` venues answer service queries; "
                                      "`candidate` ones with `include_candidates=true`; "
                                      "`planned` and `closed` ones are listed by "
                                      "`/api/v1/venues?status=...` only"},
            "rank": {"type": "integer", "description": "nearest only"},
            "distance_m": {"type": "number", "description": "nearest only"},
            "travel_time_min": {"type": "number", "nullable": True,
                                "description": "nearest only; null for straight"},
            "next_open": {"type": "string", "format": "date-time", "nullable": True},
            "closes_at": {"type": "string", "format": "date-time", "nullable": True},
            "arrives_at": {"type": "string", "format": "date-time"},
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "code": {"type": "string"}, "name": {"type": "string"},
                "channels": {"type": "array", "items": _CHANNEL},
                "has_guide": {"type": "boolean",
                              "description": "the item has a service guide"}}}},
            "stop": {"type": "integer", "description": "two_stop only: 1 or 2"},
            "bundle_items": {"type": "array", "items": {"type": "string"},
                             "description": "two_stop only: bundle items done there"},
            "item_channels": {"type": "array", "items": _CHANNEL,
                              "description": "nearest with `item`/`bundle` only: the "
                                             "channels through which the venue handles "
                                             "all the items asked"},
        },
    }
    guide = {"type": "object", "description": "The service guide (办事指南); empty when "
                                              "unknown. `apply_url` is text, never a link.",
             "properties": {
                 "materials": {"type": "array", "items": {"type": "string"}},
                 "conditions": {"type": "string"}, "fee": {"type": "string"},
                 "legal_days": {"type": "integer", "nullable": True},
                 "promised_days": {"type": "integer", "nullable": True},
                 "apply_url": {"type": "string"}, "can_do_online": {"type": "boolean"},
                 "by_post": {"type": "boolean"}, "at_kiosk": {"type": "boolean"}}}
    bundle_brief = {"type": "object", "properties": {
        "code": {"type": "string"}, "name": {"type": "string"},
        "name_en": {"type": "string"}, "items": {"type": "array",
                                                 "items": {"type": "string"}}}}
    item = {"type": "object", "properties": {
        "code": {"type": "string"}, "name": {"type": "string"}, "name_en": {"type": "string"},
        "department": {"type": "string"},
        "category": {"type": "string", "enum": list(vocab.CATEGORIES.codes())},
        "scope": {"type": "string", "enum": list(vocab.SCOPES.codes())},
        "high_frequency": {"type": "boolean"},
        "venues_count": {"type": "integer"},
        "description": {"type": "string", "nullable": True, "description": "one item only"},
        "venues_by_kind": {"type": "object", "additionalProperties": {"type": "integer"},
                           "description": "one item only"},
        "guide": {**guide, "description": "one item only: the service guide"},
        "bundles": {"type": "array", "items": {"type": "string"},
                    "description": "one item only: codes of the bundles naming it"}}}
    share = {"type": "number", "minimum": 0, "maximum": 1}
    share_or_null = {**share, "nullable": True,
                     "description": "null when the dataset counts no residents "
                                    "(see `warnings`)"}
    people = {"type": "number", "nullable": True,
              "description": "residents; null when the dataset counts none (see `warnings`)"}
    area_share = {**share, "nullable": True,
                  "description": "share of the areas' km² inside the service circles "
                                 "(land, not residents); null without areas"}
    straight = {"$ref": _REF + "StraightLine"}
    warnings = {"type": "array", "items": {"$ref": _REF + "Warning"},
                "description": "why figures are missing and how to fix it (empty: none)"}
    return {
        "Warning": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string", "enum": ["no-population"]},
                           "message": {"type": "string"}}},
        "StraightLine": {
            "type": "object", "required": ["speed_kph", "note"],
            "description": "Present only in answers of `mode=straight`: distances are "
                           "great-circle distances at this speed; no road network was used.",
            "properties": {"speed_kph": {"type": "number"}, "note": {"type": "string"}}},
        "Problem": {"type": "object", "required": ["type", "title", "status", "detail"],
                    "properties": {
                        "type": {"type": "string"}, "title": {"type": "string"},
                        "status": {"type": "integer"}, "detail": {"type": "string"},
                        "instance": {"type": "string"},
                        "invalid_params": {"type": "array", "items": {
                            "type": "object", "required": ["name", "reason"],
                            "properties": {"name": {"type": "string"},
                                           "reason": {"type": "string"}}}}}},
        "Geometry": {"type": "object", "required": ["type", "coordinates"],
                     "properties": {"type": {"type": "string"},
                                    "coordinates": {"type": "array", "items": {}}}},
        "VenueProperties": venue_props,
        "Feature": {"type": "object", "required": ["type", "geometry", "properties"],
                    "properties": {"type": {"type": "string", "enum": ["Feature"]},
                                   "id": {"type": "string"},
                                   "geometry": {"$ref": _REF + "Geometry"},
                                   "properties": {"$ref": _REF + "VenueProperties"},
                                   "route": {"$ref": _REF + "Geometry"},
                                   "warnings": {**warnings, "description":
                                                "/api/v1/venues/{id}: only when `open_at` "
                                                "lies beyond the holiday data "
                                                "(`holidays-unknown`)"}}},
        "FeatureCollection": {"type": "object", "required": ["type", "features"],
                              "properties": {
                                  "type": {"type": "string", "enum": ["FeatureCollection"]},
                                  "features": {"type": "array",
                                               "items": {"$ref": _REF + "Feature"}},
                                  "numberMatched": {"type": "integer"},
                                  "numberReturned": {"type": "integer"},
                                  "straight_line": straight,
                                  "warnings": {**warnings, "description":
                                               "/api/v1/isochrones: why the bands' "
                                               "`population` is null (empty: none); "
                                               "nearest and venues: only when a time "
                                               "lies beyond the holiday data "
                                               "(`holidays-unknown`)"},
                                  "empty_reason": {
                                      "type": "string", "enum": list(EMPTY_REASONS),
                                      "description": "nearest only, and only when no venue "
                                                     "is returned: why"},
                                  "bundle": {**bundle_brief, "description":
                                             "nearest with `bundle` only"},
                                  "two_stop": {
                                      "type": "object", "description":
                                      "nearest with `bundle` only, when no venue handles "
                                      "every item: two stops (venue Features with `stop`, "
                                      "`bundle_items`, the leg's `travel_time_min`, "
                                      "`arrives_at`, `open`, `route`)",
                                      "properties": {
                                          "total_time_min": {
                                              "type": "number",
                                              "description": "travel time of both legs"},
                                          "stop_minutes": {
                                              "type": "number",
                                              "description": "time spent at the first stop "
                                                             "before the second leg"},
                                          "stops": {"type": "array", "items":
                                                    {"$ref": _REF + "Feature"}}}}}},
        "Item": item,
        "ItemSearch": {"type": "object", "properties": {
            "items": {"type": "array", "items": {"$ref": _REF + "Item"}},
            "total": {"type": "integer"}, "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "bundles": {"type": "array", "items": bundle_brief},
            "bundles_total": {"type": "integer"}}},
        "Search": {"type": "object", "properties": {
            "q": {"type": "string", "description": "the search text, as read"},
            "items": {"type": "array", "items": {"$ref": _REF + "Item"}},
            "bundles": {"type": "array", "items": bundle_brief},
            "venues": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "name": {"type": "string"},
                "name_en": nullable_str,
                "kind": {"type": "string", "enum": list(vocab.KINDS.codes())},
                "address": nullable_str, "area_name": nullable_str,
                "lon": {"type": "number"}, "lat": {"type": "number"}}}},
            "places": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"},
                "kind": {"type": "string", "enum": list(PLACE_KINDS)},
                "lon": {"type": "number"}, "lat": {"type": "number"},
                "code": {**nullable_str, "description": "districts: the area code"}}}}}},
        "Bundle": {"type": "object", "properties": {
            "code": {"type": "string"}, "name": {"type": "string"},
            "name_en": {"type": "string"}, "description": {"type": "string"},
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "code": {"type": "string"}, "name": {"type": "string", "nullable": True},
                "name_en": {"type": "string", "nullable": True},
                "venues_count": {"type": "integer"}, "has_guide": {"type": "boolean"}}}}}},
        "Coverage": {"type": "object", "properties": {
            "mode": {"type": "string", "enum": list(MODES)},
            "minutes": {"type": "number"}, "total_population": people,
            "covered_population": people, "covered_share": share_or_null,
            "covered_area_km2": {"type": "number"},
            "covered_area_share": area_share,
            "venues_used": {"type": "integer"},
            "venues_off_network": {"type": "integer", "description":
                                   "matching venues too far from every road to be placed"},
            "by_area": {"type": "array", "items": {"type": "object", "properties": {
                "area_id": {"type": "string"}, "name": {"type": "string"},
                "total_population": people,
                "covered_population": people, "covered_share": share_or_null,
                "covered_area_share": area_share}}},
            "gaps": {"$ref": _REF + "FeatureCollection"},
            "off_network_population": {"type": "number", "nullable": True, "description":
                                       "residents too far from every road to be reached"},
            "warnings": warnings,
            "catchments": {"type": "array", "items": {"type": "object", "properties": {
                "code": {"type": "string"}, "name": {"type": "string"},
                "population": {"type": "number"}, "share": share}}},
            "circles": {"$ref": _REF + "FeatureCollection"},
            "crs": {"type": "string", "enum": ["wgs84", "gcj02", "bd09"]},
            "straight_line": straight}},
        "PlanRequest": {"type": "object", "properties": {
            "mode": {"type": "string", "enum": list(MODES), "default": "walk",
                     "description": f"{', '.join(network_modes())} need a road network; "
                                    "straight plans by great-circle distance"},
            "minutes": {"type": "number", "minimum": 0, "exclusiveMinimum": True,
                        "maximum": 120, "default": 10},
            "k": {"type": "integer", "minimum": 1, "maximum": 1000,
                  "description": "maximal covering: number of sites to choose"},
            "target_share": {"type": "number", "minimum": 0, "maximum": 1,
                             "description": "minimum sites: reach this covered share"},
            "add": {"type": "array", "items": {"type": "string"},
                    "description": "what-if: these candidate ids are added, in order"},
            "solver": {"type": "string", "enum": ["auto", "exact", "greedy"],
                       "default": "auto"},
            "site_spacing_m": {"type": "number", "minimum": 10, "maximum": 10_000,
                               "description":
                               "kiosk_sites: one candidate per populated cell of this size"},
            "candidates": {"description": '"bank_outlets" (default), "kiosk_sites" or a '
                                          "FeatureCollection of candidate points (WGS-84)",
                           "default": "bank_outlets",
                           "oneOf": [{"type": "string",
                                      "enum": ["bank_outlets", "kiosk_sites"]},
                                     {"$ref": _REF + "CandidateCollection"}]},
            "filters": {"type": "object", "description":
                        "the venue filters of /api/v1/coverage (kind, level, item, ...): "
                        "strings as in the query, or booleans, numbers, lists of strings",
                        "additionalProperties": {"oneOf": [
                            {"type": "string"}, {"type": "number"}, {"type": "boolean"},
                            {"type": "array", "items": {"type": "string"}}]}}}},
        "CandidateCollection": {
            "type": "object", "required": ["type", "features"],
            "description": "candidate sites: Point features, `id` (or `properties.id`) the "
                           "candidate's id; `properties` may state `name`, `kind`, "
                           "`channels`, `level`",
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["type", "geometry"],
                    "properties": {
                        "type": {"type": "string", "enum": ["Feature"]},
                        "id": {"type": "string"},
                        "properties": {"type": "object"},
                        "geometry": {"type": "object", "required": ["type", "coordinates"],
                                     "properties": {
                                         "type": {"type": "string", "enum": ["Point"]},
                                         "coordinates": {
                                             "type": "array", "minItems": 2, "maxItems": 2,
                                             "items": {"type": "number"}}}}}}}}},
        "Plan": {"type": "object", "properties": {
            "problem": {"type": "string", "enum": ["max_cover", "min_sites", "what_if"]},
            "mode": {"type": "string"}, "minutes": {"type": "number"},
            "candidates": {"type": "string"},
            "candidates_count": {"type": "integer"},
            "candidates_off_network": {"type": "array", "items": {"type": "string"}},
            "candidates_not_offering": {
                "type": "array", "items": {"type": "string"},
                "description": "candidate ids left out: they would not offer the filtered "
                               "kind / channel / level (never chosen)"},
            "fixed_sites": {"type": "integer"},
            "total_population": {"type": "number"},
            "before_population": {"type": "number"}, "before_share": share,
            "after_population": {"type": "number"}, "after_share": share,
            "gain_population": {"type": "number"},
            "k": {"type": "integer"}, "target_share": share,
            "target_reached": {"type": "boolean"},
            "selected": {"type": "array", "items": {"type": "object", "properties": {
                "rank": {"type": "integer"},
                "id": {"type": "string"}, "name": {"type": "string"},
                "lon": {"type": "number"}, "lat": {"type": "number"},
                "gain_population": {"type": "number"},
                "cumulative_population": {"type": "number"},
                "cumulative_share": share,
                "offers": {"type": "object", "description":
                           "what the new site offers in this plan (null: not stated)",
                           "properties": {
                               "kind": {"type": "string", "nullable": True,
                                        "enum": list(vocab.KINDS.codes())},
                               "channels": {"type": "array", "nullable": True,
                                            "items": _CHANNEL}}}}}},
            "solver": {"type": "string"}, "optimal": {"type": "boolean"},
            "solve_time_s": {"type": "number"}, "build_time_s": {"type": "number"},
            "status": {"type": "string"},
            "comparison": {"type": "object",
                           "description": "greedy vs exact when both ran (gap)"},
            "straight_line": straight}},
        "Health": {"type": "object", "properties": {
            "status": {"type": "string"}, "venues": {"type": "integer"},
            "items": {"type": "integer"},
            "network": {"type": "object", "nullable": True,
                        "additionalProperties": {"type": "integer"}},
            "version": {"type": "string"},
            "dataset": {"type": "string"}, "timezone": {"type": "string"},
            "calendar": {"type": "string", "nullable": True,
                         "description": "holiday calendar: cn, or null for none"},
            "country": {"type": "string", "description": "ISO 3166 country code"},
            "revision": {"type": "integer"},
            "built_at": {"type": "string", "format": "date-time"},
            "calendar_ends": {"type": "string", "format": "date", "nullable": True,
                              "description": "last date with holiday data (null: no "
                                             "calendar)"},
            "warnings": {**warnings, "description": "only when the holiday data ends "
                                                    "within 90 days (`holidays-ending`)"},
            "off_network_venues": {"type": "object", "description":
                                   "per mode (engines built so far): venues too far from "
                                   "that mode's roads to be returned",
                                   "additionalProperties": {"type": "integer"}},
            "doctor": {"$ref": _REF + "Doctor"}}},
        "Doctor": {
            "type": "object",
            "description": "With `details=true` only: the dataset's check report "
                           "(`geosvc doctor --json`).",
            "properties": {
                "ok": {"type": "boolean", "description": "no finding is an error"},
                "dataset": {"type": "string"}, "revision": {"type": "integer"},
                "modes": {"type": "array", "items": {"type": "string"},
                          "description": "modes with a road network loaded"},
                "today": {"type": "string", "format": "date"},
                "errors": {"type": "integer"}, "warnings": {"type": "integer"},
                "infos": {"type": "integer"},
                "findings": {"type": "array", "items": {
                    "type": "object",
                    "required": ["code", "severity", "message", "fix", "count", "examples"],
                    "properties": {
                        "code": {"type": "string"},
                        "severity": {"type": "string",
                                     "enum": ["error", "warning", "info"]},
                        "message": {"type": "string"}, "fix": {"type": "string"},
                        "count": {"type": "integer"},
                        "examples": {"type": "array", "items": {"type": "string"}}}}}}},
    }


def build_openapi(
    *, examples: Mapping[str, str] | None = None, title: str = "geosvc"
) -> dict[str, Any]:
    """Return the OpenAPI 3.0.3 document of every path of docs/api.md.

    Parameters
    ----------
    examples : mapping, optional
        Example values overriding the built-in ones: query parameter names
        (``lon``, ``lat``, ``item`` ...) and the path parameters ``venue``
        (a venue code) and ``item`` (an item code).
    title : str
        ``info.title``.

    Examples
    --------
    >>> doc = build_openapi()
    >>> doc["openapi"], "/api/v1/nearest" in doc["paths"]
    ('3.0.3', True)
    >>> [p["name"] for p in doc["paths"]["/api/v1/nearest"]["get"]["parameters"]][:3]
    ['lon', 'lat', 'crs']
    """
    examples = dict(examples or {})
    paths: dict[str, Any] = {}
    for (path, method), endpoint in PATH_ENDPOINTS.items():
        tag, summary, description = _SUMMARIES[path]
        params = []
        for name, (desc, key) in _PATH_PARAMS.items():
            if "{" + name + "}" in path:
                doc: dict[str, Any] = {"name": name, "in": "path", "required": True,
                                       "description": desc, "schema": {"type": "string"}}
                if key == "collection":
                    doc["schema"]["enum"] = ["venues", "halls", "bank_outlets", "kiosks"]
                    doc["example"] = "halls"
                elif key in examples:
                    doc["example"] = examples[key]
                params.append(doc)
        params += _query_params(endpoint, examples)
        params += _empty_is_absent([dict(p) for p in _PREFS_PARAMS.get(path, ())])
        op: dict[str, Any] = {
            "tags": [tag], "summary": summary, "description": description,
            "operationId": (method + path).replace("/", "_").replace("{", "").replace("}", "")
                           .replace(".", "_").replace("-", "_"),
            "parameters": params,
            "responses": _responses(path),
        }
        if path == imports.PATH:  # keyed write (multipart) and its version
            op.update(imports.openapi_operation(method))
            op["parameters"] = params + op["parameters"] if method == "post" else params
        elif method == "post":
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": _REF + "PlanRequest"},
                "example": {"mode": "walk", "minutes": 10, "k": 5,
                            "candidates": "bank_outlets"}}}}
        paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.0.3",
        "info": {
            "title": f"{title} API",
            "version": __version__,
            "description": "Government-service map and locator: service halls, bank-outlet "
                           "service points and 24/7 kiosks; nearest by travel time; "
                           "10-minute service-circle coverage. Coordinates in `crs` "
                           "(wgs84 default, gcj02, bd09); errors are application/problem+json; "
                           "unknown query parameters are ignored.",
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": t} for t in ("citizens", "planners", "maps", "ogc", "operations")],
        "paths": paths,
        "components": {"schemas": {**_schemas(), **imports.SCHEMAS},
                       "securitySchemes": imports.SECURITY_SCHEMES},
    }
