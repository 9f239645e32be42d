"""Fast JSON responses and query-argument flattening shared by the blueprints."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request

__all__ = ["args", "json_response"]

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


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
    resp = Response(_dumps(doc), status=status, mimetype=mimetype)
    resp.headers["Cache-Control"] = "no-store" if max_age is None else f"public, max-age={max_age}"
    return resp


def args() -> dict[str, str]:
    """The query string as ``{name: value}``; repeated names joined with commas."""
    return {k: ",".join(v) for k, v in request.args.lists()}
