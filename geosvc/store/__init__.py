"""Persistence of a geosvc dataset behind one small interface.

:func:`open_store` picks a backend from the URL scheme, following pygeoapi's
``PLUGINS`` / ``load_plugin`` pattern: :data:`BACKENDS` maps a short name to
the dotted path of a :class:`~geosvc.store.base.Store` class, imported only
when used (so the PostGIS driver is only needed for PostGIS URLs).

* a bare path (``var/city.sqlite``) or ``sqlite:///var/city.sqlite``
  (``sqlite:////abs/path.sqlite`` for an absolute path) -> ``sqlite``,
  :class:`~geosvc.store.sqlite.SQLiteStore` (embedded, the default);
* ``postgresql://user@host/db[?schema=NAME]`` (also ``postgres://``,
  ``postgis://``) -> ``postgresql``,
  :class:`~geosvc.store.postgis.PostGISStore` (production; extra ``postgis``).

:func:`local_path` says which file a store URL names (None for a server).
Every backend passes the same contract suite, ``tests/store/test_store_contract.py``,
which iterates :data:`BACKENDS`.

Migrations
----------
The schema is versioned (SQLite ``PRAGMA user_version``, PostGIS
``meta.schema_version``) and its whole history is the numbered list
:data:`geosvc.store.migrations.MIGRATIONS`; migration 1 is the original
schema.  Opening a store creates a new database by running every migration,
and brings an older one to the latest version in place: all pending
migrations in one transaction (SQLite ``BEGIN IMMEDIATE``, PostgreSQL under an
advisory lock; the version is read again under the lock, so concurrent
openers migrate once), logged in the table ``schema_migrations`` (number,
description, applied_at, geosvc_version).  A failing migration rolls back and
leaves the database untouched at its old version; the open raises
:class:`~geosvc.errors.StorageUnavailable` naming the migration.  A database
newer than the code is refused the same way.  To change the schema, append
one :class:`~geosvc.store.migrations.Migration` (see that module).

Venue kinds are not spelt out in the schema: ``venues.kind`` references the
table ``venue_kinds``, which every venue write keeps equal to
:data:`geosvc.vocab.KINDS` (migration 2).  Adding a venue kind needs no
migration.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol

from geosvc.errors import ConfigError
from geosvc.store.base import TABLES, Batch, Contents, Store, TableCounts, WriteResult

__all__ = [
    "BACKENDS",
    "TABLES",
    "Batch",
    "Contents",
    "Store",
    "TableCounts",
    "WriteResult",
    "local_path",
    "open_store",
]

#: Backend short name -> "module:Class".
BACKENDS: dict[str, str] = {
    "sqlite": "geosvc.store.sqlite:SQLiteStore",
    "postgresql": "geosvc.store.postgis:PostGISStore",
}

_SCHEMES = {"sqlite": "sqlite", "postgresql": "postgresql", "postgres": "postgresql",
            "postgis": "postgresql"}


def _split(url_or_path: str) -> tuple[str, str]:
    """Return ``(backend, target)`` for a store URL or a bare path.

    Examples
    --------
    >>> _split("var/x.sqlite"), _split("sqlite:///var/x.sqlite")
    (('sqlite', 'var/x.sqlite'), ('sqlite', 'var/x.sqlite'))
    >>> _split("sqlite:////tmp/x.sqlite")
    ('sqlite', '/tmp/x.sqlite')
    >>> _split("postgres://u@h/db")
    ('postgresql', 'postgres://u@h/db')
    >>> _split("mysql://h/db")
    Traceback (most recent call last):
    ...
    geosvc.errors.ConfigError: `db` has an unknown store scheme 'mysql'; ...
    """
    if not isinstance(url_or_path, str) or not url_or_path.strip():
        msg = "`db` must name a SQLite file or a store URL (got an empty value)"
        raise ConfigError(msg)
    text = url_or_path.strip()
    if "://" not in text:
        return "sqlite", text
    scheme, _, rest = text.partition("://")
    backend = _SCHEMES.get(scheme.lower())
    if backend is None:
        msg = (f"`db` has an unknown store scheme {scheme!r}; use a SQLite file path, "
               "sqlite:///PATH or postgresql://...")
        raise ConfigError(msg)
    if backend == "sqlite":
        if not rest.startswith("/") or rest == "/":
            msg = f"`db` SQLite URL {text!r} must look like sqlite:///relative/path or sqlite:////abs/path"
            raise ConfigError(msg)
        return "sqlite", rest[1:]
    return backend, text


def local_path(url_or_path: str) -> Path | None:
    """Return the local file behind a store URL or path; None for a database server.

    The one parser of store URLs: a bare path and ``sqlite:///PATH`` name a
    SQLite file, ``postgresql://...`` a server.

    Raises
    ------
    ConfigError
        Empty value, unknown scheme or malformed ``sqlite:`` URL.

    Examples
    --------
    >>> local_path("sqlite:///var/x.sqlite").as_posix(), local_path("var/y.sqlite").name
    ('var/x.sqlite', 'y.sqlite')
    >>> local_path("postgresql://u@h/db") is None
    True
    """
    backend, target = _split(url_or_path)
    return Path(target) if backend == "sqlite" else None


class _Backend(Protocol):
    """A store backend class: built from its target (path or URL) and ``create``."""

    def __call__(self, target: str, *, create: bool = ...) -> Store: ...


def _load_backend(name: str) -> _Backend:
    module_name, _, class_name = BACKENDS[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            msg = (f"the {name} store backend ({module_name}) is not available in this "
                   "version of geosvc; use a SQLite file for now")
        else:
            msg = (f"the {name} store backend needs the package {exc.name!r}; "
                   "install it with `pip install geosvc[postgis]`")
        raise ConfigError(msg) from exc
    return getattr(module, class_name)


def open_store(url_or_path: str, *, create: bool = True) -> Store:
    """Open the dataset store named by a path or URL.

    Parameters
    ----------
    url_or_path : str
        A SQLite file path, ``sqlite:///PATH`` or ``postgresql://...``.
    create : bool
        Create a missing SQLite file (and its schema); with False a missing
        file raises :class:`~geosvc.errors.StorageUnavailable`.

    Returns
    -------
    Store

    Raises
    ------
    ConfigError
        Unknown scheme, or a backend that is not available.
    StorageUnavailable
        The store cannot be opened (missing, unreadable, corrupt, newer schema).
    """
    backend, target = _split(url_or_path)
    cls = _load_backend(backend)
    return cls(target, create=create)
