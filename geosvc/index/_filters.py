"""Venue filters compiled to boolean masks over venue positions.

A :class:`FilterEntry` is the time-free part of a
:class:`~geosvc.model.VenueFilter` evaluated once against a snapshot and
cached by the snapshot's :class:`FilterCache` (by ``VenueFilter.cache_key()``);
the ``open_at`` condition depends on the time of each query and is applied on
top by the index.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeVar

import numpy as np
from numpy.typing import NDArray

from geosvc.errors import InvalidParameter
from geosvc.index._cache import LRU
from geosvc.model import Channel, Level, Status, VenueFilter, VenueKind

if TYPE_CHECKING:
    from geosvc.index._build import LinkTables, VenueColumns

_T = TypeVar("_T", bound=np.generic)

KIND_CODE: Final = {k: i for i, k in enumerate(VenueKind)}
LEVEL_CODE: Final = {lv: i for i, lv in enumerate(Level)}
CHANNEL_BIT: Final = {c: 1 << i for i, c in enumerate(Channel)}
#: Code of each status (``in_service`` is 0).
STATUS_CODE: Final = {s: i for i, s in enumerate(Status)}
#: The filter matching every service point (``flt=None``).
NO_FILTER: Final = VenueFilter()
#: frozenset of channels of every bit pattern (index = bits).
CHANNEL_SETS: Final = tuple(
    frozenset(c for c, b in CHANNEL_BIT.items() if bits & b)
    for bits in range(1 << len(Channel))
)


def channel_bits(channels: frozenset[Channel] | set[Channel]) -> int:
    """Return the bit pattern of a set of channels.

    Frozen sets (every venue's and link's) are memoised: a snapshot holds a
    handful of distinct channel sets, read once per venue and per link.

    Examples
    --------
    >>> CHANNEL_SETS[channel_bits({Channel.WINDOW, Channel.SMART_TELLER})] == {
    ...     Channel.WINDOW, Channel.SMART_TELLER}
    True
    """
    if isinstance(channels, frozenset):
        return _frozen_channel_bits(channels)
    return _bits_of(channels)


@functools.lru_cache(maxsize=1024)
def _frozen_channel_bits(channels: frozenset[Channel]) -> int:
    return _bits_of(channels)


def _bits_of(channels: Iterable[Channel]) -> int:
    bits = 0
    for c in channels:
        bits |= CHANNEL_BIT[Channel(c)]
    return bits


@dataclass(frozen=True, slots=True)
class FilterEntry:
    """The time-free part of one filter, evaluated against one snapshot.

    Attributes
    ----------
    mask : numpy.ndarray of bool, read-only
        True at the positions of matching venues.
    positions : numpy.ndarray of intp, read-only
        ``np.flatnonzero(mask)`` (ascending).
    count : int
        Number of matching venues.
    everything : bool
        Every venue of the snapshot matches (no need to check the mask).
    rarest_item : int or None
        Index of the filter's item handled at the fewest venues (the best
        per-item sub-index), None without items.
    service_only : bool
        Only ``in_service`` venues can match (the filter admits no other status),
        so the tree of service points holds every match.
    """

    mask: NDArray[np.bool_]
    positions: NDArray[np.intp]
    count: int
    everything: bool
    rarest_item: int | None
    service_only: bool = True


def _readonly(a: NDArray[_T]) -> NDArray[_T]:
    a.flags.writeable = False
    return a


def _attribute_mask(flt: VenueFilter, cols: VenueColumns) -> tuple[NDArray[np.bool_], int]:
    """Return the mask of the venue-attribute conditions and the filter's channel bit.

    Raises
    ------
    InvalidParameter
        ``kind``, ``level``, ``channel`` or ``status`` holds a value that is not one of
        the enums.
    """
    try:
        allowed = flt.allowed_statuses()
    except ValueError:
        msg = f"must be among {', '.join(Status)} (got {list(flt.statuses)!r})"
        raise InvalidParameter("status", msg) from None
    if allowed == {Status.IN_SERVICE}:
        mask = cols.status == STATUS_CODE[Status.IN_SERVICE]
    else:
        mask = np.isin(cols.status, [STATUS_CODE[s] for s in allowed])
    if flt.kinds:
        try:
            codes = [KIND_CODE[VenueKind(k)] for k in flt.kinds]
        except ValueError:
            msg = f"must be among {', '.join(VenueKind)} (got {list(flt.kinds)!r})"
            raise InvalidParameter("kind", msg) from None
        mask &= np.isin(cols.kind, codes)
    if flt.levels:
        try:
            codes = [LEVEL_CODE[Level(lv)] for lv in flt.levels]
        except ValueError:
            msg = f"must be among {', '.join(Level)} (got {list(flt.levels)!r})"
            raise InvalidParameter("level", msg) from None
        mask &= np.isin(cols.level, codes)
    bit = 0
    if flt.channel is not None:
        try:
            bit = CHANNEL_BIT[Channel(flt.channel)]
        except ValueError:
            msg = f"must be one of {', '.join(Channel)} (got {flt.channel!r})"
            raise InvalidParameter("channel", msg) from None
        mask &= (cols.chan & bit) != 0
    if flt.accessible:
        mask &= cols.access
    return mask, bit


def compile_filter(
    flt: VenueFilter,
    cols: VenueColumns,
    links: LinkTables,
    item_index: Mapping[str, int],
    item_county: NDArray[np.bool_],
) -> FilterEntry:
    """Evaluate the time-free conditions of ``flt`` (see ``ServiceIndex`` for the semantics).

    Cost O(N) numpy work plus O(links of the filter's items); the caller caches.

    Parameters
    ----------
    flt : VenueFilter
        The filter; its ``open_at`` is ignored here.
    cols : VenueColumns
        The snapshot's per-venue attribute columns.
    links : LinkTables
        The snapshot's venue-item link tables.
    item_index : mapping
        Item code -> item position.
    item_county : numpy.ndarray of bool
        Per item position: its scope is ``county``.

    Raises
    ------
    InvalidParameter
        ``kind``, ``level`` or ``channel`` holds a value that is not one of the enums.
    """
    n = len(cols.kind)
    mask, bit = _attribute_mask(flt, cols)
    rarest: int | None = None
    rarest_count = n + 1
    for code in dict.fromkeys(flt.items):
        j = item_index.get(code)
        if j is None:  # unknown item: nothing handles it
            mask[:] = False
            rarest = None
            break
        lo, hi = int(links.item_ptr[j]), int(links.item_ptr[j + 1])
        if hi - lo < rarest_count:
            rarest, rarest_count = j, hi - lo
        pos = links.item_pos[lo:hi]
        if bit:
            pos = pos[(links.item_chan[lo:hi] & bit) != 0]
        if item_county[j] and flt.home_area is not None:
            pos = pos[cols.area[pos] == cols.area_ids.get(flt.home_area, -2)]
        handles = np.zeros(n, dtype=bool)
        handles[pos] = True
        mask &= handles
    positions = np.flatnonzero(mask)
    return FilterEntry(
        mask=_readonly(mask),
        positions=_readonly(positions),
        count=len(positions),
        everything=len(positions) == n,
        rarest_item=rarest,
        service_only=flt.allowed_statuses() == {Status.IN_SERVICE},
    )


class FilterCache:
    """The compiled filters of one snapshot, kept in an LRU by ``VenueFilter.cache_key()``.

    Parameters
    ----------
    cols : VenueColumns
        The snapshot's per-venue attribute columns.
    links : LinkTables
        The snapshot's venue-item link tables.
    item_index : mapping
        Item code -> item position.
    item_county : numpy.ndarray of bool
        Per item position: its scope is ``county``.
    maxsize : int
        Filters kept (each holds one bool per venue plus the matching positions).
    """

    __slots__ = ("_cache", "_cols", "_default", "_item_county", "_item_index", "_links")

    def __init__(
        self,
        cols: VenueColumns,
        links: LinkTables,
        item_index: Mapping[str, int],
        item_county: NDArray[np.bool_],
        *,
        maxsize: int = 64,
    ) -> None:
        self._cols = cols
        self._links = links
        self._item_index = item_index
        self._item_county = item_county
        self._cache: LRU[FilterEntry] = LRU(maxsize)
        #: The entry of NO_FILTER once compiled (kept whatever the LRU drops): the
        #: unfiltered queries skip the key and the lock.
        self._default: tuple[FilterEntry, bool, tuple[Any, ...]] | None = None

    def entry(self, flt: VenueFilter) -> tuple[FilterEntry, bool, tuple[Any, ...]]:
        """Return the compiled ``flt``, whether it was cached already, and its cache key.

        Raises
        ------
        InvalidParameter
            A filter value is not one of the enums (see :func:`compile_filter`).
        """
        if flt is NO_FILTER and self._default is not None:
            return self._default
        key = flt.cache_key()
        entry = self._cache.get(key)
        if entry is not None:
            if flt is NO_FILTER:
                self._default = (entry, True, key)
            return entry, True, key
        entry = self._cache.get_or_build(
            key,
            lambda: compile_filter(flt, self._cols, self._links, self._item_index,
                                   self._item_county),
        )
        return entry, False, key
