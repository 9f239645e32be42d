"""Run the app: gunicorn (preforked asyncio workers) when installed, else werkzeug.

Used by ``geosvc serve`` and ``geosvc demo``.  The app (and its snapshot and
road networks) is built once in the parent process and forked into the
workers (gunicorn ``preload_app``), so N workers share the loaded arrays.
Each worker is gunicorn's ``asgi`` worker: an asyncio loop reads every
connection, and only complete requests reach the Flask app, which runs in
``server_threads`` threads (:mod:`geosvc.web.asgi`).  Half-open or trickling
connections thus cost a coroutine each and cannot starve the service (the
sync worker held a whole process per slow client until its timeout).
Ctrl-C (SIGINT) or SIGTERM stops the server cleanly.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask
from prometheus_client.multiprocess import mark_process_dead
from werkzeug.serving import make_server

from geosvc.web.asgi import asgi_app

__all__ = ["serve_app"]


def serve_app(
    app: Flask,
    *,
    host: str,
    port: int,
    workers: int = 2,
    on_ready: Callable[[], None] | None = None,
    options: Mapping[str, Any] | None = None,
) -> None:
    """Serve ``app`` on ``host:port`` until interrupted.

    Parameters
    ----------
    app : Flask
        A built app (from :func:`geosvc.web.create_app`).
    host, port : str, int
        Where to listen.
    workers : int
        gunicorn worker processes (ignored by the werkzeug fallback, which
        serves with threads).
    on_ready : callable, optional
        Called once the socket is bound, before serving (prints URLs).
    options : mapping, optional
        More gunicorn settings.
    """
    if importlib.util.find_spec("gunicorn") is None:

        server = make_server(host, port, app, threaded=True)
        if on_ready is not None:
            on_ready()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
        return

    from gunicorn.app.base import BaseApplication  # lazy: server only

    conf = app.extensions["geosvc"].settings
    served = asgi_app(app, max_body_bytes=conf.max_body_bytes,
                      body_timeout_s=conf.body_timeout_s, threads=conf.server_threads)
    settings: dict[str, Any] = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "geosvc.web.worker.ProblemASGIWorker",  # refusals as problems
        "asgi_lifespan": "off",
        "worker_connections": 1000,
        "preload_app": True,
        # the loop answers heartbeats while threads work: a long analysis does not
        # get its worker killed, a wedged loop does within this time
        "timeout": 120,
        "graceful_timeout": 5,
        "keepalive": 5,
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "limit_request_field_size": 8190,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "geosvc",
    }
    if on_ready is not None:
        settings["when_ready"] = lambda server: on_ready()
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:  # /metrics sums the live workers
        settings["child_exit"] = lambda server, worker: mark_process_dead(worker.pid)
    settings.update(options or {})

    class _Gunicorn(BaseApplication):
        def load_config(self) -> None:
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return served

    _Gunicorn().run()
