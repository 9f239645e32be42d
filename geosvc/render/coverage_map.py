"""Planner maps: service circles, gaps, population and catchments; isochrone bands.

Built from plain data: the dict of ``/api/v1/coverage`` (or
``compute_coverage(...).to_dict()``) and the FeatureCollection of
``/api/v1/isochrones``, in WGS-84; shifted to the base map's CRS here.
Every text is in the page's language (:class:`~geosvc.render.i18n.Prefs`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

import folium
from folium.plugins import HeatMap

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
from geosvc.render.popup import venue_label, venue_popup_html, venue_tooltip_html
from geosvc.render.tiles import BASEMAPS, Basemap, shift_geojson, shift_points
from geosvc.render.ui import MODE_LABELS

__all__ = ["GAP_COLOURS", "coverage_headline_html", "coverage_map", "coverage_summary_html",
           "gap_colour", "gap_scale_html", "isochrones_legend_html", "isochrones_map",
           "warnings_banner_html"]

#: Gap shading, light to dark, by uncovered population (YlOrRd).
GAP_COLOURS = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
#: Isochrone band colours, nearest band first.
BAND_COLOURS = ("#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027")


#: Chinese text of each warning code of an answer (the English is the answer's message).
WARNING_TEXT_ZH = {
    "no-population": ("无人口数据，覆盖率无法计算（不是 0%）。请导入人口图层"
                      "（geosvc import population 文件），或提供含住宅建筑的 OSM 数据"
                      "（.osm.pbf 或 .osm）以估算人口。“面积覆盖率”是服务圈内面积占各区"
                      "面积的比例：衡量土地，不是人口。"),
}

#: Inline style of the banner (visible on any page: the map's and the report's).
_BANNER_STYLE = ("background:#fff3cd;border:1px solid #d9822b;border-left:6px solid #d9822b;"
                 "color:#4a2c00;padding:8px 12px;margin:6px 0;max-width:640px;"
                 "font:13px/1.45 sans-serif")


def warnings_banner_html(result: Mapping[str, Any], prefs: Prefs | None = None) -> str:
    """Return the escaped banner of the answer's ``warnings`` ("" when none).

    Each warning gives its Chinese text (:data:`WARNING_TEXT_ZH`, by code) on
    a Chinese page, the answer's English ``message`` on an English one; all
    of it written as text.

    Examples
    --------
    >>> warnings_banner_html({"warnings": []})
    ''
    >>> html = warnings_banner_html({"warnings": [{"code": "x", "message": "<b>"}]})
    >>> "&lt;b&gt;" in html and html.count("<b>") == 1  # the data stays text
    True
    """
    prefs = prefs or Prefs()
    rows = []
    for w in result.get("warnings") or []:
        if not isinstance(w, Mapping):
            continue
        code = str(w.get("code") or "")
        message = str(w.get("message") or code)
        zh = WARNING_TEXT_ZH.get(code)
        if prefs.lang == "en":
            text = f"<b>⚠ {escape(message)}</b>"
        elif zh:
            text = f"<b>⚠ {escape(zh)}</b>"
        else:  # no Chinese text for this code: the message, marked as English
            text = f"<b>⚠ 注意</b><br><span lang='en'>{escape(message)}</span>"
        rows.append(f'<p style="margin:2px 0" data-gs-warning="{escape(code)}">{text}</p>')
    if not rows:
        return ""
    return (f'<div class="gs-warnings" role="alert" style="{_BANNER_STYLE}">'
            + "".join(rows) + "</div>")


def gap_colour(value: float, largest: float) -> str:
    """Colour of a gap with ``value`` uncovered residents (``largest`` = darkest).

    Examples
    --------
    >>> gap_colour(0, 100), gap_colour(100, 100), gap_colour(50, 100)
    ('#ffffb2', '#bd0026', '#fd8d3c')
    """
    if largest <= 0:
        return GAP_COLOURS[0]
    step = min(int(len(GAP_COLOURS) * value / largest), len(GAP_COLOURS) - 1)
    return GAP_COLOURS[max(step, 0)]


def _fmt_int(value: Any) -> str:
    try:
        return f"{float(value):,.0f}"
    except (TypeError, ValueError):
        return "–"


def _gap_label(props: Mapping[str, Any], i: int) -> str:
    name = props.get("name") or props.get("area_name") or props.get("id") or f"#{i + 1}"
    return str(name)


def coverage_summary_html(result: Mapping[str, Any], *, top: int = 5,
                          prefs: Prefs | None = None) -> str:
    """Return the escaped summary box of a coverage result: headline figures and top gaps."""
    prefs = prefs or Prefs()
    t = prefs.t
    share = result.get("covered_share")
    share_txt = f"{100 * float(share):.1f}%" if share is not None else "–"
    total = result.get("total_population")
    covered = result.get("covered_population")
    uncovered = None
    if total is not None and covered is not None:
        uncovered = float(total) - float(covered)
    rows = [
        ("覆盖率", "Covered share", share_txt),
        ("覆盖人口", "Covered population", f"{_fmt_int(covered)} / {_fmt_int(total)}"),
        ("未覆盖人口", "Uncovered population", _fmt_int(uncovered)),
        ("覆盖面积", "Covered area", f"{float(result.get('covered_area_km2') or 0):.2f} km²"),
    ]
    area_share = result.get("covered_area_share")
    if area_share is not None:
        rows.append(("面积覆盖率", "Share of the areas' km² (land, not residents)",
                     f"{100 * float(area_share):.1f}%"))
    rows.append(("参与场所", "Venues used", _fmt_int(result.get("venues_used"))))
    if result.get("venues_off_network"):
        rows.append(("无法接入路网的场所", "Venues off the network (not counted)",
                     _fmt_int(result.get("venues_off_network"))))
    minutes = _fmt_int(result.get("minutes"))
    mode = str(result.get("mode", ""))
    mode_name = t(*MODE_LABELS.get(mode, (mode, mode)))
    said = t(f"{minutes} 分钟{mode_name}服务圈", f"{minutes}-minute circle, {mode_name}")
    head = f"<b>{escape(said)}</b>"
    body = "".join(f"<tr><th scope='row'>{escape(t(zh, en))}</th>"
                   f"<td>{escape(v)}</td></tr>" for zh, en, v in rows)
    gaps = list((result.get("gaps") or {}).get("features", []))[:top]
    gap_rows = "".join(
        f"<li>{escape(_gap_label(g.get('properties') or {}, i))}: "
        f"{escape(_fmt_int((g.get('properties') or {}).get('uncovered_population')))}</li>"
        for i, g in enumerate(gaps))
    gaps_html = (f"<div><b>{escape(t('最大缺口', 'Largest gaps'))}</b>"
                 f"<ol id='gs-top-gaps'>{gap_rows}</ol></div>") if gaps else ""
    return f"{head}<table id='gs-summary-table'>{body}</table>{gaps_html}"


def coverage_headline_html(result: Mapping[str, Any], prefs: Prefs | None = None) -> str:
    """Return one escaped line: "10 分钟步行圈 · 覆盖 80.8%" (the folded summary box).

    Examples
    --------
    >>> coverage_headline_html({"minutes": 10, "mode": "walk", "covered_share": 0.808})
    '10 分钟步行圈 · 覆盖 80.8%'
    >>> coverage_headline_html({"minutes": 10, "mode": "walk", "covered_share": 0.808},
    ...                        Prefs("en"))
    '10-min walk circle: 80.8% covered'
    """
    prefs = prefs or Prefs()
    share = result.get("covered_share")
    share_txt = f"{100 * float(share):.1f}%" if share is not None else "–"
    minutes = _fmt_int(result.get("minutes"))
    mode = str(result.get("mode", ""))
    zh, en = MODE_LABELS.get(mode, (mode, mode))
    return escape(prefs.t(f"{minutes} 分钟{zh}圈 · 覆盖 {share_txt}",
                          f"{minutes}-min {en} circle: {share_txt} covered"))


def gap_scale_html(prefs: Prefs | None = None) -> str:
    """Return the colour scale of gaps (static HTML): light few, dark many uncovered."""
    t = (prefs or Prefs()).t
    bar = "".join(f'<span style="background:{c}"></span>' for c in GAP_COLOURS)
    return (f"<div class='gs-gap-scale'><b>{escape(t('服务缺口', 'Gaps'))}</b>"
            f"<div class='gs-scale'>{bar}</div><div class='gs-scale-labels'>"
            f"<span>{escape(t('未覆盖人口少', 'fewer uncovered'))}</span>"
            f"<span>{escape(t('多', 'more uncovered'))}</span></div></div>")


def _venue_records(venues: Mapping[str, Any] | None, crs: str,
                   prefs: Prefs) -> list[dict[str, Any]]:
    if not venues:
        return []
    features = list(venues.get("features", []))
    shown = shift_geojson({"type": "FeatureCollection", "features": features}, crs)["features"]
    records = []
    for raw, feat in zip(features, shown, strict=True):
        props = raw.get("properties") or {}
        lon, lat = raw["geometry"]["coordinates"][:2]
        x, y = feat["geometry"]["coordinates"][:2]
        group, colour, glyph = venue_style(props)
        records.append({
            "code": str(raw.get("id", "")), "lon": x, "lat": y, "group": "venues",
            "style": (colour, glyph),
            # Small pins: the circles and gaps underneath are what a planner reads.
            "icon": pin_html(colour, glyph, small=True),
            "popup": venue_popup_html(props, lon, lat, prefs=prefs),
            "tooltip": venue_tooltip_html(props, prefs), "title": str(props.get("name") or ""),
            "label": venue_label(props, prefs),
        })
    return records


def _shape(geometry: Mapping[str, Any], style: Mapping[str, Any], tooltip: str | None,
           popup: str | None = None) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry,
            "properties": {"style": dict(style), "tooltip": tooltip, "popup": popup}}


def _catchment_shapes(catchments: Any, crs: str, prefs: Prefs) -> list[dict[str, Any]]:
    """Catchments as shapes: polygons when given, else circles sized by population."""
    entries = _catchment_entries(catchments)
    if not entries:
        return []
    largest = max(float(e.get("population") or 0) for e in entries) or 1.0
    shapes = []
    for e in entries:
        shape = _catchment_shape(e, largest, crs, prefs)
        if shape is not None:
            shapes.append(shape)
    return shapes


def _catchment_entries(catchments: Any) -> list[dict[str, Any]]:
    """Return catchment rows from a list of rows or a FeatureCollection (``geometry`` key)."""
    if isinstance(catchments, Mapping):
        return [{**(f.get("properties") or {}), "geometry": f.get("geometry")}
                for f in catchments.get("features", [])]
    return [dict(c) for c in catchments or []]


def _catchment_shape(entry: Mapping[str, Any], largest: float,
                     crs: str, prefs: Prefs) -> dict[str, Any] | None:
    """Return one catchment's polygon, else its circle at lon/lat; None without either."""
    pop = float(entry.get("population") or 0)
    name = entry.get("name") or entry.get("venue_id") or entry.get("id") or ""
    people = _fmt_int(pop)
    tip = f"{escape(str(name))}: {escape(prefs.t(f'{people} 人', f'{people} residents'))}"
    geometry = entry.get("geometry")
    if geometry:
        return _shape(shift_geojson(geometry, crs),
                      {"color": "#2166ac", "weight": 1, "fillOpacity": 0.08,
                       "dashArray": "4 3"}, tip)
    if entry.get("lon") is not None and entry.get("lat") is not None:
        x, y = shift_points([float(entry["lon"])], [float(entry["lat"])], crs)
        return _shape({"type": "Point", "coordinates": [float(x[0]), float(y[0])]},
                      {"radius": 4 + 16 * (pop / largest) ** 0.5, "color": "#2166ac",
                       "weight": 1, "fillOpacity": 0.25}, tip)
    return None


def coverage_map(
    result: Mapping[str, Any],
    *,
    venues: Mapping[str, Any] | None = None,
    population: Iterable[Sequence[float]] = (),
    basemap: Basemap = BASEMAPS["osm"],
    title: str | None = None,
    compact: bool = False,
    tianditu_key: str | None = None,
    prefs: Prefs | None = None,
    nav: str = "",
) -> folium.Map:
    """Build the planner's coverage map.

    Parameters
    ----------
    result : mapping
        A coverage result (docs/api.md ``/api/v1/coverage``): headline figures,
        ``gaps`` (FeatureCollection with ``uncovered_population``), and when
        present ``circles`` (FeatureCollection of service-circle polygons)
        and ``catchments`` (list of ``{venue_id, name, population, lon, lat}``
        or a FeatureCollection of catchment polygons).  WGS-84.
    venues : FeatureCollection, optional
        The venues used (markers, not clustered).
    population : iterable of (lon, lat, count)
        Demand points, drawn as a heat layer.
    basemap, title, compact, tianditu_key, prefs, nav
        As for :func:`geosvc.render.venues_map.venues_map`.
    """
    prefs = prefs or Prefs()
    t = prefs.t
    title = title or t("服务圈覆盖", "Service-circle coverage")
    fmap = new_map(basemap, title=title, tianditu_key=tianditu_key, compact=compact,
                   prefs=prefs, nav=nav)
    crs = basemap.crs
    _add_population(fmap, population, crs, prefs)
    _add_circles(fmap, result, crs, prefs)
    gaps = list((result.get("gaps") or {}).get("features", []))
    _add_gaps(fmap, gaps, crs, prefs)
    catch = _catchment_shapes(result.get("catchments"), crs, prefs)
    if catch:
        group = folium.FeatureGroup(name=t("服务范围人口", "Catchments"), show=False)
        group.add_to(fmap)
        fmap.add_child(ShapeLayer(fmap, group, "catchments", catch))

    pts: list[tuple[float, float]] = []
    records = _venue_records(venues, crs, prefs)
    if records:
        group = folium.FeatureGroup(name=f"{t('服务场所', 'Venues')} ({len(records)})")
        group.add_to(fmap)
        fmap.add_child(VenueMarkers(fmap, records, {"venues": group}))
        pts += [(r["lon"], r["lat"]) for r in records]
    for g in gaps:
        pts += list(_points(shift_geojson(g.get("geometry"), crs)))
    banner = warnings_banner_html(result, prefs)
    if banner:  # always open (no title), above the summary: the share is missing
        fmap.add_child(HtmlBox(banner, css_class="gs-warning-box", box_id="gs-warnings",
                               position="topleft"))
    summary = (coverage_summary_html(result, prefs=prefs)
               + (gap_scale_html(prefs) if gaps else ""))
    fmap.add_child(HtmlBox(summary, css_class="gs-summary", box_id="gs-summary",
                           title=coverage_headline_html(result, prefs), position="topleft",
                           phone_open=False))
    if not compact and records:
        used = {r["style"] for r in records}
        fmap.add_child(HtmlBox(legend_html(used, prefs), css_class="gs-legend",
                               box_id="gs-legend", title=escape(t("图例", "Legend")),
                               position="bottomleft", phone_position="topright",
                               phone_open=False))
    Layers(collapsed=compact).add_to(fmap)
    fit(fmap, pts, max_zoom=16)
    return fmap


def _add_population(fmap: folium.Map, population: Iterable[Sequence[float]], crs: str,
                    prefs: Prefs) -> None:
    """Add the demand points ``(lon, lat, count)`` as a heat layer (hidden at first)."""
    pop = [(float(x), float(y), float(c)) for x, y, c in population]
    if not pop:
        return
    xs, ys = shift_points([p[0] for p in pop], [p[1] for p in pop], crs)
    largest = max(p[2] for p in pop) or 1.0
    weights = [
        [float(y), float(x), p[2] / largest] for x, y, p in zip(xs, ys, pop, strict=True)
    ]
    heat = HeatMap(weights, name=prefs.t("人口", "Population"), radius=18, blur=14,
                   min_opacity=0.25, show=False)
    heat.add_to(fmap)


def _add_circles(fmap: folium.Map, result: Mapping[str, Any], crs: str, prefs: Prefs) -> None:
    """Add the service-circle polygons of ``result`` (when it has any)."""
    circles = result.get("circles")
    if not (isinstance(circles, Mapping) and circles.get("features")):
        return
    group = folium.FeatureGroup(name=prefs.t("服务圈", "Service circles")).add_to(fmap)
    minutes = _fmt_int(result.get("minutes"))
    shapes = [_shape(shift_geojson(f.get("geometry"), crs),
                     {"color": "#1a9850", "weight": 1, "fillColor": "#1a9850",
                      "fillOpacity": 0.18},
                     escape(prefs.t(f"{minutes} 分钟服务圈",
                                    f"{minutes}-minute service circle")))
              for f in circles["features"] if f.get("geometry")]
    fmap.add_child(ShapeLayer(fmap, group, "circles", shapes))


def _add_gaps(fmap: folium.Map, gaps: Sequence[Mapping[str, Any]], crs: str,
              prefs: Prefs) -> None:
    """Add the gap features, shaded by uncovered population (when there are any)."""
    if not gaps:
        return
    group = folium.FeatureGroup(name=prefs.t("服务缺口", "Gaps")).add_to(fmap)
    largest = max(float((g.get("properties") or {}).get("uncovered_population") or 0)
                  for g in gaps)
    shapes = []
    for i, g in enumerate(gaps):
        props = g.get("properties") or {}
        value = float(props.get("uncovered_population") or 0)
        count = _fmt_int(value)
        tip = (f"{escape(_gap_label(props, i))}: "
               f"{escape(prefs.t(f'未覆盖 {count} 人', f'{count} uncovered residents'))}")
        shapes.append(_shape(shift_geojson(g.get("geometry"), crs),
                             {"color": "#7f0000", "weight": 1,
                              "fillColor": gap_colour(value, largest), "fillOpacity": 0.6,
                              "radius": 8}, tip))
    fmap.add_child(ShapeLayer(fmap, group, "gaps", shapes))


def _points(geometry: Mapping[str, Any] | None) -> Iterable[tuple[float, float]]:
    """Every vertex of a GeoJSON geometry (for fitting the view)."""
    if not geometry:
        return
    stack = [geometry.get("coordinates", [])]
    while stack:
        c = stack.pop()
        if len(c) and isinstance(c[0], (int, float)):
            yield float(c[0]), float(c[1])
        else:
            stack.extend(c)


def isochrones_map(
    bands: Mapping[str, Any],
    *,
    origin: tuple[float, float] | None = None,
    basemap: Basemap = BASEMAPS["osm"],
    title: str | None = None,
    compact: bool = False,
    tianditu_key: str | None = None,
    prefs: Prefs | None = None,
    nav: str = "",
) -> folium.Map:
    """Build a map of isochrone bands (``/api/v1/isochrones``) around ``origin``.

    Bands are drawn largest first so the nearest band stays on top; each has
    a tooltip with its minutes, area and population.
    """
    prefs = prefs or Prefs()
    t = prefs.t
    title = title or t("等时圈", "Isochrones")
    fmap = new_map(basemap, title=title, tianditu_key=tianditu_key, compact=compact,
                   prefs=prefs, nav=nav)
    crs = basemap.crs
    feats = sorted(bands.get("features", []),
                   key=lambda f: -float((f.get("properties") or {}).get("minutes") or 0))
    n = len(feats)
    shapes = []
    pts: list[tuple[float, float]] = []
    for i, f in enumerate(feats):
        props = f.get("properties") or {}
        colour = BAND_COLOURS[min(n - 1 - i, len(BAND_COLOURS) - 1)]
        tip = _band_text(props, prefs, bound="")
        geom = shift_geojson(f.get("geometry"), crs)
        pts += list(_points(geom))
        shapes.append(_shape(geom, {"color": colour, "weight": 1, "fillColor": colour,
                                    "fillOpacity": 0.35}, escape(tip)))
    group = folium.FeatureGroup(name=t("等时圈", "Isochrone bands")).add_to(fmap)
    fmap.add_child(ShapeLayer(fmap, group, "isochrones", shapes))
    if origin is not None:
        ox, oy = shift_points([origin[0]], [origin[1]], crs)
        folium.Marker([float(oy[0]), float(ox[0])],
                      icon=folium.DivIcon(html='<div class="gs-query"></div>',
                                          icon_size=(22, 22), icon_anchor=(11, 11),
                                          class_name="gs-icon"),
                      tooltip=escape(t("起点", "Start")), title=t("起点", "Start"),
                      z_index_offset=1000).add_to(fmap)
        pts.append((float(ox[0]), float(oy[0])))
    banner = warnings_banner_html(bands, prefs)
    if banner:
        fmap.add_child(HtmlBox(banner, css_class="gs-warning-box", box_id="gs-warnings",
                               position="topleft"))
    if feats:
        fmap.add_child(HtmlBox(isochrones_legend_html(bands, prefs),
                               css_class="gs-legend-bands", box_id="gs-bands",
                               title=escape(t("等时圈", "Isochrones")),
                               position="bottomleft"))
    Layers(collapsed=compact).add_to(fmap)
    fit(fmap, pts, max_zoom=16)
    return fmap


def _band_text(props: Mapping[str, Any], prefs: Prefs, *, bound: str) -> str:
    """"≤ 10 分钟 · 1.20 km² · 300 人" / "≤ 10 min · 1.20 km² · 300 residents" (plain)."""
    minutes = _fmt_int(props.get("minutes"))
    text = (f"{bound}{prefs.t(f'{minutes} 分钟', f'{minutes} min')} · "
            f"{float(props.get('area_km2') or 0):.2f} km²")
    if props.get("population") is not None:
        people = _fmt_int(props.get("population"))
        text += f" · {prefs.t(f'{people} 人', f'{people} residents')}"
    return text


def isochrones_legend_html(bands: Mapping[str, Any], prefs: Prefs | None = None) -> str:
    """Return the escaped legend of isochrone bands, nearest first, with area and residents.

    Colours match :func:`isochrones_map` (nearest band darkest green).
    """
    prefs = prefs or Prefs()
    feats = sorted(bands.get("features", []),
                   key=lambda f: float((f.get("properties") or {}).get("minutes") or 0))
    rows = []
    for i, f in enumerate(feats):
        props = f.get("properties") or {}
        colour = BAND_COLOURS[min(i, len(BAND_COLOURS) - 1)]
        text = _band_text(props, prefs, bound="≤ ")
        rows.append(f'<div><span class="gs-swatch" style="background:{colour}"></span>'
                    f"{escape(text)}</div>")
    return "".join(rows)
