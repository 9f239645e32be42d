"""Errors as ``application/problem+json`` (RFC 9457), in one place.

One handler for :class:`~geosvc.errors.GeosvcError`, one for werkzeug's
:class:`~werkzeug.exceptions.HTTPException` (unknown paths, wrong methods),
and the single catch-all for anything else (logged with its traceback,
answered with a 500 problem that reveals no internals).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from flask import Response, request
from werkzeug.exceptions import HTTPException

from geosvc.errors import GeosvcError
from geosvc.web._respond import json_response

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["PROBLEM_JSON", "register"]

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def _geosvc_error(err: GeosvcError) -> Response:
    if err.status >= 500:
        log.error("%s %s: %s", request.method, request.path, err.log_message)
    else:
        log.info("%s %s: %s", request.method, request.path, err.log_message)
    doc = err.to_problem(instance=request.full_path.rstrip("?"))
    return json_response(doc, status=err.status, mimetype=PROBLEM_JSON, max_age=None)


def _http_error(err: HTTPException) -> Response:
    status = err.code or 500
    slug = (err.name or "error").lower().replace(" ", "-")
    detail = err.description or err.name
    if status == 404:
        detail = f"no resource at {request.path}; see /docs for the API"
    elif status == 405:
        allowed = ", ".join(sorted(getattr(err, "valid_methods", None) or []))
        detail = f"method {request.method} is not allowed on {request.path}"
        if allowed:
            detail += f"; allowed: {allowed}"
    doc = {
        "type": f"/problems/{slug}",
        "title": err.name,
        "status": status,
        "detail": detail,
        "instance": request.full_path.rstrip("?"),
    }
    resp = json_response(doc, status=status, mimetype=PROBLEM_JSON, max_age=None)
    for key, value in err.get_headers():
        if key.lower() not in {"content-type", "content-length"}:
            resp.headers[key] = value
    return resp


def _internal_error(err: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    doc = {
        "type": "/problems/internal-error",
        "title": "Internal error",
        "status": 500,
        "detail": "the server failed to answer this request; the error was logged",
        "instance": request.full_path.rstrip("?"),
    }
    return json_response(doc, status=500, mimetype=PROBLEM_JSON, max_age=None)


def register(app: Flask) -> None:
    """Install the three error handlers on ``app``."""
    app.register_error_handler(GeosvcError, _geosvc_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _internal_error)  # the single catch-all
