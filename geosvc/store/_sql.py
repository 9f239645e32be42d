"""What the SQL backends share above their driver: reads, the write's revision, ``close``.

Both backends keep one connection per thread (and per process) and a
``meta`` table holding ``revision`` and the dataset settings; a subclass
provides :meth:`SQLStore._conn` (this thread's connection), :meth:`SQLStore._fail`
(raise :class:`~geosvc.errors.StorageUnavailable` naming the store), its
schema set-up and the small driver hooks annotated below (the driver's
exception class, how a read transaction begins, the venues' insertion-order
column).
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from geosvc.errors import StorageUnavailable
from geosvc.model import Bundle, DatasetInfo, Link, ServiceItem, Venue
from geosvc.store import migrations
from geosvc.store._rows import (
    bundle_rows,
    bundles_from,
    info_from,
    info_meta,
    items_from,
    links_from,
    venues_from,
)
from geosvc.store.access import KeyTables, record_write, table_counts
from geosvc.store.base import TABLES, Batch, Contents, Store, TableCounts, WriteResult
from geosvc.table import LinkTable, VenueTable

if TYPE_CHECKING:
    from pathlib import Path

    from geosvc.store.snapcache import SnapshotCache

log = logging.getLogger(__name__)

#: Rows converted to columns at a time when reading venues and links.
_CHUNK_ROWS = 65_536
#: The ``meta`` key of a random id stamped once per store (kept by every write):
#: with the store's location it names the store in a snapshot cache.
UID_KEY = "dataset_uid"
_BUNDLES_SQL = "SELECT code, name, name_en, description FROM bundles ORDER BY code"
_BUNDLE_ITEMS_SQL = ("SELECT bundle_code, item_code FROM bundle_items "
                     "ORDER BY bundle_code, position")


def write_bundles(conn: Any, bundles: Sequence[Bundle], *, param: str) -> TableCounts:
    """Upsert ``bundles`` with their item lists inside the caller's transaction.

    A bundle whose row or item list differs from the stored one is updated
    (its ``bundle_items`` rows replaced); ``param`` is the driver's
    placeholder (``?`` or ``%s``).  Works on any DB-API connection with
    ``execute`` (sqlite3, psycopg).
    """
    if not bundles:
        return TableCounts()
    stored = {b.code: b for b in bundles_from(conn.execute(_BUNDLES_SQL).fetchall(),
                                              conn.execute(_BUNDLE_ITEMS_SQL).fetchall())}
    created = updated = 0
    p4 = ", ".join([param] * 4)
    for bundle in bundles:
        old = stored.get(bundle.code)
        if old == bundle:
            continue
        row, members = bundle_rows(bundle)
        if old is None:
            conn.execute(f"INSERT INTO bundles (code, name, name_en, description) "
                         f"VALUES ({p4})", row)
            created += 1
        else:
            conn.execute(f"UPDATE bundles SET name = {param}, name_en = {param}, "
                         f"description = {param} WHERE code = {param}", (*row[1:], row[0]))
            conn.execute(f"DELETE FROM bundle_items WHERE bundle_code = {param}", (row[0],))
            updated += 1
        for member in members:
            conn.execute("INSERT INTO bundle_items (bundle_code, position, item_code) "
                         f"VALUES ({param}, {param}, {param})", member)
    return TableCounts(created=created, updated=updated,
                       unchanged=len(bundles) - created - updated)


def _chunks(cursor: Any, size: int = _CHUNK_ROWS) -> Iterator[list[tuple]]:
    """Yield the rows of a DB-API cursor in lists of at most ``size``."""
    while rows := cursor.fetchmany(size):
        yield rows


class SQLStore(KeyTables, Store):
    """A :class:`Store` over SQL tables ``meta`` and :data:`TABLES`; keys and audit log."""

    _lock: threading.Lock
    _local: threading.local
    _conns: list[Any]
    _pid: int
    _closed: bool
    #: SELECTs of every venue, item and link in insertion order, in the row
    #: forms of :mod:`geosvc.store._rows`.
    _VENUES_SQL: ClassVar[str]
    _ITEMS_SQL: ClassVar[str]
    _LINKS_SQL: ClassVar[str]
    #: The driver's base exception class (``sqlite3.Error``, ``psycopg.Error``).
    _DRIVER_ERROR: ClassVar[type[Exception]]
    #: The statement opening :meth:`read`'s transaction.
    _BEGIN_READ: ClassVar[str]
    #: The column numbering venues in insertion order (``rowid``, ``seq``).
    _SEQ: ClassVar[str]
    #: Insert ``meta`` row (:data:`UID_KEY`, uid) unless there is one.
    _STAMP_UID_SQL: ClassVar[str]
    #: The ``meta`` keys that are not dataset settings (kept when the info is replaced).
    _KEPT_META: ClassVar[tuple[str, ...]] = ("revision", UID_KEY)

    #: The :meth:`_fail` reason of a use after :meth:`close`.
    _CLOSED: ClassVar[str]

    @abstractmethod
    def _connect(self) -> Any:
        """Open and set up a new connection (:meth:`_fail` when it cannot)."""

    @abstractmethod
    def _fail(self, reason: str, exc: BaseException | None = None) -> NoReturn:
        """Raise :class:`StorageUnavailable` naming the store, then ``reason``."""

    @abstractmethod
    def _init_schema(self, conn: Any) -> None:
        """Create the schema on ``conn`` or migrate it to the latest version."""

    @staticmethod
    def _why(exc: BaseException) -> str:
        """Return the driver's message of ``exc`` for a :meth:`_fail` reason."""
        return str(exc)

    def _conn(self) -> Any:
        """Return this thread's connection (opened on first use; a fresh one after a fork)."""
        if self._closed:
            self._fail(self._CLOSED)
        if os.getpid() != self._pid:
            # A forked worker must not use (nor close) its parent's connections.
            with self._lock:
                self._pid = os.getpid()
                self._abandon(self._conns)
                self._conns = []
                self._local = threading.local()
        conn = getattr(self._local, "conn", None)
        if conn is None or not self._alive(conn):
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    def _abandon(self, conns: list[Any]) -> None:
        """Drop the connections a forked worker inherited (a backend may keep them)."""
        del conns

    def _alive(self, conn: Any) -> bool:
        """Return whether this thread's ``conn`` can still be used (else a new one opens)."""
        del conn
        return True

    def _read_ended(self, conn: Any) -> bool:
        """Return whether :meth:`read` may end its transaction on ``conn`` (not broken)."""
        del conn
        return True

    def _start(self) -> None:
        """Set up the per-thread connection bookkeeping (before the first :meth:`_conn`)."""
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns = []
        self._pid = os.getpid()
        self._closed = False

    def _open(self) -> None:
        """Create or migrate the schema on this thread's connection; close all on failure."""
        try:
            self._init_schema(self._conn())
        except StorageUnavailable:
            self.close()
            raise

    @staticmethod
    def _newer(version: int) -> str:
        return (f"has schema version {version}, newer than this geosvc understands "
                f"({migrations.latest()}); upgrade geosvc")

    @staticmethod
    def _migration_failed(version: int, migration: migrations.Migration,
                          why: object) -> str:
        what = (f"cannot be created (migration {migration.number}" if version == 0 else
                f"cannot be migrated from schema version {version} to "
                f"{migrations.latest()} (migration {migration.number}")
        kept = "" if version == 0 else f"; it was left unchanged at version {version}"
        return f"{what}, {migration.description!r}, failed: {why}){kept}"

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Run one query on this thread's connection and return every row."""
        try:
            return self._conn().execute(sql, params).fetchall()
        except self._DRIVER_ERROR as exc:
            self._fail(f"cannot be read ({self._why(exc)})", exc)

    def _stamp_uid(self, uid: str) -> None:
        """Insert ``meta`` row :data:`UID_KEY` = ``uid`` unless there is one (own statement)."""
        try:
            self._conn().execute(self._STAMP_UID_SQL, (UID_KEY, uid))
        except self._DRIVER_ERROR as exc:
            self._fail(f"cannot be written ({self._why(exc)})", exc)

    def _where(self) -> str:
        """Where the store lives, for :meth:`cache_identity` (a server's URL and schema)."""
        return self.location

    def _identity(self, uid: str | None) -> str | None:
        return None if not uid else f"{self._BACKEND}|{self._where()}|{uid}"

    def cache_identity(self) -> str | None:
        """Return the store's location and stamped random id (None before a stamp)."""
        rows = self._rows(f"SELECT value FROM meta WHERE key = '{UID_KEY}'")
        return self._identity(rows[0][0] if rows else None)

    def _ensure_uid(self) -> None:
        """Stamp the store's random id once (a store that cannot be written is not cached)."""
        if self.cache_identity() is None:
            try:
                self._stamp_uid(uuid.uuid4().hex)
            except StorageUnavailable as exc:
                log.info("%s: not cached (no id stamped: %s)", self.location, exc)

    def revision(self) -> int:
        """Return the number of committed changing writes so far."""
        return int(self._rows("SELECT value FROM meta WHERE key = 'revision'")[0][0])

    def info(self) -> DatasetInfo:
        """Return the dataset's settings (defaults for keys never set)."""
        return info_from(self._rows("SELECT key, value FROM meta"))

    def venues(self) -> list[Venue]:
        """Return every venue in insertion order (an update keeps its place)."""
        return venues_from(self._rows(self._VENUES_SQL))

    def items(self) -> list[ServiceItem]:
        """Return every service item in insertion order."""
        return items_from(self._rows(self._ITEMS_SQL))

    def links(self) -> list[Link]:
        """Return every link in insertion order."""
        return links_from(self._rows(self._LINKS_SQL))

    def bundles(self) -> list[Bundle]:
        """Return every bundle by code, with its items in order."""
        return bundles_from(self._rows(_BUNDLES_SQL), self._rows(_BUNDLE_ITEMS_SQL))

    def read(self, cache: SnapshotCache | None = None) -> Contents:
        """Read revision, info, venues, items and links in one read transaction.

        With ``cache`` the venue and link columns come from (or go to) the
        snapshot cache of the revision read (:mod:`geosvc.store.snapcache`).
        """
        if cache is not None:
            self._ensure_uid()
        conn = self._conn()
        try:
            conn.execute(self._BEGIN_READ)
            try:
                def q(sql: str) -> Any:
                    return conn.execute(sql)  # a cursor: fetchall / fetchmany

                contents = self._contents(q, cache)
            finally:
                if self._read_ended(conn):
                    conn.execute("COMMIT")
        except self._DRIVER_ERROR as exc:
            self._fail(f"cannot be read ({self._why(exc)})", exc)
        return contents

    def _contents(self, q: Callable[[str], Any],
                  cache: SnapshotCache | None = None) -> Contents:
        """Read :class:`Contents` with ``q`` (a query's cursor, in the caller's transaction).

        Venues and links are read as columns (:mod:`geosvc.table`), in chunks
        of rows: no Venue or Link object is made; or, with ``cache``, mapped
        from its files of the revision read here (written there when absent,
        then mapped back so this process too holds the shared files, not a
        private copy).
        """
        meta = q("SELECT key, value FROM meta").fetchall()
        revision = int(dict(meta)["revision"])
        identity = self._identity(dict(meta).get(UID_KEY)) if cache is not None else None
        if cache is not None and identity is not None:
            venues, links, where = self._cached_columns(q, revision, cache, identity)
        else:
            (venues, links), where = self._columns(q, revision), None
        items = items_from(q(self._ITEMS_SQL).fetchall())
        bundles = bundles_from(q(_BUNDLES_SQL).fetchall(), q(_BUNDLE_ITEMS_SQL).fetchall())
        return Contents(revision, info_from(meta), venues, items, links, bundles, where)

    def _cached_columns(self, q: Callable[[str], Any], revision: int, cache: SnapshotCache,
                        identity: str) -> tuple[VenueTable, LinkTable, Path | None]:
        """Return the columns of ``revision`` mapped from ``cache``, filled there when absent.

        The fill (the rows read, the files written) runs under the revision's
        fill lock (:meth:`SnapshotCache.filling`): a second process reading the
        same revision meanwhile waits, then maps what the first published
        instead of reading the rows too.  Stores known to be smaller than
        ``cache.min_venues`` (:meth:`_venues_bound`) are read without it.
        """
        cached = cache.load(identity, revision)
        if cached is not None:
            return (*cached, cache.path(identity, revision))
        bound = self._venues_bound(q)
        if bound is not None and bound < cache.min_venues:
            return (*self._columns(q, revision), None)  # not cached: nothing to share
        with cache.filling(identity, revision) as lock:
            if lock.held:
                cached = cache.load(identity, revision)  # published by the one we waited for
                if cached is not None:
                    log.info("%s: revision %s mapped from the snapshot cache another process "
                             "filled (waited %.1f s)", self.location, revision, lock.waited_s)
                    return (*cached, cache.path(identity, revision))
            return self._fill_columns(q, revision, cache, identity)

    def _fill_columns(self, q: Callable[[str], Any], revision: int, cache: SnapshotCache,
                      identity: str) -> tuple[VenueTable, LinkTable, Path | None]:
        """Read the columns of ``revision``, write them to ``cache`` and map them back.

        A backend whose reader writes the cache's files itself (in another
        process, :meth:`_columns_writer`) never holds the columns here first;
        otherwise they are read with :meth:`_columns`, written, then mapped
        back so this process too holds the shared files, not a private copy.
        """
        writer = self._columns_writer(q, revision, identity, cache.min_venues)
        if writer is not None:
            not_read = False  # the writer's reader failed (logged): do not start it again

            def tracked(tmp: Path) -> bool:
                nonlocal not_read
                read = writer(tmp)
                not_read = not read
                return read

            where = cache.fill(identity, revision, tracked)
            cached = None if where is None else cache.load(identity, revision)
            if cached is not None and where is not None:
                return (*cached, where)
            venues, links = (SQLStore._columns(self, q, revision) if not_read  # plain rows
                             else self._columns(q, revision))
        else:
            venues, links = self._columns(q, revision)
        where = cache.save(identity, revision, venues, links)
        mapped = None if where is None else cache.load(identity, revision)
        if mapped is not None:  # hold the shared, lazily paged files, not private copies
            venues, links = mapped
        return venues, links, where

    def _venues_bound(self, q: Callable[[str], Any]) -> int | None:
        """Return the largest venue :attr:`_SEQ` in ``q``'s read (>= the count; one lookup)."""
        return int(q(f"SELECT max({self._SEQ}) FROM venues").fetchone()[0] or 0)

    def venues_bound(self) -> int | None:
        """Return the largest venue :attr:`_SEQ` (>= the venue count; one index lookup)."""
        return int(self._rows(f"SELECT max({self._SEQ}) FROM venues")[0][0] or 0)

    def _columns_writer(self, q: Callable[[str], Any], revision: int, identity: str,
                        min_venues: int) -> Callable[[Path], bool] | None:
        """Return a writer of the columns of ``revision`` as a snapshot cache directory.

        ``writer(where)`` writes the files into the (empty) directory ``where``
        and returns whether it could.  None when this backend (or this read,
        e.g. one of fewer than ``min_venues`` venues) has none: the columns
        are then read with :meth:`_columns` and written from here.
        """
        del q, revision, identity, min_venues
        return None

    def _columns(self, q: Callable[[str], Any],
                 revision: int) -> tuple[VenueTable, LinkTable]:
        """Read every venue and link of ``revision`` as columns (chunks of ``q``'s rows).

        A backend with a columnar reader overrides this (SQLite: Arrow via ADBC).
        """
        del revision  # the rows of q are those of the caller's transaction
        venues = VenueTable.concat([VenueTable.from_rows(rows)
                                    for rows in _chunks(q(self._VENUES_SQL))])
        links = LinkTable.concat([LinkTable.from_rows(rows)
                                  for rows in _chunks(q(self._LINKS_SQL))])
        return venues, links

    def _write_revision(self, conn: Any, revision: int, *, dry_run: bool,
                        apply: Callable[[], WriteResult]) -> tuple[WriteResult, int]:
        """Run ``apply()`` in the caller's write transaction; return its result and revision.

        ``revision`` is the stored one, read under the write lock.  The write
        guard (:meth:`guarded`) is checked first; the revision is bumped once
        when anything changed (not for a dry run), and a guarded write logs
        its ``audit_log`` row with the table counts before and after.
        """
        guard = self._write_guard
        before = revision
        if guard is not None:
            guard.check(revision)  # If-Match, under the write lock
            counts = table_counts(conn, TABLES)
        result = apply()
        if result.changed and not dry_run:
            revision += 1
            conn.execute(f"UPDATE meta SET value = {self._p} WHERE key = 'revision'",
                         (str(revision),))
        if guard is not None and not dry_run:
            record_write(conn, self._BACKEND, guard, before=before, after=revision,
                         result=result, counts_before=counts,
                         counts_after=table_counts(conn, TABLES))
        return result, revision

    def _apply_meta(self, conn: Any, batch: Batch) -> bool:
        """Start applying ``batch`` (caller's transaction): kinds first, then the info.

        A batch with venues first brings ``venue_kinds`` in line with the
        vocabulary (:func:`~geosvc.store.migrations.sync_venue_kinds`); the
        batch's info, when given, then replaces the stored settings.  Returns
        whether the info changed.
        """
        if batch.venues:
            migrations.sync_venue_kinds(conn, param=self._p)
        if batch.info is None:
            return False
        new = info_meta(batch.info, conn.execute("SELECT key, value FROM meta"))
        if new is None:
            return False
        kept = ", ".join(f"'{key}'" for key in self._KEPT_META)
        conn.execute(f"DELETE FROM meta WHERE key NOT IN ({kept})")
        self._executemany(conn, f"INSERT INTO meta (key, value) VALUES ({self._p}, {self._p})",
                          list(new.items()))
        return True

    @staticmethod
    def _executemany(conn: Any, sql: str, rows: list[tuple]) -> None:
        """Run ``sql`` once per row of ``rows`` on ``conn``."""
        conn.executemany(sql, rows)

    def counts(self) -> dict[str, int]:
        """Return the number of rows per table."""
        sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in TABLES)
        return {t: int(n) for t, n in self._rows(sql)}

    def set_info(self, info: DatasetInfo) -> None:
        """Replace the dataset's settings (bumps the revision when they change)."""
        self.write(Batch(info=info))

    def close(self) -> None:
        """Close every connection this store opened (in this process)."""
        with self._lock:
            conns, self._conns = self._conns, []
            self._closed = True
            self._local = threading.local()
        if os.getpid() == self._pid:
            for conn in conns:
                conn.close()
