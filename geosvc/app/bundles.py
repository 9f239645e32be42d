"""Use cases of the 一件事 bundles: search, one bundle, and where to get all its items done.

A bundle (:class:`~geosvc.model.Bundle`) names several service items.  The
nearest search for a bundle (:func:`find_bundle_nearest`) first asks for
venues that handle *all* of its items (the ``item`` filter's AND semantics,
:func:`geosvc.app.travel.find_nearest`); when none is found, it looks for the
best two-stop trip (:func:`two_stop_plan`): two venues that together handle
every item, the first reached from the point, the second from the first,
with the least total travel time.

The two-stop search is bounded: for each set of bundle items a venue
covers, only the :data:`TOP_K` venues quickest to reach from the point are
tried as the first stop; from each, one pass (:meth:`Router.times`) finds
the quickest venue covering what is left.  So it costs at most
``(2**n - 2) * TOP_K + 1`` passes for a bundle of ``n`` items.  The citizen
spends ``stop_s`` at the first stop (the server's ``stop_service_min``)
before leaving for the second.  With ``open_at`` (the request's filter),
both stops must be open on arrival, as for one-stop answers (open for the
server's ``open_margin_min`` after arriving); without it, opening hours do
not exclude a stop (each stop's opening at arrival is shown).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from geosvc.app.travel import NearestRequest, NearestResult, find_nearest
from geosvc.errors import InvalidParameter, NotFound
from geosvc.model import ServiceItem
from geosvc.search import ItemSearch as TextSearch

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

    from geosvc.app.service import GeoService, Snapshot
    from geosvc.model import Bundle
    from geosvc.routing.base import Router

__all__ = [
    "TOP_K",
    "BundleNearest",
    "BundleSearch",
    "Stop",
    "TwoStop",
    "bundle_items",
    "bundle_of",
    "bundle_text_search",
    "find_bundle_nearest",
    "search_bundles",
    "two_stop_plan",
]

#: First stops tried per set of covered items (the two-stop search's bound).
TOP_K = 5


@dataclass(frozen=True, slots=True)
class Stop:
    """One leg of a two-stop trip: the venue reached and the bundle items done there.

    ``travel_time_s`` is the leg's time (from the point, or from the previous
    stop); ``arrives_at`` the arrival after the legs so far and the time
    spent at the first stop.
    """

    pos: int
    items: tuple[str, ...]
    travel_time_s: float
    arrives_at: datetime
    route_lonlat: tuple[tuple[float, float], ...] | None = None


@dataclass(frozen=True, slots=True)
class TwoStop:
    """The best two-stop trip for a bundle: its stops, travel time and time at stop 1 (s)."""

    stops: tuple[Stop, Stop]
    total_time_s: float
    stop_s: float = 0.0


@dataclass(frozen=True, slots=True)
class BundleNearest:
    """A nearest search for a bundle: venues handling all its items, else a two-stop trip."""

    bundle: Bundle
    result: NearestResult
    two_stop: TwoStop | None = None


@dataclass(frozen=True, slots=True)
class BundleSearch:
    """One page of bundles matching a search (all bundles without ``q``)."""

    bundles: list[Bundle]
    total: int


def bundle_text_search(bundles: Sequence[Bundle]) -> TextSearch:
    """Return the text search over ``bundles`` (positions into it).

    The item search (:class:`geosvc.search.ItemSearch`) matches codes, names,
    pinyin, initials and English names; each bundle goes in as an item
    carrying those.
    """
    return TextSearch([ServiceItem(code=b.code, name=b.name, name_en=b.name_en)
                       for b in bundles])


def search_bundles(snap: Snapshot, q: str | None, *, limit: int = 50,
                   offset: int = 0) -> BundleSearch:
    """Return the bundles whose name matches ``q`` (Chinese, pinyin, initials, English)."""
    if q:
        positions = list(snap.bundle_search.search(q))
    else:
        positions = list(range(len(snap.bundles)))
    page = positions[offset:offset + limit]
    return BundleSearch([snap.bundles[p] for p in page], len(positions))


def bundle_of(snap: Snapshot, code: str, *, field: str | None = None) -> Bundle:
    """Return bundle ``code``.

    Raises
    ------
    NotFound
        No such bundle (``field`` None: the path names it).
    InvalidParameter
        No such bundle, named ``field`` (a query parameter).
    """
    for bundle in snap.bundles:
        if bundle.code == code:
            return bundle
    if field is None:
        msg = f"bundle `code` {code[:80]!r} does not exist"
        raise NotFound(msg)
    msg = f"names no bundle ({code[:80]!r})"
    raise InvalidParameter(field, msg)


def bundle_items(snap: Snapshot, bundle: Bundle) -> list[ServiceItem | None]:
    """Return the items of ``bundle`` in order (None for a code the dataset lacks)."""
    return [snap.index.item(code) for code in bundle.items]


def find_bundle_nearest(service: GeoService, snap: Snapshot, request: NearestRequest,
                        bundle: Bundle) -> BundleNearest:
    """Rank venues handling every item of ``bundle``; when none, plan two stops.

    The request's filter gains the bundle's items (AND).  The two-stop plan
    is tried only when the one-stop answer is empty.

    Raises
    ------
    ModeUnavailable, OutsideNetwork
        As :func:`~geosvc.app.travel.find_nearest`.
    """
    items = tuple(dict.fromkeys((*request.filter.items, *bundle.items)))
    request = replace(request, filter=replace(request.filter, items=items))
    result = find_nearest(service, snap, request)
    if result.venues:
        return BundleNearest(bundle, result)
    router = service.travel(request.mode, snap)
    settings = service.settings
    plan = two_stop_plan(snap, router, request, items,
                         stop_s=settings.stop_service_min * 60.0,
                         margin_min=settings.open_margin_min)
    return BundleNearest(bundle, result, plan)


def _cover_bits(snap: Snapshot, request: NearestRequest,
                items: tuple[str, ...]) -> NDArray[np.int64]:
    """Return per venue the bit set of ``items`` it handles under the request's filter."""
    static = replace(request.filter.without_time(), items=())
    bits = np.zeros(len(snap.index.venues), dtype=np.int64)
    for j, code in enumerate(items):
        positions = snap.index.candidate_positions(replace(static, items=(code,)))
        bits[np.asarray(positions, dtype=np.int64)] |= 1 << j
    return bits


def two_stop_plan(snap: Snapshot, router: Router, request: NearestRequest,
                  items: tuple[str, ...], *, stop_s: float = 0.0,
                  margin_min: float = 0.0) -> TwoStop | None:
    """Return the quickest two-stop trip whose stops together handle ``items``.

    Least total travel time wins; ties go to the lower venue positions.
    ``request.max_minutes`` bounds the total travel time.  ``stop_s`` is
    spent at the first stop before the second leg.  With the request's
    ``open_at``, a stop counts only when open on arrival for ``margin_min``
    minutes (the second one after the first stop's ``stop_s``); else opening
    hours are not required (the caller shows each stop's opening at
    arrival).  None when no pair covers every item, or none is reached
    (open) within the limit.
    """
    full = (1 << len(items)) - 1
    bits = _cover_bits(snap, request, items)
    partial = np.flatnonzero((bits > 0) & (bits != full))
    if not partial.size:
        return None
    depart = request.at
    timed = request.filter.open_at is not None

    def is_open(pos: int, after_s: float) -> bool:
        return not timed or snap.index.schedule(pos).open_for(
            depart + timedelta(seconds=after_s), margin_min)

    t0 = router.times(request.lon, request.lat, candidates=partial)
    firsts: list[int] = []
    for subset in np.unique(bits[partial]).tolist():
        group = partial[bits[partial] == subset]
        reached = group[np.isfinite(t0[group])]
        order = reached[np.lexsort((reached, t0[reached]))]
        firsts.extend([a for a in order.tolist() if is_open(a, float(t0[a]))][:TOP_K])
    limit_s = math.inf if request.max_minutes is None else request.max_minutes * 60.0
    best: tuple[float, int, int, float] | None = None
    venues = snap.index.venues
    for a in sorted(firsts):
        need = full & ~int(bits[a])
        seconds = partial[(bits[partial] & need) == need]
        seconds = seconds[seconds != a]
        if not seconds.size:
            continue
        ta = router.times(venues[a].lon, venues[a].lat, candidates=seconds)
        leave_s = float(t0[a]) + stop_s
        for b in seconds[np.lexsort((seconds, ta[seconds]))].tolist():
            total = float(t0[a]) + float(ta[b])
            if not (math.isfinite(total) and total <= limit_s * (1 + 1e-9)):
                break  # the others take longer still
            if not is_open(b, leave_s + float(ta[b])):
                continue
            if best is None or (total, a, b) < best[:3]:
                best = (total, a, b, float(t0[a]))
            break
    if best is None:
        return None
    total, a, b, first_s = best
    return TwoStop(stops=(
        _stop(snap, router, request, a, None, int(bits[a]), items, first_s, first_s),
        _stop(snap, router, request, b, a, full & ~int(bits[a]), items, total - first_s,
              total + stop_s)), total_time_s=total, stop_s=stop_s)


def _stop(snap: Snapshot, router: Router, request: NearestRequest, pos: int,
          origin: int | None, done: int, items: tuple[str, ...], leg_s: float,
          elapsed_s: float) -> Stop:
    """Build one stop: the items done there (bits ``done``), the leg and its route."""
    route = None
    if request.route:
        if origin is None:
            lonlat = router.route(request.lon, request.lat, pos)
        else:
            start = snap.index.venues[origin]
            lonlat = router.route(start.lon, start.lat, pos)
        route = tuple((float(x), float(y)) for x, y in lonlat)
    codes = tuple(code for j, code in enumerate(items) if done >> j & 1)
    return Stop(pos=pos, items=codes, travel_time_s=leg_s,
                arrives_at=request.at + timedelta(seconds=elapsed_s), route_lonlat=route)
