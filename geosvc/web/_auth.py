"""The API key of a request: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``.

Keys are checked by :func:`geosvc.app.access.authenticate` (401 without a
valid key, 403 without the scope).  The key is read from headers only, never
from the query string or a cookie (so no page of another site can make a
browser send it), and is never logged: the access log records the route, not
the headers.
"""

from __future__ import annotations

from flask import request

__all__ = ["request_key"]


def request_key() -> str | None:
    """Return the key the request carries (``Authorization: Bearer`` first), else None."""
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-API-Key", "").strip() or None
