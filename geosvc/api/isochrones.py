"""`GET /api/v1/isochrones`: service circles (reachable areas) around a point.

Parses the query into an :class:`~geosvc.app.travel.IsochronesRequest`, runs
:func:`~geosvc.app.travel.find_isochrones` and serialises the bands.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from geosvc.api._common import parse
from geosvc.api._geometry import convert_geometry
from geosvc.api.features import feature_collection, point
from geosvc.app.travel import IsochronesRequest, IsochronesResult, find_isochrones
from geosvc.budget import Deadline
from geosvc.errors import InvalidParameter

if TYPE_CHECKING:
    from geosvc.app.service import GeoService

__all__ = ["isochrones", "isochrones_document"]


def isochrones_document(result: IsochronesResult, crs: str) -> dict[str, Any]:
    """Serialise an :class:`IsochronesResult` as a FeatureCollection in ``crs``.

    Straight-line answers add ``straight_line: {speed_kph, note}``; every
    answer has ``warnings`` (``[{code, message}]``, e.g. ``no-population``
    when the bands' ``population`` is null).
    """
    req = result.request
    features = []
    for band in result.bands:
        feature = band.to_feature()
        feature["geometry"] = convert_geometry(feature["geometry"], crs)
        features.append(feature)
    doc = feature_collection(features, mode=req.mode,
                             query={"point": point(req.lon, req.lat, crs), "crs": crs})
    if result.straight_line is not None:
        doc["straight_line"] = result.straight_line.to_dict()
    doc["warnings"] = [dict(w) for w in result.warnings]
    return doc


def isochrones(service: GeoService, params: Mapping[str, str]) -> dict[str, Any]:
    """One (Multi)Polygon Feature per band, smallest first.

    Properties: ``minutes``, ``area_km2``, ``population`` (residents inside
    the band, from the dataset's population layer; null when the dataset
    counts nobody, and ``warnings`` then holds ``no-population``).  Road
    modes: bands follow the streets reached, not circles (``shape``:
    ``contour`` of a travel-time grid, the default, or ``streets``, buffered);
    ``mode=straight``: geodesic circles of radius walking speed x minutes
    (no road network needed).  Output coordinates in the request's ``crs``.

    Raises
    ------
    InvalidParameter, ModeUnavailable, OutsideNetwork, BudgetExceeded
        The last beyond ``analysis_budget_s`` (:mod:`geosvc.budget`).
    """
    deadline = Deadline.start(service.settings.analysis_budget_s, what="isochrone request")
    snap = service.snapshot
    query = parse(service, snap, "isochrones", params)
    if query.lon is None or query.lat is None:  # parse_query requires them: not reached
        msg = "is required"
        raise InvalidParameter("lon", msg, more=[("lat", msg)])
    request = IsochronesRequest(lon=query.lon, lat=query.lat, mode=query.mode,
                                minutes=tuple(query.minutes), shape=query.shape)
    answer = find_isochrones(service, snap, request, deadline=deadline)
    return isochrones_document(answer, query.crs)
