"""Write a :class:`~geosvc.analysis.coverage.CoverageResult` to a file, by suffix.

* ``.json`` - :meth:`CoverageResult.to_dict` (the docs/api.md document);
* ``.csv`` - the per-area table (``area_id, name, total_population,
  covered_population, covered_share``) plus a last row ``area_id = TOTAL``;
  and next to it ``<stem>_catchments.csv`` (``venue, code, name,
  population, share``);
* ``.geojson`` - one FeatureCollection: the service-circle polygon
  (``layer = "covered"``, with ``minutes`` and ``area_km2``) followed by the
  gaps (``layer = "gap"``);
* ``.html`` - the planner's report (:func:`geosvc.render.report.write_report`)
  of :func:`report_document`: map with the service circles, gaps, venues
  and catchments, headline, per-area table, chart (``extra["curves"]``),
  optionally the tables as CSV / Excel next to it (``tables``).

UTF-8 everywhere (CSV with a BOM so spreadsheet programs read Chinese names).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geosvc.errors import InvalidParameter

if TYPE_CHECKING:
    from geosvc.analysis.coverage import CoverageResult
    from geosvc.model import Venue

__all__ = ["SUFFIXES", "coverage_geojson", "report_document", "write_coverage"]

SUFFIXES = (".json", ".csv", ".geojson", ".html")


def write_coverage(result: CoverageResult, path: str | os.PathLike[str], *,
                   venues: Sequence[Venue] | None = None,
                   extra: Mapping[str, Any] | None = None,
                   tables: Sequence[str] = ()) -> list[Path]:
    """Write ``result`` to ``path`` in the format its suffix names; return the files written.

    Parameters
    ----------
    result : CoverageResult
    path : path-like
        ``.json``, ``.csv``, ``.geojson`` or ``.html`` (module docstring).
    venues : sequence of Venue, optional
        The venues by position (``.html``: kind and place of each catchment row).
    extra : mapping, optional
        ``.html`` only: passed to :func:`geosvc.render.report.write_report`
        (``venues`` FeatureCollection, ``population`` points, ``curves``, ``title``).
    tables : sequence of str
        ``.html`` only: also write the tables, ``"csv"`` and/or ``"xlsx"``.

    Raises
    ------
    InvalidParameter
        Unknown suffix (``out``); ``tables`` with a suffix other than .html
        or an unknown table format (``tables``).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        msg = f"must end in one of {', '.join(SUFFIXES)}, not {path.name!r}"
        raise InvalidParameter("out", msg)
    if tables and suffix != ".html":
        msg = f"are written with an .html report only, not with {suffix}"
        raise InvalidParameter("tables", msg)
    if suffix == ".html":
        from geosvc.render.report import write_report

        path.parent.mkdir(parents=True, exist_ok=True)
        return write_report(report_document(result, venues), path, extra=extra,
                            tables=tuple(tables))
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".json":
        _atomic_text(path, json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
        return [path]
    if suffix == ".geojson":
        _atomic_text(path, json.dumps(coverage_geojson(result), ensure_ascii=False))
        return [path]
    rows: list[list[Any]] = [[r["area_id"], r["name"], r["total_population"],
                              r["covered_population"], r["covered_share"]]
                             for r in result.by_area]
    rows.append(["TOTAL", "", round(result.total_population, 1),
                 round(result.covered_population, 1), round(result.covered_share, 4)])
    _write_csv(path, ["area_id", "name", "total_population", "covered_population",
                      "covered_share"], rows)
    side = path.with_name(f"{path.stem}_catchments.csv")
    _write_csv(side, ["venue", "code", "name", "population", "share"],
               [[c["venue"], c["code"], c["name"], c["population"], c["share"]]
                for c in result.catchments])
    return [path, side]


def coverage_geojson(result: CoverageResult) -> dict[str, Any]:
    """Service circles + gaps as one FeatureCollection with a ``layer`` property."""
    import shapely

    feats: list[dict[str, Any]] = []
    geom = result.covered_geometry
    if not geom.is_empty:
        feats.append({"type": "Feature", "id": "covered",
                      "geometry": shapely.geometry.mapping(geom),
                      "properties": {"layer": "covered", "mode": result.mode,
                                     "minutes": result.minutes,
                                     "area_km2": round(result.covered_area_km2, 4),
                                     "covered_population": round(result.covered_population,
                                                                 1)}})
    for g in result.gaps:
        feats.append({**g, "properties": {"layer": "gap", **g["properties"]}})
    return {"type": "FeatureCollection", "features": feats,
            "numberMatched": len(feats), "numberReturned": len(feats)}


def report_document(result: CoverageResult,
                    venues: Sequence[Venue] | None = None) -> dict[str, Any]:
    """Return the mapping :func:`geosvc.render.report.write_report` reads (WGS-84).

    :meth:`CoverageResult.to_dict` plus ``circles`` (FeatureCollection of the
    service-circle polygon, empty when nothing is covered) and ``catchments``
    as ``[{venue_id, name, kind, population, share, lon, lat}]`` (kind and
    place from ``venues`` by position, when given).
    """
    import shapely

    doc = result.to_dict()
    geom = result.covered_geometry
    circles = [] if geom.is_empty else [{
        "type": "Feature", "id": "covered", "geometry": shapely.geometry.mapping(geom),
        "properties": {"minutes": doc["minutes"], "mode": result.mode,
                       "area_km2": round(result.covered_area_km2, 4)}}]
    doc["circles"] = {"type": "FeatureCollection", "features": circles}
    rows = []
    for c in result.catchments:
        pos = c["venue"]
        v = venues[pos] if venues is not None and 0 <= pos < len(venues) else None
        rows.append({"venue_id": c["code"] if c["code"] is not None else pos,
                     "name": c["name"], "kind": str(v.kind) if v is not None else None,
                     "population": c["population"], "share": c["share"],
                     "lon": v.lon if v is not None else None,
                     "lat": v.lat if v is not None else None})
    doc["catchments"] = rows
    return doc


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows([["" if v is None else v for v in r] for r in rows])
    os.replace(tmp, path)
