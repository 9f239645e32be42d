"""The SQLite store's columnar read: venues and links as Arrow arrays, filled in C.

The first read of a revision (before the snapshot cache holds it) used to go
through Python's ``sqlite3`` module, which makes one Python object per value.
Here the ADBC SQLite driver (``adbc-driver-sqlite``) fills Arrow arrays in C
and they become the table's columns without a per-value object: numbers via
``to_numpy``, strings as :class:`~geosvc.table.PackedText` straight from the
Arrow buffers (an Arrow string array already is a UTF-8 blob and offsets),
enum, channel and id columns via ``dictionary_encode`` (only the few distinct
values are decoded).

The driver infers each column's type from the values of its first batch (a
NULL-only first batch gives int64, and a string later raises), so the queries
never hand it a NULL: every nullable column is read as ``coalesce(x, ...)``
with a separate ``x IS NULL`` flag.  Nothing is ``CAST`` (a cast would turn a
stray value into another silently): a value of another storage class than its
column's (text in ``machines``, a BLOB in a text column) makes the driver or the
type checks here raise, and the read falls back.  The read runs in its own read
transaction and is used only when it sees the revision the caller's
``sqlite3`` transaction saw; on any failure :func:`read_columns` returns None
and the caller reads with ``sqlite3`` (correctness never depends on ADBC).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from geosvc.model import Level, Status, VenueKind
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


def _venues_sql() -> str:
    cols = [_text(c) for c in _TEXT_REQUIRED + _TEXT_OPTIONAL]
    cols += [f"{c} IS NULL AS {c}__null" for c in _TEXT_OPTIONAL + ("status",)]
    cols += ["lon", "lat", f"coalesce(machines, {NO_INT}) AS machines", *_FLAGS]
    return f"SELECT {', '.join(cols)} FROM venues ORDER BY rowid"


VENUES_SQL = _venues_sql()
LINKS_SQL = "SELECT venue_code, item_code, channels FROM links ORDER BY rowid"


def read_columns(path: Path, revision: int) -> tuple[VenueTable, LinkTable] | None:
    """Read every venue and link of the SQLite file at ``path`` as columns.

    Returns None (and logs why) when the driver is missing or fails, or when
    its read transaction sees another revision than ``revision``.
    """
    try:
        import adbc_driver_sqlite.dbapi as adbc  # lazy: optional fast path, cold reads only
    except ImportError as exc:
        log.info("%s: columnar read unavailable (%s); reading with sqlite3", path, exc)
        return None
    try:
        conn = adbc.connect(f"{path.resolve().as_uri()}?mode=ro", autocommit=True)
    except Exception as exc:  # noqa: BLE001 - any driver failure means: use sqlite3
        log.info("%s: ADBC cannot open the file (%s); reading with sqlite3", path, exc)
        return None
    try:
        with conn.cursor() as cur:
            cur.execute("BEGIN")
            try:
                cur.execute("SELECT value FROM meta WHERE key = 'revision'")
                row = cur.fetchone()
                seen = int(row[0]) if row else -1
                if seen != revision:
                    log.info("%s: revision moved (%d, then %d); reading with sqlite3",
                             path, revision, seen)
                    return None
                venues = venue_table(_fetch(cur, VENUES_SQL))
                links = link_table(_fetch(cur, LINKS_SQL))
            finally:
                cur.execute("COMMIT")
        return venues, links
    except Exception as exc:  # noqa: BLE001 - any driver or type failure: use sqlite3
        log.info("%s: columnar read failed (%s: %s); reading with sqlite3",
                 path, type(exc).__name__, exc)
        return None
    finally:
        conn.close()


def _fetch(cur: Any, sql: str) -> Any:
    """Run ``sql`` and return its rows as one Arrow table."""
    cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
    cur.execute(sql)
    return cur.fetch_arrow_table()


# ---------------------------------------------------------------------- arrow -> columns
def venue_table(t: Any) -> VenueTable:
    """Build a :class:`VenueTable` from an Arrow table of :data:`VENUES_SQL`."""
    if t.num_rows == 0:
        return VenueTable.from_rows([])
    col = {name: _one(t.column(name)) for name in t.column_names}
    null = {c: _bools(col[f"{c}__null"]) for c in _OPT_TEXT + ("level", "area_code",
                                                                  "opening_hours", "status")}
    if null["status"].any():
        msg = "a NULL status (derived on the sqlite3 path)"
        raise ValueError(msg)
    kind = _enum(col["kind"], None, lambda u: KIND_CODE[VenueKind(u)], "kind")
    level = _enum(col["level"], null["level"], lambda u: LEVEL_CODE[Level(u)], "level")
    status = _enum(col["status"], None, lambda u: STATUS_CODE[Status(u)], "status")
    idx, uniq = _dict(col["channels"], None)
    chan = np.array([chan_bits(p for p in u.split(",") if p) for u in uniq],
                    dtype=np.uint8)[idx]
    area, area_codes = _ids(col["area_code"], null["area_code"])
    hours, hours_texts = _ids(col["opening_hours"], null["opening_hours"])
    return VenueTable(
        code=_packed(col["code"]), name=_packed(col["name"]),
        kind=_ro(kind), lon=_ro(_floats(col["lon"])), lat=_ro(_floats(col["lat"])),
        level=_ro(level), chan=_ro(chan),
        area=_ro(area), area_codes=area_codes,
        hours=_ro(hours), hours_texts=hours_texts,
        **cast("dict[str, Any]", {c: _opt(col[c], null[c]) for c in _OPT_TEXT}),
        **cast("dict[str, Any]", {c: _ro(_int64(col[c]) != 0) for c in _FLAGS}),
        machines=_ro(_int64(col["machines"])),
        status=_ro(status),
    )


def link_table(t: Any) -> LinkTable:
    """Build a :class:`LinkTable` from an Arrow table of :data:`LINKS_SQL`."""
    if t.num_rows == 0:
        return LinkTable.from_rows([])
    item, item_codes = _ids(_one(t.column("item_code")), None)
    idx, uniq = _dict(_one(t.column("channels")), None)
    chan = np.array([chan_bits(p for p in u.split(",") if p) for u in uniq],
                    dtype=np.uint8)[idx]
    return LinkTable(_packed(_one(t.column("venue_code"))), _ro(item), item_codes, _ro(chan))


def _one(chunked: Any) -> Any:
    """Return a chunked column as one Arrow array (no copy when it has one chunk)."""
    import pyarrow as pa  # lazy: pyarrow loads only when a columnar read runs
    if isinstance(chunked, pa.ChunkedArray):
        return chunked.combine_chunks() if chunked.num_chunks != 1 else chunked.chunk(0)
    return chunked


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


def _bools(arr: Any) -> NDArray[np.bool_]:
    return _int64(arr) != 0


def _strings(arr: Any) -> Any:
    """``arr`` as a large_string array without nulls (a type the driver never changes)."""
    import pyarrow as pa  # lazy: pyarrow loads only when a columnar read runs
    if arr.null_count:
        msg = "a coalesced text column has a NULL"
        raise TypeError(msg)
    if pa.types.is_large_string(arr.type):
        return arr
    if pa.types.is_string(arr.type):
        return arr.cast(pa.large_string())
    msg = f"a text column came as {arr.type}"
    raise TypeError(msg)


def _packed(arr: Any, missing: NDArray[np.bool_] | None = None) -> PackedText:
    """Return a (large_)string array as a PackedText (its data and offsets, copied once)."""
    s = _strings(arr)
    n = len(s)
    offs = np.frombuffer(s.buffers()[1], dtype=np.int64)[s.offset:s.offset + n + 1]
    data = s.buffers()[2]
    lo, hi = (int(offs[0]), int(offs[-1])) if n else (0, 0)
    blob = (np.frombuffer(data, dtype=np.uint8)[lo:hi].copy() if data is not None and hi > lo
            else np.zeros(0, dtype=np.uint8))
    offsets = offs - lo if lo else offs.copy()
    if missing is not None and not missing.any():
        missing = None
    return PackedText(_ro(blob), _ro(offsets.astype(np.int64, copy=False)),
                      None if missing is None else _ro(missing.copy()))


def _opt(arr: Any, null: NDArray[np.bool_]) -> OptText:
    """Return an optional text column in :meth:`OptText.of`'s form (dense or sparse)."""
    import pyarrow as pa  # lazy: pyarrow loads only when a columnar read runs
    present = ~null
    n = len(arr)
    if np.count_nonzero(present) * 2 > n:
        return OptText(_packed(arr, null), None, n)
    rows = np.flatnonzero(present).astype(np.int32 if n < 2**31 else np.int64)
    values = _packed(_strings(arr).filter(pa.array(present)))
    return OptText(values, _ro(rows), n)


def _dict(arr: Any, null: NDArray[np.bool_] | None) -> tuple[NDArray[np.intp], list[str]]:
    """Ids (-1 where ``null``) and the distinct values, in order of first appearance."""
    import pyarrow as pa  # lazy: pyarrow loads only when a columnar read runs
    import pyarrow.compute as pc  # lazy: as above
    s = _strings(arr)
    if null is not None and null.any():
        s = pc.if_else(pa.array(null), pa.scalar(None, s.type), s)
    enc = s.dictionary_encode()
    idx = np.asarray(enc.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.intp)
    return idx, [str(u) for u in enc.dictionary.to_pylist()]


def _ids(arr: Any, null: NDArray[np.bool_] | None) -> tuple[NDArray[np.int32],
                                                             tuple[str, ...]]:
    idx, uniq = _dict(arr, null)
    return idx.astype(np.int32), tuple(uniq)


def _enum(arr: Any, null: NDArray[np.bool_] | None, code: Any, what: str) -> NDArray[np.int8]:
    """Enum codes of a text column (-1 where ``null``); an unknown value raises."""
    idx, uniq = _dict(arr, null)
    try:
        lookup = np.array([code(u) for u in uniq] + [-1], dtype=np.int8)
    except (KeyError, ValueError) as exc:
        msg = f"a {what} that is not one: {exc}"
        raise ValueError(msg) from exc
    return lookup[idx]
