"""Records of a snapshot: the time-independent properties of every venue.

Made per venue position when an answer first shows it, remembered by the
snapshot's :class:`VenueProperties` (bounded), and shared by every answer
that shows venues (API features, pages, reports).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final, overload

if TYPE_CHECKING:
    from geosvc.index import ServiceIndex
    from geosvc.model import Venue

__all__ = ["VenueProperties", "base_properties"]

#: Venue positions whose properties a :class:`VenueProperties` remembers (emptied when full).
_MEMO_MAX: Final = 4096


def _properties(index: ServiceIndex, pos: int, v: Venue) -> dict[str, Any]:
    return {
        "name": v.name,
        "name_en": v.name_en,
        "kind": str(v.kind),
        "level": str(v.level) if v.level is not None else None,
        "address": v.address,
        "phone": v.phone,
        "opening_hours": v.opening_hours,
        "channels": sorted(str(c) for c in v.channels),
        "items_count": index.venue_item_count(pos),
        "accessible": v.accessible,
        "cross_province": v.cross_province,
        "regional": v.regional,
        "bank": v.bank,
        "machines": v.machines,
        "area_code": v.area_code,
        "area_name": v.area_name,
        "candidate": v.is_candidate,
        "status": str(v.status),
    }


class VenueProperties(Sequence[dict[str, Any]]):
    """The time-independent properties of every venue of a snapshot, made per position asked.

    A read-only sequence (one dict per venue position, a new dict on each
    access, so callers may add to it); nothing is computed up front, so a
    snapshot of millions of venues costs nothing here until answers show them.
    The properties of the positions last asked for (at most :data:`_MEMO_MAX`,
    emptied when full) are remembered with the venue's code and place, so an
    answer showing a venue again copies a dict instead of making a Venue
    (:meth:`located`).  They depend on the snapshot only: a new snapshot has
    a new :class:`VenueProperties`.
    """

    __slots__ = ("_index", "_memo")

    def __init__(self, index: ServiceIndex) -> None:
        self._index = index
        # position -> (code, lon, lat, properties); a dict read or write is atomic
        self._memo: dict[int, tuple[str, float, float, dict[str, Any]]] = {}

    def __len__(self) -> int:
        return len(self._index)

    @overload
    def __getitem__(self, pos: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, pos: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, pos: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(pos, slice):
            return [self[i] for i in range(len(self))[pos]]
        return self.located(pos)[3]

    def located(self, pos: int) -> tuple[str, float, float, dict[str, Any]]:
        """Return the venue's code, WGS-84 lon and lat, and a new dict of its properties.

        Raises
        ------
        IndexError
            ``pos`` is out of range.
        """
        n = len(self._index)
        if not -n <= pos < n:
            msg = "venue position out of range"
            raise IndexError(msg)
        pos = int(pos) % n
        hit = self._memo.get(pos)
        if hit is None:
            v = self._index.venue(pos)
            hit = (v.code, v.lon, v.lat, _properties(self._index, pos, v))
            if len(self._memo) >= _MEMO_MAX:
                self._memo.clear()
            self._memo[pos] = hit
        code, lon, lat, props = hit
        fresh = props.copy()
        fresh["channels"] = list(props["channels"])  # the one mutable value: a caller's own
        return code, lon, lat, fresh

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for pos, v in enumerate(self._index.venues):
            yield _properties(self._index, pos, v)


def base_properties(index: ServiceIndex) -> VenueProperties:
    """Return the time-independent properties of every venue of ``index`` (lazily).

    One dict per venue position, made when asked for (:class:`VenueProperties`).
    """
    return VenueProperties(index)
