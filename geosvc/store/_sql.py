"""What the SQL backends share above their driver: the simple reads and ``close``.

Both backends keep one connection per thread (and per process) and a
``meta`` table holding ``revision`` and the dataset settings; a subclass
provides :meth:`SQLStore._rows` (one query on this thread's connection,
driver errors turned into :class:`~geosvc.errors.StorageUnavailable`) and the
connection bookkeeping attributes annotated below.
"""

from __future__ import annotations

import os
import threading
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

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

#: Rows converted to columns at a time when reading venues and links.
_CHUNK_ROWS = 65_536
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

    def _contents(self, q: Callable[[str], Any]) -> Contents:
        """Read :class:`Contents` with ``q`` (a query's cursor, in the caller's transaction).

        Venues and links are read as columns (:mod:`geosvc.table`), in chunks
        of rows: no Venue or Link object is made.
        """
        meta = q("SELECT key, value FROM meta").fetchall()
        venues = VenueTable.concat([VenueTable.from_rows(rows)
                                    for rows in _chunks(q(self._VENUES_SQL))])
        items = items_from(q(self._ITEMS_SQL).fetchall())
        links = LinkTable.concat([LinkTable.from_rows(rows)
                                  for rows in _chunks(q(self._LINKS_SQL))])
        bundles = bundles_from(q(_BUNDLES_SQL).fetchall(), q(_BUNDLE_ITEMS_SQL).fetchall())
        return Contents(int(dict(meta)["revision"]), info_from(meta), venues, items, links,
                        bundles)

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
