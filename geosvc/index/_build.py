"""Building a snapshot: input validation, per-venue columns and link tables.

Pure functions over the build inputs; :meth:`ServiceIndex.build
<geosvc.index.ServiceIndex.build>` calls them and freezes what they return.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import NamedTuple, TypeVar

import numpy as np
from numpy.typing import NDArray

from geosvc.errors import InvalidParameter
from geosvc.index._filters import KIND_CODE, LEVEL_CODE, STATUS_CODE, channel_bits
from geosvc.model import Link, ServiceItem, Venue, VenueKind

_T = TypeVar("_T", bound=np.generic)


def readonly(a: NDArray[_T]) -> NDArray[_T]:
    """Make ``a`` read-only in place and return it."""
    a.flags.writeable = False
    return a


class CodeIndex:
    """Venue code -> position, in 12 bytes a venue instead of a dict's ~60.

    The codes' hashes sorted (int64) and the positions in that order (int32);
    a look-up is a binary search and a comparison with the venue's own code.
    Hashes are Python's ``hash`` (salted per process): the index is rebuilt,
    never pickled, in each process.

    Parameters
    ----------
    venues : sequence of Venue
        Kept by reference (the snapshot's tuple).
    """

    __slots__ = ("_hash", "_pos", "_venues")

    def __init__(self, venues: Sequence[Venue]) -> None:
        n = len(venues)
        hashes = np.fromiter((hash(v.code) for v in venues), dtype=np.int64, count=n)
        order = np.argsort(hashes, kind="stable")
        self._hash = readonly(hashes[order])
        self._pos = readonly(order.astype(np.int32 if n < 2**31 else np.int64))
        self._venues = venues

    def duplicates(self) -> list[int]:
        """Positions whose code appeared at a lower position already, ascending."""
        same = np.flatnonzero(self._hash[1:] == self._hash[:-1])
        out = set()
        for i in same.tolist():  # equal hashes: rare, and equal codes rarer
            lo = int(np.searchsorted(self._hash, self._hash[i]))
            hi = int(np.searchsorted(self._hash, self._hash[i], side="right"))
            seen: set[str] = set()
            for p in sorted(self._pos[lo:hi].tolist()):
                code = self._venues[p].code
                if code in seen:
                    out.add(p)
                seen.add(code)
        return sorted(out)

    def get(self, code: str) -> int | None:
        """Return the position of the venue with ``code``, or None."""
        try:
            h = hash(code)
        except TypeError:
            return None
        i = int(np.searchsorted(self._hash, h))
        n = len(self._hash)
        while i < n and self._hash[i] == h:
            p = int(self._pos[i])
            if self._venues[p].code == code:
                return p
            i += 1
        return None

    def get_many(self, codes: Sequence[str]) -> list[int]:
        """Return the position of each code (-1 where none), vectorised."""
        n = len(codes)
        if n == 0 or len(self._hash) == 0:
            return [-1] * n
        h = np.fromiter((hash(c) for c in codes), dtype=np.int64, count=n)
        i = np.minimum(np.searchsorted(self._hash, h), len(self._hash) - 1)
        out = np.where(self._hash[i] == h, self._pos[i], -1).tolist()
        venues = self._venues
        for k, (p, c) in enumerate(zip(out, codes, strict=True)):
            if p >= 0 and venues[p].code != c:  # a hash collision: look the code up fully
                g = self.get(c)
                out[k] = -1 if g is None else g
        return out

    def nbytes(self) -> int:
        """Bytes held by the two arrays."""
        return int(self._hash.nbytes + self._pos.nbytes)


def check_inputs(
    venues: Sequence[Venue], items: Sequence[ServiceItem], open_margin_min: object
) -> tuple[NDArray[np.float64], NDArray[np.float64], CodeIndex, dict[str, int]]:
    """Validate the build inputs; return coordinates and code -> position maps.

    Returns
    -------
    lon, lat : numpy.ndarray of float64
        WGS-84 degrees of each venue (writable; the caller freezes them).
    code_pos : CodeIndex
        Venue code -> position.
    item_index : dict
        Item code -> position in ``items``.

    Raises
    ------
    InvalidParameter
        ``open_margin_min`` is not a number >= 0 (alone); else every problem
        at once: coordinates not finite or out of range (``lon``/``lat``, the
        first 20 of each), repeated venue or item codes (``code``).
    """
    if not (isinstance(open_margin_min, (int, float)) and open_margin_min >= 0):
        msg = f"must be a number of minutes >= 0 (got {open_margin_min!r})"
        raise InvalidParameter("open_margin_min", msg)
    n = len(venues)
    lon = np.fromiter((v.lon for v in venues), dtype=np.float64, count=n)
    lat = np.fromiter((v.lat for v in venues), dtype=np.float64, count=n)
    problems = []
    for name, arr, lim in (("lon", lon, 180.0), ("lat", lat, 90.0)):
        bad = np.flatnonzero(~(np.isfinite(arr) & (np.abs(arr) <= lim)))
        for i in bad[:20]:
            problems.append(
                (
                    name,
                    f"of venue `{venues[i].code}` must be a finite number between "
                    f"-{lim:g} and {lim:g} (got {arr[i]!r})",
                )
            )
    code_pos = CodeIndex(venues)
    for i in code_pos.duplicates():
        problems.append(("code", f"venue code `{venues[i].code}` appears more than once"))
    item_index: dict[str, int] = {}
    for j, it in enumerate(items):
        if item_index.setdefault(it.code, j) != j:
            problems.append(("code", f"item code `{it.code}` appears more than once"))
    if problems:
        raise InvalidParameter.many(problems)
    return lon, lat, code_pos, item_index


class VenueColumns(NamedTuple):
    """Read-only per-venue attribute columns, one entry per venue position."""

    kind: NDArray[np.int8]  #: code of :class:`VenueKind` (``KIND_CODE``)
    level: NDArray[np.int8]  #: code of the level (``LEVEL_CODE``), -1 without one
    chan: NDArray[np.uint8]  #: channel bits (``channel_bits``)
    access: NDArray[np.bool_]  #: has a green channel
    status: NDArray[np.int8]  #: code of the status (``STATUS_CODE``; in_service is 0)
    area: NDArray[np.int32]  #: id of ``area_code`` in ``area_ids``, -1 without one
    area_ids: dict[str, int]  #: area code -> id


def _kind_code(kind: VenueKind | str) -> int:
    try:
        return KIND_CODE[kind]  # type: ignore[index]  # a VenueKind, or its str value
    except KeyError:
        return KIND_CODE[VenueKind(kind)]  # ValueError for a value that is not a kind


def venue_columns(venues: Sequence[Venue]) -> VenueColumns:
    """Encode the filterable attributes of ``venues`` as read-only arrays."""
    n = len(venues)
    kind = np.fromiter((_kind_code(v.kind) for v in venues), np.int8, n)
    level = np.fromiter(
        (-1 if v.level is None else LEVEL_CODE[v.level] for v in venues), np.int8, n
    )
    chan = np.fromiter((channel_bits(v.channels) for v in venues), np.uint8, n)
    access = np.fromiter((bool(v.accessible) for v in venues), bool, n)
    status = np.fromiter((STATUS_CODE[v.status] for v in venues), np.int8, n)  # type: ignore[index]
    area_ids: dict[str, int] = {}
    area = np.fromiter(
        (
            -1 if v.area_code is None else area_ids.setdefault(v.area_code, len(area_ids))
            for v in venues
        ),
        np.int32,
        n,
    )
    return VenueColumns(
        readonly(kind),
        readonly(level),
        readonly(chan),
        readonly(access),
        readonly(status),
        readonly(area),
        area_ids,
    )


class LinkTables(NamedTuple):
    """Read-only CSR tables of the venue-item links, both ways."""

    item_pos: NDArray[np.intp]  #: venues of each item, ascending position
    item_chan: NDArray[np.uint8]  #: channel bits, aligned with ``item_pos``
    item_ptr: NDArray[np.intp]  #: item j's venues are ``item_pos[ptr[j]:ptr[j+1]]``
    ven_item: NDArray[np.intp]  #: items of each venue, ascending item code
    ven_chan: NDArray[np.uint8]  #: channel bits, aligned with ``ven_item``
    ven_ptr: NDArray[np.intp]  #: venue p's items are ``ven_item[ptr[p]:ptr[p+1]]``


def link_tables(
    links: Iterable[Link],
    code_pos: CodeIndex | dict[str, int],
    item_index: dict[str, int],
    items: Sequence[ServiceItem],
    n_venues: int,
) -> LinkTables:
    """Merge ``links`` per (venue, item) and index them both ways.

    Links naming an unknown venue or item are skipped with one warning
    (attributed to the caller of :meth:`ServiceIndex.build`); repeated links
    merge their channels.
    """
    merged: dict[tuple[int, int], int] = {}
    unknown = 0
    links = list(links)
    codes = [link.venue_code for link in links]
    if isinstance(code_pos, CodeIndex):
        vpos = code_pos.get_many(codes)
    else:
        vpos = [code_pos.get(c, -1) for c in codes]
    del codes
    for link, p in zip(links, vpos, strict=True):
        j = item_index.get(link.item_code)
        if p < 0 or j is None:
            unknown += 1
            continue
        merged[(p, j)] = merged.get((p, j), 0) | channel_bits(link.channels)
    if unknown:
        warnings.warn(
            f"{unknown} link(s) name a venue or item not in the data; skipped",
            stacklevel=3,
        )
    m = len(merged)
    pv = np.fromiter((k[0] for k in merged), np.intp, m)
    pi = np.fromiter((k[1] for k in merged), np.intp, m)
    ch = np.fromiter(merged.values(), np.uint8, m)
    n_items = len(items)
    # item -> venues (ascending position)
    order = np.lexsort((pv, pi))
    item_pos = readonly(pv[order])
    item_chan = readonly(ch[order])
    item_ptr = readonly(np.concatenate([[0], np.cumsum(np.bincount(pi, minlength=n_items))]))
    # venue -> items (ascending item code)
    rank = np.argsort(np.array([it.code for it in items], dtype=object), kind="stable")
    code_rank = np.empty(n_items, dtype=np.intp)
    code_rank[rank] = np.arange(n_items)
    order = np.lexsort((code_rank[pi] if m else pi, pv))
    return LinkTables(
        item_pos,
        item_chan,
        item_ptr,
        readonly(pi[order]),
        readonly(ch[order]),
        readonly(np.concatenate([[0], np.cumsum(np.bincount(pv, minlength=n_venues))])),
    )
