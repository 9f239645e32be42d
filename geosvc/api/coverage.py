"""`GET /api/v1/coverage`: share of residents inside the service circles, gaps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from geosvc.api._common import parse

if TYPE_CHECKING:
    from geosvc.service import GeoService

__all__ = ["coverage"]


def coverage(service: GeoService, params: Mapping[str, str]) -> dict[str, Any]:
    """``{mode, minutes, total_population, covered_population, covered_share, ...}``.

    One multi-source pass from every venue matching the filters (cached per
    filter set by the travel engine) gives each node its time to the nearest
    venue; the dataset's demand set (built once per mode) is summed.

    Raises
    ------
    InvalidParameter, ModeUnavailable
    """
    snap = service.snapshot
    query = parse(service, snap, "coverage", params)
    engine = service.travel(query.mode, snap)
    demand = service.demand(query.mode, snap)
    from geosvc.analysis import compute_coverage

    result = compute_coverage(
        engine, demand, snap.index, query.filter, minutes=query.minutes[0],
    )
    doc = result.to_dict()
    doc.setdefault("mode", query.mode)
    doc.setdefault("minutes", query.minutes[0])
    return doc
