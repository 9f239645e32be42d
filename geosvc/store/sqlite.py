"""The embedded SQLite store: one file holds a whole dataset.

* WAL journal, so server workers keep reading while an import writes; readers
  see the state before or after a write, never part of it.
* Foreign keys on (links reference venues and items, ``ON DELETE CASCADE``).
* Every write is one ``BEGIN IMMEDIATE`` transaction; any failure rolls all of
  it back.  Upserts use ``UPDATE``/``INSERT`` (never ``INSERT OR REPLACE``,
  which would delete the row and cascade to its links).
* The schema is versioned with ``PRAGMA user_version``, created on first open
  and migrated in place when older (:mod:`geosvc.store.migrations`: one
  transaction, foreign keys off around it and checked before the commit).
* One connection per thread (and per process: a forked worker opens its own),
  with a busy timeout, so several threads and processes can share the file.

Coordinates are WGS-84 degrees; geometries WKT in WGS-84.  Channels are stored
as a sorted comma-separated string (``"self_service,window"``).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from geosvc.errors import InvalidParameter, StorageUnavailable
from geosvc.model import Area, PopulationCell
from geosvc.store import _arrow, migrations
from geosvc.store._rows import (
    ITEM_COLS,
    LEVELS,
    area_population,
    change_counts,
    check_batch,
    item_row,
    key_last,
    link_row,
    pop_row,
    split_changes,
    stale_links,
    venue_row,
)
from geosvc.store._sql import SQLStore, write_bundles
from geosvc.store.base import Batch, TableCounts, WriteResult
from geosvc.table import LinkTable, VenueTable

_VENUE_COLS = ("code", "name", "kind", "lon", "lat", "level", "channels", "area_code",
               "area_name", "address", "phone", "opening_hours", "official_calendar",
               "accessible", "cross_province", "regional", "bank", "machines", "name_en",
               "source", "status")
_AREA_COLS = ("code", "name", "level", "wkt", "population")
_POP_COLS = ("code", "lon", "lat", "count", "wkt")


def _area_row(a: Area) -> tuple:
    return (a.code, a.name, str(a.level), a.wkt, area_population(a))


def _pop_row(p: PopulationCell) -> tuple:
    return pop_row(p, p.wkt)


class SQLiteStore(SQLStore):
    """A dataset in one SQLite file (see the module docstring).

    Parameters
    ----------
    path : str or Path
        The database file.
    create : bool
        Create the file and its schema when missing.
    busy_timeout_s : float
        How long a connection waits for another writer before giving up, seconds.

    Raises
    ------
    StorageUnavailable
        The file is missing (with ``create=False``), cannot be opened, is not a
        SQLite database, is not a geosvc dataset, or has a newer schema.
    """

    _BACKEND = "sqlite"
    _VENUES_SQL = f"SELECT {', '.join(_VENUE_COLS)} FROM venues ORDER BY rowid"
    _ITEMS_SQL = f"SELECT {', '.join(ITEM_COLS)} FROM items ORDER BY rowid"
    _LINKS_SQL = "SELECT venue_code, item_code, channels FROM links ORDER BY rowid"
    _DRIVER_ERROR = sqlite3.Error
    _BEGIN_READ = "BEGIN"
    _SEQ = "rowid"
    _STAMP_UID_SQL = "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)"
    _CLOSED = "store was closed"
    #: Venues (by the largest rowid) from which a read goes columnar (:mod:`._arrow`).
    COLUMNAR_MIN_ROWS = 200_000

    def __init__(
        self, path: str | os.PathLike[str], *, create: bool = True, busy_timeout_s: float = 30.0
    ) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self._create = create
        self._busy_timeout_s = float(busy_timeout_s)
        self._start()
        if not self.path.exists():
            if not create:
                self._fail("does not exist")
            if not self.path.parent.is_dir():
                parent = str(self.path.parent)
                self._fail(f"cannot be created: directory {parent!r} does not exist")
        elif self.path.is_dir():
            self._fail("is a directory, not a database file")
        self._open()

    # ------------------------------------------------------------------ plumbing

    def _fail(self, reason: str, exc: BaseException | None = None) -> NoReturn:
        msg = f"the database {str(self.path)!r} {reason}"
        raise StorageUnavailable(msg) from exc

    def _connect(self) -> sqlite3.Connection:
        try:
            if self._create:
                conn = sqlite3.connect(self.path, timeout=self._busy_timeout_s,
                                       isolation_level=None, check_same_thread=False)
            else:
                uri = self.path.resolve().as_uri() + "?mode=rw"
                conn = sqlite3.connect(uri, uri=True, timeout=self._busy_timeout_s,
                                       isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            self._fail(f"cannot be opened ({exc})", exc)
        return conn

    def _init_schema(self, conn: sqlite3.Connection) -> None:
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == migrations.latest():
                return
            if version > migrations.latest():  # refused before taking the write lock
                self._fail(self._newer(version))
            self._migrate(conn)
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.DatabaseError as exc:
            self._fail(f"cannot be read ({exc})", exc)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Create the schema or bring it to the latest version, in one transaction.

        Foreign keys are off meanwhile (a table rebuild must not cascade; the
        pragma is a no-op inside a transaction) and checked after each migration.
        ``BEGIN IMMEDIATE`` queues concurrent openers; the version is read
        again under it, so only the first one migrates.
        """
        latest = migrations.latest()
        conn.execute("PRAGMA foreign_keys = OFF")
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > latest:  # a newer geosvc migrated it meanwhile
                    self._fail(self._newer(version))
                tables = conn.execute(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
                if version == 0 and tables:
                    self._fail("is a SQLite database but not a geosvc dataset "
                               "(it has tables and no geosvc schema version)")
                todo = migrations.pending(version)
                for migration in todo:
                    try:
                        migrations.run_steps(conn, migration.sqlite)
                    except sqlite3.Error as exc:
                        self._fail(self._migration_failed(version, migration, exc), exc)
                    # checked after each migration, so that the error names the one at fault
                    bad = conn.execute("PRAGMA foreign_key_check").fetchall()
                    if bad:
                        self._fail(self._migration_failed(
                            version, migration, f"foreign keys broken after it: {bad[:3]}"))
                if todo:
                    migrations.record(conn, backend="sqlite", before=version, applied=todo,
                                      now=datetime.now(UTC).isoformat(timespec="seconds"))
                    conn.execute(f"PRAGMA user_version = {latest}")
                conn.execute("COMMIT")
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
        finally:
            conn.execute("PRAGMA foreign_keys = ON")

    def _transaction(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``work(conn)`` in one ``BEGIN IMMEDIATE`` transaction; return its result."""
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                out = work(conn)
                conn.execute("COMMIT")
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            self._fail(f"cannot be written ({exc}); nothing was written", exc)
        return out

    # ------------------------------------------------------------------ reads

    def areas(self) -> list[Area]:
        """Return every area (WKT, WGS-84) in insertion order."""
        return [Area(code, name, wkt, LEVELS[level], pop) for code, name, level, wkt, pop
                in self._rows(f"SELECT {', '.join(_AREA_COLS[:3])}, wkt, population "
                              "FROM areas ORDER BY rowid")]

    def population(self) -> list[PopulationCell]:
        """Return every population cell in insertion order."""
        return [PopulationCell(lon, lat, count, wkt, code) for code, lon, lat, count, wkt
                in self._rows(f"SELECT {', '.join(_POP_COLS)} FROM population ORDER BY id")]

    def _where(self) -> str:
        return str(self.path.resolve())

    def _columns(self, q: Callable[[str], Any],
                 revision: int) -> tuple[VenueTable, LinkTable]:
        """Read venues and links as Arrow columns (:mod:`geosvc.store._arrow`).

        Only from :attr:`COLUMNAR_MIN_ROWS` venues on (the driver's child
        process costs about a second to start; below that sqlite3 is as
        quick).  Falls back to the ``sqlite3`` rows of ``q`` when the columnar
        read cannot run or sees another revision (it logs why).
        """
        top = q("SELECT max(rowid) FROM venues").fetchone()[0] or 0  # O(log n): an upper bound
        read = (_arrow.read_columns(self.path, revision) if top >= self.COLUMNAR_MIN_ROWS
                else None)
        return read if read is not None else super()._columns(q, revision)

    def _columns_writer(self, q: Callable[[str], Any], revision: int, identity: str,
                        min_venues: int) -> Callable[[Path], bool] | None:
        """Return the columnar reader's child writing the snapshot cache files itself.

        From :attr:`COLUMNAR_MIN_ROWS` and ``min_venues`` venues on (by the
        largest rowid, an upper bound of the count): this process never holds
        the columns in memory (it maps them afterwards).  The writer returns
        False when the child fails (the rows are then read as :meth:`_columns`
        reads them).
        """
        top = q("SELECT max(rowid) FROM venues").fetchone()[0] or 0
        if top < max(self.COLUMNAR_MIN_ROWS, min_venues):
            return None
        return lambda where: _arrow.write_columns(self.path, revision, identity, where)

    # ------------------------------------------------------------------ writes

    def write(self, batch: Batch, *, dry_run: bool = False) -> WriteResult:
        """Apply ``batch`` in one ``BEGIN IMMEDIATE`` transaction.

        Order: info, items, venues, links, areas, population, bundles; a batch with
        venues first brings ``venue_kinds`` in line with the vocabulary
        (:func:`~geosvc.store.migrations.sync_venue_kinds`).  With ``dry_run``
        the transaction runs to the end (constraints included) and is rolled
        back.  The revision is bumped once when anything changed.
        """
        check_batch(batch)
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                stored = int(conn.execute(
                    "SELECT value FROM meta WHERE key = 'revision'").fetchone()[0])
                result, revision = self._write_revision(
                    conn, stored, dry_run=dry_run, apply=lambda: self._apply(conn, batch))
                conn.execute("ROLLBACK" if dry_run else "COMMIT")
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
        except sqlite3.IntegrityError as exc:
            msg = f"violates a constraint of the store ({exc}); nothing was written"
            raise InvalidParameter("batch", msg) from exc
        except sqlite3.Error as exc:
            self._fail(f"cannot be written ({exc}); nothing was written", exc)
        return replace(result, revision=revision, dry_run=dry_run)

    def _apply(self, conn: sqlite3.Connection, batch: Batch) -> WriteResult:
        info_changed = self._apply_meta(conn, batch)
        tables = {
            "items": self._upsert(conn, "items", ITEM_COLS, ("code",),
                                  [item_row(i) for i in batch.items]),
            "venues": self._upsert(conn, "venues", _VENUE_COLS, ("code",),
                                   [venue_row(v) for v in batch.venues]),
            "links": self._write_links(conn, batch),
            "areas": self._upsert(conn, "areas", _AREA_COLS, ("code",),
                                  [_area_row(a) for a in batch.areas]),
            "population": self._write_population(conn, batch),
            "bundles": write_bundles(conn, batch.bundles, param="?"),
        }
        return WriteResult(tables=tables, info_changed=info_changed)

    @staticmethod
    def _upsert(conn: sqlite3.Connection, table: str, cols: Sequence[str],
                key: Sequence[str], rows: list[tuple]) -> TableCounts:
        if not rows:
            return TableCounts()
        nkey = len(key)
        existing = {r[:nkey]: r for r in conn.execute(f"SELECT {', '.join(cols)} FROM {table}")}
        created, updated = split_changes(((r, r) for r in rows), existing, nkey)
        if created:
            conn.executemany(
                f"INSERT INTO {table} ({', '.join(cols)}) "
                f"VALUES ({', '.join('?' * len(cols))})",
                created)
        if updated:
            sets = ", ".join(f"{c} = ?" for c in cols[nkey:])
            where = " AND ".join(f"{c} = ?" for c in key)
            conn.executemany(f"UPDATE {table} SET {sets} WHERE {where}",
                             [key_last(r, nkey) for r in updated])
        return change_counts(len(rows), len(created), len(updated))

    def _write_links(self, conn: sqlite3.Connection, batch: Batch) -> TableCounts:
        rows = [link_row(k) for k in batch.links]
        counts = self._upsert(conn, "links", ("venue_code", "item_code", "channels"),
                              ("venue_code", "item_code"), rows)
        deleted = 0
        replaced = set(batch.replace_links_for)
        if replaced:
            keep = {(r[0], r[1]) for r in rows}
            stale = stale_links(conn.execute("SELECT venue_code, item_code FROM links"),
                                replaced, keep)
            conn.executemany("DELETE FROM links WHERE venue_code = ? AND item_code = ?", stale)
            deleted = len(stale)
        return replace(counts, deleted=deleted)

    @staticmethod
    def _write_population(conn: sqlite3.Connection, batch: Batch) -> TableCounts:
        # rows are streamed, never listed: a population raster may have millions of cells
        cells = batch.population
        insert: Callable[[], object] = lambda: conn.executemany(  # noqa: E731
            f"INSERT INTO population ({', '.join(_POP_COLS)}) VALUES (?, ?, ?, ?, ?)",
            map(_pop_row, cells))
        if not batch.replace_population:
            if cells:
                insert()
            return TableCounts(created=len(cells))
        n_old = conn.execute("SELECT count(*) FROM population").fetchone()[0]
        if n_old == len(cells):
            old = conn.execute(f"SELECT {', '.join(_POP_COLS)} FROM population ORDER BY id")
            try:
                same = all(a == b for a, b in zip(old, map(_pop_row, cells), strict=True))
            finally:
                old.close()
            if same:
                return TableCounts(unchanged=n_old)
        conn.execute("DELETE FROM population")
        insert()
        return TableCounts(created=len(cells), deleted=n_old)

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"
