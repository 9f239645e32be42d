"""The plan map: one self-contained HTML page (Leaflet inline, no CDN).

Built with the page helpers of :mod:`geosvc.render.base` and draws:

* demand points as small circles: grey = covered before, green = newly
  covered by the plan, red = still uncovered (when the caller supplies
  them: :func:`geosvc.analysis.planning.output.plan_map_data`);
* existing (fixed) sites as small dark circles (likewise);
* the selected sites as numbered pins (1 = first / largest gain) with a
  tooltip of their gain and cumulative share.

Over HTTP only the plan document is at hand: the page then shows the
selected sites and the headline.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import folium

from geosvc.render.base import fit, new_map, page_html
from geosvc.render.tiles import parse_tiles

__all__ = ["plan_map_html"]

_COLOURS = {"before": "#7f7f7f", "new": "#2ca02c", "none": "#d62728"}
_LAYERS = {"before": "covered before", "new": "newly covered", "none": "still uncovered"}


def plan_map_html(doc: Mapping[str, Any], *,
                  demand_points: Sequence[Sequence[Any]] = (),
                  fixed_sites: Sequence[Sequence[float]] = (),
                  title: str = "geosvc plan") -> str:
    """Return the self-contained HTML map of a plan document (see the module docstring).

    Parameters
    ----------
    doc : mapping
        A plan document (``POST /api/v1/plans``; WGS-84).
    demand_points : sequence of [lon, lat, residents, state]
        State ``before``, ``new`` or ``none``.
    fixed_sites : sequence of [lon, lat]
    title : str
        The page's ``<title>``.
    """
    fmap = new_map(parse_tiles("osm"), title=title)
    layers = {state: folium.FeatureGroup(name=name) for state, name in _LAYERS.items()}
    for lon, lat, count, state in demand_points:
        key = state if state in layers else "none"
        folium.CircleMarker([float(lat), float(lon)], radius=3, color=_COLOURS[key], fill=True,
                            fill_opacity=0.6, weight=0,
                            tooltip=f"{float(count):.0f} residents").add_to(layers[key])
    for group in layers.values():
        group.add_to(fmap)
    fixed = folium.FeatureGroup(name="existing sites")
    for lon, lat in fixed_sites:
        folium.CircleMarker([float(lat), float(lon)], radius=4, color="#222", fill=True,
                            fill_opacity=0.9).add_to(fixed)
    fixed.add_to(fmap)
    chosen = folium.FeatureGroup(name="chosen sites")
    selected = list(doc.get("selected") or [])
    for s in selected:
        label = html.escape(str(s["rank"]))
        icon = folium.DivIcon(html=(
            '<div style="background:#1f77b4;color:#fff;border-radius:50%;width:22px;'
            'height:22px;line-height:22px;text-align:center;font:bold 12px sans-serif;'
            f'border:2px solid #fff">{label}</div>'), icon_size=(22, 22), icon_anchor=(11, 11))
        tip = (f"{html.escape(str(s['rank']))}. {html.escape(str(s['name']))} "
               f"({html.escape(str(s['id']))}): +{s['gain_population']:.0f} residents, "
               f"cumulative {100 * s['cumulative_share']:.1f} %")
        folium.Marker([s["lat"], s["lon"]], icon=icon, tooltip=tip).add_to(chosen)
    chosen.add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    headline = (f"<div style='position:fixed;top:10px;left:50px;z-index:1000;background:#fff;"
                f"padding:6px 10px;font:14px sans-serif;border-radius:4px'>"
                f"{html.escape(str(doc['problem']))}: {len(selected)} sites, "
                f"{float(doc['minutes']):g} min {html.escape(str(doc['mode']))}; covered "
                f"{100 * doc['before_share']:.1f} % &rarr; {100 * doc['after_share']:.1f} % "
                f"({html.escape(str(doc['solver']))})</div>")
    page: Any = fmap.get_root()  # a branca Figure (typed as its base Element)
    page.html.add_child(folium.Element(headline))
    pts = [(s["lon"], s["lat"]) for s in selected] + [(x, y) for x, y in fixed_sites]
    if not pts:
        pts = [(p[0], p[1]) for p in demand_points]
    fit(fmap, pts)
    return page_html(fmap, inline=True)
