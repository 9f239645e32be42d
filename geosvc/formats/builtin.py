"""The built-in data formats: JSON, GeoJSON and CSV (registered like any extension).

* ``json`` - the document itself: compact UTF-8 over HTTP (the API's bytes),
  indented in files;
* ``geojson`` - a FeatureCollection: the venues as they are; a coverage
  document as its service-circle polygon (``layer = "covered"``) followed
  by its gaps (``layer = "gap"``);
* ``csv`` - one table: the per-area rows (+ ``TOTAL``) of a coverage
  document, the selected sites of a plan, one row per venue (``id, lon,
  lat`` and the properties).  A coverage file gets
  ``<stem>_catchments.csv`` next to it.

CSV is UTF-8 with a byte-order mark (spreadsheet programs then read Chinese
names) and every text cell passes through :func:`safe_cell`: a bureau opens
these files in Excel, where a cell starting with ``=`` is a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from geosvc.analysis.output import (
    AREA_FIELDS,
    CATCHMENT_FIELDS,
    area_rows,
    catchment_rows,
    coverage_geojson,
)
from geosvc.analysis.planning.output import CSV_FIELDS, plan_rows
from geosvc.formats import (
    CIRCLES,
    COVERAGE,
    FEATURES,
    PLAN,
    Output,
    OutputFormat,
    register_format,
    write_atomic,
)

__all__ = ["CsvFormat", "GeoJsonFormat", "JsonFormat", "csv_text", "feature_rows",
           "json_bytes", "safe_cell"]

#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_BOM = "\ufeff"


def _default(obj: Any) -> Any:
    """Serialise what orjson does not know natively (sets, tuples)."""
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if isinstance(obj, tuple):
        return list(obj)
    msg = f"cannot serialise {type(obj).__name__} to JSON"
    raise TypeError(msg)


def json_bytes(doc: Any, *, indent: bool = False) -> bytes:
    """Return UTF-8 JSON, Chinese unescaped, numpy values as numbers, NaN as null (orjson).

    Examples
    --------
    >>> json_bytes({"name": "社保", "n": (1, 2), "x": float("nan")}).decode()
    '{"name":"社保","n":[1,2],"x":null}'
    """
    option = orjson.OPT_SERIALIZE_NUMPY | (orjson.OPT_INDENT_2 if indent else 0)
    return orjson.dumps(doc, default=_default, option=option)


def safe_cell(value: Any) -> Any:
    """Return ``value`` with a leading apostrophe when a spreadsheet would run it as a formula.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
    is neutralised, as OWASP recommends against CSV injection; numbers and
    other text are unchanged, ``None`` is an empty cell.

    Examples
    --------
    >>> [safe_cell(v) for v in ("=1+1", "@SUM(A1)", "-2", "北门", -2.5, None)]
    ["'=1+1", "'@SUM(A1)", "'-2", '北门', -2.5, '']
    """
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Return a CSV table (RFC 4180 line ends, no byte-order mark), cells made safe.

    Examples
    --------
    >>> print(csv_text(["name", "n"], [["=HYPERLINK(x)", -1], ["a,b", 2]]), end="")
    name,n
    '=HYPERLINK(x),-1
    "a,b",2
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return buf.getvalue()


def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    return (_BOM + csv_text(header, rows)).encode("utf-8")


def _cell_value(value: Any) -> Any:
    """Return a property value as one cell: scalar lists comma-joined, the rest as JSON."""
    if isinstance(value, (list, tuple)) and all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
        return ",".join(str(v) for v in value)
    if isinstance(value, (list, tuple, dict)):
        return json_bytes(value).decode("utf-8")
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def feature_rows(fc: Mapping[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Flatten a FeatureCollection to ``(header, rows)``: ``id, lon, lat`` and the properties.

    Point features give ``lon``/``lat``; other geometries leave them empty.
    Columns are the properties' names in first-seen order.

    Examples
    --------
    >>> feature_rows({"features": [{"id": "A", "geometry": {"type": "Point",
    ...     "coordinates": [24.9, 60.1]},
    ...     "properties": {"name": "x", "channels": ["a", "b"]}}]})
    (['id', 'lon', 'lat', 'name', 'channels'], [['A', 24.9, 60.1, 'x', 'a,b']])
    """
    features = list(fc.get("features") or [])
    columns: dict[str, None] = {}
    for f in features:
        for key in f.get("properties") or {}:
            columns.setdefault(str(key), None)
    props = [c for c in columns if c not in ("id", "lon", "lat")]
    rows = []
    for f in features:
        geom = f.get("geometry") or {}
        lon = lat = None
        if geom.get("type") == "Point":
            lon, lat = geom["coordinates"][:2]
        values = f.get("properties") or {}
        rows.append([f.get("id"), lon, lat, *(_cell_value(values.get(c)) for c in props)])
    return ["id", "lon", "lat", *props], rows


@register_format
class JsonFormat(OutputFormat):
    """The document as JSON: compact over HTTP (the API's bytes), indented in files."""

    name = "json"
    media_type = "application/json"
    suffixes = (".json",)
    kinds = frozenset({COVERAGE, PLAN, FEATURES})
    description = "the JSON document"

    def render(self, output: Output) -> bytes:
        """Compact JSON of ``output.doc``."""
        return json_bytes(output.doc)

    def write(self, output: Output, path: Path) -> list[Path]:
        """Indented JSON of ``output.doc`` (a file is read by people too)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json_bytes(output.doc, indent=True) + b"\n")
        return [path]


@register_format
class GeoJsonFormat(OutputFormat):
    """A FeatureCollection: venues as they are; coverage as its circle and gaps."""

    name = "geojson"
    media_type = "application/geo+json"
    accept = ("application/json",)
    suffixes = (".geojson",)
    kinds = frozenset({COVERAGE, FEATURES})
    needs = frozenset({CIRCLES})
    description = "GeoJSON FeatureCollection (coverage: service circle + gaps, `layer`)"

    def render(self, output: Output) -> bytes:
        """Compact GeoJSON."""
        doc = coverage_geojson(output.doc) if output.kind == COVERAGE else output.doc
        return json_bytes(doc)


@register_format
class CsvFormat(OutputFormat):
    """One table as CSV (UTF-8 with BOM, formulas neutralised); coverage adds catchments."""

    name = "csv"
    media_type = "text/csv"
    suffixes = (".csv",)
    kinds = frozenset({COVERAGE, PLAN, FEATURES})
    disposition = "attachment"
    description = "CSV table (coverage: per area; plan: selected sites; venues: one row each)"

    def render(self, output: Output) -> bytes:
        """Return the main table of ``output`` as CSV bytes."""
        doc = output.doc
        if output.kind == COVERAGE:
            return _csv_bytes(AREA_FIELDS, area_rows(doc))
        if output.kind == PLAN:
            return _csv_bytes(CSV_FIELDS, plan_rows(doc))
        return _csv_bytes(*feature_rows(doc))

    def write(self, output: Output, path: Path) -> list[Path]:
        """Write the main table, and for coverage ``<stem>_catchments.csv`` next to it."""
        written = super().write(output, path)
        if output.kind == COVERAGE:
            side = path.with_name(f"{path.stem}_catchments.csv")
            write_atomic(side, _csv_bytes(CATCHMENT_FIELDS, catchment_rows(output.doc)))
            written.append(side)
        return written
