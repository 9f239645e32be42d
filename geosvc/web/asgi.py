"""The WSGI app behind an asyncio front: slow clients cost a coroutine, never a worker thread.

``geosvc serve`` runs gunicorn's ``asgi`` worker (asyncio, one process per
core).  Each connection is read by the event loop: a client that sends half a
header, or a body a byte a minute, holds only a coroutine, so
:data:`~geosvc.config.Settings` never has to guess a thread count large
enough for an attack.  :class:`BufferedBody` then reads the whole body (at
most ``max_body_bytes``, else 413; within ``body_timeout_s``, else 408) and
only a complete request is handed to the Flask app, which runs in a thread
pool through a2wsgi's :class:`~a2wsgi.WSGIMiddleware` (a thread never waits
on the network).

The errors answered here, before Flask sees the request, are problem+json
like every other (docs/api.md "Errors").
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any, Final, cast

from a2wsgi import WSGIMiddleware

from geosvc.web import create_app

__all__ = ["BufferedBody", "asgi_app", "create_asgi_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_PROBLEM: Final = b"application/problem+json"


async def _problem(scope: Scope, send: Send, status: int, slug: str, title: str,
                   detail: str) -> None:
    path = scope.get("path", "")
    query = scope.get("query_string", b"").decode("latin-1")
    doc = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail,
           "instance": f"{path}?{query}" if query else path}
    body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", _PROBLEM), (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"), (b"connection", b"close"),
        (b"x-content-type-options", b"nosniff")]})
    await send({"type": "http.response.body", "body": body})


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BufferedBody:
    """ASGI middleware: read the whole request body first, with a size and a time limit.

    Parameters
    ----------
    app : ASGI application
        Called with a ``receive`` that replays the complete body at once.
    max_body_bytes : int
        Larger declared or received bodies are answered 413 at once.
    body_timeout_s : float
        A body not complete within this many seconds is answered 408.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, body_timeout_s: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # no websockets here
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._too_large(scope, send)
            return
        body = await self._read(scope, receive, send)
        if body is None:
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for a disconnect

        await self.app(scope, replay, send)

    async def _read(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout_s
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                detail = f"the request body did not arrive within {self.body_timeout_s:g} s"
                await _problem(scope, send, 408, "request-timeout", "Request Timeout", detail)
                return None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_body_bytes:
                await self._too_large(scope, send)
                return None
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        detail = f"the body is larger than the limit of {self.max_body_bytes} bytes"
        await _problem(scope, send, 413, "request-entity-too-large",
                       "Request Entity Too Large", detail)

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def asgi_app(wsgi_app: Any, *, max_body_bytes: int, body_timeout_s: float,
             threads: int) -> BufferedBody:
    """Wrap the Flask (WSGI) app for an ASGI server.

    Parameters
    ----------
    wsgi_app : WSGI application
        Usually :func:`geosvc.web.create_app`'s app.
    max_body_bytes, body_timeout_s : int, float
        The body limits of :class:`BufferedBody`.
    threads : int
        Threads running the WSGI app per process (a2wsgi's executor).
    """
    inner = cast("ASGIApp", WSGIMiddleware(wsgi_app, workers=threads))  # its own TypedDicts
    return BufferedBody(inner, max_body_bytes=max_body_bytes, body_timeout_s=body_timeout_s)


def create_asgi_app(config: Mapping[str, Any] | None = None) -> BufferedBody:
    """Build the app (:func:`geosvc.web.create_app`) wrapped for an ASGI server.

    For gunicorn directly (settings from ``GEOSVC_*``)::

        gunicorn -k geosvc.web.worker.ProblemASGIWorker --asgi-lifespan off -w 2 \
            --preload 'geosvc.web.asgi:create_asgi_app()'
    """
    app = create_app(config)
    conf = app.extensions["geosvc"].settings
    return asgi_app(app, max_body_bytes=conf.max_body_bytes,
                    body_timeout_s=conf.body_timeout_s, threads=conf.server_threads)
