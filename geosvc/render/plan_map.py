"""The plan map: one self-contained HTML page (Leaflet inline, no CDN).

Built with the page helpers of :mod:`geosvc.render.base` and draws:

* demand points as small circles: grey = covered before, green = newly
  covered by the plan, red = still uncovered (when the caller supplies
  them: :func:`geosvc.analysis.planning.output.plan_map_data`);
* existing (fixed) sites as small dark circles (likewise);
* the selected sites as numbered pins (1 = first / largest gain) with a
  tooltip and a popup of their gain and cumulative share; the pins are in
  the tab order, named by those words, and Enter opens the popup
  (:class:`~geosvc.render.layers.PinKeys`).

Over HTTP only the plan document is at hand: the page then shows the
selected sites and the headline.  The page is in one language (``lang``:
``zh``, the default, or ``en``).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import folium

from geosvc.render.base import fit, new_map, page_html
from geosvc.render.i18n import DEFAULT_LANG, choose_prefs
from geosvc.render.layers import VenueMarkers, pin_html
from geosvc.render.tiles import parse_tiles
from geosvc.render.ui import MODE_LABELS

__all__ = ["plan_map_html"]

#: Colour of the chosen sites' numbered pins.
_CHOSEN_COLOUR = "#1f77b4"
_COLOURS = {"before": "#7f7f7f", "new": "#2ca02c", "none": "#d62728"}
_LAYERS = {"before": ("此前已覆盖", "covered before"), "new": ("新覆盖", "newly covered"),
           "none": ("仍未覆盖", "still uncovered")}


def plan_map_html(doc: Mapping[str, Any], *,
                  demand_points: Sequence[Sequence[Any]] = (),
                  fixed_sites: Sequence[Sequence[float]] = (),
                  title: str | None = None, lang: str = DEFAULT_LANG) -> str:
    """Return the self-contained HTML map of a plan document (see the module docstring).

    Parameters
    ----------
    doc : mapping
        A plan document (``POST /api/v1/plans``; WGS-84).
    demand_points : sequence of [lon, lat, residents, state]
        State ``before``, ``new`` or ``none``.
    fixed_sites : sequence of [lon, lat]
    title : str, optional
        The page's ``<title>`` and ``h1`` (default "选址方案" / "Site plan").
    lang : str
        The page's language, ``zh`` or ``en``.

    Raises
    ------
    InvalidParameter
        ``lang`` is not ``zh`` or ``en``.
    """
    prefs = choose_prefs(lang=lang)
    t = prefs.t
    fmap = new_map(parse_tiles("osm"), title=title or t("选址方案", "Site plan"), prefs=prefs)
    layers = {state: folium.FeatureGroup(name=t(*name)) for state, name in _LAYERS.items()}
    for lon, lat, count, state in demand_points:
        key = state if state in layers else "none"
        people = f"{float(count):.0f}"
        tip = t(f"{people} 人", f"{people} residents")
        folium.CircleMarker([float(lat), float(lon)], radius=3, color=_COLOURS[key], fill=True,
                            fill_opacity=0.6, weight=0, tooltip=tip).add_to(layers[key])
    for group in layers.values():
        group.add_to(fmap)
    fixed = folium.FeatureGroup(name=t("现有场所", "existing sites"))
    for lon, lat in fixed_sites:
        folium.CircleMarker([float(lat), float(lon)], radius=4, color="#222", fill=True,
                            fill_opacity=0.9).add_to(fixed)
    fixed.add_to(fmap)
    chosen = folium.FeatureGroup(name=t("选定场所", "chosen sites"))
    chosen.add_to(fmap)
    selected = list(doc.get("selected") or [])
    records = []
    for s in selected:
        icon = pin_html(_CHOSEN_COLOUR, str(s["rank"]), ranked=True)
        gain, share = f"{s['gain_population']:.0f}", f"{100 * s['cumulative_share']:.1f}"
        said = (f"{s['rank']}. {s['name']} ({s['id']}): "
                + t(f"新增覆盖 {gain} 人，累计 {share} %",
                    f"+{gain} residents, cumulative {share} %"))
        records.append({
            "code": str(s["id"]), "lon": float(s["lon"]), "lat": float(s["lat"]),
            "group": "chosen", "icon": icon, "tooltip": html.escape(said),
            # A click (or Enter on the focused pin) opens the same words as a popup.
            "popup": f"<p class='gs-popup'>{html.escape(said)}</p>",
            "title": str(s["name"]), "label": said,
        })
    fmap.add_child(VenueMarkers(fmap, records, {"chosen": chosen}))
    folium.LayerControl(collapsed=False).add_to(fmap)
    n, minutes = len(selected), f"{float(doc['minutes']):g}"
    mode = t(*MODE_LABELS.get(str(doc["mode"]), (str(doc["mode"]), str(doc["mode"]))))
    before, after = f"{100 * doc['before_share']:.1f}", f"{100 * doc['after_share']:.1f}"
    said = t(f"{n} 个场所，{minutes} 分钟{mode}；覆盖率 {before} % → {after} %",
             f"{n} sites, {minutes} min {mode}; covered {before} % → {after} %")
    headline = (f"<div style='position:fixed;bottom:24px;left:10px;z-index:1000;"
                f"background:#fff;color:#111;padding:6px 10px;font:14px sans-serif;"
                f"border-radius:4px'>{html.escape(str(doc['problem']))}: {html.escape(said)} "
                f"({html.escape(str(doc['solver']))})</div>")
    page: Any = fmap.get_root()  # a branca Figure (typed as its base Element)
    page.html.add_child(folium.Element(headline))
    pts = [(s["lon"], s["lat"]) for s in selected] + [(x, y) for x, y in fixed_sites]
    if not pts:
        pts = [(p[0], p[1]) for p in demand_points]
    fit(fmap, pts)
    return page_html(fmap, inline=True)
