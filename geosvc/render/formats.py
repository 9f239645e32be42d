"""The ``html`` output format: the coverage report and the plan map.

Registered through :func:`geosvc.formats.register_format` like any
extension; loaded by the registry on first use (``BUILTIN_MODULES``).

* coverage - :func:`geosvc.render.report.report_html` (a file:
  :func:`~geosvc.render.report.write_report`, with the tables as CSV /
  Excel when ``extra["tables"]`` asks);
* plan - :func:`geosvc.render.plan_map.plan_map_html`.

``extra["lang"]`` (``zh`` default, or ``en``) is the page's language; over
HTTP the web layer sets it from the request (``lang``, cookie,
``Accept-Language``).

The renderers take WGS-84: a document answered in another ``crs`` is
shifted back first.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from geosvc.formats import CIRCLES, COVERAGE, MAP, PLAN, Output, OutputFormat, register_format
from geosvc.render.i18n import DEFAULT_LANG
from geosvc.render.plan_map import plan_map_html
from geosvc.render.report import report_html, write_report
from geosvc.render.tiles import shift_geojson

__all__ = ["HtmlFormat"]


def _wgs84(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """``doc`` with its geometries in WGS-84 (API answers carry their ``crs``)."""
    crs = doc.get("crs") or "wgs84"
    if crs == "wgs84":
        return doc
    return {**doc, **{k: shift_geojson(doc[k], "wgs84", source=crs)
                      for k in ("gaps", "circles") if isinstance(doc.get(k), Mapping)}}


@register_format
class HtmlFormat(OutputFormat):
    """A self-contained HTML page: the coverage report, or the plan map."""

    name = "html"
    media_type = "text/html"
    suffixes = (".html", ".htm")
    kinds = frozenset({COVERAGE, PLAN})
    needs = frozenset({CIRCLES, MAP})
    options = frozenset({"tables", "lang"})
    description = "self-contained HTML: the coverage report or the plan map"

    def render(self, output: Output) -> bytes:
        """Return the page as UTF-8 bytes."""
        extra = output.extra
        if output.kind == COVERAGE:
            return report_html(_wgs84(output.doc), extra=extra).encode("utf-8")
        return plan_map_html(output.doc, demand_points=extra.get("demand_points", ()),
                             fixed_sites=extra.get("fixed_sites", ()),
                             lang=str(extra.get("lang") or DEFAULT_LANG)).encode("utf-8")

    def write(self, output: Output, path: Path) -> list[Path]:
        """Write the page; a coverage report also writes its ``tables`` (csv, xlsx)."""
        if output.kind == COVERAGE:
            return write_report(_wgs84(output.doc), path, extra=output.extra,
                                tables=tuple(output.extra.get("tables") or ()))
        return super().write(output, path)
