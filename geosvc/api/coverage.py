"""`GET /api/v1/coverage`: share of residents inside the service circles, gaps.

Parses the query into a :class:`~geosvc.app.travel.CoverageRequest`, runs
:func:`~geosvc.app.travel.measure_coverage` and serialises the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from geosvc.api._common import parse
from geosvc.api._geometry import convert_geometry
from geosvc.app.travel import CoverageRequest, CoverageResultSet, measure_coverage
from geosvc.budget import UNLIMITED, Deadline
from geosvc.hours import calendar_of, holiday_warnings

if TYPE_CHECKING:
    from geosvc.analysis.coverage import CoverageResult
    from geosvc.app.service import GeoService

__all__ = ["coverage", "coverage_document"]


def coverage_document(answer: CoverageResultSet, *, crs: str, circles: bool,
                      deadline: Deadline = UNLIMITED) -> dict[str, Any]:
    """Serialise a coverage answer as the docs/api.md document (geometries in ``crs``).

    The circles' polygon is not started once ``deadline`` has passed.
    """
    result = answer.result
    minutes = answer.request.minutes
    doc = result.to_dict()
    if circles:
        deadline.check("gaps")
        doc["circles"] = _circles(result, minutes, doc["covered_area_km2"])
    if crs != "wgs84":
        for fc in (doc["gaps"], doc.get("circles", {"features": []})):
            for feature in fc["features"]:
                feature["geometry"] = convert_geometry(feature.get("geometry"), crs)
    for row in doc.get("catchments", []):
        row.pop("venue", None)  # an internal position; `code` identifies the venue
    doc["crs"] = crs
    if answer.straight_line is not None:
        doc["straight_line"] = answer.straight_line.to_dict()
    return doc


def coverage(service: GeoService, params: Mapping[str, str]) -> dict[str, Any]:
    """``{mode, minutes, total_population, covered_population, covered_share, ...}``.

    One multi-source pass from every venue matching the filters (cached per
    filter set by the road router) gives each demand point its time to the
    nearest venue; the dataset's demand set is built once per mode and data
    revision.  With ``open_at`` / ``open_now`` only venues open then count.
    Also ``catchments`` (population reaching each venue first)
    and ``off_network_population``; with ``circles=true`` also ``circles``, a
    FeatureCollection holding the service-circle polygon (reached and partly
    reached streets, buffered; for ``mode=straight`` the union of the
    circles of radius walking speed x minutes, and the answer carries
    ``straight_line``).  Gap and circle coordinates are in ``crs``.

    The analysis runs under a :class:`~geosvc.budget.Deadline` of
    ``analysis_budget_s`` (503 ``analysis-budget-exceeded`` beyond it).

    Raises
    ------
    InvalidParameter, ModeUnavailable, BudgetExceeded
    """
    deadline = Deadline.start(service.settings.analysis_budget_s, what="coverage")
    snap = service.snapshot
    query = parse(service, snap, "coverage", params)
    request = CoverageRequest(mode=query.mode, minutes=query.minutes[0], filter=query.filter)
    answer = measure_coverage(service, snap, request, deadline=deadline)
    doc = coverage_document(answer, crs=query.crs, circles=query.circles, deadline=deadline)
    doc["warnings"] += holiday_warnings(calendar_of(snap.info),
                                        [query.filter.open_at], tz=snap.tz)
    return doc


def _circles(result: CoverageResult, minutes: float, area_km2: float) -> dict[str, Any]:
    """Return the service-circle polygon of ``result`` as a FeatureCollection (WGS-84)."""
    from shapely.geometry import (
        mapping,  # lazy: shapely takes ~0.12 s to import; only this path needs it
    )

    geom = result.covered_geometry
    features = []
    if geom is not None and not geom.is_empty:
        features.append({
            "type": "Feature",
            "geometry": mapping(geom),
            "properties": {"minutes": minutes, "area_km2": area_km2},
        })
    return {"type": "FeatureCollection", "features": features}
