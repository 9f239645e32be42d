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

Reloads (issue 11, item 3): the gunicorn master serves no requests, so it is
the one process that reloads.  Its background reloader thread
(:meth:`GeoService.reload_in_master`) reads the store's revision every
``reload_interval_s``; on a change it builds and warms the new snapshot (venue
index, search, every loaded mode's router and the place search) and swaps it
in the master.  The master's loop (:class:`ReloadingArbiter`, once a second)
sees the new snapshot and rolls the workers: it forks as many new workers as
there are (they inherit the ready snapshot copy-on-write: no worker ever
builds one), waits until they serve, then sends the old ones SIGTERM: they
stop accepting, answer their in-flight and kept-alive requests with
``Connection: close`` and exit when their connections are closed (idle ones
after ``graceful_timeout``).  The new revision is served at most
``reload_interval_s`` + the build time + about a second after the import
commits.  A worker's garbage collector leaves the inherited objects alone
(``gc.freeze`` around the fork), so a collection does not copy their pages.
Forks happen only while the reloader thread is idle
(:meth:`GeoService.paused_reloads`); a worker that dies during a rebuild is
replaced when the rebuild ends.  Plain WSGI servers (werkzeug, ``gunicorn
'geosvc.web.asgi:create_asgi_app()'``) keep one reloader thread per process.
"""

from __future__ import annotations

import gc
import importlib.util
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from flask import Flask
from gunicorn.arbiter import Arbiter
from prometheus_client.multiprocess import mark_process_dead
from werkzeug.serving import make_server

from geosvc.web.asgi import asgi_app

if TYPE_CHECKING:
    from geosvc.app.service import GeoService, Snapshot

__all__ = ["ReloadingArbiter", "serve_app"]

log = logging.getLogger(__name__)

#: Seconds the master waits for freshly forked workers to serve before retiring the old.
BOOT_WAIT_S = 30.0


class ReloadingArbiter(Arbiter):
    """gunicorn's master loop, which also hands each new data revision to new workers.

    See the module docstring.  The workers are forked only while the
    service's reloader thread is idle (:meth:`GeoService.paused_reloads`):
    a fork that would land in a rebuild is put off to the next pass of the
    loop (about a second later).
    """

    def __init__(self, app: Any, service: GeoService) -> None:
        self.service = service
        self.forked: Snapshot = service.snapshot  # the snapshot the workers serve
        service.reload_in_master()  # workers never reload: they are replaced
        super().__init__(app)

    def spawn_worker(self) -> int | None:
        """Fork a worker unless a rebuild is running (then None: the loop retries)."""
        with self.service.paused_reloads() as paused:
            if not paused:
                return None
            return self._fork()

    def _fork(self) -> int:
        # the child's garbage collector leaves the inherited objects alone (gc.freeze):
        # a collection would write to every one of them and copy the snapshot's pages
        gc.freeze()
        try:
            pid: int = super().spawn_worker()
        finally:
            gc.unfreeze()  # the master right after the fork (a child only as it exits)
        return pid

    def manage_workers(self) -> None:
        """Keep the worker count; start the reloader; roll the workers onto a new snapshot."""
        super().manage_workers()
        if self.WORKERS:  # the first workers fork before the reloader thread starts
            self.service.ensure_reloader()  # (re)started here, a no-op when it runs
        if self.service.snapshot is not self.forked:
            self.roll_workers()

    def roll_workers(self) -> None:
        """Fork new workers (with the new snapshot), then retire the old ones gracefully."""
        with self.service.paused_reloads() as paused:
            if not paused:
                return  # a newer revision is being built: roll onto that one
            self.forked = self.service.snapshot
            old = dict(self.WORKERS)
            started = time.monotonic()
            new = {}
            for _ in range(self.num_workers):
                pid = self._fork()
                new[pid] = self.WORKERS[pid].tmp.last_update()
        # a new worker touches its heartbeat file once its loop listens; one that
        # dies instead is replaced by the next pass of the loop (a boot error halts)
        deadline = time.monotonic() + BOOT_WAIT_S
        while time.monotonic() < deadline:
            self.reap_workers()
            booting = [p for p, t in new.items()
                       if p in self.WORKERS and self.WORKERS[p].tmp.last_update() == t]
            if not booting:
                break
            time.sleep(0.05)
        for pid in old:
            if pid in self.WORKERS:
                self.kill_worker(pid, signal.SIGTERM)  # finishes in-flight requests, exits
        log.info("revision %s: %d new worker(s) serving, %d old one(s) retired (%.2f s)",
                 self.forked.revision, len(new), len(old), time.monotonic() - started)


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

        def run(self) -> None:
            try:
                ReloadingArbiter(self, service).run()
            except RuntimeError as exc:
                print(f"\nError: {exc}\n", file=sys.stderr)
                sys.exit(1)

    service = app.extensions["geosvc"]
    service.warm()  # every worker is forked with the routers and the place search built
    _Gunicorn().run()
