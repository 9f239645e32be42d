"""`GET /api/v1/coverage`: share of residents inside the service circles, gaps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from geosvc.api._common import parse
from geosvc.api._geometry import convert_geometry

if TYPE_CHECKING:
    from geosvc.app.service import GeoService

__all__ = ["coverage"]


def coverage(service: GeoService, params: Mapping[str, str]) -> dict[str, Any]:
    """``{mode, minutes, total_population, covered_population, covered_share, ...}``.

    One multi-source pass from every venue matching the filters (cached per
    filter set by the travel engine) gives each demand point its time to the
    nearest venue; the dataset's demand set is built once per mode and data
    revision.  With ``open_at`` / ``open_now`` only venues open then count.
    Also ``catchments`` (population reaching each venue first)
    and ``off_network_population``; with ``circles=true`` also ``circles``, a
    FeatureCollection holding the service-circle polygon (reached and partly
    reached streets, buffered).  Gap and circle coordinates are in ``crs``.

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
    if query.circles:
        doc["circles"] = _circles(result, query.minutes[0], doc["covered_area_km2"])
    if query.crs != "wgs84":
        for fc in (doc["gaps"], doc.get("circles", {"features": []})):
            for feature in fc["features"]:
                feature["geometry"] = convert_geometry(feature.get("geometry"), query.crs)
    for row in doc.get("catchments", []):
        row.pop("venue", None)  # an internal position; `code` identifies the venue
    doc["crs"] = query.crs
    return doc


def _circles(result: Any, minutes: float, area_km2: float) -> dict[str, Any]:
    """Return the service-circle polygon of ``result`` as a FeatureCollection (WGS-84)."""
    from shapely.geometry import mapping

    geom = result.covered_geometry
    features = []
    if geom is not None and not geom.is_empty:
        features.append({
            "type": "Feature",
            "geometry": mapping(geom),
            "properties": {"minutes": minutes, "area_km2": area_km2},
        })
    return {"type": "FeatureCollection", "features": features}
