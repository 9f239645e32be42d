"""Building a snapshot: input validation, per-venue columns and link tables.

Pure functions over the build inputs; :meth:`ServiceIndex.build
<geosvc.index.ServiceIndex.build>` calls them and freezes what they return.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

import numpy as np
from numpy.typing import NDArray

from geosvc.errors import InvalidParameter
from geosvc.model import ServiceItem
from geosvc.table import LinkTable, PackedText, VenueTable

_T = TypeVar("_T", bound=np.generic)


def readonly(a: NDArray[_T]) -> NDArray[_T]:
    """Make ``a`` read-only in place and return it."""
    a.flags.writeable = False
    return a


class CodeIndex:
    """Venue code -> position, in 12 bytes a venue instead of a dict's ~60.

    The codes' hashes sorted (int64) and the positions in that order (int32);
    a look-up is a binary search and a comparison with the venue's own code.
    The hash is FNV-1a over the UTF-8 bytes (:mod:`geosvc.index._textkernel`,
    compiled; the same in every process), computed over the codes packed into
    one blob (:class:`~geosvc.table.PackedText`, as the snapshot cache maps
    them: no str object per venue); look-ups of many codes sort their hashes
    first, so the binary searches walk the table in order.

    Parameters
    ----------
    codes : numpy.ndarray of str or PackedText
        The venues' codes by position (a :class:`~geosvc.table.VenueTable`'s
        ``code`` column; packed, it is kept by reference).
    """

    __slots__ = ("_codes", "_hash", "_kernels", "_pos")

    def __init__(self, codes: NDArray[Any] | PackedText,
                 parts: Mapping[str, NDArray[Any]] | None = None, *,
                 kernels: Any = None) -> None:
        from geosvc.index import _textkernel  # lazy: numba only once an index is built

        # kernels: the hash functions (fnv1a, hash_rows, rows_equal); the tests pass
        # narrowed hashes so that every look-up meets collisions
        self._kernels = _textkernel if kernels is None else kernels
        packed = codes if isinstance(codes, PackedText) else PackedText.pack(codes)
        n = len(packed)
        self._codes = packed
        if parts is not None:  # the arrays of an equal index (parts()), e.g. mapped from disk
            self._hash, self._pos = parts["hash"], parts["pos"]
            if len(self._hash) != n or len(self._pos) != n:
                msg = "code index parts do not fit the codes"
                raise ValueError(msg)
            return
        hashes = self._kernels.hash_rows(packed.blob, packed.offsets)
        order = np.argsort(hashes)
        self._hash = readonly(hashes[order])
        self._pos = readonly(order.astype(np.int32 if n < 2**31 else np.int64))

    def parts(self) -> dict[str, NDArray[Any]]:
        """Return the sorted hashes and positions (an equal index is made from them)."""
        return {"hash": self._hash, "pos": self._pos}

    def duplicates(self) -> list[int]:
        """Positions whose code appeared at a lower position already, ascending."""
        same = np.flatnonzero(self._hash[1:] == self._hash[:-1])
        out = set()
        for i in same.tolist():  # equal hashes: rare, and equal codes rarer
            lo = int(np.searchsorted(self._hash, self._hash[i]))
            hi = int(np.searchsorted(self._hash, self._hash[i], side="right"))
            seen: set[str | None] = set()
            for p in sorted(self._pos[lo:hi].tolist()):
                code = self._codes[p]
                if code in seen:
                    out.add(p)
                seen.add(code)
        return sorted(out)

    def get(self, code: str) -> int | None:
        """Return the position of the venue with ``code``, or None."""
        if not isinstance(code, str):
            return None
        h = self._kernels.fnv1a(code)
        i = int(np.searchsorted(self._hash, h))
        n = len(self._hash)
        while i < n and self._hash[i] == h:
            p = int(self._pos[i])
            if self._codes[p] == code:
                return p
            i += 1
        return None

    def get_many(self, codes: Sequence[str] | NDArray[Any] | PackedText) -> NDArray[np.intp]:
        """Return the position of each code (-1 where none), vectorised."""
        n = len(codes)
        if n == 0 or len(self._hash) == 0:
            return np.full(n, -1, dtype=np.intp)
        packed = codes if isinstance(codes, PackedText) else PackedText.pack(codes)
        k = self._kernels
        h = k.hash_rows(packed.blob, packed.offsets)
        mine = self._codes
        # codes listed in the table's order (a store's links, venue by venue) match the
        # row after the previous match without a search; else (more than 1/16 of them
        # searched) sorted keys, so that the binary searches walk the table in order
        out, done = k.follow_rows(mine.blob, mine.offsets, self._hash, self._pos,
                                  packed.blob, packed.offsets, h, max(64, n // 16))
        if done:
            return out
        by_hash = np.argsort(h)  # sorted keys: the searches walk the table in order
        i = np.empty(n, dtype=np.intp)
        i[by_hash] = np.searchsorted(self._hash, h[by_hash])
        np.minimum(i, len(self._hash) - 1, out=i)
        out = np.where(self._hash[i] == h, self._pos[i], -1).astype(np.intp)
        found = np.flatnonzero(out >= 0)
        same = k.rows_equal(mine.blob, mine.offsets, out[found],
                            packed.blob, packed.offsets, found)
        for j in found[~same].tolist():  # a hash collision: look the code up fully
            code = packed[j]
            g = self.get(code) if isinstance(code, str) else None
            out[j] = -1 if g is None else g
        return out

    def nbytes(self) -> int:
        """Bytes held by the two arrays."""
        return int(self._hash.nbytes + self._pos.nbytes)


def check_inputs(
    venues: VenueTable, items: Sequence[ServiceItem], open_margin_min: object,
    parts: Mapping[str, NDArray[Any]] | None = None,
) -> tuple[CodeIndex, dict[str, int]]:
    """Validate the build inputs; return the code -> position maps.

    Returns
    -------
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

    ``parts``: the code index's arrays from an earlier build of the same
    venues (:meth:`CodeIndex.parts`); its duplicate check is not repeated.
    """
    if not (isinstance(open_margin_min, (int, float)) and open_margin_min >= 0):
        msg = f"must be a number of minutes >= 0 (got {open_margin_min!r})"
        raise InvalidParameter("open_margin_min", msg)
    problems = []
    for name, arr, lim in (("lon", venues.lon, 180.0), ("lat", venues.lat, 90.0)):
        bad = np.flatnonzero(~(np.isfinite(arr) & (np.abs(arr) <= lim)))
        for i in bad[:20]:
            problems.append(
                (
                    name,
                    f"of venue `{venues.code[i]}` must be a finite number between "
                    f"-{lim:g} and {lim:g} (got {float(arr[i])!r})",
                )
            )
    code_pos = CodeIndex(venues.code, parts)
    for i in [] if parts is not None else code_pos.duplicates():  # checked when parts were made
        problems.append(("code", f"venue code `{venues.code[i]}` appears more than once"))
    item_index: dict[str, int] = {}
    for j, it in enumerate(items):
        if item_index.setdefault(it.code, j) != j:
            problems.append(("code", f"item code `{it.code}` appears more than once"))
    if problems:
        raise InvalidParameter.many(problems)
    return code_pos, item_index


class VenueColumns(NamedTuple):
    """Read-only per-venue attribute columns, one entry per venue position."""

    kind: NDArray[np.int8]  #: code of :class:`VenueKind` (``KIND_CODE``)
    level: NDArray[np.int8]  #: code of the level (``LEVEL_CODE``), -1 without one
    chan: NDArray[np.uint8]  #: channel bits (``channel_bits``)
    access: NDArray[np.bool_]  #: has a green channel
    status: NDArray[np.int8]  #: code of the status (``STATUS_CODE``; in_service is 0)
    area: NDArray[np.int32]  #: id of ``area_code`` in ``area_ids``, -1 without one
    area_ids: dict[str, int]  #: area code -> id


def venue_columns(venues: VenueTable) -> VenueColumns:
    """Take the filterable attributes of ``venues`` (the table's own read-only columns).

    The table's codes are the enums' definition order, as ``KIND_CODE``,
    ``LEVEL_CODE``, ``STATUS_CODE`` and the channel bits here.
    """
    return VenueColumns(
        readonly(venues.kind),
        readonly(venues.level),
        readonly(venues.chan),
        readonly(venues.accessible),
        readonly(venues.status),
        readonly(venues.area),
        {code: i for i, code in enumerate(venues.area_codes)},
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
    links: LinkTable,
    code_pos: CodeIndex,
    item_index: dict[str, int],
    items: Sequence[ServiceItem],
    n_venues: int,
) -> LinkTables:
    """Merge ``links`` per (venue, item) and index them both ways (vectorised).

    Links naming an unknown venue or item are skipped with one warning
    (attributed to the caller of :meth:`ServiceIndex.build`); repeated links
    merge their channels.
    """
    vpos = code_pos.get_many(links.venue_code)
    item_of = np.array([item_index.get(c, -1) for c in links.item_codes] + [-1], np.intp)
    ipos = item_of[links.item]
    known = (vpos >= 0) & (ipos >= 0)
    unknown = int(len(known) - np.count_nonzero(known))
    if unknown:
        warnings.warn(
            f"{unknown} link(s) name a venue or item not in the data; skipped",
            stacklevel=3,
        )
        vpos, ipos = vpos[known], ipos[known]
    n_items = len(items)
    # item ranks by code: a venue's items are listed in that order
    by_code = np.argsort(np.array([it.code for it in items], dtype=object),
                         kind="stable").astype(np.intp)
    code_rank = np.empty(n_items, dtype=np.intp)
    code_rank[by_code] = np.arange(n_items)
    # one key per link, (venue, item rank): sorted, it is the venue -> items order
    key = vpos * max(n_items, 1) + code_rank[ipos]
    bits = links.chan if not unknown else links.chan[known]
    if len(key) > 1 and not bool(np.all(key[1:] >= key[:-1])):  # a store's links: sorted
        order = np.argsort(key)  # repeated links merge below, so any order of equal keys
        key, bits = key[order], bits[order]
        del order
    if len(key):
        first = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
        ch = np.bitwise_or.reduceat(bits, first)
        key = key[first]
    else:
        ch = np.asarray(bits, dtype=np.uint8)
    pv, rank = np.divmod(key, max(n_items, 1))
    pi = by_code[rank]
    del key, rank
    # item -> venues (ascending position): a stable sort of the venue-ordered links by
    # item (a radix sort for 16-bit item numbers)
    order = np.argsort(pi.astype(np.uint16) if n_items <= 2**16 else pi, kind="stable")
    return LinkTables(
        readonly(pv[order]),
        readonly(ch[order]),
        readonly(np.concatenate([[0], np.cumsum(np.bincount(pi, minlength=n_items))])),
        readonly(pi),
        readonly(ch),
        readonly(np.concatenate([[0], np.cumsum(np.bincount(pv, minlength=n_venues))])),
    )
