"""`geosvc serve --db FILE [--osm FILE] [--host] [--port] [--workers N]`."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from geosvc.commands._modes import check_modes, modes_option
from geosvc.errors import GeosvcError

if TYPE_CHECKING:
    from geosvc.app.service import GeoService


def print_urls(host: str, port: int, *, networks: bool) -> None:
    """Print where the app, the API docs, the map, the widget and /healthz are."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    base = f"http://{shown}:{port}"
    click.echo(f"geosvc is serving on {base}  (Ctrl-C stops it)")
    click.echo(f"  app      : {base}/   (长辈版: {base}/?elder=1)")
    click.echo(f"  API docs : {base}/docs   (OpenAPI: {base}/openapi.json)")
    click.echo(f"  map      : {base}/map")
    click.echo(f"  widget   : {base}/embed")
    click.echo(f"  health   : {base}/healthz")
    if not networks:
        click.echo("  (no road network loaded: only mode=straight; pass --osm FILE)")


def report_off_network(service: GeoService, *, limit: int = 10) -> None:
    """Warn (stderr) about venues no network query can reach; builds the travel engines.

    Building them here, before gunicorn forks its workers, also means the
    first request of each worker does not pay for snapping every venue.
    """
    for mode, rows in service.off_network_venues().items():
        if not rows:
            continue
        shown = ", ".join(f"{r['code']} ({r['reason']})" for r in rows[:limit])
        more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
        click.echo(f"warning: {len(rows)} venue(s) unreachable by {mode}: {shown}{more}",
                   err=True)


#: ``--log-level`` choices (the access log is written at ``info``).
LOG_LEVELS = ("debug", "info", "warning", "error")


class _LogFormatter(logging.Formatter):
    """Access-log lines (already JSON) as they are; other records with time and level."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """Format one record."""
        if record.name == "geosvc.access":
            return record.getMessage()
        return super().format(record)


def setup_logging(level: str) -> None:
    """Log to stderr at ``level``: JSON access lines at ``info``, warnings and errors."""
    handler = logging.StreamHandler()
    handler.setFormatter(_LogFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def log_level_option(func: Any) -> Any:
    """Add the ``--log-level`` option of the serving verbs to ``func``."""
    return click.option(
        "--log-level", type=click.Choice(LOG_LEVELS), default="info", show_default=True,
        help="Log level on stderr; `info` writes one JSON access-log line per request, "
             "`warning` and above leave it out.")(func)


def _remove_dir_of(pid: int, path: str) -> None:
    """Remove ``path`` at exit, in process ``pid`` only.

    gunicorn's workers leave through ``sys.exit`` and so run the master's
    ``atexit`` hooks too: a worker retired after a reload must not take the
    metrics directory the master and the new workers still write to.
    """
    if os.getpid() == pid:
        shutil.rmtree(path, ignore_errors=True)


def run(config: dict, *, host: str, port: int, workers: int, log_level: str = "info") -> None:
    """Build the app from ``config`` and serve it; errors become click errors.

    Sets ``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary directory, removed
    when this process exits) before the app is built, so ``/metrics`` sums every worker.
    """
    setup_logging(log_level)
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        metrics_dir = tempfile.mkdtemp(prefix="geosvc-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        atexit.register(_remove_dir_of, os.getpid(), metrics_dir)
    from geosvc.web import (
        create_app,  # lazy: verb engine (fast CLI start); after the metrics directory is set
    )
    from geosvc.web.server import (
        serve_app,  # lazy: verb engine (fast CLI start)
    )

    try:
        app = create_app(config)
    except GeosvcError as exc:
        raise click.ClickException(exc.detail) from exc
    service = app.extensions["geosvc"]
    report_off_network(service)
    serve_app(app, host=host, port=port, workers=workers,
              on_ready=lambda: print_urls(host, port, networks=bool(service.networks)),
              options={"loglevel": log_level})


@click.command()
@click.option("--db", "db", envvar="GEOSVC_DB", required=True, metavar="FILE",
              help="SQLite file or postgresql:// URL of the dataset "
                   "(from `geosvc import` or `geosvc demo`).")
@click.option("--osm", "osm", envvar="GEOSVC_OSM", default=None, metavar="FILE",
              help="OSM extract (.pbf / .osm / .gz) for walk / bike / drive travel times.")
@modes_option("Travel modes to load from --osm")
@click.option("--cache-dir", default=".geosvc-cache", show_default=True,
              help="Directory of cached road networks.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="gunicorn worker processes.")
@log_level_option
def command(db: str, osm: str | None, modes: str, cache_dir: str, host: str, port: int,
            workers: int, log_level: str) -> None:
    """Serve a dataset: JSON/GeoJSON API, OGC API - Features, maps, widget."""
    if "://" not in db and not Path(db).is_file():
        msg = f"`--db` {db} does not exist; create it with `geosvc import ...`"
        raise click.BadParameter(msg, param_hint="--db")
    if osm is not None and not Path(osm).is_file():
        msg = f"`--osm` {osm} does not exist"
        raise click.BadParameter(msg, param_hint="--osm")
    check_modes(modes)
    config = {"db": db, "osm": osm, "modes": modes, "cache_dir": cache_dir}
    run(config, host=host, port=port, workers=workers, log_level=log_level)
