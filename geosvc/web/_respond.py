"""Responses shared by the blueprints: JSON, the negotiated output format, query arguments.

An endpoint that answers in several formats (:mod:`geosvc.formats`) picks
one with :func:`negotiate` and answers with :func:`format_response`:

* ``f=<name>`` wins; a name no format of the result kind has is a 400
  naming ``f`` and the allowed values;
* else the ``Accept`` header: the format it rates highest (its most
  specific match first); the endpoint's default on a tie, and when there is
  no ``Accept``.  ``*/*`` and ``application/json`` thus keep today's
  answers; an ``Accept`` no format satisfies is a 406.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from werkzeug.exceptions import NotAcceptable

from geosvc.formats import Output, OutputFormat, format_named, formats
from geosvc.formats.builtin import json_bytes

__all__ = ["args", "dumps", "format_response", "json_response", "negotiate"]


def dumps(doc: Any) -> bytes:
    """UTF-8 JSON bytes, compact, Chinese unescaped (orjson; NaN becomes null)."""
    return json_bytes(doc)


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
    resp.headers["Cache-Control"] = _cache_control(max_age)
    return resp


def _cache_control(max_age: int | None) -> str:
    return "no-store" if max_age is None else f"public, max-age={max_age}"


def args() -> dict[str, str]:
    """Return the query string as ``{name: value}``; repeated names joined with commas."""
    return {k: ",".join(v) for k, v in request.args.lists()}


def negotiate(kind: str, *, default: str) -> OutputFormat:
    """Pick the format of the answer.

    ``f`` first; else ``default`` if ``Accept`` admits it; else what ``Accept`` asks for.

    Parameters
    ----------
    kind : str
        The result kind of the endpoint (:data:`geosvc.formats.KINDS`).
    default : str
        The format name of the endpoint's answer without ``f`` and ``Accept``.

    Raises
    ------
    InvalidParameter
        ``f`` names no format of ``kind`` (400).
    NotAcceptable
        ``Accept`` admits none of them (406, answered as problem+json).
    """
    wanted = ",".join(request.args.getlist("f")).strip()
    if wanted:
        return format_named(wanted, kind)
    offered = sorted(formats(kind), key=lambda f: f.name != default)  # stable: default first
    if not request.headers.get("Accept", "").strip():
        return offered[0]
    # The default answer wins whenever Accept admits it, even through a wildcard: a
    # browser (text/html, ..., */*;q=0.8) opening an API link keeps getting JSON.
    accept = request.accept_mimetypes
    if any(accept.quality(media) > 0 for media in (offered[0].media_type, *offered[0].accept)):
        return offered[0]
    by_type: dict[str, OutputFormat] = {}
    for fmt in offered:
        for media in (fmt.media_type, *fmt.accept):
            by_type.setdefault(media, fmt)
    best = request.accept_mimetypes.best_match(list(by_type))
    if best is None:
        names = ", ".join(f"{f.media_type} (f={f.name})" for f in offered)
        msg = f"no answer of {request.path} satisfies Accept; it offers {names}"
        raise NotAcceptable(msg)
    return by_type[best]


def format_response(fmt: OutputFormat, output: Output, *, status: int = 200,
                    max_age: int | None = 30) -> Response:
    """Answer ``output`` in ``fmt`` with Cache-Control and ``Vary: Accept``.

    A format with a ``disposition`` (CSV: ``attachment``) names the file
    after the path: ``coverage.csv``, ``venues.csv``.
    """
    resp = Response(fmt.render(output), status=status, mimetype=fmt.media_type)
    resp.headers["Cache-Control"] = _cache_control(max_age)
    resp.vary.add("Accept")
    if fmt.disposition:
        stem = request.path.rstrip("/").rsplit("/", 1)[-1] or output.kind
        resp.headers["Content-Disposition"] = (
            f'{fmt.disposition}; filename="{stem}{fmt.suffixes[0]}"')
    return resp
