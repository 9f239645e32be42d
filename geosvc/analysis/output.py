"""Write a :class:`~geosvc.analysis.coverage.CoverageResult` to a file, by suffix.

* ``.json`` - :meth:`CoverageResult.to_dict` (API.md document + catchments);
* ``.csv`` - the per-area table (``area_id, name, total_population,
  covered_population, covered_share``) plus a last row ``area_id = TOTAL``;
  and next to it ``<stem>_catchments.csv`` (``venue, code, name,
  population, share``);
* ``.geojson`` - one FeatureCollection: the service-circle polygon
  (``layer = "covered"``, with ``minutes`` and ``area_km2``) followed by the
  gaps (``layer = "gap"``);
* ``.html`` - the map report of :mod:`geosvc.render.report` when that module
  exists, else an error naming ``out``.

UTF-8 everywhere (CSV with a BOM so spreadsheet programs read Chinese names).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geosvc.errors import InvalidParameter

if TYPE_CHECKING:
    from geosvc.analysis.coverage import CoverageResult

__all__ = ["SUFFIXES", "write_coverage"]

SUFFIXES = (".json", ".csv", ".geojson", ".html")


def write_coverage(result: CoverageResult, path: str | os.PathLike[str]) -> list[Path]:
    """Write ``result`` to ``path`` in the format its suffix names; return the files written.

    Raises
    ------
    InvalidParameter
        Unknown suffix, or ``.html`` while the map report is not available (``out``).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        msg = f"must end in one of {', '.join(SUFFIXES)}, not {path.name!r}"
        raise InvalidParameter("out", msg)
    if suffix == ".html":
        if importlib.util.find_spec("geosvc.render.report") is None:
            msg = "HTML coverage reports are not available yet; use .json, .csv or .geojson"
            raise InvalidParameter("out", msg)
        from geosvc.render import report  # type: ignore[attr-defined]

        report.write_coverage_report(result, path)
        return [path]
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
                                     "covered_population": round(result.covered_population, 1)}})
    for g in result.gaps:
        feats.append({**g, "properties": {"layer": "gap", **g["properties"]}})
    return {"type": "FeatureCollection", "features": feats,
            "numberMatched": len(feats), "numberReturned": len(feats)}


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
