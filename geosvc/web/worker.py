"""gunicorn's asgi worker whose own rejections are problem+json (issue 11, item 7).

gunicorn's parser refuses some requests before any application sees them: a
malformed request line or header (400), a request line longer than
``limit_request_line`` (414), more than ``limit_request_fields`` header
fields or one longer than ``limit_request_field_size`` (431), a transfer
coding it does not implement (501).  The stock asgi worker answers them as
``text/plain`` and, for a malformed line or header name, quotes what the
client sent.  :class:`ProblemASGIWorker` answers them as
``application/problem+json`` (RFC 9457) with a fixed ``detail`` that quotes
nothing, ``nosniff`` and ``no-store``, like every other error of the service.

How: gunicorn has no setting for these bodies; its asgi worker builds each
connection's :class:`~gunicorn.asgi.protocol.ASGIProtocol` through the name
``ASGIProtocol`` of :mod:`gunicorn.workers.gasgi`, and every such answer goes
through the protocol's ``_send_error_response``.  The worker, in its own
process only, points that name at :class:`ProblemProtocol`, which overrides
that one method.  Both are gunicorn internals (checked with gunicorn 27):
``tests/security/test_server_errors.py`` fails if a gunicorn upgrade moves
them, and without them the worker still serves, with gunicorn's plain text.

It also stops without closing a connection under a client's request
(SIGTERM: the master retires its workers after a reload,
:mod:`geosvc.web.server`).  The stock worker keeps accepting for up to a
second, and closes a kept-alive connection right after an answer that had
promised to keep it open, so a client's next request on it meets a closed
socket (wrk counted a few such "read" errors per reload).  This worker stops
accepting at once and *drains*: every answer from then on says
``Connection: close`` and the connection closes after it; once no connection
is left (or after ``graceful_timeout``) it exits.

Use it with plain gunicorn as ``-k geosvc.web.worker.ProblemASGIWorker``;
``geosvc serve`` does.
"""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus
from typing import Any, Final

from gunicorn.asgi.protocol import ASGIProtocol
from gunicorn.workers import gasgi
from gunicorn.workers.gasgi import ASGIWorker

__all__ = ["ProblemASGIWorker", "ProblemProtocol", "server_problem"]

#: Reason phrases gunicorn uses where Python's differ between versions.
_REASONS: Final = {414: "URI Too Long", 431: "Request Header Fields Too Large"}


def _details(cfg: Any) -> dict[int, str]:
    line = getattr(cfg, "limit_request_line", 8190)
    fields = getattr(cfg, "limit_request_fields", 100)
    size = getattr(cfg, "limit_request_field_size", 8190)
    return {
        400: "the request line or a header field could not be parsed as HTTP/1.1 "
             "(RFC 9112); the server read no further",
        414: f"the request line (method, path and query) is longer than {line} bytes",
        431: f"the request has more than {fields} header fields, or one longer than "
             f"{size} bytes",
        501: "the request uses a transfer coding the server does not implement "
             "(only chunked is)",
    }


def server_problem(status: int, cfg: Any = None) -> tuple[str, bytes]:
    """Return the reason phrase and the problem+json body of a server-level refusal.

    Examples
    --------
    >>> reason, body = server_problem(414)
    >>> reason, json.loads(body)["type"]
    ('URI Too Long', '/problems/uri-too-long')
    >>> json.loads(server_problem(431)[1])["detail"]
    'the request has more than 100 header fields, or one longer than 8190 bytes'
    """
    reason = _REASONS.get(status)
    if reason is None:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Error"
    detail = _details(cfg).get(status, f"the server refused the request ({reason})")
    doc = {"type": "/problems/" + reason.lower().replace(" ", "-"), "title": reason,
           "status": status, "detail": detail}
    return reason, json.dumps(doc).encode("utf-8")


class ProblemProtocol(ASGIProtocol):
    """gunicorn's ASGI connection protocol, answering its own refusals as problem+json."""

    def _send_error_response(self, status: int, message: str,
                             extra_headers: Any = ()) -> None:
        """Write the refusal ``status`` as a problem (``message`` may quote the client)."""
        reason, body = server_problem(status, self.cfg)
        extra = "".join(f"{name}: {value}\r\n" for name, value in extra_headers)
        head = (f"HTTP/1.1 {status} {reason}\r\n"
                "Content-Type: application/problem+json\r\n"
                f"Content-Length: {len(body)}\r\n"
                "Cache-Control: no-store\r\n"
                "X-Content-Type-Options: nosniff\r\n"
                f"{extra}"
                "Connection: close\r\n"
                "\r\n")
        self._safe_write(head.encode("latin-1"))
        self._safe_write(body)

    def _will_close(self, request: Any, response_requires_close: bool) -> bool:
        """Close after this answer when the worker drains (see the module docstring)."""
        if getattr(self.worker, "draining", False):
            return True
        return bool(super()._will_close(request, response_requires_close))


class ProblemASGIWorker(ASGIWorker):
    """gunicorn's ``asgi`` worker with :class:`ProblemProtocol` connections."""

    def init_process(self) -> None:
        """Use :class:`ProblemProtocol` in this worker process, then start as usual."""
        if hasattr(gasgi, "ASGIProtocol") and hasattr(ASGIProtocol, "_send_error_response"):
            gasgi.ASGIProtocol = ProblemProtocol  # this process only
        super().init_process()

    #: True once told to stop: answers say ``Connection: close`` (see the module docstring).
    draining = False

    def handle_exit_signal(self) -> None:
        """SIGTERM: stop accepting now, drain the open connections, then stop."""
        if self.draining:
            return
        self.draining = True
        for server in self.servers:
            server.close()  # this process's copy of the listener: the others still accept
        self.loop.create_task(self._drain())

    async def _drain(self) -> None:
        """Wait until every connection has had its last answer (or the timeout); stop."""
        deadline = self.loop.time() + self.cfg.graceful_timeout
        await asyncio.sleep(0.1)  # connections accepted just before the stop are counted
        while self.nr_conns > 0 and self.loop.time() < deadline:
            await asyncio.sleep(0.05)
        self.alive = False
