"""What the SQL backends share above their driver: the simple reads and ``close``.

Both backends keep one connection per thread (and per process) and a
``meta`` table holding ``revision`` and the dataset settings; a subclass
provides :meth:`SQLStore._rows` (one query on this thread's connection,
driver errors turned into :class:`~geosvc.errors.StorageUnavailable`) and the
connection bookkeeping attributes annotated below.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from geosvc.errors import StorageUnavailable
from geosvc.model import Bundle, DatasetInfo, Link, ServiceItem, Venue
from geosvc.store._rows import (
    bundle_rows,
    bundles_from,
    info_from,
    items_from,
    links_from,
    venues_from,
)
from geosvc.store.access import KeyTables
from geosvc.store.base import TABLES, Batch, Contents, Store, TableCounts
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

    @abstractmethod
    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Run one query on this thread's connection and return every row."""

    @abstractmethod
    def _stamp_uid(self, uid: str) -> None:
        """Insert ``meta`` row :data:`UID_KEY` = ``uid`` unless there is one (own statement)."""

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
        """Return a cheap upper bound of the venue count (in ``q``'s read), or None.

        None (the default): unknown without counting; a backend with a cheap
        bound (SQLite: the largest rowid) overrides it.
        """
        del q
        return None

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
