"""The SQLite store's columnar read: venues and links as Arrow arrays, filled in C.

The first read of a revision (before the snapshot cache holds it) used to go
through Python's ``sqlite3`` module, which makes one Python object per value.
Here the ADBC SQLite driver (``adbc-driver-sqlite``) fills Arrow arrays in C
and they become the table's columns without a per-value object: numbers via
``to_numpy``, strings as :class:`~geosvc.table.PackedText` straight from the
Arrow buffers (an Arrow string array already is a UTF-8 blob and offsets),
enum, channel and id columns via ``dictionary_encode`` (only the few distinct
values are decoded).

The driver links its own copy of SQLite, and two copies of SQLite in one
process break each other's POSIX locks (SQLite's "how to corrupt" notes,
multiple copies of SQLite in one application): it runs in a child process,
``python -m geosvc.store._arrow``, which pickles the finished columns into a
private temporary file the caller loads; or, on a read with a snapshot cache
(:func:`write_columns`), writes them as the cache's directory of the revision
itself, which the caller publishes and maps: the columns never pass through the
caller's memory.

The driver infers each column's type from the values of its first batch (a
NULL-only first batch gives int64, and a string later raises), so the queries
never hand it a NULL: every nullable column is read as ``coalesce(x, ...)``
with a separate ``x IS NULL`` flag.  Nothing is ``CAST`` (a cast would turn a
stray value into another silently): a value of another storage class than its
column's (text in ``machines``, a BLOB in a text column) makes the driver or the
type checks here raise, and the read falls back.  The child reads in its own read
transaction, used only when it sees the revision the caller's ``sqlite3``
transaction saw; on any failure :func:`read_columns` returns None and the
caller reads with ``sqlite3`` (correctness never depends on ADBC).
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from geosvc.model import Level, Status, VenueKind
from geosvc.store import snapcache
from geosvc.table import (
    KIND_CODE,
    LEVEL_CODE,
    NO_INT,
    STATUS_CODE,
    LinkTable,
    OptText,
    PackedText,
    VenueTable,
    chan_bits,
)

log = logging.getLogger(__name__)

#: Rows the driver puts in one Arrow batch (its default is 1024).
BATCH_ROWS = 65_536
_TEXT_REQUIRED = ("code", "name", "kind", "channels", "status")
_TEXT_OPTIONAL = ("level", "area_code", "area_name", "address", "phone", "opening_hours",
                  "bank", "name_en", "source")
_FLAGS = ("official_calendar", "accessible", "cross_province", "regional")
_OPT_TEXT = ("area_name", "address", "phone", "bank", "name_en", "source")


def _text(col: str) -> str:
    return f"coalesce({col}, '') AS {col}"


#: The columns whose NULLs are flagged, bit ``i`` of ``nulls`` for ``_NULLABLE[i]``.
_NULLABLE = (*_OPT_TEXT, "level", "area_code", "opening_hours", "status")


def _venues_sql() -> str:
    """Return the venue query: one bit mask of the NULL flags, one of the four flags.

    Each column the driver fills costs about as much as the SQLite step of a
    row, so the 10 NULL flags and 4 booleans travel as two integers.  A flag
    that is not stored as an integer makes ``flags`` NULL, which the read
    refuses (the sqlite3 path then reads the row as it always did).
    """
    cols = [_text(c) for c in _TEXT_REQUIRED + _TEXT_OPTIONAL]
    cols.append(" | ".join(f"(({c} IS NULL) << {i})" for i, c in enumerate(_NULLABLE))
                + " AS nulls")
    typed = " AND ".join(f"typeof({c}) = 'integer'" for c in _FLAGS)
    bits = " | ".join(f"(({c} != 0) << {i})" for i, c in enumerate(_FLAGS))
    cols.append(f"CASE WHEN {typed} THEN {bits} END AS flags")
    cols += ["lon", "lat", f"coalesce(machines, {NO_INT}) AS machines"]
    return f"SELECT {', '.join(cols)} FROM venues ORDER BY rowid"


VENUES_SQL = _venues_sql()
LINKS_SQL = "SELECT venue_code, item_code, channels FROM links ORDER BY rowid"


def read_columns(path: Path, revision: int) -> tuple[VenueTable, LinkTable] | None:
    """Read every venue and link of the SQLite file at ``path`` as columns, in a child process.

    The driver links its own copy of SQLite, and two copies of SQLite in one
    process break each other's POSIX locks on the file (closing one copy's
    descriptor drops the other's locks; seen here as a bus error when the
    WAL index was reset under a reader): so the driver runs only in a child
    (``python -m geosvc.store._arrow``), which hands the columns back in a
    private temporary file.  Returns None (and logs why) when the child
    fails, or when its read transaction sees another revision than
    ``revision``.
    """
    with tempfile.TemporaryDirectory(prefix="geosvc-coldread-", dir=_scratch()) as tmp:
        out = Path(tmp) / "columns.pickle"
        if _run_child([str(path), str(revision), str(out)]) is None:
            return None
        with out.open("rb") as f:
            venues, links = pickle.load(f)  # our own child's file, in our private dir
    return _frozen_table(venues), _frozen_table(links)


def write_columns(path: Path, revision: int, identity: str, out: Path) -> bool:
    """Read the columns as :func:`read_columns` does, written as a snapshot cache directory.

    The child writes the files of :func:`geosvc.store.snapcache.write_columns`
    into the (existing, empty) directory ``out`` itself, so the columns are
    never pickled nor held by the caller, which maps them from the files
    afterwards.  Returns False (and logs why) as :func:`read_columns` returns
    None.
    """
    return _run_child([str(path), str(revision), str(out), identity]) is not None


def _run_child(args: list[str]) -> subprocess.CompletedProcess[str] | None:
    """Run ``python -m geosvc.store._arrow ARGS``; None (logged) when it failed."""
    log.info("%s: reading the columns of revision %s in a child process", args[0], args[1])
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-m", "geosvc.store._arrow", *args], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0 or not Path(args[2]).exists():
        why = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        log.info("%s: columnar read failed (%s); reading with sqlite3", args[0], why)
        return None
    return done


def _scratch() -> str | None:
    """Return a memory-backed temporary directory when there is one (no disk writes)."""
    return "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


def _frozen_table(table: Any) -> Any:
    """Mark every array of a table read-only again (pickling drops the flag)."""
    for value in table._columns():
        parts = [value]
        if isinstance(value, OptText):
            parts = [value.values, value.rows]
        for part in parts:
            arrays = ([part.blob, part.offsets, part.missing] if isinstance(part, PackedText)
                      else [part])
            for a in arrays:
                if isinstance(a, np.ndarray):
                    a.flags.writeable = False
    return table


def _read_here(path: Path, revision: int) -> tuple[VenueTable, LinkTable] | None:
    """Read the columns with the driver in this process (the child's side)."""
    import adbc_driver_sqlite.dbapi as adbc  # lazy: the driver loads in the child only
    conn = adbc.connect(f"{path.resolve().as_uri()}?mode=ro", autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("BEGIN")
            try:
                cur.execute("SELECT value FROM meta WHERE key = 'revision'")
                row = cur.fetchone()
                seen = int(row[0]) if row else -1
                if seen != revision:
                    msg = f"revision moved ({revision}, then {seen})"
                    raise RuntimeError(msg)
                venues = venue_table(_batches(cur, VENUES_SQL))
                links = link_table(_batches(cur, LINKS_SQL))
            finally:
                cur.execute("COMMIT")
    finally:
        conn.close()
    return venues, links


def _child(argv: Sequence[str]) -> int:
    """``python -m geosvc.store._arrow DB REVISION OUT [IDENTITY]``: the columns to OUT.

    Pickled into the file OUT; with IDENTITY, written as a snapshot cache
    directory into the directory OUT (:func:`write_columns`).
    """
    path, revision, out = Path(argv[0]), int(argv[1]), Path(argv[2])
    try:
        read = _read_here(path, revision)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which falls back
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if read is None:
        return 1
    if len(argv) > 3:
        snapcache.write_columns(out, argv[3], revision, *read)
        return 0
    with out.open("wb") as f:
        pickle.dump(read, f, protocol=pickle.HIGHEST_PROTOCOL)
    return 0


def _batches(cur: Any, sql: str) -> Iterator[Any]:
    """Run ``sql`` and yield its rows as Arrow record batches (one held at a time)."""
    cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
    cur.execute(sql)
    yield from cur.fetch_record_batch()


# ---------------------------------------------------------------------- arrow -> columns
def venue_table(batches: Iterable[Any]) -> VenueTable:
    """Build a :class:`VenueTable` from record batches of :data:`VENUES_SQL`.

    Each batch is turned into compact parts (string bytes, codes, numbers)
    and dropped before the next, so the Arrow form of the whole table is
    never held.
    """
    text = {c: _Text() for c in ("code", "name", *_OPT_TEXT)}
    ids = {c: _Ids() for c in ("area_code", "opening_hours")}
    enums = {"kind": _Enum(lambda u: KIND_CODE[VenueKind(u)]),
             "level": _Enum(lambda u: LEVEL_CODE[Level(u)]),
             "status": _Enum(lambda u: STATUS_CODE[Status(u)]),
             "channels": _Enum(lambda u: chan_bits(p for p in u.split(",") if p), np.uint8)}
    nums: dict[str, list[NDArray[Any]]] = {c: [] for c in ("lon", "lat", "machines", "flags")}
    for b in batches:
        col = {name: b.column(i) for i, name in enumerate(b.schema.names)}
        nulls = _int64(col["nulls"])
        null = {c: (nulls >> i) & 1 != 0 for i, c in enumerate(_NULLABLE)}
        if null["status"].any():
            msg = "a NULL status (derived on the sqlite3 path)"
            raise ValueError(msg)
        for c, t in text.items():
            t.add(col[c], null.get(c))
        for c, d in ids.items():
            d.add(col[c], null[c])
        for c, e in enums.items():
            e.add(col[c], null.get(c))
        for c in ("lon", "lat"):
            nums[c].append(_floats(col[c]))
        for c in ("machines", "flags"):
            nums[c].append(_int64(col[c]))
    if not nums["lon"]:
        return VenueTable.from_rows([])
    num = {c: np.concatenate(parts) for c, parts in nums.items()}
    area, area_codes = ids["area_code"].done()
    hours, hours_texts = ids["opening_hours"].done()
    return VenueTable(
        code=text["code"].packed(), name=text["name"].packed(),
        kind=enums["kind"].done(), lon=_ro(num["lon"]), lat=_ro(num["lat"]),
        level=enums["level"].done(), chan=enums["channels"].done(),
        area=area, area_codes=area_codes, hours=hours, hours_texts=hours_texts,
        **cast("dict[str, Any]", {c: text[c].opt() for c in _OPT_TEXT}),
        **cast("dict[str, Any]", {c: _ro((num["flags"] >> i) & 1 != 0)
                                  for i, c in enumerate(_FLAGS)}),
        machines=_ro(num["machines"]),
        status=enums["status"].done(),
    )


def link_table(batches: Iterable[Any]) -> LinkTable:
    """Build a :class:`LinkTable` from record batches of :data:`LINKS_SQL`."""
    venue, item = _Text(), _Ids()
    chan = _Enum(lambda u: chan_bits(p for p in u.split(",") if p), np.uint8)
    rows = 0
    for b in batches:
        venue.add(b.column(0), None)
        item.add(b.column(1), None)
        chan.add(b.column(2), None)
        rows += b.num_rows
    if not rows:
        return LinkTable.from_rows([])
    item_ids, item_codes = item.done()
    return LinkTable(venue.packed(), item_ids, item_codes, chan.done())


def _ro(a: NDArray[Any]) -> NDArray[Any]:
    a.flags.writeable = False
    return a


def _int64(arr: Any) -> NDArray[np.int64]:
    import pyarrow as pa  # lazy: pyarrow loads only when a columnar read runs
    if arr.null_count or not pa.types.is_integer(arr.type):
        msg = f"an integer column came as {arr.type} with {arr.null_count} nulls"
        raise TypeError(msg)
    return np.asarray(arr.to_numpy(zero_copy_only=True), dtype=np.int64).copy()


def _floats(arr: Any) -> NDArray[np.float64]:
    import pyarrow as pa  # lazy: pyarrow loads only when a columnar read runs
    if arr.null_count or not pa.types.is_floating(arr.type):
        msg = f"a REAL column came as {arr.type} with {arr.null_count} nulls"
        raise TypeError(msg)
    return np.asarray(arr.to_numpy(zero_copy_only=True), dtype=np.float64).copy()


def _offsets(arr: Any) -> tuple[NDArray[np.int64], Any]:
    """Return the ``n + 1`` offsets (int64) and data buffer of a string array without nulls."""
    import pyarrow as pa  # lazy: pyarrow loads only when a columnar read runs
    if arr.null_count:
        msg = "a coalesced text column has a NULL"
        raise TypeError(msg)
    if pa.types.is_string(arr.type):
        width: Any = np.int32
    elif pa.types.is_large_string(arr.type):
        width = np.int64
    else:
        msg = f"a text column came as {arr.type}"
        raise TypeError(msg)
    bufs = arr.buffers()
    offs = np.frombuffer(bufs[1], dtype=width)[arr.offset:arr.offset + len(arr) + 1]
    return offs.astype(np.int64), bufs[2]


class _Text:
    """A text column gathered batch by batch: its UTF-8 bytes and the byte size of each row.

    A NULL row (read as ``''``, flagged apart) has no bytes, so the same blob
    serves the dense form (offsets over every row, ``missing`` mask) and the
    sparse one (offsets over the rows with a value).
    """

    def __init__(self) -> None:
        self.blobs: list[NDArray[np.uint8]] = []
        self.sizes: list[NDArray[np.int64]] = []
        self.nulls: list[NDArray[np.bool_]] = []

    def add(self, arr: Any, null: NDArray[np.bool_] | None) -> None:
        offs, data = _offsets(arr)
        lo, hi = int(offs[0]), int(offs[-1])
        self.blobs.append(np.frombuffer(data, dtype=np.uint8)[lo:hi].copy()
                          if data is not None and hi > lo else np.zeros(0, np.uint8))
        self.sizes.append(np.diff(offs))
        self.nulls.append(np.zeros(len(arr), bool) if null is None else null)

    def _blob(self) -> NDArray[np.uint8]:
        blob = np.concatenate(self.blobs) if self.blobs else np.zeros(0, np.uint8)
        self.blobs = []
        return _ro(blob)

    @staticmethod
    def _cum(sizes: NDArray[np.int64]) -> NDArray[np.int64]:
        offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        return _ro(offsets)

    def packed(self) -> PackedText:
        """Return every row as a :class:`PackedText` (``missing`` where NULL)."""
        null = np.concatenate(self.nulls)
        sizes = np.concatenate(self.sizes)
        return PackedText(self._blob(), self._cum(sizes),
                          _ro(null) if null.any() else None)

    def opt(self) -> OptText:
        """Return the column in :meth:`OptText.of`'s form (dense or sparse)."""
        null = np.concatenate(self.nulls)
        n = len(null)
        present = ~null
        if np.count_nonzero(present) * 2 > n:
            return OptText(self.packed(), None, n)
        rows = np.flatnonzero(present).astype(np.int32 if n < 2**31 else np.int64)
        sizes = np.concatenate(self.sizes)[present]
        return OptText(PackedText(self._blob(), self._cum(sizes)), _ro(rows), n)


def _encode(arr: Any, null: NDArray[np.bool_] | None) -> tuple[NDArray[np.intp], list[str]]:
    """Return ids (-1 where ``null``) and the batch's distinct values, first seen first."""
    import pyarrow as pa  # lazy: pyarrow loads only when a columnar read runs
    import pyarrow.compute as pc  # lazy: as above
    _offsets(arr)  # type check: text without NULLs
    if null is not None and null.any():
        arr = pc.if_else(pa.array(null), pa.scalar(None, arr.type), arr)
    enc = arr.dictionary_encode()
    idx = np.asarray(enc.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.intp)
    return idx, [str(u) for u in enc.dictionary.to_pylist()]


class _Ids:
    """An id column gathered batch by batch: ids into the distinct values, first seen first."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        self.parts: list[NDArray[np.int32]] = []

    def add(self, arr: Any, null: NDArray[np.bool_] | None) -> None:
        idx, uniq = _encode(arr, null)
        remap = np.array([self.seen.setdefault(u, len(self.seen)) for u in uniq] + [-1],
                         dtype=np.int32)
        self.parts.append(remap[idx])  # id -1 picks the trailing -1

    def done(self) -> tuple[NDArray[np.int32], tuple[str, ...]]:
        ids = np.concatenate(self.parts) if self.parts else np.zeros(0, np.int32)
        return _ro(ids), tuple(self.seen)


class _Enum:
    """An enum (or channel set) column gathered batch by batch as codes (-1 where NULL)."""

    def __init__(self, code: Callable[[str], int], dtype: Any = np.int8) -> None:
        self.code, self.dtype = code, dtype
        self.known: dict[str, int] = {}
        self.parts: list[NDArray[Any]] = []

    def add(self, arr: Any, null: NDArray[np.bool_] | None) -> None:
        idx, uniq = _encode(arr, null)
        for u in uniq:
            if u not in self.known:
                try:
                    self.known[u] = self.code(u)
                except (KeyError, ValueError) as exc:
                    msg = f"not a known code: {u!r}"
                    raise ValueError(msg) from exc
        lookup = np.array([self.known[u] for u in uniq] + [-1], dtype=np.int64)
        self.parts.append(lookup[idx].astype(self.dtype))

    def done(self) -> NDArray[Any]:
        return _ro(np.concatenate(self.parts) if self.parts else np.zeros(0, self.dtype))


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
