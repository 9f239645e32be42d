"""Records of a snapshot: the time-independent properties of every venue.

Computed once per snapshot by :class:`~geosvc.app.service.GeoService` and
shared by every answer that shows venues (API features, pages, reports).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    from geosvc.index import ServiceIndex
    from geosvc.model import Venue

__all__ = ["VenueProperties", "base_properties"]


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
        "items_count": len(index.venue_items(pos)),
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
    """

    __slots__ = ("_index",)

    def __init__(self, index: ServiceIndex) -> None:
        self._index = index

    def __len__(self) -> int:
        return len(self._index)

    @overload
    def __getitem__(self, pos: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, pos: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, pos: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(pos, slice):
            return [self[i] for i in range(len(self))[pos]]
        n = len(self)
        if not -n <= pos < n:
            msg = "venue position out of range"
            raise IndexError(msg)
        pos = int(pos) % n
        return _properties(self._index, pos, self._index.venue(pos))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for pos, v in enumerate(self._index.venues):
            yield _properties(self._index, pos, v)


def base_properties(index: ServiceIndex) -> VenueProperties:
    """Return the time-independent properties of every venue of ``index`` (lazily).

    One dict per venue position, made when asked for (:class:`VenueProperties`).
    """
    return VenueProperties(index)
