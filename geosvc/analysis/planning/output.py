"""Write a plan as JSON, CSV (one row per chosen site) or a self-contained HTML map.

The map reuses the maps engineer's page helpers (:mod:`geosvc.render.base`:
Folium page, base layer, Leaflet served inline, no CDN) and draws:

* demand points as small circles: grey = covered before, green = newly
  covered by the plan, red = still uncovered (at most :data:`MAX_DEMAND_DOTS`,
  the most populated first);
* existing (fixed) sites as small dark circles;
* the chosen sites as numbered pins (1 = first / largest gain) with a
  tooltip of their gain and cumulative share.
"""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from geosvc.errors import InvalidParameter

if TYPE_CHECKING:
    from branca.element import Figure

    from geosvc.analysis.demand import DemandSet
    from geosvc.analysis.planning.plan import PlanResult

__all__ = ["CSV_FIELDS", "MAX_DEMAND_DOTS", "plan_csv", "plan_html", "write_plan"]

#: Columns of the CSV output.
CSV_FIELDS = ("rank", "id", "name", "lon", "lat", "gain_population",
              "cumulative_population", "cumulative_share")
#: Most demand points drawn on the map.
MAX_DEMAND_DOTS = 4000
FORMATS = (".json", ".csv", ".html")


def plan_csv(doc: dict[str, Any]) -> str:
    """Return the chosen sites of a plan document as CSV text (header + one row per site)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for row in doc["selected"]:
        w.writerow(row)
    return buf.getvalue()


def plan_html(result: PlanResult, demand: DemandSet) -> str:
    """Return a self-contained HTML map of the plan (see the module docstring)."""
    import folium

    from geosvc.render.base import fit, new_map, page_html
    from geosvc.render.tiles import parse_tiles

    doc = result.to_dict()
    fmap = new_map(parse_tiles("osm"), title="geosvc plan")
    before = result.demand_covered_before
    after = result.demand_covered_after
    count = np.asarray(demand.count)
    order = np.argsort(-count, kind="stable")[:MAX_DEMAND_DOTS]
    layers = {"before": folium.FeatureGroup(name="covered before"),
              "new": folium.FeatureGroup(name="newly covered"),
              "none": folium.FeatureGroup(name="still uncovered")}
    colours = {"before": "#7f7f7f", "new": "#2ca02c", "none": "#d62728"}
    for i in order:
        if count[i] <= 0:
            continue
        state = "before" if before is not None and before[i] else (
            "new" if after is not None and after[i] else "none")
        folium.CircleMarker([float(demand.lat[i]), float(demand.lon[i])], radius=3,
                            color=colours[state], fill=True, fill_opacity=0.6, weight=0,
                            tooltip=f"{count[i]:.0f} residents").add_to(layers[state])
    for g in layers.values():
        g.add_to(fmap)
    fixed = folium.FeatureGroup(name="existing sites")
    for lon, lat in result.fixed_lonlat:
        folium.CircleMarker([lat, lon], radius=4, color="#222", fill=True,
                            fill_opacity=0.9).add_to(fixed)
    fixed.add_to(fmap)
    chosen = folium.FeatureGroup(name="chosen sites")
    for s in doc["selected"]:
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
    title = (f"<div style='position:fixed;top:10px;left:50px;z-index:1000;background:#fff;"
             f"padding:6px 10px;font:14px sans-serif;border-radius:4px'>"
             f"{html.escape(doc['problem'])}: {len(doc['selected'])} sites, "
             f"{doc['minutes']:g} min {html.escape(doc['mode'])}; covered "
             f"{100 * doc['before_share']:.1f} % &rarr; {100 * doc['after_share']:.1f} % "
             f"({html.escape(doc['solver'])})</div>")
    root = cast("Figure", fmap.get_root())  # new_map puts the map in a branca Figure
    root.html.add_child(folium.Element(title))
    pts = [(s["lon"], s["lat"]) for s in doc["selected"]] + list(result.fixed_lonlat)
    if not pts and len(demand):
        pts = list(zip(demand.lon.tolist(), demand.lat.tolist(), strict=True))
    fit(fmap, pts)
    return page_html(fmap, inline=True)


def write_plan(
    result: PlanResult, path: str | Path, *, demand: DemandSet | None = None
) -> Path:
    """Write ``result`` to ``path`` by its suffix: ``.json``, ``.csv`` or ``.html``.

    Raises
    ------
    InvalidParameter
        Named ``out``: another suffix, or ``.html`` without ``demand``.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in FORMATS:
        msg = f"must end in {', '.join(FORMATS)}, not {p.name!r}"
        raise InvalidParameter("out", msg)
    doc = result.to_dict()
    if suffix == ".json":
        text = json.dumps(doc, ensure_ascii=False, indent=2)
    elif suffix == ".csv":
        text = plan_csv(doc)
    else:
        if demand is None:
            msg = "an HTML map needs the demand set"
            raise InvalidParameter("out", msg)
        text = plan_html(result, demand)
    p.write_text(text, encoding="utf-8")
    return p
