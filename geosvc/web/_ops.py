"""Operations: a request id on every answer, a JSON access log, Prometheus metrics.

* **Request id.** ``X-Request-Id`` from the client (or a proxy) is kept when
  it is 1-128 characters of ``A-Z a-z 0-9 . _ -``; otherwise a new one is
  made.  Every answer carries it, and every access-log line names it.
* **Access log.** One JSON object per request on the ``geosvc.access``
  logger (INFO): time, request id, method, path, matched route, status,
  bytes, milliseconds, client address, process id.  The query string is *not* logged:
  citizens' coordinates and searches stay out of the logs.
* **Metrics** (``GET /metrics``, Prometheus text format): requests by route,
  method and status; latency histograms by route; the snapshot revision and
  venue count; reload durations; page-cache hits and misses.  Under
  ``geosvc serve`` the workers' figures are summed through
  ``prometheus_client``'s multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``,
  which the command sets before the app is built); otherwise each process
  counts for itself.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from typing import TYPE_CHECKING, Final

import orjson
from flask import Blueprint, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

if TYPE_CHECKING:
    from flask import Flask

    from geosvc.app.service import GeoService

__all__ = ["Metrics", "count_cache", "install"]

access_log = logging.getLogger("geosvc.access")

_ID_RE: Final = re.compile(r"[A-Za-z0-9._-]{1,128}")
_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0, 30.0)


def _multiprocess() -> bool:
    return "PROMETHEUS_MULTIPROC_DIR" in os.environ


class Metrics:
    """The metric families of one app (registered in its own registry when single-process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        own = None if _multiprocess() else self.registry
        self.requests = Counter("geosvc_requests", "HTTP requests answered",
                                ["route", "method", "status"], registry=own)
        self.latency = Histogram("geosvc_request_seconds", "Time to answer a request",
                                 ["route"], buckets=_BUCKETS, registry=own)
        self.revision = Gauge("geosvc_snapshot_revision", "Data revision being served",
                              registry=own, multiprocess_mode="max")
        self.venues = Gauge("geosvc_venues", "Venues in the snapshot being served",
                            registry=own, multiprocess_mode="max")
        self.reload = Gauge("geosvc_reload_seconds_last",
                            "Seconds the last reload took to build and warm a snapshot",
                            registry=own, multiprocess_mode="max")
        self.cache = Counter("geosvc_cache_lookups", "Cache look-ups by cache and result",
                             ["cache", "result"], registry=own)
        # labelled children by labels: ``labels()`` validates and looks them up under a
        # lock on every call, and a request's labels repeat (a dict read is atomic)
        self._counts: dict[tuple[str, ...], Counter] = {}
        self._latency: dict[str, Histogram] = {}

    def count_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        key = ("requests", route, method, str(status))
        count = self._counts.get(key)
        if count is None:
            count = self._counts[key] = self.requests.labels(*key[1:])
        count.inc()
        timer = self._latency.get(route)
        if timer is None:
            timer = self._latency[route] = self.latency.labels(route)
        timer.observe(seconds)

    def count_cache(self, cache: str, *, hit: bool) -> None:
        """Count one look-up of ``cache``."""
        key = ("cache", cache, "hit" if hit else "miss")
        count = self._counts.get(key)
        if count is None:
            count = self._counts[key] = self.cache.labels(*key[1:])
        count.inc()

    def exposition(self) -> bytes:
        """Return the text format of every metric (all workers in multiprocess mode)."""
        if _multiprocess():
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


def count_cache(cache: str, *, hit: bool) -> None:
    """Count one look-up of ``cache`` (``map_pages``, ``app_shell``, ``gzip``) by the app."""
    metrics = current_app.extensions.get("geosvc.metrics")
    if metrics is not None:
        metrics.count_cache(cache, hit=hit)


def _request_id() -> str:
    """Return the client's ``X-Request-Id`` if well-formed, else 32 new random hex digits.

    Made from :mod:`random` (reseeded in every forked worker), not
    ``uuid4``: an id names a request in the logs, it guards nothing, and
    ``os.urandom`` costs a system call on every request.
    """
    sent = request.headers.get("X-Request-Id")
    if sent and _ID_RE.fullmatch(sent):
        return sent
    return f"{random.getrandbits(128):032x}"  # noqa: S311 - an identifier, not a secret


def install(app: Flask, service: GeoService) -> Metrics:
    """Add request ids, the access log and ``GET /metrics`` to ``app``; return its metrics."""
    metrics = Metrics()
    app.extensions["geosvc.metrics"] = metrics

    @app.before_request
    def _start() -> None:
        g.request_id = _request_id()
        g.started = time.perf_counter()

    @app.after_request
    def _account(resp: Response) -> Response:
        started = g.get("started")
        took = time.perf_counter() - started if started is not None else 0.0
        rule = request.url_rule
        route = rule.rule if rule is not None else "<unmatched>"
        metrics.count_request(route, request.method, resp.status_code, took)
        request_id = g.get("request_id") or _request_id()
        resp.headers["X-Request-Id"] = request_id
        if access_log.isEnabledFor(logging.INFO):
            access_log.info(orjson.dumps({
                "ts": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "request_id": request_id,
                "method": request.method, "path": request.path[:256], "route": route,
                "status": resp.status_code, "bytes": resp.content_length,
                "ms": round(took * 1000, 2), "remote": request.remote_addr,
                "pid": os.getpid(),
            }).decode())
        return resp

    bp = Blueprint("metrics", __name__)

    @bp.get("/metrics")
    def metrics_text() -> Response:
        """Prometheus metrics of this server (all its workers)."""
        snap = service.snapshot
        metrics.revision.set(snap.revision)
        metrics.venues.set(len(snap.index.venues))
        if service.last_reload_s is not None:
            metrics.reload.set(service.last_reload_s)
        resp = Response(metrics.exposition(), mimetype="text/plain")
        resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
        resp.headers["Cache-Control"] = "no-store"
        return resp

    app.register_blueprint(bp)
    return metrics
