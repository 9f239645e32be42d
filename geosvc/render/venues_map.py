"""The citizens' map: venues by kind (clustered), or a ranked nearest search with routes.

Built from plain data, the GeoJSON the API handlers return
(``/api/v1/venues``, ``/api/v1/nearest`` with ``route=true``), in WGS-84;
the map shifts everything to the base map's CRS itself (GCJ-02 for Amap).
Every text is in the page's language (:class:`~geosvc.render.i18n.Prefs`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import quote

import folium
from folium.plugins import MarkerCluster

from geosvc import vocab
from geosvc.render.base import fit, new_map
from geosvc.render.i18n import Prefs
from geosvc.render.layers import (
    HtmlBox,
    Layers,
    ShapeLayer,
    VenueMarkers,
    legend_html,
    pin_html,
    venue_style,
)
from geosvc.render.popup import KIND_LABELS, venue_label, venue_popup_html, venue_tooltip_html
from geosvc.render.tiles import BASEMAPS, Basemap, shift_geojson, shift_points
from geosvc.render.ui import landing_html, results_panel_html, results_summary_html

__all__ = ["venues_map"]

_ROUTE_COLOURS = ("#e31a1c", "#1f78b4", "#33a02c", "#ff7f00", "#6a3d9a", "#b15928")


def _layer_label(kind: str, count: int, prefs: Prefs) -> str:
    return f"{prefs.t(*KIND_LABELS.get(kind, (kind, kind)))} ({count})"


def venues_map(
    venues: Mapping[str, Any],
    *,
    items: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    origin: tuple[float, float] | None = None,
    mode: str = "walk",
    basemap: Basemap = BASEMAPS["osm"],
    title: str | None = None,
    compact: bool = False,
    tianditu_key: str | None = None,
    note: str | None = None,
    at: str | None = None,
    prefs: Prefs | None = None,
    nav: str = "",
    venue_pages: bool = False,
    landing: Mapping[str, Any] | bool | None = None,
) -> folium.Map:
    """Build the venue map.

    Parameters
    ----------
    venues : GeoJSON FeatureCollection
        Venue features in WGS-84, as ``/api/v1/venues`` or ``/api/v1/nearest``
        return them.  Features with a ``rank`` property are drawn as a ranked
        result list (not clustered), with their ``route`` LineString if any.
    items : mapping of venue code to item list, optional
        ``[{code, name, name_en, channels}]`` shown in each popup.
    origin : (lon, lat), optional
        The query point (WGS-84): drawn, and the start of directions links.
    mode : str
        Travel mode (directions links, route labels).
    basemap : Basemap
        The base layer; with a GCJ-02 base map every overlay is shifted.
    title : str, optional
        Page title and ``h1`` (default "政务服务地图" / "Government service map").
    compact : bool
        The embeddable variant (no legend; layer control collapsed).
    tianditu_key : str, optional
        Key for the Tianditu base map.
    note : str, optional
        Plain text shown in a small box (e.g. "showing 1000 of 1500").
    at : str, optional
        ISO time of a nearest search (``query.at``): closing times that day
        show as ``HH:MM`` in the results list.
    prefs : Prefs, optional
        The page's language and elder mode (default Chinese, standard).
    nav : str
        Ready HTML of the page switches, shown in the title bar.
    venue_pages : bool
        Popups link to the venue pages (``/venues/{id}`` on the same server).
    landing : Feature or bool, optional
        The landing state of a map without a search: the nearest open hall to
        the map's centre (a ``/api/v1/nearest`` feature), or True when no hall
        is open (the box says so); None shows no landing box.

    Returns
    -------
    folium.Map
        Render with :func:`geosvc.render.base.page_html`.
    """
    prefs = prefs or Prefs()
    title = title or prefs.t("政务服务地图", "Government service map")
    fmap = new_map(basemap, title=title, tianditu_key=tianditu_key, compact=compact,
                   prefs=prefs, nav=nav)
    crs = basemap.crs
    features = list(venues.get("features", []))
    ranked = any(f.get("properties", {}).get("rank") is not None for f in features)
    shown = shift_geojson({"type": "FeatureCollection", "features": features}, crs)["features"]
    markers = _markers(features, shown, ranked=ranked, items=items or {}, origin=origin,
                       mode=mode, prefs=prefs, venue_pages=venue_pages, at=at)

    targets: dict[str, Any] = {}
    pts: list[tuple[float, float]] = []
    if ranked:
        pts.extend(_add_ranked_layers(fmap, shown, targets, prefs))
    else:
        _add_kind_clusters(fmap, markers.counts, targets, prefs)
    fmap.add_child(VenueMarkers(fmap, markers.records, targets))

    pts += [(r["lon"], r["lat"]) for r in markers.records]
    if origin is not None:
        pts.append(_add_query_point(fmap, origin, crs, prefs))
    if ranked:
        fmap.add_child(_results_box(features, mode=mode, pins=markers.pins, at=at, prefs=prefs))
    if not compact and markers.used:
        fmap.add_child(HtmlBox(legend_html(markers.used, prefs), css_class="gs-legend",
                               box_id="gs-legend", title=escape(prefs.t("图例", "Legend")),
                               position="bottomleft", phone_position="topright",
                               phone_open=False))
    if note:
        fmap.add_child(HtmlBox(escape(note), css_class="gs-note", box_id="gs-note",
                               position="bottomright"))
    if landing is not None:
        hall = landing if isinstance(landing, Mapping) else None
        url = (f"/venues/{quote(str(hall.get('id', '')), safe='')}"
               if hall is not None and venue_pages else None)
        fmap.add_child(HtmlBox(landing_html(hall, prefs, venue_url=url, at=at),
                               css_class="gs-landing",
                               box_id="gs-landing", position="topleft",
                               phone_position="bottomleft"))
    Layers(collapsed=compact).add_to(fmap)
    fit(fmap, pts)
    return fmap


@dataclass
class _Markers:
    """The venue markers of a map and what the layers and boxes need to know of them."""

    #: VenueMarkers records, in feature order.
    records: list[dict[str, Any]] = field(default_factory=list)
    #: Rank pins of the ranked venues (results list), in feature order.
    pins: list[str] = field(default_factory=list)
    #: (colour, glyph) styles drawn (legend).
    used: set[tuple[str, str]] = field(default_factory=set)
    #: Venues per style group (cluster layer labels).
    counts: dict[str, int] = field(default_factory=dict)


def _markers(features: Sequence[Mapping[str, Any]], shown: Sequence[Mapping[str, Any]], *,
             ranked: bool, items: Mapping[str, Sequence[Mapping[str, Any]]],
             origin: tuple[float, float] | None, mode: str, prefs: Prefs,
             venue_pages: bool, at: str | None = None) -> _Markers:
    """Return the markers of ``features`` (WGS-84) drawn at ``shown`` (base-map CRS)."""
    markers = _Markers()
    for raw, feat in zip(features, shown, strict=True):
        props = raw.get("properties") or {}
        lon, lat = raw["geometry"]["coordinates"][:2]
        x, y = feat["geometry"]["coordinates"][:2]
        group, colour, glyph = venue_style(props)
        markers.counts[group] = markers.counts.get(group, 0) + 1
        markers.used.add((colour, glyph))
        code = str(raw.get("id", ""))
        rank = props.get("rank")
        if rank is not None:
            markers.pins.append(pin_html(colour, str(int(rank))))  # not .gs-ranked: markers
        markers.records.append({
            "code": code,
            "lon": x,
            "lat": y,
            "group": "nearest" if ranked else group,
            "icon": pin_html(colour, str(int(rank)) if rank is not None else glyph,
                             ranked=rank is not None),
            "popup": venue_popup_html(
                props, lon, lat, items=items.get(code), origin=origin, mode=mode, prefs=prefs,
                venue_url=f"/venues/{quote(code, safe='')}" if venue_pages else None,
                ref=at),
            "tooltip": venue_tooltip_html(props, prefs),
            "title": str(props.get("name") or code),
            "label": venue_label(props, prefs, ref=at),
        })
    return markers


def _add_ranked_layers(fmap: folium.Map, shown: Sequence[Mapping[str, Any]],
                       targets: dict[str, Any], prefs: Prefs) -> list[tuple[float, float]]:
    """Add the results and routes layers of a nearest search; return the routes' vertices."""
    results = folium.FeatureGroup(name=prefs.t("查询结果", "Nearest results"), show=True)
    results.add_to(fmap)
    targets["nearest"] = results
    routes = folium.FeatureGroup(name=prefs.t("路线", "Routes"), show=True)
    routes.add_to(fmap)
    route_feats = []
    pts: list[tuple[float, float]] = []
    for i, feat in enumerate(shown):
        route = feat.get("route")
        if not route:
            continue
        route_feats.append({
            "type": "Feature", "geometry": route,
            "properties": {"style": {"color": _ROUTE_COLOURS[i % len(_ROUTE_COLOURS)],
                                     "weight": 5, "opacity": 0.8},
                           "tooltip": escape(_route_label(feat.get("properties") or {}, i,
                                                          prefs)),
                           "popup": None},
        })
        pts.extend(_vertices(route))
    fmap.add_child(ShapeLayer(fmap, routes, "routes", route_feats))
    return pts


def _route_label(props: Mapping[str, Any], i: int, prefs: Prefs) -> str:
    """Return the plain label of the ``i``-th route: "1. name · 5 分钟" / "1. name · 5 min"."""
    name = props.get("name_en") if prefs.lang == "en" and props.get("name_en") else None
    label = f"{int(props.get('rank', i + 1))}. {name or props.get('name', '')}"
    minutes = props.get("travel_time_min")
    if minutes is not None:
        label += f" · {float(minutes):.0f} {prefs.t('分钟', 'min')}"
    return label


def _add_kind_clusters(fmap: folium.Map, counts: Mapping[str, int],
                       targets: dict[str, Any], prefs: Prefs) -> None:
    """Add one marker cluster layer per venue kind drawn, in vocabulary order."""
    for kind in vocab.KINDS.codes():
        if counts.get(kind):
            cluster = MarkerCluster(name=_layer_label(kind, counts[kind], prefs),
                                    options={"maxClusterRadius": 40,
                                             "disableClusteringAtZoom": 18})
            cluster.add_to(fmap)
            targets[kind] = cluster


def _results_box(features: Sequence[Mapping[str, Any]], *, mode: str, pins: Sequence[str],
                 at: str | None, prefs: Prefs) -> HtmlBox:
    """Return the box listing the ranked venues of a nearest search."""
    ranked_feats = [f for f in features if f.get("properties", {}).get("rank") is not None]
    return HtmlBox(results_panel_html(ranked_feats, mode=mode, pins=pins, at=at, prefs=prefs),
                   css_class="gs-results-box", box_id="gs-results",
                   title=results_summary_html(len(ranked_feats), mode, prefs),
                   position="topleft", phone_position="bottomleft")


def _add_query_point(fmap: folium.Map, origin: tuple[float, float],
                     crs: str, prefs: Prefs) -> tuple[float, float]:
    """Draw the query point ``origin`` (WGS-84); return where it is drawn (``crs``).

    The marker is a keyboard-focusable button: its ``title`` is its accessible name.
    It lies under every venue pin (z-index offset -1000 in the marker pane, where
    Leaflet's z-index is the pin's screen y plus its offset): on a venue at the
    same spot the pin stays on top, so a click or tap there opens the venue,
    and the point's halo still shows around the pin.
    """
    ox, oy = shift_points([origin[0]], [origin[1]], crs)
    name = prefs.t("查询位置", "Search point")
    query = folium.FeatureGroup(name=name, show=True).add_to(fmap)
    folium.Marker(
        [float(oy[0]), float(ox[0])],
        icon=folium.DivIcon(html='<div class="gs-query"></div>', icon_size=(22, 22),
                            icon_anchor=(11, 11), class_name="gs-icon"),
        tooltip=escape(name), z_index_offset=-1000, title=name, alt=name,
    ).add_to(query)
    return float(ox[0]), float(oy[0])


def _vertices(geometry: Mapping[str, Any]) -> list[tuple[float, float]]:
    """Return the (lon, lat) vertices of a LineString or MultiLineString."""
    coords = geometry.get("coordinates") or []
    if geometry.get("type") == "MultiLineString":
        return [(float(c[0]), float(c[1])) for line in coords for c in line]
    return [(float(c[0]), float(c[1])) for c in coords]
