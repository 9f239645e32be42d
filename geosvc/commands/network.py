"""`geosvc network build FILE.osm.pbf|FILE.osm [--modes walk,bike,drive] [--cache-dir DIR]`."""

from __future__ import annotations

import time

import click

from geosvc.errors import GeosvcError


@click.group()
def command() -> None:
    """Road networks: build and cache travel-time graphs from OSM extracts."""


@command.command("build")
@click.argument("osm_file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--modes", default="walk,bike,drive", show_default=True,
              help="Comma list of travel modes: walk, bike, drive.")
@click.option("--cache-dir", default=None, type=click.Path(file_okay=False, path_type=str),
              help="Directory of cached networks (default: settings cache_dir).")
@click.option("--config", "config_file", default=None, type=click.Path(dir_okay=False),
              help="Settings file (YAML/JSON); GEOSVC_* variables apply too.")
def build(osm_file: str, modes: str, cache_dir: str | None, config_file: str | None) -> None:
    """Build (or load from cache) the network of each mode and print a summary."""
    from tqdm import tqdm

    from geosvc.config import Settings
    from geosvc.network.cache import load_network
    from geosvc.network.graph import MODES

    wanted = [m.strip() for m in modes.split(",") if m.strip()]
    bad = [m for m in wanted if m not in MODES]
    if bad or not wanted:
        msg = f"`--modes`: unknown mode(s) {', '.join(bad) or '(none given)'}; choose from " \
              f"{', '.join(MODES)}"
        raise click.BadParameter(msg, param_hint="--modes")
    try:
        settings = Settings.load(file=config_file)
    except GeosvcError as exc:
        raise click.ClickException(exc.detail) from exc
    failed = 0
    with tqdm(total=len(wanted), unit="mode", desc="networks", leave=False) as bar:
        for mode in wanted:
            bar.set_postfix_str(mode)
            started = time.perf_counter()
            try:
                net = load_network(osm_file, mode, settings=settings, cache_dir=cache_dir,
                                   progress=lambda step: bar.set_postfix_str(step))
            except GeosvcError as exc:
                failed += 1
                tqdm.write(f"{mode}: error: {exc.detail}", file=click.get_text_stream("stderr"))
                bar.update(1)
                continue
            elapsed = time.perf_counter() - started
            how = "loaded from cache" if net.meta.get("from_cache") else "built"
            tqdm.write(
                f"{mode}: {net.n_nodes:,} nodes, {net.n_edges:,} edges, "
                f"{net.components():,} components, {how} in {elapsed:.2f} s, "
                f"cache {net.meta.get('cache_path')}"
            )
            bar.update(1)
    if failed:
        msg = f"{failed} of {len(wanted)} mode(s) failed"
        raise click.ClickException(msg)
