"""`geosvc batch JOBS.yaml --out DIR [--scheduler local|inline|tcp://...] [--workers N]`.

Coverage of many datasets (cities, a whole province) in one run, one Dask
task per dataset (:func:`geosvc.distributed.run_batch`).  ``JOBS.yaml``
lists the datasets (:mod:`geosvc.distributed.jobs`)::

    - {name: city-a, db: a.sqlite, osm: a.osm.pbf, modes: [walk], minutes: [10, 15]}
    - {name: city-a-halls, db: a.sqlite, osm: a.osm.pbf, filters: {kind: hall}}

The whole file is validated first: every problem is named (``jobs[i].field``)
and nothing runs (exit 2).  Each dataset writes
``DIR/<name>/<name>_<mode>_<minutes>min.json`` / ``.csv`` (+
``_catchments.csv``; with ``curves: true`` also ``<name>_<mode>_curves.csv``);
``DIR/summary.csv`` and ``DIR/summary.json`` hold one row per (dataset,
mode, minutes), also printed as a table.  A dataset that fails (missing
file, unreadable store, ...) gets rows with its error and does not stop the
others; the exit status is then 1.  Exit 2 for bad options or jobs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from geosvc.errors import GeosvcError, InvalidParameter


def dask_options(units: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Return ``--scheduler`` and ``--workers`` of the Dask verbs (batch, province)."""
    def add(func: Callable[..., Any]) -> Callable[..., Any]:
        func = click.option(
            "--workers", default=None, type=click.IntRange(min=1),
            help=f"Worker processes of the local cluster (default: min({units}, CPUs)).")(func)
        return click.option(
            "--scheduler", default="local", show_default=True,
            help=f"local (a LocalCluster on this machine), inline (no Dask, {units} one after "
                 "another) or a Dask scheduler address such as tcp://host:8786.")(func)
    return add


@click.command()
@click.argument("jobs_file", metavar="JOBS.yaml",
                type=click.Path(dir_okay=False, path_type=str))
@click.option("--out", "out_dir", required=True,
              type=click.Path(file_okay=False, path_type=str),
              help="Output directory (summary.csv/json and one folder per dataset).")
@dask_options("datasets")
@click.option("--cache-dir", default=None, type=click.Path(file_okay=False, path_type=str),
              help="Directory of cached networks, as the workers see it "
                   "(default: settings cache_dir).")
@click.option("--config", "config_file", default=None, type=click.Path(dir_okay=False),
              help="Settings file (YAML/JSON); GEOSVC_* variables apply too.")
def command(jobs_file: str, out_dir: str, scheduler: str, workers: int | None,
            cache_dir: str | None, config_file: str | None) -> None:
    """Coverage for many datasets at once, fanned out over Dask; writes a summary."""
    from geosvc.config import (
        Settings,  # lazy: verb engine (fast CLI start)
    )
    from geosvc.distributed import (  # lazy: verb engine (fast CLI start)
        load_jobs,
        run_batch,
        write_summary,
    )

    if scheduler not in ("local", "inline") and "://" not in scheduler:
        msg = (f"must be local, inline or a Dask address such as tcp://host:8786, "
               f"not {scheduler!r}")
        raise click.BadParameter(msg, param_hint="--scheduler")
    if workers is not None and scheduler != "local":
        raise click.BadParameter("only applies to --scheduler local", param_hint="--workers")
    try:
        jobs = load_jobs(jobs_file, out_dir=out_dir)
    except InvalidParameter as exc:
        lines = "\n".join(f"  {p['name']}: {p['reason']}" for p in exc.invalid_params)
        raise click.UsageError(f"{jobs_file}: {len(exc.invalid_params)} problem(s) in the "
                               f"jobs; nothing was run:\n{lines}") from exc
    try:
        settings = Settings.load(file=config_file)
        if cache_dir is not None:
            settings = settings.with_(cache_dir=cache_dir)
        rows = run_batch(jobs, scheduler=scheduler, settings=settings, workers=workers,
                         progress=True)
    except InvalidParameter as exc:
        raise click.UsageError(exc.detail) from exc
    except GeosvcError as exc:
        raise click.ClickException(exc.detail) from exc
    written = write_summary(rows, out_dir)
    _print_table(rows)
    click.echo("wrote " + ", ".join(str(p) for p in written))
    failed = sorted({r["dataset"] for r in rows if r["error"]})
    if failed:
        for error in dict.fromkeys(r["error"] for r in rows if r["error"]):
            click.echo(f"error: {error}", err=True)
        raise click.ClickException(f"{len(failed)} of {len(jobs)} dataset(s) failed: "
                                   f"{', '.join(failed)}")


def _print_table(rows: list[dict[str, Any]]) -> None:
    """Print the summary: one line per (dataset, mode, minutes)."""
    width = max([len("dataset"), *(len(r["dataset"]) for r in rows)])
    click.echo(f"{'dataset':<{width}}  {'mode':<5} {'min':>5} {'covered':>12} {'total':>12} "
               f"{'share':>7} {'venues':>6} {'gaps':>5} {'s':>7}")
    for r in rows:
        head = f"{r['dataset']:<{width}}  {r['mode']:<5} {r['minutes']:>5g}"
        if r["error"]:
            click.echo(f"{head}  FAILED (see below)")
            continue
        click.echo(f"{head} {r['covered_population']:>12,.0f} {r['total_population']:>12,.0f} "
                   f"{r['covered_share']:>7.1%} {r['venues_used']:>6} {r['gaps']:>5} "
                   f"{r['seconds']:>7.2f}")
