"""Fast JSON responses and query-argument flattening shared by the blueprints."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response, request

__all__ = ["args", "dumps", "json_response"]

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def _default(obj: Any) -> Any:
    """Serialise what orjson does not know natively (sets, enums' values)."""
    if isinstance(obj, (set, frozenset, tuple)):
        return sorted(obj) if isinstance(obj, (set, frozenset)) else list(obj)
    msg = f"cannot serialise {type(obj).__name__} to JSON"
    raise TypeError(msg)


def dumps(doc: Any) -> bytes:
    """UTF-8 JSON bytes, compact, Chinese unescaped (orjson; NaN becomes null)."""
    return orjson.dumps(doc, default=_default, option=_OPTIONS)


def json_response(
    doc: Any,
    *,
    status: int = 200,
    mimetype: str = "application/json",
    max_age: int | None = 30,
) -> Response:
    """Serialise ``doc`` (UTF-8, Chinese unescaped) with a Cache-Control header.

    ``max_age`` None means ``no-store`` (health, errors).
    """
    resp = Response(dumps(doc), status=status, mimetype=mimetype)
    cache = "no-store" if max_age is None else f"public, max-age={max_age}"
    resp.headers["Cache-Control"] = cache
    return resp


def args() -> dict[str, str]:
    """Return the query string as ``{name: value}``; repeated names joined with commas."""
    return {k: ",".join(v) for k, v in request.args.lists()}
