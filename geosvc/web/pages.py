"""The page builders of the map pages: an adapter from the API's answers to render/.

``map_page(service, params)`` answers ``GET /map`` and ``GET /embed``: it
reads the page's own parameters (``layer``, ``tiles``), calls the same
handlers as the JSON API (so every filter, default and error is the API's),
and hands their results to :mod:`geosvc.render`, which only draws results.
It sits in the web layer (above ``api`` and ``render``) but needs no Flask;
``geosvc.web.maps`` wraps it in views.

``layer``:

* ``venues`` (default) -- venues by kind; with ``lon``/``lat``, the ``k``
  nearest ranked with their routes (``/api/v1/nearest`` parameters, ``route``
  defaults to true).
* ``coverage`` -- service circles and gaps (``/api/v1/coverage`` parameters).
* ``isochrones`` -- bands around ``lon``/``lat`` (``/api/v1/isochrones``).

Every page is in the language of its :class:`~geosvc.render.i18n.Prefs`
(``lang``, ``elder``: read by the view, passed in here with the ready HTML of
the page switches).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from geosvc.api._common import parse
from geosvc.api.coverage import coverage
from geosvc.api.isochrones import isochrones
from geosvc.api.nearest import nearest
from geosvc.api.params import MODES
from geosvc.api.venues import list_venues, venue_details, venue_position
from geosvc.coords import parse_crs
from geosvc.errors import InvalidParameter
from geosvc.render.base import page_html
from geosvc.render.coverage_map import coverage_map, isochrones_map
from geosvc.render.i18n import Prefs
from geosvc.render.tiles import Basemap, parse_tiles, shift_geojson, shift_points
from geosvc.render.venues_map import venues_map

if TYPE_CHECKING:
    from geosvc.app.service import GeoService

__all__ = ["LAYERS", "map_page"]

#: Values of the ``layer`` parameter.
LAYERS = ("venues", "coverage", "isochrones")


def _parse_layer(raw: str | None) -> str:
    value = (raw or "venues").strip().lower() or "venues"
    if value not in LAYERS:
        msg = f"must be one of {' | '.join(LAYERS)}"
        raise InvalidParameter("layer", msg)
    return value


def _request_crs(params: Mapping[str, str]) -> str:
    raw = params.get("crs")
    return parse_crs(raw) if raw and raw.strip() else "wgs84"


def _to_wgs84(doc: Any, crs: str) -> Any:
    """Handlers answer in the request's ``crs``; the renderers take WGS-84."""
    return doc if crs == "wgs84" else shift_geojson(doc, "wgs84", source=crs)


@dataclass(frozen=True)
class _Look:
    """How a map page is drawn: base map, embedding, language and switches."""

    basemap: Basemap
    compact: bool
    tianditu_key: str | None
    prefs: Prefs
    nav: str


def map_page(service: GeoService, params: Mapping[str, str], *, compact: bool = False,
             base: str = "", tianditu_key: str | None = None, prefs: Prefs | None = None,
             nav: str = "") -> str:
    """Return the HTML of the map page for the query ``params``.

    Parameters
    ----------
    service : GeoService
        The running service.
    params : mapping of str to str
        The query string: the API's parameters plus ``layer`` and ``tiles``.
    compact : bool
        The embeddable page (``/embed``).
    base : str
        URL prefix of asset links ('' = same origin).
    tianditu_key : str, optional
        Key of the Tianditu base map.
    prefs : Prefs, optional
        Language and elder mode (default Chinese, standard).
    nav : str
        Ready HTML of the page switches (title bar).

    Raises
    ------
    InvalidParameter
        Bad ``layer`` / ``tiles`` or any bad API parameter (all named).
    """
    problems = []
    layer = basemap = None
    try:
        layer = _parse_layer(params.get("layer"))
    except InvalidParameter as exc:
        problems += exc.invalid_params
    try:
        basemap = parse_tiles(params.get("tiles"))
    except InvalidParameter as exc:
        problems += exc.invalid_params
    if problems or basemap is None:  # (parse_tiles returns a Basemap or raises)
        raise InvalidParameter.many((p["name"], p["reason"]) for p in problems)
    look = _Look(basemap, compact, tianditu_key, prefs or Prefs(), nav)
    if layer == "coverage":
        fmap = _coverage(service, params, look)
    elif layer == "isochrones":
        fmap = _isochrones(service, params, look)
    else:
        fmap = _venues(service, params, look)
    return page_html(fmap, base=base)


@dataclass(frozen=True)
class _Found:
    """The venues a venue page shows, and what the map says about the search."""

    fc: dict[str, Any]
    note: str | None = None
    origin: tuple[float, float] | None = None
    at: str | None = None


def _venues(service: GeoService, params: Mapping[str, str], look: _Look) -> Any:
    """Return the map of the ``venues`` layer: a nearest search with a point, else a list."""
    crs = _request_crs(params)
    mode = (params.get("mode") or "").strip().lower() or "walk"
    if mode not in MODES:  # the list of venues reads no mode: the page's links do
        msg = f"must be one of {' | '.join(MODES)}"
        raise InvalidParameter("mode", msg)
    has_point = bool((params.get("lon") or "").strip() or (params.get("lat") or "").strip())
    landing: Any = None
    at = None
    if has_point:
        found = _nearest_venues(service, params, crs, look.prefs)
        mode = str(found.fc.get("mode") or mode)
    else:
        found = _listed_venues(service, params, look.prefs)
    fc = _to_wgs84(found.fc, crs)
    if not has_point and not look.compact and set(params) <= _LANDING_PARAMS:
        landing, at = _nearest_open_hall(service, params, fc["features"])
    items, features = _with_details(service, params, fc["features"])
    return venues_map({"type": "FeatureCollection", "features": features}, items=items,
                      origin=found.origin, mode=mode, basemap=look.basemap,
                      compact=look.compact, tianditu_key=look.tianditu_key, note=found.note,
                      at=found.at or at, prefs=look.prefs, nav=look.nav, venue_pages=True,
                      landing=landing)


#: Parameters of a map without a search or filter: it opens in its landing state.
_LANDING_PARAMS = frozenset({"lang", "elder", "tiles", "open_at", "layer"})


def _nearest_open_hall(service: GeoService, params: Mapping[str, str],
                       shown: list[dict[str, Any]]) -> tuple[Any, str | None]:
    """Return the open hall nearest the centre of ``shown`` and the time it was judged at.

    The hall is a ``/api/v1/nearest`` feature; True when none is open, None
    when there is no venue at all.

    The centre is the median venue position (WGS-84); "open" is at ``open_at``
    (default now), by straight-line distance, as ``/api/v1/nearest`` answers.
    """
    if not shown:
        return None, None
    lons = sorted(float(f["geometry"]["coordinates"][0]) for f in shown)
    lats = sorted(float(f["geometry"]["coordinates"][1]) for f in shown)
    query = {"lon": f"{lons[len(lons) // 2]:.6f}", "lat": f"{lats[len(lats) // 2]:.6f}",
             "kind": "hall", "k": "1", "mode": "straight"}
    if (params.get("open_at") or "").strip():
        query["open_at"] = params["open_at"]
    else:
        query["open_now"] = "true"
    fc = nearest(service, query)
    return (fc["features"][0] if fc["features"] else True), fc["query"].get("at")


#: The map's note for a nearest search without venues, by ``empty_reason`` (docs/api.md).
_EMPTY_NOTES = {
    "no_venue_offers_item": ("没有场所办理所选事项。请换一个事项，或在网上办理。",
                             "No venue handles the chosen item(s). Choose another item, "
                             "or apply online."),
    "no_venue_matches": ("没有符合条件的场所。请放宽筛选条件。",
                         "No venue matches the filters. Relax the filters."),
    "unreachable": ("从此处无法到达符合条件的场所。请换一个出发点或出行方式。",
                    "No matching venue can be reached from here. Try another start or "
                    "travel mode."),
    "beyond_max_minutes": ("限定时间内无法到达符合条件的场所。请放宽时间限制。",
                           "No matching venue within the time limit. Allow more minutes."),
    "closed": ("到达时没有开放的场所。请换个时间，或不限“营业中”。",
               "No matching venue is open on arrival. Try another time, or drop the "
               "open-now filter."),
}


def _nearest_venues(service: GeoService, params: Mapping[str, str], crs: str,
                    prefs: Prefs) -> _Found:
    """Return the nearest venues to ``lon``/``lat`` with their routes, and the query point."""
    query = dict(params)
    query.setdefault("route", "true")
    fc = nearest(service, query)
    px, py = fc["query"]["point"]
    ox, oy = shift_points([px], [py], "wgs84", source=crs)
    note = None if fc["features"] else prefs.t(*_EMPTY_NOTES.get(
        str(fc.get("empty_reason")), ("附近没有符合条件的场所", "No venue matches nearby")))
    return _Found(fc, note=note, origin=(float(ox[0]), float(oy[0])),
                  at=fc["query"].get("at"))


def _listed_venues(service: GeoService, params: Mapping[str, str], prefs: Prefs) -> _Found:
    """Return the venues matching the filters (up to the service's ``max_limit`` by default)."""
    query = dict(params)
    if not (query.get("limit") or "").strip():
        query["limit"] = str(service.settings.max_limit)
    fc = list_venues(service, query)
    note = None
    if fc["numberMatched"] > fc["numberReturned"]:
        shown, matched = fc["numberReturned"], fc["numberMatched"]
        note = prefs.t(f"显示 {shown} / {matched} 个场所",
                       f"Showing {shown} of {matched} venues")
    elif not fc["features"]:
        note = prefs.t(*_EMPTY_NOTES["no_venue_matches"])
    return _Found(fc, note=note)


def _with_details(service: GeoService, params: Mapping[str, str],
                  shown: list[dict[str, Any]]) -> tuple[dict[str, list[dict[str, Any]]],
                                                        list[dict[str, Any]]]:
    """Return each venue's item list, and the features with their next opening times.

    As the venue handler gives them, at the same time (``open_at``, else now),
    without building each venue's feature again.
    """
    detail_params = {k: params[k] for k in ("open_at",) if (params.get(k) or "").strip()}
    snap = service.snapshot
    detail_at = parse(service, snap, "venue", detail_params).at
    items: dict[str, list[dict[str, Any]]] = {}
    features = []
    wanted = {c.strip() for c in (params.get("item") or "").split(",") if c.strip()}
    for feat in shown:
        detail = venue_details(snap, venue_position(snap, str(feat["id"])), detail_at)
        # The items searched for first: the popup caps its list.
        items[str(feat["id"])] = sorted(detail.get("items") or [],
                                        key=lambda it: it.get("code") not in wanted)
        props = dict(feat["properties"])
        for key in ("next_open", "closes_at"):
            props.setdefault(key, detail.get(key))
        features.append({**feat, "properties": props})
    return items, features


def _coverage(service: GeoService, params: Mapping[str, str], look: _Look) -> Any:

    crs = _request_crs(params)
    result = coverage(service, {**params, "circles": "true"})
    if crs != "wgs84":
        result = {**result, **{k: _to_wgs84(result[k], crs)
                               for k in ("gaps", "circles", "catchments") if isinstance(
                                   result.get(k), Mapping)}}
    venue_params = {k: v for k, v in params.items()
                    if k in ("kind", "level", "item", "channel", "open_at", "open_now",
                             "accessible", "home_area", "include_candidates")}
    venue_params["limit"] = str(service.settings.max_limit)
    venues = list_venues(service, venue_params)
    result = {**result, "catchments": _locate_catchments(result.get("catchments"), venues)}
    return coverage_map(result, venues=venues, population=_population(service),
                        basemap=look.basemap, compact=look.compact,
                        tianditu_key=look.tianditu_key, prefs=look.prefs, nav=look.nav)


def _locate_catchments(catchments: Any, venues: Mapping[str, Any]) -> Any:
    """Give each catchment row (``{code, name, population}``) its venue's lon/lat."""
    if not isinstance(catchments, list):
        return catchments
    where = {f["id"]: f["geometry"]["coordinates"] for f in venues.get("features", [])
             if f.get("geometry")}
    rows = []
    for row in catchments:
        xy = where.get(row.get("code"))
        rows.append({**row, "lon": xy[0], "lat": xy[1]} if xy else dict(row))
    return rows


def _population(service: GeoService) -> list[tuple[float, float, float]]:
    """Return the population points ``(lon, lat, count)`` of the dataset (empty when none)."""
    return [(c.lon, c.lat, c.count) for c in service.population()]


def _isochrones(service: GeoService, params: Mapping[str, str], look: _Look) -> Any:

    crs = _request_crs(params)
    fc = _to_wgs84(isochrones(service, params), crs)
    lon, lat = float(params["lon"]), float(params["lat"])
    ox, oy = shift_points([lon], [lat], "wgs84", source=crs)
    return isochrones_map(fc, origin=(float(ox[0]), float(oy[0])), basemap=look.basemap,
                          compact=look.compact, tianditu_key=look.tianditu_key,
                          prefs=look.prefs, nav=look.nav)
