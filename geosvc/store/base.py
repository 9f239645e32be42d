"""The store interface: what every persistence backend of geosvc provides.

A store holds one dataset: venues, service items, venue-item links, areas,
population cells and the dataset's :class:`~geosvc.model.DatasetInfo`.
Coordinates are WGS-84 lon/lat degrees; geometries are WKT in WGS-84.

Reads return plain domain objects (lists, in a stable order).  Writes go
through :meth:`Store.write` with a :class:`Batch`, which a backend applies in
ONE transaction: either everything in the batch is committed or nothing is.
:meth:`Store.revision` grows with every committed write that changed
something, so a server can tell when to rebuild its in-memory snapshot.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from geosvc.model import Area, Bundle, DatasetInfo, Link, PopulationCell, ServiceItem, Venue

if TYPE_CHECKING:
    from geosvc.store.access import WriteGuard
    from geosvc.store.snapcache import SnapshotCache

#: Table names, in the order a batch is applied (dependencies first).
TABLES: tuple[str, ...] = ("items", "venues", "links", "areas", "population", "bundles")


@dataclass(frozen=True)
class Batch:
    """Everything one write applies, in one transaction.

    Attributes
    ----------
    venues, items, areas : sequences
        Upserted by ``code`` (a new code is created, a known code updated in
        place; an identical row counts as unchanged).
    links : sequence of Link
        Upserted by ``(venue_code, item_code)``.  Both codes must exist in the
        store or in this batch.
    population : sequence of PopulationCell
        Appended, or with ``replace_population`` replacing every stored cell.
    replace_population : bool
        Replace the whole population layer by ``population``.
    replace_links_for : collection of str
        Venue codes whose stored links are replaced by the links of this batch
        (links of those venues absent from the batch are deleted).
    info : DatasetInfo or None
        When given, the dataset's settings are replaced in the same transaction.
    bundles : sequence of Bundle
        Upserted by ``code``, each with its whole item list (replaced when it
        differs); every item must exist in the store or in this batch.
    """

    venues: Sequence[Venue] = ()
    items: Sequence[ServiceItem] = ()
    links: Sequence[Link] = ()
    areas: Sequence[Area] = ()
    population: Sequence[PopulationCell] = ()
    replace_population: bool = False
    replace_links_for: Collection[str] = ()
    info: DatasetInfo | None = None
    bundles: Sequence[Bundle] = ()


@dataclass(frozen=True)
class TableCounts:
    """What a write did (or would do) to one table."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    @property
    def changed(self) -> bool:
        """True when rows were created, updated or deleted."""
        return bool(self.created or self.updated or self.deleted)


@dataclass(frozen=True)
class WriteResult:
    """Counts per table of one :meth:`Store.write`.

    Attributes
    ----------
    tables : dict of str to TableCounts
        One entry per table in :data:`TABLES`.
    revision : int
        The store revision after the write (unchanged for a dry run or a
        write that changed nothing).
    dry_run : bool
        True when the transaction was rolled back on purpose.
    info_changed : bool
        True when the batch's :class:`DatasetInfo` differed from the stored one.
    """

    tables: dict[str, TableCounts] = field(default_factory=dict)
    revision: int = 0
    dry_run: bool = False
    info_changed: bool = False

    def __getitem__(self, table: str) -> TableCounts:
        return self.tables.get(table, TableCounts())

    @property
    def changed(self) -> bool:
        """True when anything was (or would be) changed."""
        return self.info_changed or any(c.changed for c in self.tables.values())


@dataclass(frozen=True)
class Contents:
    """Venues, items, links, bundles and info of one revision, read consistently.

    The SQL stores give ``venues`` as a :class:`~geosvc.table.VenueTable` and
    ``links`` as a :class:`~geosvc.table.LinkTable` (columns; both are also
    sequences of Venue / Link, made per row visited).
    """

    revision: int
    info: DatasetInfo
    venues: Sequence[Venue]
    items: list[ServiceItem]
    links: Sequence[Link]
    bundles: list[Bundle] = field(default_factory=list)
    #: The snapshot cache directory of this revision when the columns were
    #: mapped from or written to one (:mod:`geosvc.store.snapcache`), else None.
    cache_dir: Path | None = None


class Store(ABC):
    """A dataset store; use as a context manager or call :meth:`close`.

    Implementations must be safe to use from several threads of one process
    and from several processes at once (server workers read while an import
    writes); readers see either the state before or after a write, never part
    of it.
    """

    #: Human-readable location (a path or a URL without password).
    location: str = ""
    #: Set by :meth:`guarded`: what the next writes check and log.
    _write_guard: WriteGuard | None = None

    @contextmanager
    def guarded(self, guard: WriteGuard) -> Iterator[Store]:
        """Make the writes inside the ``with`` block check and log ``guard``.

        Each :meth:`write` then checks ``guard.expect_revision`` under its
        write lock (:class:`~geosvc.errors.PreconditionFailed`, nothing
        written) and, unless a dry run, logs one ``audit_log`` row in its own
        transaction (:mod:`geosvc.store.access`).  Use the store from one
        thread while guarded.
        """
        self._write_guard = guard
        try:
            yield self
        finally:
            self._write_guard = None

    @abstractmethod
    def info(self) -> DatasetInfo:
        """Return the dataset's settings (defaults when never set)."""

    @abstractmethod
    def set_info(self, info: DatasetInfo) -> None:
        """Replace the dataset's settings (one transaction)."""

    @abstractmethod
    def venues(self) -> list[Venue]:
        """Return every venue, in a stable order."""

    @abstractmethod
    def items(self) -> list[ServiceItem]:
        """Return every service item, in a stable order."""

    @abstractmethod
    def links(self) -> list[Link]:
        """Return every venue-item link, in a stable order."""

    @abstractmethod
    def bundles(self) -> list[Bundle]:
        """Return every 一件事 bundle (by code) with its items in order."""

    @abstractmethod
    def areas(self) -> list[Area]:
        """Return every area (WKT in WGS-84)."""

    @abstractmethod
    def population(self) -> list[PopulationCell]:
        """Return every population cell."""

    @abstractmethod
    def revision(self) -> int:
        """Return a number that grows with every committed change."""

    @abstractmethod
    def write(self, batch: Batch, *, dry_run: bool = False) -> WriteResult:
        """Apply ``batch`` in one transaction; with ``dry_run`` roll it back.

        Raises
        ------
        InvalidParameter
            Named ``batch``, when the batch violates a constraint of the store
            (e.g. a link to a venue that exists nowhere); nothing is written.
        StorageUnavailable
            The store cannot be written (busy, read-only, gone).
        """

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Return the number of rows per table of :data:`TABLES`."""

    @abstractmethod
    def close(self) -> None:
        """Release connections; the store must not be used afterwards."""

    def cache_identity(self) -> str | None:
        """Return what names this store in a :class:`~geosvc.store.snapcache.SnapshotCache`.

        None (the default): the backend is not cached.  Two stores with the
        same identity and revision must hold the same venues and links.
        """
        return None

    def venues_bound(self) -> int | None:
        """Return a cheap upper bound of the number of venues, or None when unknown.

        For deciding without counting whether a store is big enough to cache
        (SQLite: the largest rowid; PostGIS: the largest ``seq``; one index
        lookup); None (the default): no cheap bound.
        """
        return None

    def read(self, cache: SnapshotCache | None = None) -> Contents:
        """Read revision, info, venues, items and links consistently.

        Backends override this to read in one transaction; the default reads
        the revision before and after and retries when a write came between.
        ``cache``: the SQL backends take the venue and link columns of the
        revision they read from it when there, and write them there when
        not, under the revision's fill lock (another process filling it
        meanwhile is waited for, then its files are mapped;
        :mod:`geosvc.store.snapcache`); others ignore it.
        """
        for _ in range(5):
            before = self.revision()
            contents = Contents(
                before, self.info(), self.venues(), self.items(), self.links(),
                self.bundles()
            )
            if self.revision() == before:
                return contents
        return contents

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
