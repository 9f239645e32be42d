"""Framework-free request handlers: ``(service, params) -> dict``, and query parsing.

Each module answers one resource (``venues``, ``items``, ``nearest``,
``isochrones``, ``coverage``, ``plans``, ``ogc``, ``health``); ``params`` turns
query strings into typed values.  :func:`load_dataset` is the offline recipe
shared by ``geosvc coverage`` and ``geosvc batch``.
"""

from geosvc.api._common import load_dataset, parse_for

__all__ = ["load_dataset", "parse_for"]
