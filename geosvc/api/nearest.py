"""`GET /api/v1/nearest`: the k best venues by travel time (or straight distance).

``mode=straight`` ranks by great-circle distance through the k-d tree
(:meth:`ServiceIndex.nearest_k`); ``travel_time_min`` is null and ``open`` is
evaluated at the departure time.  Network modes (walk, bike, drive) rank by
travel time on the road network with **open on arrival**: with ``open_at``
or ``open_now``, a venue counts only if it is open when the citizen arrives
(departure + travel time) and stays open for the server's ``open_margin_min``.
There, ``open``, ``next_open`` and ``closes_at`` are evaluated at arrival.
For ``straight``, ``max_minutes`` limits the straight-line distance a walker
covers at ``walk_speed_kph`` in that time.  An answer with no venue says why
in ``empty_reason`` (:data:`~geosvc.app.travel.EMPTY_REASONS`).

With ``bundle`` (a 一件事 bundle code) venues must handle every item of the
bundle; when none does, the answer carries ``two_stop``: the quickest pair of
venues that together handle them (:func:`~geosvc.app.bundles.two_stop_plan`),
with both legs.

The handler parses the query into a :class:`~geosvc.app.travel.NearestRequest`,
runs :func:`~geosvc.app.travel.find_nearest` (or
:func:`~geosvc.app.bundles.find_bundle_nearest`) and serialises its result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from geosvc.api._common import parse
from geosvc.api.features import feature_collection, iso, line, point, venue_feature
from geosvc.app.bundles import TwoStop, bundle_of, find_bundle_nearest
from geosvc.app.travel import NearestRequest, NearestResult, find_nearest
from geosvc.app.venues import item_channels
from geosvc.errors import InvalidParameter
from geosvc.hours import calendar_of, holiday_warnings

if TYPE_CHECKING:
    from datetime import datetime

    from geosvc.api.params import Query
    from geosvc.app.service import GeoService, Snapshot
    from geosvc.vocab import Channel

__all__ = ["nearest", "nearest_request", "nearest_document"]


def nearest_request(query: Query) -> NearestRequest:
    """Return the typed request of a parsed ``/api/v1/nearest`` query."""
    lon, lat, at = query.lon, query.lat, query.at
    if lon is None or lat is None or at is None:  # parse_query requires them: not reached
        msg = "is required"
        raise InvalidParameter("lon", msg, more=[("lat", msg)])
    return NearestRequest(lon=lon, lat=lat, at=at, mode=query.mode,
                          k=query.k, filter=query.filter, max_minutes=query.max_minutes,
                          route=query.route)


def nearest_document(snap: Snapshot, result: NearestResult, crs: str) -> dict[str, Any]:
    """Serialise a :class:`NearestResult` as the ranked FeatureCollection of docs/api.md."""
    req = result.request
    memo: dict[datetime | None, str | None] = {}

    def when(dt: datetime | None) -> str | None:
        # most hits share their opening times: format each instant once per answer
        if dt not in memo:
            memo[dt] = iso(dt, snap.tz)
        return memo[dt]

    features = []
    for hit in result.venues:
        extra: dict[str, Any] = {"rank": hit.rank, "distance_m": round(hit.distance_m, 1)}
        if hit.travel_time_s is None:
            extra["travel_time_min"] = None
        else:
            extra["travel_time_min"] = round(hit.travel_time_s / 60.0, 2)
            extra["arrives_at"] = when(hit.arrives_at)
        op = hit.opening
        extra.update({"open": op.open, "next_open": when(op.next_open),
                      "closes_at": when(op.closes_at)})
        if req.filter.items:  # the channels the citizen would use there for the items asked
            extra["item_channels"] = item_channels(snap, hit.pos, req.filter.items,
                                                   req.filter.channel)
        feature = venue_feature(snap, hit.pos, crs=crs, at=None, extra=extra)
        if hit.route_lonlat is not None:
            feature["route"] = line(hit.route_lonlat, crs)
        features.append(feature)
    query = {"point": point(req.lon, req.lat, crs), "crs": crs, "at": when(req.at)}
    members: dict[str, Any] = {"mode": req.mode, "query": query}
    if result.empty_reason is not None:  # only in empty answers: never an unexplained []
        members["empty_reason"] = result.empty_reason
    times = [req.at, *(hit.arrives_at for hit in result.venues)]
    notes = holiday_warnings(calendar_of(snap.info), times, tz=snap.tz)
    if notes:  # only beyond the holiday data: other answers keep their members
        members["warnings"] = notes
    return feature_collection(features, **members)


def nearest(service: GeoService, params: Mapping[str, str]) -> dict[str, Any]:
    """Return the ``k`` best venues from ``lon``/``lat`` as a ranked FeatureCollection.

    Raises
    ------
    InvalidParameter
        Bad or missing parameters (all named).
    ModeUnavailable
        A network mode without a loaded network.
    OutsideNetwork
        The point is farther from the network than the snapping tolerance.
    """
    snap = service.snapshot
    query = parse(service, snap, "nearest", params)
    if query.bundle is None:
        result = find_nearest(service, snap, nearest_request(query))
        return nearest_document(snap, result, query.crs)
    bundle = bundle_of(snap, query.bundle, field="bundle")
    found = find_bundle_nearest(service, snap, nearest_request(query), bundle)
    doc = nearest_document(snap, found.result, query.crs)
    doc["bundle"] = {"code": bundle.code, "name": bundle.name, "items": list(bundle.items)}
    if found.two_stop is not None:
        doc["two_stop"] = two_stop_document(snap, found.two_stop, query.crs,
                                            channel=query.filter.channel)
    return doc


def two_stop_document(snap: Snapshot, plan: TwoStop, crs: str, *,
                      channel: Channel | None = None) -> dict[str, Any]:
    """Serialise a two-stop trip: ``{total_time_min, stop_minutes, stops: [Feature, ...]}``.

    Each stop is a venue Feature whose properties add ``stop`` (1, 2),
    ``items`` done there (``bundle_items``) and through which channels
    (``item_channels``, within ``channel`` when given), the leg's ``travel_time_min``,
    ``arrives_at`` and the opening then; ``route`` (with ``route=true``) is
    the leg's line.
    """
    stops = []
    for n, stop in enumerate(plan.stops, 1):
        schedule = snap.index.schedule(stop.pos)
        is_open = schedule.is_open(stop.arrives_at) if schedule.known else None
        extra: dict[str, Any] = {
            "stop": n, "bundle_items": list(stop.items),
            "travel_time_min": round(stop.travel_time_s / 60.0, 2),
            "arrives_at": iso(stop.arrives_at, snap.tz), "open": is_open,
            "item_channels": item_channels(snap, stop.pos, stop.items, channel)}
        feature = venue_feature(snap, stop.pos, crs=crs, at=None, extra=extra)
        if stop.route_lonlat is not None:
            feature["route"] = line(stop.route_lonlat, crs)
        stops.append(feature)
    return {"total_time_min": round(plan.total_time_s / 60.0, 2),
            "stop_minutes": round(plan.stop_s / 60.0, 2), "stops": stops}
