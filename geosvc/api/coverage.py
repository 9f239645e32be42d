"""`GET /api/v1/coverage`: share of residents inside the service circles, gaps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from geosvc.api._common import parse
from geosvc.api._geometry import convert_geometry

if TYPE_CHECKING:
    from geosvc.service import GeoService

__all__ = ["coverage"]


def coverage(service: GeoService, params: Mapping[str, str]) -> dict[str, Any]:
    """``{mode, minutes, total_population, covered_population, covered_share, ...}``.

    One multi-source pass from every venue matching the filters (cached per
    filter set by the travel engine) gives each demand point its time to the
    nearest venue; the dataset's demand set is built once per mode and data
    revision.  With ``open_at`` / ``open_now`` only venues open then count.
    Adds to API.md: ``catchments`` (population reaching each venue first)
    and ``off_network_population``.  Gap coordinates are in ``crs``.

    Raises
    ------
    InvalidParameter, ModeUnavailable
    """
    snap = service.snapshot
    query = parse(service, snap, "coverage", params)
    engine = service.travel(query.mode, snap)
    demand = service.demand(query.mode, snap)
    from geosvc.analysis.coverage import compute_coverage

    index = snap.index
    flt = query.filter
    candidates = index.mask(flt)
    key = flt.cache_key() if flt.open_at is None else None  # a time: key by positions
    result = compute_coverage(
        engine, demand, candidates=candidates, minutes=query.minutes[0], key=key,
        venue_labels=[(v.code, v.name) for v in index.venues],
    )
    doc = result.to_dict()
    if query.crs != "wgs84":
        for gap in doc["gaps"]["features"]:
            gap["geometry"] = convert_geometry(gap.get("geometry"), query.crs)
    for row in doc.get("catchments", []):
        row.pop("venue", None)  # an internal position; `code` identifies the venue
    doc["crs"] = query.crs
    return doc
