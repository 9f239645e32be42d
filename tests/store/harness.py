"""What the store contract suite needs to know about each backend, beyond the Store API.

One :class:`Harness` per entry of :data:`geosvc.store.BACKENDS` (the contract
suite checks that every registered backend has one): how to name a fresh,
empty dataset, how to make a copy of the schema-v1 fixture, and raw views of a
database that bypass the store (and so never migrate it): its schema version,
a normalised description of its schema, every stored row, its migration log.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import uuid
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import psycopg

from geosvc.store.postgis import split_url

from .postgis_server import Server
from .v1_fixture import SQLITE_V1, load_postgis_v1

#: Tables holding data (``meta`` first), as the v1 schema has them.
DATA_TABLES = ("meta", "items", "venues", "links", "areas", "population")


def new_schema() -> str:
    """Return a fresh PostgreSQL schema name (one dataset per test)."""
    return f"t_{uuid.uuid4().hex[:12]}"


def _squash(sql: str | None) -> str | None:
    return None if sql is None else re.sub(r"\s+", " ", sql).strip()


class Harness(ABC):
    """Backend-specific test plumbing (see the module docstring)."""

    name: str

    @abstractmethod
    def fresh_url(self) -> str:
        """Return the URL of a new, empty dataset."""

    @abstractmethod
    def v1_url(self) -> str:
        """Return the URL of a new copy of the schema-v1 fixture (not yet migrated)."""

    @abstractmethod
    def version(self, url: str) -> int | None:
        """Return the schema version stored in the database (None when there is none)."""

    @abstractmethod
    def set_version(self, url: str, version: int) -> None:
        """Overwrite the stored schema version."""

    @abstractmethod
    def schema(self, url: str) -> list[tuple]:
        """Return a normalised, sorted description of tables, columns, constraints, indexes."""

    @abstractmethod
    def rows(self, url: str) -> dict[str, list[tuple]]:
        """Return every row of :data:`DATA_TABLES` in storage order.

        ``meta`` leaves out ``schema_version``, which a migration changes.
        """

    @abstractmethod
    def log(self, url: str) -> list[tuple[int, str, bool]] | None:
        """Return ``schema_migrations`` as ``(number, description, has applied_at)``."""

    def snapshot(self, url: str) -> Any:
        """Return everything that must not change when a migration fails."""
        return (self.version(url), self.schema(url), self.rows(url), self.log(url))


class SQLiteHarness(Harness):
    """Datasets are files in a temporary directory, named by ``sqlite:///`` URLs."""

    name = "sqlite"

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path

    def _path(self, url: str) -> Path:
        return Path(url.removeprefix("sqlite:///"))

    def fresh_url(self) -> str:
        """Return ``sqlite:///<tmp>/<new>.sqlite`` (absolute: four slashes)."""
        return f"sqlite:///{self.tmp_path / f'{uuid.uuid4().hex[:8]}.sqlite'}"

    def v1_url(self) -> str:
        """Copy ``v1.sqlite`` to a new file."""
        url = self.fresh_url()
        shutil.copyfile(SQLITE_V1, self._path(url))
        return url

    def _query(self, url: str, sql: str) -> list[tuple]:
        conn = sqlite3.connect(self._path(url))
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    def version(self, url: str) -> int | None:
        """Return ``PRAGMA user_version``."""
        return self._query(url, "PRAGMA user_version")[0][0]

    def set_version(self, url: str, version: int) -> None:
        """Set ``PRAGMA user_version``."""
        conn = sqlite3.connect(self._path(url))
        conn.execute(f"PRAGMA user_version = {int(version)}")
        conn.commit()
        conn.close()

    def schema(self, url: str) -> list[tuple]:
        """Return ``sqlite_master`` with whitespace-normalised SQL."""
        return sorted((t, n, tbl, _squash(sql)) for t, n, tbl, sql in self._query(
            url, "SELECT type, name, tbl_name, sql FROM sqlite_master"))

    def rows(self, url: str) -> dict[str, list[tuple]]:
        """Return ``rowid, *`` of every data table by rowid."""
        return {t: self._query(url, f"SELECT rowid, * FROM {t} ORDER BY rowid")
                for t in DATA_TABLES}

    def log(self, url: str) -> list[tuple[int, str, bool]] | None:
        """Return the migration log, None when the table does not exist."""
        if not self._query(url, "SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'"):
            return None
        return [(n, d, a is not None) for n, d, a in self._query(
            url, "SELECT number, description, applied_at FROM schema_migrations ORDER BY 1")]

    def snapshot(self, url: str) -> Any:
        """Add the file's bytes: a failed migration must not change one of them."""
        return (self._path(url).read_bytes(), super().snapshot(url))


class PostGISHarness(Harness):
    """Datasets are PostgreSQL schemas of the session's test server."""

    name = "postgresql"

    def __init__(self, server: Server) -> None:
        self.server = server

    def fresh_url(self) -> str:
        """Return the URL of a new schema (created by the store on first open)."""
        return self.server.url_for(new_schema())

    def v1_url(self) -> str:
        """Load ``v1_postgis.sql`` into a new schema."""
        schema = new_schema()
        with psycopg.connect(self.server.url, autocommit=True) as conn:
            load_postgis_v1(conn, schema)
        return self.server.url_for(schema)

    def _query(self, url: str, sql: str, params: tuple = ()) -> list[tuple]:
        conninfo, schema, _ = split_url(url)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("SELECT set_config('search_path', %s, false)",
                         (f'"{schema}", public',))
            return conn.execute(sql, params).fetchall()

    def version(self, url: str) -> int | None:
        """Return ``meta.schema_version``."""
        rows = self._query(url, "SELECT value FROM meta WHERE key = 'schema_version'")
        return int(rows[0][0]) if rows else None

    def set_version(self, url: str, version: int) -> None:
        """Overwrite ``meta.schema_version``."""
        self._query(url, "UPDATE meta SET value = %s WHERE key = 'schema_version' RETURNING 1",
                    (str(version),))

    def schema(self, url: str) -> list[tuple]:
        """Return columns, constraints, indexes and geometry columns of the dataset's schema."""
        _, schema, _ = split_url(url)
        columns = self._query(url, (
            "SELECT 'column', table_name, column_name, ordinal_position, data_type, udt_name, "
            "is_nullable, coalesce(column_default, ''), is_identity "
            "FROM information_schema.columns WHERE table_schema = %s"), (schema,))
        constraints = self._query(url, (
            "SELECT 'constraint', c.relname, k.conname, pg_get_constraintdef(k.oid) "
            "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s"), (schema,))
        indexes = self._query(url, (
            "SELECT 'index', tablename, indexname, replace(indexdef, %s, 'S') "
            "FROM pg_indexes WHERE schemaname = %s"), (f'"{schema}".', schema))
        indexes = [(k, t, n, d.replace(f"{schema}.", "S.")) for k, t, n, d in indexes]
        geometry = self._query(url, (
            "SELECT 'geometry', f_table_name, f_geometry_column, type, srid "
            "FROM geometry_columns WHERE f_table_schema = %s"), (schema,))
        return sorted([*columns, *constraints, *indexes, *geometry], key=repr)

    def rows(self, url: str) -> dict[str, list[tuple]]:
        """Return every row (geometries as hex EWKB) in storage order."""
        order = {"meta": "key", "population": "id"}
        out = {t: self._query(url, f"SELECT * FROM {t} ORDER BY {order.get(t, 'seq')}")
               for t in DATA_TABLES}
        out["meta"] = [r for r in out["meta"] if r[0] != "schema_version"]
        return out

    def log(self, url: str) -> list[tuple[int, str, bool]] | None:
        """Return the migration log, None when the table does not exist."""
        if self._query(url, "SELECT to_regclass('schema_migrations')")[0][0] is None:
            return None
        return [(n, d, a is not None) for n, d, a in self._query(
            url, "SELECT number, description, applied_at FROM schema_migrations ORDER BY 1")]
