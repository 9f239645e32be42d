"""Use cases over the venue and item catalogue: find venues, one venue, search items.

Typed requests in, typed results out; positions into the snapshot's index,
never GeoJSON.  The API (``geosvc.api.venues``, ``geosvc.api.items``), the map
pages and the OGC collections serialise these results.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from geosvc import vocab
from geosvc.errors import NotFound
from geosvc.model import VenueFilter

if TYPE_CHECKING:
    from datetime import datetime

    from geosvc.app.service import Snapshot
    from geosvc.model import ServiceItem
    from geosvc.vocab import Channel

__all__ = [
    "ItemDetail",
    "ItemPage",
    "ItemSearch",
    "VenueDetail",
    "VenuePage",
    "VenueSearch",
    "find_venues",
    "item_channels",
    "item_detail",
    "search_items",
    "select_venues",
    "venue_detail",
    "venue_position",
]


@dataclass(frozen=True, slots=True)
class VenueSearch:
    """Which venues to list.

    Attributes
    ----------
    filter : VenueFilter
        Kinds, levels, items, channel, open_at, ...
    bbox : tuple of float or None
        ``(minlon, minlat, maxlon, maxlat)`` WGS-84; minlon > maxlon crosses
        the antimeridian.
    q : str or None
        Case-insensitive substring of the name, English name, address or code.
    limit, offset : int
        The page.
    """

    filter: VenueFilter
    bbox: tuple[float, float, float, float] | None = None
    q: str | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class VenuePage:
    """One page of matching venues (positions into ``snapshot.index``)."""

    positions: list[int]
    matched: int


@dataclass(frozen=True, slots=True)
class VenueDetail:
    """What a venue handles and its next opening, at a time.

    ``items`` are ``(item code, item or None, channels)`` sorted by code;
    ``next_open`` / ``closes_at`` are None when the time is None or the hours
    unknown (``closes_at`` also when closed then).
    """

    position: int
    items: list[tuple[str, ServiceItem | None, frozenset[Channel]]]
    next_open: datetime | None
    closes_at: datetime | None


@dataclass(frozen=True, slots=True)
class ItemSearch:
    """Which items to list: ``q`` (Chinese, pinyin or initials; None = all) and a page."""

    q: str | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class ItemPage:
    """One page of items (ranked for a search, catalogue order otherwise)."""

    items: list[ServiceItem]
    total: int


@dataclass(frozen=True, slots=True)
class ItemDetail:
    """One item and how many venues handle it, by kind (every kind of the registry)."""

    item: ServiceItem
    venues_by_kind: dict[str, int]


def select_venues(snap: Snapshot, request: VenueSearch) -> NDArray[np.int64]:
    """Return the positions of the venues matching ``request``, ascending.

    The filter's ``open_at`` (when set) restricts to venues open then; ``q``
    matches, ignoring case, a substring of the name, English name, address
    or code.
    """
    index = snap.index
    flt = request.filter
    if request.bbox is not None:
        hits = index.query_bbox(request.bbox, flt)
        positions = np.sort(np.asarray(hits, dtype=np.int64))
    else:
        positions = np.flatnonzero(index.mask(flt, at=flt.open_at))
    if request.q:
        needle = request.q.casefold()
        venues = index.venues
        keep = [
            p for p in positions.tolist()
            if needle in venues[p].name.casefold()
            or needle in (venues[p].name_en or "").casefold()
            or needle in (venues[p].address or "").casefold()
            or needle in venues[p].code.casefold()
        ]
        positions = np.asarray(keep, dtype=np.int64)
    return positions


def find_venues(snap: Snapshot, request: VenueSearch) -> VenuePage:
    """Return one page of the venues matching ``request`` and how many match."""
    positions = select_venues(snap, request)
    page = positions[request.offset:request.offset + request.limit].tolist()
    return VenuePage(positions=page, matched=int(positions.size))


def venue_position(snap: Snapshot, code: str) -> int:
    """Return the position of venue ``code``; raise :class:`NotFound`."""
    pos = snap.index.position(code)
    if pos is None:
        msg = f"venue `id` {code[:80]!r} does not exist"
        raise NotFound(msg)
    return pos


def venue_detail(snap: Snapshot, pos: int, at: datetime | None) -> VenueDetail:
    """Return the items venue ``pos`` handles and its next opening / closing after ``at``."""
    index = snap.index
    items = [(code, index.item(code), channels) for code, channels in index.venue_items(pos)]
    schedule = index.schedule(pos)
    next_open = closes_at = None
    if schedule.known and at is not None:
        next_open = schedule.next_open(at)
        if schedule.is_open(at):
            closes_at = schedule.next_close(at)
    return VenueDetail(position=pos, items=items, next_open=next_open, closes_at=closes_at)


def item_channels(snap: Snapshot, pos: int, items: tuple[str, ...],
                  channel: Channel | None = None) -> list[str]:
    """Return the channels through which venue ``pos`` handles *every* one of ``items``.

    In the registry's order (:data:`geosvc.vocab.CHANNELS`); restricted to
    ``channel`` when given; empty when the venue lacks one of the items.
    """
    by_item = dict(snap.index.venue_items(pos))
    common: set[str] | None = None
    for code in items:
        have = {str(c) for c in by_item.get(code, ())}
        common = have if common is None else common & have
    if not common:
        return []
    if channel is not None:
        common &= {str(channel)}
    return [str(c) for c in vocab.CHANNELS.codes() if str(c) in common]


def search_items(snap: Snapshot, request: ItemSearch) -> ItemPage:
    """Return one page of the items matching ``request.q`` (all items without ``q``)."""
    all_items = snap.index.items
    if request.q:
        positions = list(snap.search.search(request.q))
    else:
        positions = list(range(len(all_items)))
    page = positions[request.offset:request.offset + request.limit]
    return ItemPage(items=[all_items[p] for p in page], total=len(positions))


def item_detail(snap: Snapshot, code: str) -> ItemDetail:
    """Return item ``code`` with its venue counts by kind; raise :class:`NotFound`."""
    index = snap.index
    item = index.item(code)
    if item is None:
        msg = f"item `code` {code[:80]!r} does not exist"
        raise NotFound(msg)
    venues = index.venues
    kinds = Counter(str(venues[p].kind) for p in index.item_venue_positions(code).tolist())
    by_kind = {k: kinds.get(k, 0) for k in vocab.KINDS.codes()}
    return ItemDetail(item=item, venues_by_kind=by_kind)
