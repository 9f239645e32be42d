"""`GET /api/v1/nearest`: the k best venues by travel time (or straight distance).

``mode=straight`` ranks by great-circle distance through the R-tree
(:meth:`ServiceIndex.nearest_k`); ``travel_time_min`` is null and ``open`` is
evaluated at the departure time.  Network modes (walk, bike, drive) rank by
travel time on the road network with **open on arrival**: with ``open_at``
or ``open_now``, a venue counts only if it is open when the citizen arrives
(departure + travel time) and stays open for the server's ``open_margin_min``.
There, ``open``, ``next_open`` and ``closes_at`` are evaluated at arrival.
For ``straight``, ``max_minutes`` limits the straight-line distance a walker
covers at ``walk_speed_kph`` in that time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from geosvc.api._common import parse
from geosvc.api.features import feature_collection, iso, line, point, venue_feature

if TYPE_CHECKING:
    from datetime import datetime

    from geosvc.api.params import Query
    from geosvc.app.service import GeoService, Snapshot

__all__ = ["nearest"]


def _timing(
    snap: Snapshot, pos: int, at: datetime,
    memo: dict[tuple[int, datetime], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``open``, ``next_open`` and ``closes_at`` of venue ``pos`` at ``at``.

    ``memo`` (per request) shares the answer between venues with the same
    schedule object (the index compiles each distinct expression once).
    """
    schedule = snap.index.schedule(pos)
    key = (id(schedule), at)
    if memo is not None:
        hit = memo.get(key)
        if hit is not None:
            return hit
    out: dict[str, Any]
    if not schedule.known:
        out = {"open": None, "next_open": None, "closes_at": None}
    elif schedule.is_open(at):  # next_open is `at` itself when open
        out = {"open": True, "next_open": iso(at, snap.tz),
               "closes_at": iso(schedule.next_close(at), snap.tz)}
    else:
        out = {"open": False, "next_open": iso(schedule.next_open(at), snap.tz),
               "closes_at": None}
    if memo is not None:
        memo[key] = out
    return out


def _straight(service: GeoService, snap: Snapshot, query: Query) -> list[dict[str, Any]]:
    max_dist_m = None
    if query.max_minutes is not None:
        max_dist_m = query.max_minutes * service.settings.walk_speed_kph * 1000.0 / 60.0
    origin = query.lonlat()
    positions, dist_m = snap.index.nearest_k(
        *origin, query.k, query.filter, max_dist_m=max_dist_m
    )
    features = []
    memo: dict[tuple[int, datetime], dict[str, Any]] = {}
    pairs = zip(positions.tolist(), dist_m.tolist(), strict=True)
    for rank, (pos, dist) in enumerate(pairs, 1):
        extra = {"rank": rank, "distance_m": round(float(dist), 1), "travel_time_min": None}
        extra.update(_timing(snap, pos, query.at, memo))
        feature = venue_feature(snap, pos, crs=query.crs, at=None, extra=extra)
        if query.route:
            venue = snap.index.venues[pos]
            feature["route"] = line([origin, (venue.lon, venue.lat)], query.crs)
        features.append(feature)
    return features


def _network(service: GeoService, snap: Snapshot, query: Query) -> list[dict[str, Any]]:
    engine = service.travel(query.mode, snap)
    index = snap.index
    flt = query.filter
    static = flt.without_time()
    candidates = index.mask(static)
    depart = query.at
    accept = None
    if flt.open_at is not None:
        margin = service.settings.open_margin_min

        def accept(pos: int, time_s: float) -> bool:
            return index.schedule(pos).open_for(depart + timedelta(seconds=time_s), margin)

    hits = engine.nearest(
        *query.lonlat(),
        candidates=candidates, k=query.k, key=static.cache_key(),
        max_minutes=query.max_minutes, accept=accept, route=query.route,
    )
    features = []
    for rank, hit in enumerate(hits, 1):
        arrival = depart + timedelta(seconds=float(hit.time_s))
        extra = {
            "rank": rank,
            "distance_m": round(float(hit.distance_m), 1),
            "travel_time_min": round(float(hit.time_s) / 60.0, 2),
            "arrives_at": iso(arrival, snap.tz),
        }
        extra.update(_timing(snap, hit.pos, arrival))
        feature = venue_feature(snap, hit.pos, crs=query.crs, at=None, extra=extra)
        if query.route and hit.route_lonlat is not None:
            feature["route"] = line(hit.route_lonlat, query.crs)
        features.append(feature)
    return features


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
    if query.mode == "straight":
        features = _straight(service, snap, query)
    else:
        features = _network(service, snap, query)
    return feature_collection(
        features,
        mode=query.mode,
        query={"point": point(*query.lonlat(), query.crs), "crs": query.crs,
               "at": iso(query.at, snap.tz)},
    )
