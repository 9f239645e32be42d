"""Errors as ``application/problem+json`` (RFC 9457), in one place; HTML on page paths.

On the pages a citizen opens in a browser tab (the app at ``/``, ``/map``,
``/embed``, ``/venues/...``, ``/docs``: :func:`is_page_path`) the same problem is answered
as an HTML page that says why and what to try, with the same status
(:func:`geosvc.render.shell.error_page_html`), in the request's language and
mode (``lang`` / ``elder``, cookies, ``Accept-Language``; a bad ``lang`` is
itself such a 400 page, written in the language the rest of the request
picks).  The choice is by path, never by ``Accept``: the API paths keep
problem+json.

One handler for :class:`~geosvc.errors.GeosvcError`, one for werkzeug's
:class:`~werkzeug.exceptions.HTTPException` (unknown paths, wrong methods),
and the single catch-all for anything else (logged with its traceback,
answered with a 500 problem that reveals no internals).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import quote

from flask import Response, request
from werkzeug.exceptions import HTTPException

from geosvc.errors import BudgetExceeded, GeosvcError, InvalidParameter
from geosvc.render.i18n import ELDER_COOKIE, LANG_COOKIE, Prefs, choose_prefs
from geosvc.render.shell import error_page_html, switch_nav_html
from geosvc.web._prefs import page_prefs, remember
from geosvc.web._respond import args, json_response

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["PAGE_PATHS", "PROBLEM_JSON", "is_page_path", "register"]

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

#: Paths of the HTML pages (exact, or a prefix ending in ``/``; ``/`` itself is exact):
#: their errors are pages.
PAGE_PATHS = ("/", "/map", "/embed", "/venues/", "/docs")


def is_page_path(path: str) -> bool:
    """Return True when ``path`` is an HTML page a browser tab shows (errors as HTML).

    Examples
    --------
    >>> is_page_path("/map"), is_page_path("/venues/X-1"), is_page_path("/api/v1/venues/X-1")
    (True, True, False)
    >>> is_page_path("/docs"), is_page_path("/docs/x")
    (True, False)
    >>> is_page_path("/"), is_page_path("/nope")
    (True, False)
    """
    return any(path.startswith(p) if p.endswith("/") and p != "/" else path == p
               for p in PAGE_PATHS)


def _answer(doc: dict[str, object], status: int) -> Response:
    """Answer the problem ``doc`` as problem+json, or as an HTML page on a page path."""
    if not is_page_path(request.path):
        return json_response(doc, status=status, mimetype=PROBLEM_JSON, max_age=None)
    slug = str(doc.get("type", "")).rsplit("/", 1)[-1]
    params = doc.get("invalid_params")
    prefs, chosen = _error_prefs()
    query = {k: v for k, v in args().items() if chosen or k not in ("lang", "elder")}
    nav = switch_nav_html(prefs, quote(request.path), query)
    html = error_page_html(status, slug, str(doc.get("detail") or ""),
                           params if isinstance(params, list) else (), prefs=prefs, nav=nav,
                           map_link="/map" if request.path in ("/map", "/embed") else "/")
    resp = Response(html, status=status, mimetype="text/html")
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    resp.headers["Cache-Control"] = "no-store"
    if chosen:
        return remember(resp, prefs)
    resp.vary.add("Accept-Language")
    resp.vary.add("Cookie")
    return resp


def _error_prefs() -> tuple[Prefs, bool]:
    """Return the error page's language and mode, and False when ``lang``/``elder`` were bad."""
    try:
        return page_prefs(), True
    except InvalidParameter:
        prefs = choose_prefs(lang_cookie=request.cookies.get(LANG_COOKIE),
                             elder_cookie=request.cookies.get(ELDER_COOKIE),
                             accept=request.headers.get("Accept-Language"))
        return prefs, False


def _geosvc_error(err: GeosvcError) -> Response:
    if isinstance(err, BudgetExceeded):  # the server's own limit working: not a fault
        log.warning("%s %s: %s", request.method, request.path, err.log_message)
    elif err.status >= 500:
        log.error("%s %s: %s", request.method, request.path, err.log_message)
    else:
        log.info("%s %s: %s", request.method, request.path, err.log_message)
    doc = err.to_problem(instance=request.full_path.rstrip("?"))
    resp = _answer(doc, err.status)
    resp.headers.update(err.headers())  # e.g. WWW-Authenticate of a 401
    return resp


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
    resp = _answer(doc, status)
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
    return _answer(doc, 500)


def register(app: Flask) -> None:
    """Install the three error handlers on ``app``."""
    app.register_error_handler(GeosvcError, _geosvc_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _internal_error)  # the single catch-all
