"""`geosvc province --db F --osm F --partition county|grid:<km> [--scheduler S] --out F.json`.

Coverage of ONE dataset too large for one process, cut into parts by area
(the store's counties / cities) or by grid square, each part computed on a
Dask worker with only the road network within its travel-time buffer
(:func:`geosvc.distributed.run_province`), and merged.  The figures equal
``geosvc coverage``'s for the same dataset and filters (residents covered,
per area, per venue); there is no service-circle polygon or gap polygon
(they need the whole covered area): the uncovered residents are written
as points to ``<stem>_gaps.csv``.

The driver (this process) loads the network and snaps the demand and the
venues once (the full network's snapping rule); workers receive arrays.
``--scheduler local`` starts a LocalCluster of ``--workers`` processes;
``tcp://host:8786`` uses a running cluster (workers need ``geosvc``
installed, no data files); ``inline`` runs the parts in this process.
Exit 2 for a bad option, 1 for a data or cluster problem.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import click
import numpy as np

from geosvc.errors import GeosvcError, InvalidParameter
from geosvc.modes import network_modes


@click.command()
@click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="Dataset store (SQLite file or URL).")
@click.option("--osm", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="OSM extract (.pbf / .osm / .gz) of the road network.")
@click.option("--mode", default="walk", show_default=True,
              type=click.Choice(list(network_modes())), help="Travel mode on roads.")
@click.option("--minutes", default=10.0, show_default=True, type=float,
              help="Service-circle size, minutes.")
@click.option("--kind", default=None, help="Venue kinds, comma list: hall, bank_outlet, kiosk.")
@click.option("--level", default=None,
              help="Hall levels, comma list: city, county, township, village.")
@click.option("--item", default=None, help="Item codes, comma list (venues handling all).")
@click.option("--partition", default="county", show_default=True,
              help="Parts: county (the dataset's areas; also `area`) or grid:<km> "
                   "(squares of that side).")
@click.option("--scheduler", default="local", show_default=True,
              help="local (a LocalCluster on this machine), inline (no Dask, parts one after "
                   "another) or a Dask scheduler address such as tcp://host:8786.")
@click.option("--workers", default=None, type=click.IntRange(min=1),
              help="Worker processes of the local cluster (default: min(parts, CPUs)).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="Result .json (figures, per area, catchments, parts, workers' peak "
                   "memory); the uncovered residents go to <stem>_gaps.csv.")
@click.option("--cache-dir", default=None, type=click.Path(file_okay=False, path_type=str),
              help="Directory of cached networks (default: settings cache_dir).")
@click.option("--config", "config_file", default=None, type=click.Path(dir_okay=False),
              help="Settings file (YAML/JSON); GEOSVC_* variables apply too.")
def command(db: str, osm: str, mode: str, minutes: float, kind: str | None,
            level: str | None, item: str | None, partition: str, scheduler: str,
            workers: int | None, out: str, cache_dir: str | None,
            config_file: str | None) -> None:
    """Coverage of one large dataset, partitioned by area over Dask; equal to `coverage`."""
    from geosvc.distributed.partition import (
        parse_partition,  # lazy: verb engine (fast CLI start)
    )

    out_path = Path(out)
    if out_path.suffix.lower() != ".json":
        raise click.BadParameter("must name a .json file", param_hint="--out")
    try:
        parse_partition(partition)
    except InvalidParameter as exc:
        raise click.BadParameter(exc.invalid_params[0]["reason"],
                                 param_hint="--partition") from exc
    if scheduler not in ("local", "inline") and "://" not in scheduler:
        msg = (f"must be local, inline or a Dask address such as tcp://host:8786, "
               f"not {scheduler!r}")
        raise click.BadParameter(msg, param_hint="--scheduler")
    if workers is not None and scheduler != "local":
        raise click.BadParameter("only applies to --scheduler local", param_hint="--workers")
    if not Path(osm).is_file():
        raise click.BadParameter(f"{osm!r} does not exist or is not a file", param_hint="--osm")
    raw = {"mode": mode, "minutes": f"{minutes:g}", "kind": kind, "level": level,
           "item": item}
    params = {k: v for k, v in raw.items() if v is not None}
    try:
        result, demand = _run(db, osm, params, partition, scheduler, workers, cache_dir,
                              config_file)
    except InvalidParameter as exc:
        raise click.UsageError(exc.detail) from exc
    except GeosvcError as exc:
        raise click.ClickException(exc.detail) from exc
    doc = result.to_dict()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    gaps = out_path.with_name(f"{out_path.stem}_gaps.csv")
    with open(gaps, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["lon", "lat", "residents", "area_id"])
        w.writeheader()
        w.writerows(result.gap_points(demand))
    _summary(doc)
    click.echo(f"wrote {out_path}, {gaps}")


def _run(db: str, osm: str, params: dict[str, str], partition: str, scheduler: str,
         workers: int | None, cache_dir: str | None, config_file: str | None):  # noqa: ANN202
    """Load the dataset, snap once, run the parts; return ``(ProvinceResult, demand)``."""
    from geosvc.api import load_dataset  # lazy: verb engine (fast CLI start)
    from geosvc.app.dataset import travel_inputs  # lazy: verb engine (fast CLI start)
    from geosvc.config import Settings  # lazy: verb engine (fast CLI start)
    from geosvc.distributed import run_province  # lazy: verb engine (fast CLI start)
    from geosvc.network.snap import Snapped  # lazy: verb engine (fast CLI start)

    settings = Settings.load(file=config_file)
    data = load_dataset(db, settings, params)
    idx, q = data["index"], data["query"]
    inputs = travel_inputs(idx, data["population"], data["areas"], q.mode, settings=settings,
                           osm=osm, cache_dir=cache_dir)
    for note in inputs.notes:
        click.echo(note, err=True)
    router, demand = inputs.router, inputs.demand
    venues, net = router.venues, router.network
    if net is None or not isinstance(venues, Snapped):
        raise InvalidParameter("mode", f"must be a mode on roads, not {q.mode!r}")
    chosen = np.asarray(data["candidates"], dtype=np.int64)
    cands = np.unique(chosen[venues.ok[chosen]]) if len(chosen) else chosen
    labels = [(v.code, v.name) for v in idx.venues]
    result = run_province(net, demand, venues.take(cands), venue_ids=cands,
                          minutes=q.minutes[0], walk_speed_mps=router.speed_mps,
                          partition=partition, scheduler=scheduler, workers=workers,
                          venue_labels=labels, progress=True)
    return result, demand


def _summary(doc: dict) -> None:
    """Print the headline, the parts and workers, and the per-area table."""
    if doc["total_population"] is None:
        click.echo(f"{doc['mode']} {doc['minutes']} min: no residents (see warnings)")
    else:
        click.echo(f"{doc['mode']} {doc['minutes']} min: {doc['covered_population']:,.0f} of "
                   f"{doc['total_population']:,.0f} residents covered "
                   f"({doc['covered_share']:.1%}) by {doc['venues_used']} venues; "
                   f"{len(doc['parts'])} parts")
    for w in doc["workers"]:
        click.echo(f"  worker {w['pid']}: {w['parts']} parts, peak RSS "
                   f"{w['peak_rss_mb']:,.0f} MB")
    for row in doc["by_area"]:
        people = ("residents unknown" if row["total_population"] is None else
                  f"{row['covered_population']:>10,.0f} / {row['total_population']:>10,.0f}"
                  f"  {row['covered_share']:.1%}")
        click.echo(f"  {row['area_id'] or '-':<12} {row['name']:<20} {people}")
