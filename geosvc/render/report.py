"""The planner's coverage report: one self-contained HTML file, plus tables as CSV/Excel.

:func:`write_report` writes the coverage map (Leaflet and plugins inlined;
base-map tiles stay external and simply stay blank offline), the headline
figures, the per-area table, the largest gaps, per-venue catchment
populations and an inline SVG chart of covered share against minutes for
each venue kind.  Every text from data is escaped, and every table cell
written as CSV or Excel is neutralised against spreadsheet formulas.
``geosvc coverage ... --out report.html`` and ``GET /api/v1/coverage?f=html``
reach it through the ``html`` output format (:mod:`geosvc.render.formats`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from geosvc.errors import InvalidParameter
from geosvc.formats.builtin import FORMULA_START, csv_text
from geosvc.render.base import page_html
from geosvc.render.coverage_map import (
    coverage_map,
    coverage_summary_html,
    warnings_banner_html,
)
from geosvc.render.i18n import DEFAULT_LANG, Prefs, choose_prefs
from geosvc.render.tiles import BASEMAPS

__all__ = ["locate_catchments", "report_html", "report_tables", "share_chart_svg",
           "write_report"]

_SERIES_COLOURS = ("#b2182b", "#1a7837", "#542788", "#2166ac", "#e66101", "#666666")
_TABLE_FORMATS = ("csv", "xlsx")


def report_tables(result: Mapping[str, Any]) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """Return the report's tables as ``{name: (header, rows)}``: areas, gaps, catchments.

    Examples
    --------
    >>> t = report_tables({"by_area": [{"area_id": "A", "name": "x", "total_population": 10,
    ...                    "covered_population": 5, "covered_share": 0.5}]})
    >>> t["areas"][1]
    [['A', 'x', 10, 5, 0.5, None]]
    """
    areas = [[a.get("area_id"), a.get("name"), a.get("total_population"),
              a.get("covered_population"), a.get("covered_share"),
              a.get("covered_area_share")]
             for a in result.get("by_area") or []]
    gaps = []
    for i, g in enumerate((result.get("gaps") or {}).get("features", [])):
        props = g.get("properties") or {}
        lon = lat = None
        geom = g.get("geometry") or {}
        if geom.get("type") == "Point":
            lon, lat = geom["coordinates"][:2]
        gaps.append([props.get("id", g.get("id", i + 1)),
                     props.get("name") or props.get("area_name"),
                     props.get("uncovered_population"), lon, lat])
    catch = result.get("catchments") or []
    if isinstance(catch, Mapping):
        catch = [f.get("properties") or {} for f in catch.get("features", [])]
    catchments = [[_first(c, "venue_id", "id", "code", "venue"), c.get("name"), c.get("kind"),
                   c.get("population")] for c in catch]
    return {
        "areas": (["area_id", "name", "total_population", "covered_population",
                   "covered_share", "covered_area_share"], areas),
        "gaps": (["gap", "name", "uncovered_population", "lon", "lat"], gaps),
        "catchments": (["venue_id", "name", "kind", "population"], catchments),
    }


def _first(row: Mapping[str, Any], *keys: str) -> Any:
    """Return the first of ``keys`` that ``row`` holds a value for (0 counts), else None."""
    return next((row[k] for k in keys if row.get(k) is not None), None)


def locate_catchments(result: Mapping[str, Any],
                      venues: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return ``result`` with each catchment row given its venue's kind and place.

    Catchment rows of the API (``{code, name, population, share}``) name
    their venue by code; ``venues`` (a FeatureCollection with the codes as
    feature ids) gives ``venue_id``, ``kind``, ``lon`` and ``lat`` where a row
    lacks them.  Rows already placed, and polygon catchments, stay as they are.

    Examples
    --------
    >>> fc = {"features": [{"id": "V1", "geometry": {"type": "Point", "coordinates": [1, 2]},
    ...        "properties": {"kind": "hall"}}]}
    >>> locate_catchments({"catchments": [{"code": "V1", "population": 5}]}, fc)["catchments"]
    [{'code': 'V1', 'population': 5, 'venue_id': 'V1', 'kind': 'hall', 'lon': 1, 'lat': 2}]
    """
    rows = result.get("catchments")
    if not isinstance(rows, list):
        return dict(result)
    where = {str(f.get("id")): f for f in (venues or {}).get("features", [])}
    placed = []
    for row in rows:
        code = _first(row, "venue_id", "code")
        feat = where.get(str(code)) if code is not None else None
        out = dict(row)
        if code is not None:
            out.setdefault("venue_id", code)
        if feat is not None:
            geom = feat.get("geometry") or {}
            if out.get("kind") is None:
                out["kind"] = (feat.get("properties") or {}).get("kind")
            if out.get("lon") is None and geom.get("type") == "Point":
                out["lon"], out["lat"] = geom["coordinates"][:2]
        placed.append(out)
    return {**result, "catchments": placed}


def share_chart_svg(curves: Mapping[str, Sequence[Sequence[float]]], *, width: int = 560,
                    height: int = 300, prefs: Prefs | None = None) -> str:
    """Return an inline SVG chart of covered share (0..1) by minutes, one line per series.

    Parameters
    ----------
    curves : mapping of label to [(minutes, share), ...]
        E.g. ``{"hall": [(5, 0.2), (10, 0.5), ...], "kiosk": [...]}``.
    """
    t = (prefs or Prefs()).t
    pad_l, pad_r, pad_t, pad_b = 48, 130, 14, 36
    pts = [(float(m), float(s)) for series in curves.values() for m, s in series]
    if not pts:
        return ""
    x_max = max(m for m, _ in pts) or 1.0
    x_min = min(m for m, _ in pts)
    span = (x_max - x_min) or 1.0
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def sx(m: float) -> float:
        return pad_l + w * (m - x_min) / span

    def sy(s: float) -> float:
        return pad_t + h * (1 - max(0.0, min(1.0, s)))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="gs-chart" width="{width}" '
           f'height="{height}" role="img" '
           f'aria-label="{escape(t("覆盖率与时间", "covered share by minutes"))}">']
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        y = sy(tick)
        out.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{y:.1f}" y2="{y:.1f}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="{pad_l - 6}" y="{y + 4:.1f}" text-anchor="end" '
                   f'font-size="11">{int(tick * 100)}%</text>')
    ticks = sorted({m for m, _ in pts})
    for m in ticks:
        out.append(f'<text x="{sx(m):.1f}" y="{pad_t + h + 16}" text-anchor="middle" '
                   f'font-size="11">{m:g}</text>')
    out.append(f'<text x="{pad_l + w / 2:.1f}" y="{height - 4}" text-anchor="middle" '
               f'font-size="11">{escape(t("分钟", "minutes"))}</text>')
    for i, (label, series) in enumerate(curves.items()):
        colour = _SERIES_COLOURS[i % len(_SERIES_COLOURS)]
        coords = " ".join(f"{sx(float(m)):.1f},{sy(float(s)):.1f}" for m, s in sorted(
            (float(m), float(s)) for m, s in series))
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                   f'points="{coords}"/>')
        for m, s in series:
            out.append(f'<circle cx="{sx(float(m)):.1f}" cy="{sy(float(s)):.1f}" r="3" '
                       f'fill="{colour}"><title>{escape(str(label))} {float(m):g} min: '
                       f'{100 * float(s):.1f}%</title></circle>')
        y = pad_t + 14 + 18 * i
        out.append(f'<line x1="{pad_l + w + 10}" x2="{pad_l + w + 28}" y1="{y - 4}" '
                   f'y2="{y - 4}" stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{pad_l + w + 32}" y="{y}" font-size="12">'
                   f'{escape(str(label))}</text>')
    out.append("</svg>")
    return "".join(out)


def _cell(value: Any, header: str) -> str:
    if value is None:
        return "<td></td>"
    if isinstance(value, float) and header.endswith("share"):
        return f'<td class="num">{100 * value:.1f}%</td>'
    if isinstance(value, (int, float)):
        return f'<td class="num">{value:,.0f}</td>' if abs(value) >= 100 or float(
            value).is_integer() else f'<td class="num">{value:.4g}</td>'
    return f"<td>{escape(str(value))}</td>"


def _table_html(name: str, title: str, header: list[str], rows: list[list[Any]],
                limit: int = 200, prefs: Prefs | None = None) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(v, h) for v, h in zip(r, header, strict=True))
                   + "</tr>" for r in rows[:limit])
    rest = len(rows) - limit
    said = (prefs or Prefs()).t(f"…… 另有 {rest} 行见 CSV", f"… {rest} more rows in the CSV")
    more = f"<p>{escape(said)}</p>" if rest > 0 else ""
    href = "data:text/csv;charset=utf-8," + quote("\ufeff" + csv_text(header, rows))
    return (f'<section id="gs-table-{escape(name)}"><h2>{title}</h2>'
            f'<p><a download="{escape(name)}.csv" href="{escape(href)}">CSV</a></p>'
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}</section>")


_CSS = """
body{font:14px/1.45 sans-serif;margin:0;color:#222}
header,main{max-width:1100px;margin:0 auto;padding:8px 16px}
h1{font-size:22px;margin:12px 0 4px}h2{font-size:17px;margin:22px 0 6px}
.en,.sub{color:#555;font-size:90%}
.gs-report-map{height:560px;border:1px solid #ccc}
.gs-report-map iframe{width:100%;height:100%;border:0}
table{border-collapse:collapse}
td,th{border-bottom:1px solid #eee;padding:3px 8px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.gs-headline{display:flex;gap:24px;flex-wrap:wrap}
"""


def report_html(result: Mapping[str, Any], *, extra: Mapping[str, Any] | None = None) -> str:
    """Return the self-contained HTML of the coverage report (see :func:`write_report`).

    ``extra["lang"]`` (``zh``, the default, or ``en``) is the report's language.
    """
    extra = dict(extra or {})
    prefs = choose_prefs(lang=str(extra.get("lang") or DEFAULT_LANG))
    t = prefs.t
    result = locate_catchments(result, extra.get("venues"))
    title = str(extra.get("title") or t("服务圈覆盖分析", "Service-circle coverage report"))
    basemap = BASEMAPS[str(extra.get("tiles") or "osm")]
    fmap = coverage_map(result, venues=extra.get("venues"),
                        population=extra.get("population") or (), basemap=basemap, title=title,
                        prefs=prefs)
    # The map page goes in an iframe's srcdoc: its scripts and styles stay separate.
    map_page = page_html(fmap, inline=True)
    tables = report_tables(result)
    curves = extra.get("curves") or {}
    chart = share_chart_svg(curves, prefs=prefs)
    parts = [
        f"<!DOCTYPE html><html lang='{prefs.html_lang}'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{escape(title)}</h1>",
        f"<p class='sub'>{escape(str(extra.get('subtitle') or ''))}</p></header><main>",
        f"<section id='gs-warnings'>{warnings_banner_html(result, prefs)}</section>"
        if result.get("warnings") else "",
        f"<section id='gs-headline'>{coverage_summary_html(result, top=10, prefs=prefs)}"
        "</section>",
        f"<h2>{escape(t('覆盖地图', 'Coverage map'))}</h2>"
        f"<div class='gs-report-map'><iframe title='{escape(t('覆盖地图', 'Coverage map'))}' "
        f"srcdoc=\"{escape(map_page)}\"></iframe></div>",
    ]
    if chart:
        heading = escape(t("覆盖率与时间", "Covered share by minutes"))
        parts.append(f"<section id='gs-chart'><h2>{heading}</h2>{chart}</section>")
    parts.append(_table_html("areas", escape(t("分区覆盖", "By area")), *tables["areas"],
                             prefs=prefs))
    parts.append(_table_html("gaps", escape(t("最大缺口", "Largest gaps")), *tables["gaps"],
                             prefs=prefs))
    parts.append(_table_html("catchments",
                             escape(t("场所服务人口", "Catchment population per venue")),
                             *tables["catchments"], prefs=prefs))
    parts.append("</main></body></html>")
    return "".join(parts)


def write_report(result: Mapping[str, Any], path: str | os.PathLike[str], *,
                 extra: Mapping[str, Any] | None = None,
                 tables: Sequence[str] = ()) -> list[Path]:
    """Write the coverage report as one self-contained HTML file (and tables on request).

    Parameters
    ----------
    result : mapping
        A coverage result as ``/api/v1/coverage`` returns it (WGS-84):
        headline figures, ``by_area``, ``gaps``, and optionally ``circles``
        and ``catchments`` (``[{venue_id, name, kind, population, lon, lat}]``).
    path : path-like
        The ``.html`` file to write.
    extra : mapping, optional
        ``title``, ``subtitle``; ``venues`` (FeatureCollection, drawn on the
        map); ``population`` (``[(lon, lat, count)]``, heat layer);
        ``curves`` (``{label: [(minutes, share), ...]}``, the chart, e.g.
        one series per venue kind for 5..30 minutes); ``tiles``
        (``osm`` | ``amap`` | ``tianditu`` | ``none``).
    tables : sequence of str
        Also write the tables next to the report: ``"csv"`` (one
        ``<stem>_<table>.csv`` each, UTF-8 with BOM for Excel) and/or
        ``"xlsx"`` (one ``<stem>.xlsx`` with a sheet per table).

    Returns
    -------
    list of Path
        Every file written, the report first.

    Raises
    ------
    InvalidParameter
        An unknown table format or ``tiles`` name.
    """
    bad = [t for t in tables if t not in _TABLE_FORMATS]
    if bad:
        unknown = ", ".join(map(repr, bad))
        msg = f"must be a list of {' | '.join(_TABLE_FORMATS)}; unknown {unknown}"
        raise InvalidParameter("tables", msg)
    tiles = str((extra or {}).get("tiles") or "osm")
    if tiles not in BASEMAPS:
        msg = f"must be one of {' | '.join(BASEMAPS)}"
        raise InvalidParameter("tiles", msg)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report_html(result, extra=extra), encoding="utf-8")
    written = [out]
    data = report_tables(locate_catchments(result, (extra or {}).get("venues")))
    if "csv" in tables:
        for name, (header, rows) in data.items():
            p = out.with_name(f"{out.stem}_{name}.csv")
            p.write_text("\ufeff" + csv_text(header, rows), encoding="utf-8")
            written.append(p)
    if "xlsx" in tables:
        from openpyxl import (
            Workbook,  # lazy: openpyxl takes ~0.15 s to import; only this path needs it
        )

        wb = Workbook()
        wb.remove(wb.active)
        for name, (header, rows) in data.items():
            ws = wb.create_sheet(name)
            ws.append(header)
            for row in rows:
                ws.append(row)
            _no_formulas(ws)
        p = out.with_suffix(".xlsx")
        wb.save(p)
        written.append(p)
    return written


def _no_formulas(ws: Any) -> None:
    """Keep text that looks like a formula as text (openpyxl reads ``=...`` as a formula)."""
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
                cell.data_type = "s"
