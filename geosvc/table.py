"""Venues and links as columns: what a store reads and a snapshot holds.

A :class:`VenueTable` keeps every field of :class:`~geosvc.model.Venue` as
one numpy column (strings in numpy's variable-width ``StringDType``, 16 bytes
a value when at most 15 UTF-8 bytes; enums as small integer codes; opening
hours and area codes as ids into a tuple of the distinct values), so reading
and indexing a dataset makes no Python object per venue.  A Venue object is
made only when a row is asked for (:meth:`VenueTable.venue`,
:meth:`VenueTable.venues_at`); the table is also a read-only sequence of
Venue so code that iterates venues keeps working (one object per row
visited).  :class:`LinkTable` does the same for :class:`~geosvc.model.Link`.

Codes of the enum columns are the enums' definition order (``kind`` is the
position in ``tuple(VenueKind)``, ``chan`` bit ``i`` is ``tuple(Channel)[i]``),
the encoding :mod:`geosvc.index` uses too.
"""

from __future__ import annotations

import bisect
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Any, Final, TypeVar, cast, overload

import numpy as np
import pandas as pd
from numpy.dtypes import StringDType
from numpy.typing import ArrayLike, NDArray

from geosvc.model import Channel, Level, Link, Status, Venue, VenueKind

#: Strings without a missing value (codes, names).
TEXT: Final = StringDType()
#: Strings that may be None.
OPT_TEXT: Final = StringDType(na_object=None)
#: ``machines`` of a venue without a count.
NO_INT: Final = np.iinfo(np.int64).min

KINDS: Final = tuple(VenueKind)
LEVELS: Final = tuple(Level)
STATUSES: Final = tuple(Status)
CHANNELS: Final = tuple(Channel)
KIND_CODE: Final = {k: i for i, k in enumerate(KINDS)}
LEVEL_CODE: Final = {lv: i for i, lv in enumerate(LEVELS)}
STATUS_CODE: Final = {s: i for i, s in enumerate(STATUSES)}
#: Channel set of each bit pattern.
CHANNEL_SETS: Final = tuple(
    frozenset(c for i, c in enumerate(CHANNELS) if b >> i & 1)
    for b in range(1 << len(CHANNELS))
)
_CHAN_BITS: Final = {s: b for b, s in enumerate(CHANNEL_SETS)}
_CHUNK: Final = 4096

_Row = TypeVar("_Row", Venue, Link)
#: None as a 0-d object array: compared elementwise with an object column.
_NULL: Final = np.array(None, dtype=object)

#: One column's stored values: a sequence or a (1-D object) array.
Column = Sequence[Any] | NDArray[Any]


def chan_bits(channels: Iterable[Channel | str]) -> int:
    """Return the bit pattern of a set of channels (values or members).

    Examples
    --------
    >>> CHANNEL_SETS[chan_bits({"window", Channel.SELF_SERVICE})] == {
    ...     Channel.WINDOW, Channel.SELF_SERVICE}
    True
    """
    found = _CHAN_BITS.get(channels) if isinstance(channels, frozenset) else None
    if found is not None:
        return found
    return _CHAN_BITS[frozenset(Channel(c) for c in channels)]


def _frozen(a: NDArray[Any]) -> NDArray[Any]:
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False, slots=True)
class PackedText:
    """A read-only string column as one UTF-8 blob and ``n + 1`` int64 offsets.

    Row ``i`` is ``blob[offsets[i]:offsets[i + 1]]`` decoded; ``missing``
    (when not None) is True where a row is None.  The form the snapshot cache
    (:mod:`geosvc.store.snapcache`) writes and maps back from disk: nothing is
    decoded, hence nothing made resident, until a row is asked for.  Indexing
    with an int gives a str (or None), with an array of ints a small
    ``StringDType`` array of those rows, as a numpy string column would.
    """

    blob: NDArray[np.uint8]
    offsets: NDArray[np.int64]
    missing: NDArray[np.bool_] | None = None

    @classmethod
    def pack(cls, values: Column) -> PackedText:
        """Pack strings (None allowed) into a blob and offsets."""
        listed = values.tolist() if isinstance(values, np.ndarray) else list(values)
        missing = None
        if any(v is None for v in listed):
            missing = np.fromiter((v is None for v in listed), dtype=bool, count=len(listed))
            listed = ["" if v is None else v for v in listed]
        text = "".join(listed)
        blob = text.encode("utf-8", "surrogatepass")
        sizes = np.fromiter(map(len, listed), dtype=np.int64, count=len(listed))
        if len(blob) != len(text):  # not ASCII: byte lengths of each string
            sizes = np.fromiter((len(v.encode("utf-8", "surrogatepass")) for v in listed),
                                dtype=np.int64, count=len(listed))
        offsets = np.zeros(len(listed) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        return cls(_frozen(np.frombuffer(blob, dtype=np.uint8).copy()), _frozen(offsets),
                   None if missing is None else _frozen(missing))

    @property
    def dtype(self) -> Any:
        """The numpy string dtype rows are handed out in."""
        return TEXT if self.missing is None else OPT_TEXT

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def _str(self, i: int) -> str | None:
        if self.missing is not None and self.missing[i]:
            return None
        lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.blob[lo:hi].tobytes().decode("utf-8", "surrogatepass")

    @overload
    def __getitem__(self, i: int | np.integer) -> str | None: ...
    @overload
    def __getitem__(self, i: NDArray[np.integer] | slice) -> NDArray[Any]: ...
    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, (int, np.integer)):
            n = len(self)
            if not -n <= i < n:
                msg = f"text row {i} out of range"
                raise IndexError(msg)
            return self._str(int(i) % n)
        take = np.arange(len(self))[i] if isinstance(i, slice) else np.asarray(i).ravel()
        return np.array(self.take(take), dtype=self.dtype)

    def take(self, idx: NDArray[np.integer]) -> list[str | None]:
        """Return the strings of rows ``idx`` (None where missing)."""
        return [self._str(i) for i in np.asarray(idx, dtype=np.intp).tolist()]

    def tolist(self) -> list[str | None]:
        """Return every row (decoded at once)."""
        text = self.blob.tobytes()
        off = self.offsets.tolist()
        out: list[str | None] = [text[a:b].decode("utf-8", "surrogatepass")
                                 for a, b in zip(off[:-1], off[1:], strict=True)]
        if self.missing is not None:
            for i in np.flatnonzero(self.missing).tolist():
                out[i] = None
        return out

    @property
    def nbytes(self) -> int:
        """Bytes of the blob, offsets and mask (mapped, not necessarily resident)."""
        return int(self.blob.nbytes + self.offsets.nbytes +
                   (0 if self.missing is None else self.missing.nbytes))


@dataclass(frozen=True, eq=False, slots=True)
class OptText:
    """A read-only column of optional strings, stored densely or sparsely.

    Dense: ``values`` has a string (or None) per row and ``rows`` is None.
    Sparse (when at most half the rows have a string): ``rows`` holds the
    ascending row numbers that have one and ``values`` their strings, so an
    empty column costs nothing (a dense one costs 16 bytes a row).
    """

    values: NDArray[Any] | PackedText
    rows: NDArray[np.int32] | NDArray[np.int64] | None
    n: int

    @classmethod
    def of(cls, values: Column) -> OptText:
        """Store ``values`` (str or None per row) in the smaller form."""
        arr = _objects(values)
        present = np.not_equal(arr, _NULL).astype(bool)  # elementwise, in C
        if np.count_nonzero(present) * 2 > len(arr):
            return cls(_frozen(np.array(arr, dtype=OPT_TEXT)), None, len(arr))
        rows = np.flatnonzero(present).astype(np.int32 if len(arr) < 2**31 else np.int64)
        return cls(_frozen(np.array(arr[rows], dtype=TEXT)), _frozen(rows), len(arr))

    @classmethod
    def concat(cls, parts: Sequence[OptText]) -> OptText:
        """Join columns row-wise (in the smaller form of the whole)."""
        n = sum(p.n for p in parts)
        sparse = [p for p in parts if p.rows is not None]
        if len(sparse) == len(parts) and parts:
            starts = np.cumsum([0] + [p.n for p in parts[:-1]])
            rows = np.concatenate([p.rows + off for p, off in
                                   zip(parts, starts.tolist(), strict=True)])
            if len(rows) * 2 <= n:
                values = np.concatenate([_strings(p.values) for p in parts])
                return cls(_frozen(values), _frozen(rows.astype(
                    np.int32 if n < 2**31 else np.int64)), n)
        return cls.of(np.fromiter((v for p in parts for v in p.tolist()), dtype=object,
                                  count=n))

    def take(self, idx: NDArray[np.intp]) -> list[str | None]:
        """Return the values of rows ``idx`` (non-negative), None where a row has none."""
        if self.rows is None:
            return self.values[idx].tolist()
        if not len(self.rows):
            return [None] * len(idx)
        i = np.minimum(np.searchsorted(self.rows, idx), len(self.rows) - 1)
        hit = self.rows[i] == idx
        got = self.values[i].tolist()
        return [g if h else None for g, h in zip(got, hit.tolist(), strict=True)]

    def get(self, i: int) -> str | None:
        """Return the value of row ``i`` (non-negative)."""
        if self.rows is None:
            v = self.values[i]
            return None if v is None else str(v)
        j = bisect.bisect_left(self.rows, i)  # faster than numpy's for one value
        return str(self.values[j]) if j < len(self.rows) and self.rows[j] == i else None

    def tolist(self) -> list[str | None]:
        """Return every row's value."""
        return self.take(np.arange(self.n))

    def __len__(self) -> int:
        return self.n

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OptText):
            return NotImplemented
        return self.n == other.n and self.tolist() == other.tolist()

    __hash__ = None  # type: ignore[assignment]

    @property
    def nbytes(self) -> int:
        """Bytes held (string arena included)."""
        return _nbytes(self.values) + (0 if self.rows is None else int(self.rows.nbytes))


class _Columns(Sequence[_Row]):
    """What the column tables share: rows made a chunk at a time, equality, size.

    Equal to another table of the same class with equal columns, or to a list
    or tuple of equal records; unhashable (like a list).
    """

    __slots__ = ()

    @abstractmethod
    def _rows_at(self, idx: ArrayLike) -> list[_Row]:
        """Return the records of rows ``idx``."""

    def __iter__(self) -> Iterator[_Row]:
        for lo in range(0, len(self), _CHUNK):
            yield from self._rows_at(np.arange(lo, min(lo + _CHUNK, len(self))))

    def _columns(self) -> list[Any]:
        return [getattr(self, f.name) for f in fields(cast("Any", self))]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, type(self)):
            return all(_same(a, b) for a, b in zip(self._columns(), other._columns(),
                                                    strict=True))
        if isinstance(other, (list, tuple)):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other,
                                                                           strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {len(self)} rows>"

    def nbytes(self) -> int:
        """Bytes held by the columns (string arenas included)."""
        return sum(_nbytes(c) for c in self._columns())


@dataclass(frozen=True, eq=False, slots=True)
class VenueTable(_Columns[Venue]):
    """Every venue of a dataset as read-only columns, one row per venue position.

    Attributes are the :class:`~geosvc.model.Venue` fields, encoded as the
    module notes say: ``kind``/``level``/``status`` int8 codes (level -1 for
    none), ``chan`` uint8 channel bits, ``area`` and ``hours`` int32 ids into
    ``area_codes`` and ``hours_texts`` (-1 for none), ``machines`` int64
    (:data:`NO_INT` for none), flags as bool, the other strings as
    ``StringDType`` (None kept where the field allows it).

    Equal to another table with equal columns, and to a list or tuple of the
    same Venue objects (``store.read().venues == [...]``).
    """

    code: NDArray[Any] | PackedText
    name: NDArray[Any] | PackedText
    kind: NDArray[np.int8]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    level: NDArray[np.int8]
    chan: NDArray[np.uint8]
    area: NDArray[np.int32]
    area_codes: tuple[str, ...]
    area_name: OptText
    address: OptText
    phone: OptText
    hours: NDArray[np.int32]
    hours_texts: tuple[str, ...]
    official_calendar: NDArray[np.bool_]
    accessible: NDArray[np.bool_]
    cross_province: NDArray[np.bool_]
    regional: NDArray[np.bool_]
    bank: OptText
    machines: NDArray[np.int64]
    name_en: OptText
    source: OptText
    status: NDArray[np.int8]

    # ------------------------------------------------------------------ building
    @classmethod
    def from_columns(
        cls,
        *,
        code: Column,
        name: Column,
        kind: Column,
        lon: Column,
        lat: Column,
        level: Column,
        channels: Column,
        area_code: Column,
        area_name: Column,
        address: Column,
        phone: Column,
        opening_hours: Column,
        official_calendar: Column,
        accessible: Column,
        cross_province: Column,
        regional: Column,
        bank: Column,
        machines: Column,
        name_en: Column,
        source: Column,
        status: Column,
    ) -> VenueTable:
        """Build a table from stored column values (one sequence per field, rows aligned).

        ``kind``, ``level`` and ``status`` are enum values (or members);
        ``channels`` per row is the SQLite text (``"self_service,window"``),
        a list of values, or a set of Channel; flags anything ``bool`` takes.
        A None ``status`` is derived from the kind and channels, as
        :class:`~geosvc.model.Venue` does.

        Raises
        ------
        ValueError
            A kind, level, status or channel that is not one.
        """
        kind_c = _codes(kind, KIND_CODE, VenueKind, np.int8)
        chan = _chan_codes(channels)
        stat = _codes(status, STATUS_CODE, Status, np.int8, missing=-1)
        for i in np.flatnonzero(stat < 0).tolist():  # derive like Venue.__post_init__
            derived = Venue("", "", KINDS[kind_c[i]], 0.0, 0.0,
                            channels=CHANNEL_SETS[chan[i]]).status
            stat[i] = STATUS_CODE[derived] if derived is not None else -1
        area, area_codes = _ids(area_code)
        hours, hours_texts = _ids(opening_hours)
        return cls(
            code=_frozen(np.array(code, dtype=TEXT)),
            name=_frozen(np.array(name, dtype=TEXT)),
            kind=_frozen(kind_c),
            lon=_frozen(np.array(lon, dtype=np.float64)),
            lat=_frozen(np.array(lat, dtype=np.float64)),
            level=_frozen(_codes(level, LEVEL_CODE, Level, np.int8, missing=-1)),
            chan=_frozen(chan),
            area=_frozen(area), area_codes=area_codes,
            area_name=OptText.of(area_name),
            address=OptText.of(address),
            phone=OptText.of(phone),
            hours=_frozen(hours), hours_texts=hours_texts,
            official_calendar=_frozen(_flags(official_calendar)),
            accessible=_frozen(_flags(accessible)),
            cross_province=_frozen(_flags(cross_province)),
            regional=_frozen(_flags(regional)),
            bank=OptText.of(bank),
            machines=_frozen(_ints(machines)),
            name_en=OptText.of(name_en),
            source=OptText.of(source),
            status=_frozen(stat),
        )

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[Any]]) -> VenueTable:
        """Build a table from rows in the stores' venue column order (``_rows.venue_row``)."""
        grid = _grid(rows, len(VENUE_FIELDS))
        return cls.from_columns(**{f: grid[:, j] for j, f in enumerate(VENUE_FIELDS)})

    @classmethod
    def from_venues(cls, venues: Iterable[Venue]) -> VenueTable:
        """Build a table from Venue objects (their fields read once each)."""
        vs = venues if isinstance(venues, (list, tuple)) else list(venues)
        return cls.from_columns(**{f: [getattr(v, f) for v in vs] for f in VENUE_FIELDS})

    @classmethod
    def concat(cls, parts: Sequence[VenueTable]) -> VenueTable:
        """Join tables row-wise (ids of ``area`` and ``hours`` renumbered)."""
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return cls.from_rows([])
        area, area_codes = _join_ids([(p.area, p.area_codes) for p in parts])
        hours, hours_texts = _join_ids([(p.hours, p.hours_texts) for p in parts])
        cols: dict[str, Any] = {c: OptText.concat([getattr(p, c) for p in parts])
                if isinstance(getattr(parts[0], c), OptText)
                else _frozen(np.concatenate([_strings(getattr(p, c)) for p in parts]))
                for c in _COLS if c not in ("area", "hours")}
        return cls(**cols, area=area, area_codes=area_codes, hours=hours,
                   hours_texts=hours_texts)

    # ------------------------------------------------------------------ rows
    def venue(self, i: int) -> Venue:
        """Return the Venue of row ``i`` (a new object; a few microseconds)."""
        n = len(self)
        if not -n <= i < n:
            msg = f"venue row {i} out of range (0..{n - 1})"
            raise IndexError(msg)
        i = int(i) % n
        lv, ar, hr, mc = (int(self.level[i]), int(self.area[i]), int(self.hours[i]),
                          int(self.machines[i]))
        return Venue(
            str(self.code[i]), str(self.name[i]), KINDS[self.kind[i]], float(self.lon[i]),
            float(self.lat[i]), None if lv < 0 else LEVELS[lv], CHANNEL_SETS[self.chan[i]],
            None if ar < 0 else self.area_codes[ar], self.area_name.get(i),
            self.address.get(i), self.phone.get(i), None if hr < 0 else self.hours_texts[hr],
            bool(self.official_calendar[i]), bool(self.accessible[i]),
            bool(self.cross_province[i]), bool(self.regional[i]), self.bank.get(i),
            None if mc == NO_INT else mc, self.name_en.get(i), self.source.get(i),
            STATUSES[self.status[i]])

    def venues_at(self, idx: ArrayLike) -> list[Venue]:
        """Return the Venues of rows ``idx`` (in that order; new objects)."""
        take = np.asarray(idx, dtype=np.intp).ravel()
        if len(take) and (take.min() < -len(self) or take.max() >= len(self)):
            msg = f"venue row out of range (0..{len(self) - 1})"
            raise IndexError(msg)
        take = np.where(take < 0, take + len(self), take)
        area_codes, hours_texts = self.area_codes, self.hours_texts
        return [
            Venue(code, name, KINDS[kind], lon, lat, None if lv < 0 else LEVELS[lv],
                  CHANNEL_SETS[ch], None if ar < 0 else area_codes[ar], an, ad, ph,
                  None if hr < 0 else hours_texts[hr], oc, acc, cp, rg, bk,
                  None if mc == NO_INT else mc, ne, so, STATUSES[st])
            for (code, name, kind, lon, lat, lv, ch, ar, an, ad, ph, hr, oc, acc, cp, rg, bk,
                 mc, ne, so, st) in zip(*(_take(getattr(self, c), take) for c in _COLS),
                                        strict=True)
        ]

    def __len__(self) -> int:
        return len(self.lon)

    @overload
    def __getitem__(self, i: int) -> Venue: ...
    @overload
    def __getitem__(self, i: slice) -> list[Venue]: ...
    def __getitem__(self, i: int | slice) -> Venue | list[Venue]:
        if isinstance(i, slice):
            return self.venues_at(np.arange(len(self))[i])
        return self.venue(i)

    def _rows_at(self, idx: ArrayLike) -> list[Venue]:
        return self.venues_at(idx)


#: The stores' venue columns, in order (also the Venue fields' order).
VENUE_FIELDS: Final = tuple(f.name for f in fields(Venue))
_COLS: Final = ("code", "name", "kind", "lon", "lat", "level", "chan", "area", "area_name",
                "address", "phone", "hours", "official_calendar", "accessible",
                "cross_province", "regional", "bank", "machines", "name_en", "source",
                "status")


@dataclass(frozen=True, eq=False, slots=True)
class LinkTable(_Columns[Link]):
    """Venue-item links as read-only columns: venue code, item code, channel bits.

    A read-only sequence of :class:`~geosvc.model.Link` (objects made per row
    visited); equal to another table with equal columns, or to a list or
    tuple of the same links.
    """

    venue_code: NDArray[Any] | PackedText
    item: NDArray[np.int32]  #: id into ``item_codes``
    item_codes: tuple[str, ...]
    chan: NDArray[np.uint8]

    @classmethod
    def from_columns(cls, venue_code: Column, item_code: Column,
                     channels: Column) -> LinkTable:
        """Build a table from stored columns (channels as :meth:`VenueTable.from_columns`)."""
        item, item_codes = _ids(item_code)
        return cls(_frozen(np.array(venue_code, dtype=TEXT)), _frozen(item), item_codes,
                   _frozen(_chan_codes(channels)))

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[Any]]) -> LinkTable:
        """Build a table from ``(venue_code, item_code, channels)`` rows."""
        grid = _grid(rows, 3)
        return cls.from_columns(grid[:, 0], grid[:, 1], grid[:, 2])

    @classmethod
    def from_links(cls, links: Iterable[Link]) -> LinkTable:
        """Build a table from Link objects."""
        ls = links if isinstance(links, (list, tuple)) else list(links)
        return cls.from_columns([k.venue_code for k in ls], [k.item_code for k in ls],
                                [k.channels for k in ls])

    @classmethod
    def concat(cls, parts: Sequence[LinkTable]) -> LinkTable:
        """Join tables row-wise (item ids renumbered)."""
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return cls.from_rows([])
        item, item_codes = _join_ids([(p.item, p.item_codes) for p in parts])
        return cls(_frozen(np.concatenate([_strings(p.venue_code) for p in parts])), item,
                   item_codes,
                   _frozen(np.concatenate([p.chan for p in parts])))

    def links_at(self, idx: ArrayLike) -> list[Link]:
        """Return the Links of rows ``idx`` (new objects)."""
        take = np.asarray(idx, dtype=np.intp).ravel()
        codes = self.item_codes
        return [Link(v, codes[j], CHANNEL_SETS[c]) for v, j, c in
                zip(self.venue_code[take].tolist(), self.item[take].tolist(),
                    self.chan[take].tolist(), strict=True)]

    def __len__(self) -> int:
        return len(self.item)

    @overload
    def __getitem__(self, i: int) -> Link: ...
    @overload
    def __getitem__(self, i: slice) -> list[Link]: ...
    def __getitem__(self, i: int | slice) -> Link | list[Link]:
        if isinstance(i, slice):
            return self.links_at(np.arange(len(self))[i])
        if not -len(self) <= i < len(self):
            msg = "link row out of range"
            raise IndexError(msg)
        return self.links_at([i])[0]

    def _rows_at(self, idx: ArrayLike) -> list[Link]:
        return self.links_at(idx)


# ---------------------------------------------------------------------- helpers
def _grid(rows: Sequence[Sequence[Any]], width: int) -> NDArray[np.object_]:
    """Rows as a 2-D object array (one C pass; a column is ``grid[:, j]``)."""
    grid = np.empty((len(rows), width), dtype=object)
    if len(rows):
        grid[:] = rows
    return grid


def _factorize(values: Column) -> tuple[NDArray[np.intp], list[Any]]:
    """Codes (-1 for None) and distinct values in order of first appearance (hashed in C)."""
    arr = _objects(values)
    if len(arr) and any(isinstance(v, list) for v in arr[:1].tolist()):
        arr = np.fromiter((tuple(v) for v in arr), dtype=object,
                          count=len(arr))  # channel lists (PostgreSQL text[]): hashable
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.intp), list(uniques)


def _objects(values: Column) -> NDArray[np.object_]:
    """Return ``values`` as a 1-D object array (sets and tuples stay elements)."""
    if isinstance(values, np.ndarray) and values.ndim == 1:
        return values.astype(object, copy=False)
    return np.fromiter(values, dtype=object, count=len(values))


def _ids(values: Column) -> tuple[NDArray[np.int32], tuple[str, ...]]:
    """Encode values as ids into their distinct values (first seen first); None is -1."""
    codes, uniques = _factorize(values)
    return codes.astype(np.int32), tuple(str(u) for u in uniques)


def _codes(values: Column, code: dict[Any, int], enum: Any, dtype: Any, *,
           missing: int | None = None) -> NDArray[Any]:
    """Encode enum values (members or their values) as codes; None is ``missing``."""
    codes, uniques = _factorize(values)
    if missing is None and len(codes) and codes.min() < 0:
        msg = "a required enum value is missing"
        raise ValueError(msg)
    lookup = np.array([code[enum(u)] for u in uniques] + [-1 if missing is None else missing],
                      dtype=dtype)
    return lookup[codes]  # code -1 picks the trailing missing value


def _chan_codes(values: Column) -> NDArray[np.uint8]:
    """Channel bits of each stored channel set (text, list of values or set)."""
    codes, uniques = _factorize(values)
    bits = [chan_bits(p for p in (u.split(",") if isinstance(u, str) else u) if p)
            for u in uniques]
    if len(codes) and codes.min() < 0:
        msg = "a channel set is missing"
        raise ValueError(msg)
    return np.array([*bits, 0], dtype=np.uint8)[codes]


def _ints(values: Column) -> NDArray[np.int64]:
    """Encode optional integers as int64, :data:`NO_INT` for None."""
    arr = _objects(values).copy()
    arr[np.equal(arr, _NULL).astype(bool)] = NO_INT
    return arr.astype(np.int64)


def _join_ids(parts: Sequence[tuple[NDArray[np.int32], tuple[str, ...]]]) -> tuple[
        NDArray[np.int32], tuple[str, ...]]:
    """Concatenate id columns, renumbering each part's ids into one tuple of values."""
    seen: dict[str, int] = {}
    out = []
    for ids, values in parts:
        remap = np.array([seen.setdefault(v, len(seen)) for v in values] + [-1], np.int32)
        out.append(remap[ids])  # id -1 picks the trailing -1
    return _frozen(np.concatenate(out)), tuple(seen)


def _strings(col: NDArray[Any] | PackedText) -> NDArray[Any]:
    """Return a column as a numpy array (a packed one decoded)."""
    return col[np.arange(len(col))] if isinstance(col, PackedText) else col


def _flags(values: Column) -> NDArray[np.bool_]:
    return _objects(values).astype(bool)


def _take(col: NDArray[Any] | OptText | PackedText, take: NDArray[np.intp]) -> list[Any]:
    return col.take(take) if isinstance(col, (OptText, PackedText)) else col[take].tolist()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, PackedText) or isinstance(b, PackedText):
        return (len(a) == len(b) and a.dtype == b.dtype
                and a.tolist() == b.tolist())
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tolist() == b.tolist()
    return bool(a == b)


def _nbytes(a: Any) -> int:
    if isinstance(a, (OptText, PackedText)):
        return a.nbytes
    if not isinstance(a, np.ndarray):
        return 0
    if isinstance(a.dtype, StringDType):  # 16 bytes inline, longer strings in the arena
        return int(a.nbytes) + sum(len(s.encode()) for s in a.tolist()
                                   if s is not None and len(s.encode()) > 15)
    return int(a.nbytes)
