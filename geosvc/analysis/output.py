"""Plain-data views of a :class:`~geosvc.analysis.coverage.CoverageResult`.

The document (:func:`coverage_document`, the docs/api.md ``/api/v1/coverage``
shape), its map layers as one FeatureCollection (:func:`coverage_geojson`)
and its tables (:func:`area_rows`, :func:`catchment_rows`).  Nothing here
writes a file format or draws: :mod:`geosvc.formats` writes these views
(JSON, GeoJSON, CSV) and :mod:`geosvc.render.report` draws the HTML report.
Every function but :func:`coverage_document` takes the document, so a
result and an API answer are written alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import shapely.geometry

if TYPE_CHECKING:
    from geosvc.analysis.coverage import CoverageResult

__all__ = ["AREA_FIELDS", "CATCHMENT_FIELDS", "area_rows", "catchment_rows", "circles_geojson",
           "coverage_document", "coverage_geojson"]

#: Columns of the per-area table (the last row is ``area_id = TOTAL``).
AREA_FIELDS = ("area_id", "name", "total_population", "covered_population", "covered_share",
               "covered_area_share")
#: Columns of the catchment table (``venue`` = position in the dataset, when known).
CATCHMENT_FIELDS = ("venue", "code", "name", "population", "share")


def coverage_document(result: CoverageResult, *, circles: bool = False) -> dict[str, Any]:
    """Return :meth:`CoverageResult.to_dict`, with ``circles`` when asked (WGS-84).

    ``circles`` builds the service-circle polygon (lazily rasterised by the
    result: seconds on a city) as :func:`circles_geojson`.
    """
    doc = result.to_dict()
    if circles:
        doc["circles"] = circles_geojson(result)
    return doc


def circles_geojson(result: CoverageResult) -> dict[str, Any]:
    """Return the service-circle polygon as a FeatureCollection (empty: nothing covered)."""
    geom = result.covered_geometry
    minutes = float(result.minutes)
    features = [] if geom.is_empty else [{
        "type": "Feature", "id": "covered", "geometry": shapely.geometry.mapping(geom),
        "properties": {"minutes": int(minutes) if minutes.is_integer() else minutes,
                       "mode": result.mode, "area_km2": round(result.covered_area_km2, 4)}}]
    return {"type": "FeatureCollection", "features": features}


def coverage_geojson(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Return the circles and gaps of a coverage document as one layered FeatureCollection.

    The service-circle polygon (``layer = "covered"``, with ``mode``,
    ``minutes``, ``area_km2`` and ``covered_population``) when the document
    has ``circles``, then the gaps (``layer = "gap"``).  Coordinates as in
    the document.

    Examples
    --------
    >>> doc = {"mode": "walk", "minutes": 10, "covered_area_km2": 1.5,
    ...        "covered_population": 80.0, "gaps": {"features": [
    ...            {"type": "Feature", "id": "gap-1", "geometry": None,
    ...             "properties": {"uncovered_population": 20.0}}]}}
    >>> fc = coverage_geojson(doc)
    >>> [f["properties"]["layer"] for f in fc["features"]], fc["numberMatched"]
    (['gap'], 1)
    """
    features: list[dict[str, Any]] = []
    for f in (doc.get("circles") or {}).get("features", []):
        features.append({
            "type": "Feature", "id": f.get("id", "covered"), "geometry": f.get("geometry"),
            "properties": {"layer": "covered", "mode": doc.get("mode"),
                           "minutes": doc.get("minutes"),
                           "area_km2": doc.get("covered_area_km2"),
                           "covered_population": doc.get("covered_population")}})
    for g in (doc.get("gaps") or {}).get("features", []):
        features.append({**g, "properties": {"layer": "gap", **(g.get("properties") or {})}})
    return {"type": "FeatureCollection", "features": features,
            "numberMatched": len(features), "numberReturned": len(features)}


def area_rows(doc: Mapping[str, Any]) -> list[list[Any]]:
    """Return the per-area rows of :data:`AREA_FIELDS`, then the ``TOTAL`` row.

    Examples
    --------
    >>> area_rows({"by_area": [{"area_id": "A", "name": "x", "total_population": 10.0,
    ...            "covered_population": 5.0, "covered_share": 0.5,
    ...            "covered_area_share": 0.25}],
    ...            "total_population": 10.0, "covered_population": 5.0, "covered_share": 0.5,
    ...            "covered_area_share": 0.25})
    [['A', 'x', 10.0, 5.0, 0.5, 0.25], ['TOTAL', '', 10.0, 5.0, 0.5, 0.25]]

    Without residents the population cells are empty (None), not 0.
    """
    rows = [[r.get(f) for f in AREA_FIELDS] for r in doc.get("by_area") or []]
    rows.append(["TOTAL", "", doc.get("total_population"), doc.get("covered_population"),
                 doc.get("covered_share"), doc.get("covered_area_share")])
    return rows


def catchment_rows(doc: Mapping[str, Any]) -> list[list[Any]]:
    """Return the rows of :data:`CATCHMENT_FIELDS`: the population reaching each venue first.

    Examples
    --------
    >>> catchment_rows({"catchments": [{"code": "V1", "name": "hall", "population": 9.0,
    ...                 "share": 0.9}]})
    [[None, 'V1', 'hall', 9.0, 0.9]]
    """
    return [[c.get(f) for f in CATCHMENT_FIELDS] for c in doc.get("catchments") or []]
