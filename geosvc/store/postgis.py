"""The production store: PostgreSQL + PostGIS, same semantics as the SQLite store.

``postgresql://user:password@host:5432/db`` (``postgres://`` and ``postgis://``
too; ``?schema=NAME`` picks the PostgreSQL schema, default ``geosvc``, so one
database can hold several datasets).  Needs the ``postgis`` extra (psycopg 3).

* Geometries live in PostGIS columns, SRID 4326, so GIS tools (QGIS, ogr2ogr)
  read the tables directly: ``venues.geom geometry(Point)`` with a GiST index,
  ``areas.geom geometry(MultiPolygon)``, ``population.geom geometry(Point)``
  and ``population.cell geometry(Geometry)``.  lon/lat are read back with
  ``ST_X``/``ST_Y``: the database is the source of truth.
* Every write is ONE transaction that first locks the ``revision`` row of
  ``meta`` (writers queue), upserts by code with ``UPDATE``/``INSERT`` (never
  delete+insert, which would cascade to links), bumps ``revision`` once when
  something changed, and commits; any failure rolls all of it back.
* :meth:`PostGISStore.read` runs in one ``REPEATABLE READ`` transaction, so a
  reader sees the revision and the rows of one committed state.
* The schema (and ``CREATE EXTENSION IF NOT EXISTS postgis``) is created on
  first open, and migrated in place when older, in one transaction under an
  advisory lock (:mod:`geosvc.store.migrations`); ``meta.schema_version``
  versions it.
* One connection per thread (and per process: a forked worker opens its own).

Areas given as a single ``POLYGON`` are stored as a one-part MultiPolygon and
read back as a ``POLYGON``.  WKT comes back in shapely's form (``geom.wkt``,
full precision), which is also the form the importer writes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict

from geosvc.errors import ConfigError, InvalidParameter, StorageUnavailable
from geosvc.model import Area, Level, PopulationCell
from geosvc.store import migrations
from geosvc.store._postgis_schema import (
    AREA_SELECT,
    ITEM_COLS,
    POINT,
    POP_SELECT,
    VENUE_COLS,
    VENUE_SELECT,
    WKB,
    area_rows,
    copy_row,
    pop_rows,
    wkt_of,
)
from geosvc.store._rows import (
    change_counts,
    channel_names,
    check_batch,
    item_row,
    key_last,
    link_row,
    split_changes,
    stale_links,
    venue_row,
)
from geosvc.store._sql import UID_KEY, SQLStore, write_bundles
from geosvc.store.base import Batch, TableCounts, WriteResult

#: PostgreSQL schema of a dataset when the URL names none.
DEFAULT_SCHEMA = "geosvc"

_IDENT = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def split_url(url: str) -> tuple[str, str, str]:
    """Return ``(libpq conninfo URL, schema, location without password)``.

    Examples
    --------
    >>> split_url("postgis://ann:secret@db.example:5433/city?schema=xc&sslmode=require")
    ('postgresql://ann:secret@db.example:5433/city?sslmode=require', 'xc', 'postgresql://ann@db.example:5433/city?schema=xc')
    >>> split_url("postgresql://localhost/city")[1:]
    ('geosvc', 'postgresql://localhost/city')
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [v for k, v in query if k == "schema"]
    schema = schemas[-1] if schemas else DEFAULT_SCHEMA
    if not _IDENT.fullmatch(schema):
        msg = (f"`db` schema {schema!r} must be a lower-case SQL name "
               "(letters, digits, underscores; not starting with a digit)")
        raise ConfigError(msg)
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    conninfo = urlunsplit(("postgresql", parts.netloc, parts.path, rest, ""))
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError as exc:
        msg = f"`db` is not a valid PostgreSQL URL ({exc})"
        raise ConfigError(msg) from exc
    user = params.get("user")
    host = str(params.get("host") or "localhost")
    where = f"[{host}]" if ":" in host else host
    port = params.get("port")
    netloc = (f"{user}@" if user else "") + where + (f":{port}" if port else "")
    location = urlunsplit(("postgresql", netloc, f"/{params.get('dbname', '')}",
                           "" if schema == DEFAULT_SCHEMA else f"schema={schema}", ""))
    return conninfo, schema, location


class PostGISStore(SQLStore):
    """A dataset in a PostgreSQL + PostGIS database (see the module docstring).

    Parameters
    ----------
    url : str
        ``postgresql://user:password@host:port/dbname[?schema=NAME&libpq options]``.
    create : bool
        Create the extension, schema and tables when missing; with False a
        database without a geosvc dataset raises :class:`StorageUnavailable`.
    connect_timeout_s : int
        Give up connecting after this many seconds (unless the URL sets
        ``connect_timeout``).

    Raises
    ------
    ConfigError
        The URL or its schema name is malformed.
    StorageUnavailable
        The server is unreachable, refuses the login, lacks PostGIS, or holds
        no / a newer geosvc schema.  The message names host and database,
        never the password.
    """

    _BACKEND = "postgis"
    _VENUES_SQL = f"SELECT {VENUE_SELECT} FROM venues ORDER BY seq"
    _ITEMS_SQL = f"SELECT {', '.join(ITEM_COLS)} FROM items ORDER BY seq"
    _LINKS_SQL = "SELECT venue_code, item_code, channels FROM links ORDER BY seq"
    _DRIVER_ERROR = psycopg.Error
    _BEGIN_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
    _SEQ = "seq"
    _STAMP_UID_SQL = ("INSERT INTO meta (key, value) VALUES (%s, %s) "
                      "ON CONFLICT (key) DO NOTHING")
    _CLOSED = "was closed"
    _KEPT_META = ("revision", "schema_version", UID_KEY)

    def __init__(self, url: str, *, create: bool = True, connect_timeout_s: int = 10) -> None:
        self._conninfo, self.schema, self.location = split_url(url)
        password = conninfo_to_dict(self._conninfo).get("password")
        self._password = None if password is None else str(password)
        self._timeout = None if "connect_timeout" in self._conninfo else connect_timeout_s
        self._create = create
        self._orphans: list[psycopg.Connection] = []
        self._start()
        self._open()

    # ------------------------------------------------------------------ plumbing

    def _fail(self, reason: str, exc: BaseException | None = None) -> NoReturn:
        msg = f"the PostgreSQL store {self.location} {reason}"
        if self._password:
            msg = msg.replace(self._password, "***")
        raise StorageUnavailable(msg) from exc

    @staticmethod
    def _why(exc: BaseException) -> str:
        return " ".join(str(exc).split())

    def _connect(self) -> psycopg.Connection:
        kwargs: dict[str, Any] = {"autocommit": True, "application_name": "geosvc"}
        if self._timeout is not None:
            kwargs["connect_timeout"] = self._timeout
        try:
            conn = psycopg.connect(self._conninfo, **kwargs)
        except psycopg.Error as exc:
            self._fail(f"is unreachable ({self._why(exc)})", exc)
        try:
            ext = conn.execute("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                               "ON n.oid = e.extnamespace WHERE e.extname = 'postgis'"
                               ).fetchone()
            path = [self.schema, ext[0] if ext else "public"]
            conn.execute("SELECT set_config('search_path', %s, false)",
                         (", ".join(f'"{p}"' for p in dict.fromkeys(path)),))
        except psycopg.Error as exc:
            conn.close()
            self._fail(f"cannot be used ({self._why(exc)})", exc)
        return conn

    def _abandon(self, conns: list[psycopg.Connection]) -> None:
        """Keep a forked worker's inherited sessions referenced, never closed nor used."""
        self._orphans.extend(conns)

    def _alive(self, conn: psycopg.Connection) -> bool:
        return not (conn.closed or conn.broken)

    def _init_schema(self, conn: psycopg.Connection) -> None:
        try:
            version = self._version(conn)
            if version == migrations.latest():
                return
            if version is not None and version > migrations.latest():
                self._fail(self._newer(version))  # refused before taking the lock
            with conn.transaction():
                # Concurrent openers queue here; the first creates or migrates.
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('geosvc schema ' || %s))",
                             (self.schema,))
                self._migrate(conn)
        except psycopg.errors.InsufficientPrivilege as exc:
            self._fail("cannot be set up: the user may not create the postgis extension, "
                       f"the schema {self.schema!r} or its tables ({self._why(exc)}); ask an "
                       "administrator to run CREATE EXTENSION postgis, or to open the "
                       "store once with the schema owner's role", exc)
        except psycopg.Error as exc:
            self._fail(f"cannot be set up ({self._why(exc)})", exc)

    def _migrate(self, conn: psycopg.Connection) -> None:
        """Create the schema or bring it to the latest version (in the caller's transaction)."""
        latest = migrations.latest()
        version = self._version(conn)
        if version is None:
            if not self._create:
                self._fail(f"holds no geosvc dataset in schema {self.schema!r}; "
                           "create it with `geosvc import ...`")
            self._prepare_schema(conn)
            version = 0
        if version > latest:  # a newer geosvc migrated it meanwhile
            self._fail(self._newer(version))
        todo = migrations.pending(version)
        for migration in todo:
            try:
                migrations.run_steps(conn, migration.postgis)
            except psycopg.Error as exc:
                self._fail(self._migration_failed(version, migration, self._why(exc)), exc)
        if todo:
            migrations.record(conn, backend="postgis", before=version, applied=todo,
                              now=datetime.now(UTC))
            conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', %s) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                         (str(latest),))

    def _version(self, conn: psycopg.Connection) -> int | None:
        meta = conn.execute("SELECT to_regclass(%s)", (f'"{self.schema}".meta',)).fetchone()
        if meta is None or meta[0] is None:
            return None
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            self._fail(f"has a table {self.schema}.meta that is not a geosvc dataset "
                       "(no schema_version)")
        return int(row[0])

    def _prepare_schema(self, conn: psycopg.Connection) -> None:
        """Create the postgis extension (when missing) and the dataset's schema."""
        ext = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone()
        if ext is None:
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public")
            except psycopg.errors.FeatureNotSupported as exc:
                self._fail(f"has no PostGIS installed on the server ({self._why(exc)})", exc)
            except psycopg.errors.UndefinedFile as exc:
                self._fail(f"has no PostGIS installed on the server ({self._why(exc)})", exc)
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
        conn.execute("SELECT set_config('search_path', %s, true)",
                     (f'"{self.schema}", public',))

    def _transaction(self, work: Callable[[psycopg.Connection], Any]) -> Any:
        """Run ``work(conn)`` in one transaction; return its result."""
        conn = self._conn()
        try:
            with conn.transaction():
                return work(conn)
        except psycopg.Error as exc:
            self._fail(f"cannot be written ({self._why(exc)}); nothing was written", exc)

    # ------------------------------------------------------------------ reads

    def areas(self) -> list[Area]:
        """Return every area (WKT, WGS-84) in insertion order."""
        return [Area(code, name, wkt_of(wkb, single=single), Level(level), pop)
                for code, name, level, wkb, single, pop
                in self._rows(f"SELECT {AREA_SELECT} FROM areas ORDER BY seq")]

    def population(self) -> list[PopulationCell]:
        """Return every population cell in insertion order."""
        return [PopulationCell(lon, lat, count, wkt_of(wkb), code)
                for code, lon, lat, count, wkb
                in self._rows(f"SELECT {POP_SELECT} FROM population ORDER BY id")]

    def _where(self) -> str:
        return f"{self.location}|{self.schema}"

    def _read_ended(self, conn: psycopg.Connection) -> bool:
        """Return whether :meth:`read` may COMMIT on ``conn`` (not when it broke)."""
        return not conn.broken

    # ------------------------------------------------------------------ writes

    def write(self, batch: Batch, *, dry_run: bool = False) -> WriteResult:
        """Apply ``batch`` in one transaction (see :meth:`Store.write`).

        Order: info, items, venues, links, areas, population, bundles (a batch with
        venues first brings ``venue_kinds`` in line with the vocabulary).  The
        transaction starts by locking ``meta``'s revision row, so concurrent writers queue;
        readers keep seeing the last committed state.  With ``dry_run`` it runs
        to the end (constraints included) and is rolled back.
        """
        check_batch(batch)
        for what, records in (("venue", batch.venues), ("population cell", batch.population)):
            bad = next((r for r in records if not (math.isfinite(r.lon)
                                                   and math.isfinite(r.lat))), None)
            if bad is not None:
                name = getattr(bad, "code", None)
                msg = (f"has {what} {name!r} with a lon/lat that is not a finite number; "
                       "nothing was written")
                raise InvalidParameter("batch", msg)
        areas = [area_rows(a) for a in batch.areas]
        cells = [pop_rows(p) for p in batch.population]
        conn = self._conn()
        try:
            with conn.transaction(force_rollback=dry_run):
                row = conn.execute(  # the lock the write guard is checked under
                    "SELECT value FROM meta WHERE key = 'revision' FOR UPDATE").fetchone()
                if row is None:
                    self._fail("has no revision in its meta table; nothing was written")
                result, revision = self._write_revision(
                    conn, int(row[0]), dry_run=dry_run,
                    apply=lambda: self._apply(conn, batch, areas, cells))
        except (psycopg.IntegrityError, psycopg.DataError) as exc:
            msg = (f"violates a constraint of the store ({self._why(exc)}); "
                   "nothing was written")
            raise InvalidParameter("batch", msg) from exc
        except psycopg.Error as exc:
            self._fail(f"cannot be written ({self._why(exc)}); nothing was written", exc)
        return replace(result, revision=revision, dry_run=dry_run)

    def _apply(self, conn: psycopg.Connection, batch: Batch, areas: list[tuple[tuple, tuple]],
               cells: list[tuple[tuple, tuple]]) -> WriteResult:
        info_changed = self._apply_meta(conn, batch)
        items = [item_row(i, flag=bool) for i in batch.items]
        venues = [venue_row(v, flag=bool, channels=channel_names) for v in batch.venues]
        tables = {
            "items": self._upsert(conn, "items", ITEM_COLS, ["%s"] * len(ITEM_COLS),
                                  f"SELECT {', '.join(ITEM_COLS)} FROM items",
                                  [(r, r) for r in items]),
            "venues": self._upsert(conn, "venues", VENUE_COLS,
                                   [POINT if c == "geom" else "%s" for c in VENUE_COLS],
                                   f"SELECT {VENUE_SELECT} FROM venues",
                                   [(r, r) for r in venues]),
            "links": self._write_links(conn, batch),
            "areas": self._upsert(conn, "areas",
                                  ("code", "name", "level", "geom", "single", "population"),
                                  ["%s", "%s", "%s", WKB, "%s", "%s"],
                                  f"SELECT {AREA_SELECT} FROM areas", areas,
                                  convert=lambda r: (*r[:3], wkt_of(r[3], single=r[4]),
                                                     *r[4:])),
            "population": self._write_population(conn, batch, cells),
            "bundles": write_bundles(conn, batch.bundles, param="%s"),
        }
        return WriteResult(tables=tables, info_changed=info_changed)

    @staticmethod
    def _executemany(conn: psycopg.Connection, sql: str, rows: list[tuple]) -> None:
        with conn.cursor() as cur:
            cur.executemany(sql, rows)

    @staticmethod
    def _upsert(conn: psycopg.Connection, table: str, cols: Sequence[str],
                placeholders: Sequence[str], select: str, rows: list[tuple[tuple, tuple]],
                *, nkey: int = 1, convert: Any = None) -> TableCounts:
        """Insert new / update changed rows; ``rows`` holds (comparable, parameters)."""
        if not rows:
            return TableCounts()
        keys = [cmp[:nkey] for cmp, _ in rows]
        where = " AND ".join(f"{c} = %s" for c in cols[:nkey])
        if nkey == 1:
            found = conn.execute(f"{select} WHERE {cols[0]} = ANY(%s)",
                                 ([k[0] for k in keys],)).fetchall()
        else:
            found = conn.execute(select).fetchall()
        existing = {r[:nkey]: (convert(r) if convert else r) for r in found}
        created, updated = split_changes(rows, existing, nkey)
        with conn.cursor() as cur:
            if created and all(p in ("%s", POINT) for p in placeholders):
                # COPY is several times faster than INSERTs for a bulk import;
                # a point goes as EWKT with repr() floats (exact round trip).
                points = [i for i, p in enumerate(placeholders) if p == POINT]
                with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    for row in created:
                        copy.write_row(copy_row(row, points))
            elif created:
                cur.executemany(f"INSERT INTO {table} ({', '.join(cols)}) "
                                f"VALUES ({', '.join(placeholders)})", created)
            if updated:
                sets = ", ".join(f"{c} = {p}" for c, p in
                                 zip(cols[nkey:], placeholders[nkey:], strict=True))
                width = sum(p.count("%s") for p in placeholders[:nkey])
                cur.executemany(f"UPDATE {table} SET {sets} WHERE {where}",
                                [key_last(p, width) for p in updated])
        return change_counts(len(rows), len(created), len(updated))

    def _write_links(self, conn: psycopg.Connection, batch: Batch) -> TableCounts:
        rows = [link_row(k, channels=channel_names) for k in batch.links]
        counts = self._upsert(conn, "links", ("venue_code", "item_code", "channels"),
                              ["%s"] * 3, "SELECT venue_code, item_code, channels FROM links",
                              [(r, r) for r in rows], nkey=2)
        deleted = 0
        replaced = sorted(set(batch.replace_links_for))
        if replaced:
            keep = {(r[0], r[1]) for r in rows}
            stale = stale_links(conn.execute(
                "SELECT venue_code, item_code FROM links WHERE venue_code = ANY(%s)",
                (replaced,)), replaced, keep)
            with conn.cursor() as cur:
                cur.executemany("DELETE FROM links WHERE venue_code = %s AND item_code = %s",
                                stale)
            deleted = len(stale)
        return replace(counts, deleted=deleted)

    @staticmethod
    def _write_population(conn: psycopg.Connection, batch: Batch,
                          cells: list[tuple[tuple, tuple]]) -> TableCounts:
        def insert() -> None:
            with conn.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO population (code, geom, count, cell) "
                    f"VALUES (%s, {POINT}, %s, {WKB})", [p for _, p in cells])

        if not batch.replace_population:
            if cells:
                insert()
            return TableCounts(created=len(cells))
        old = [(c, x, y, n, wkt_of(w)) for c, x, y, n, w in conn.execute(
            f"SELECT {POP_SELECT} FROM population ORDER BY id")]
        if old == [cmp for cmp, _ in cells]:
            return TableCounts(unchanged=len(cells))
        conn.execute("DELETE FROM population")
        if cells:
            insert()
        return TableCounts(created=len(cells), deleted=len(old))

    def __repr__(self) -> str:
        return f"PostGISStore({self.location!r})"
