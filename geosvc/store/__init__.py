"""Persistence of a geosvc dataset behind one small interface.

:func:`open_store` picks a backend from the URL scheme, following pygeoapi's
``PLUGINS`` / ``load_plugin`` pattern: :data:`BACKENDS` maps a short name to
the dotted path of a :class:`~geosvc.store.base.Store` class, imported only
when used.

* a bare path (``var/city.sqlite``) or ``sqlite:///var/city.sqlite``
  (``sqlite:////abs/path.sqlite`` for an absolute path) -> :class:`SQLiteStore`;
* ``postgresql://user@host/db`` (also ``postgres://``, ``postgis://``) ->
  ``geosvc.store.postgis:PostGISStore`` (PostgreSQL + PostGIS, production).

Notes for the PostGIS backend (``geosvc/store/postgis.py``, extra ``postgis``)
------------------------------------------------------------------------------
Implement :class:`~geosvc.store.base.Store` with psycopg 3 and a pool; callers
do not change.  Schema (one PostgreSQL schema per dataset, default ``geosvc``):

* ``meta(key text primary key, value text)`` with ``schema_version``,
  ``revision`` (bigint as text) and the DatasetInfo keys, as in SQLite;
* ``venues(code text primary key, name text not null, kind text not null
  check (kind in ('hall','bank_outlet','kiosk')), geom geometry(Point, 4326)
  not null, level text, channels text[] not null default '{}', area_code text,
  area_name text, address text, phone text, opening_hours text,
  official_calendar bool, accessible bool, cross_province bool, regional bool,
  bank text, machines int, name_en text, source text)`` with a GiST index on
  ``geom``; lon/lat are ``ST_X(geom)``/``ST_Y(geom)``;
* ``items`` as in SQLite; ``links(venue_code references venues on delete
  cascade, item_code references items on delete cascade, channels text[],
  primary key (venue_code, item_code))`` plus an index on ``item_code``;
* ``areas(code text primary key, name, level, geom geometry(MultiPolygon,
  4326), population double precision)`` (read back with ``ST_AsText``);
* ``population(id bigserial, code text, geom geometry(Point, 4326), count
  double precision, cell geometry(MultiPolygon, 4326))``.

``write`` runs in one ``SERIALIZABLE`` (or ``REPEATABLE READ`` plus
``LOCK TABLE meta IN EXCLUSIVE MODE``) transaction, upserts with
``INSERT ... ON CONFLICT (code) DO UPDATE ... WHERE <row differs>`` (never
DELETE+INSERT, which would cascade to links), increments ``revision`` once when
something changed, and rolls back for ``dry_run``.  ``read`` uses one
``REPEATABLE READ`` transaction.  Connection errors become
:class:`~geosvc.errors.StorageUnavailable` naming the host, never the password.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol

from geosvc.errors import ConfigError
from geosvc.store.base import TABLES, Batch, Contents, Store, TableCounts, WriteResult

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "BACKENDS",
    "TABLES",
    "Batch",
    "Contents",
    "Store",
    "TableCounts",
    "WriteResult",
    "open_store",
    "sqlite_path",
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


def sqlite_path(url_or_path: str) -> Path | None:
    """Return the file behind a SQLite store URL or path; None for other backends."""
    from pathlib import Path

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
