"""`geosvc province --db F --osm F --partition county|grid:<km> [--scheduler S] --out F.json`.

Coverage of ONE dataset too large for one process, cut into parts by area
(the store's counties / cities) or by grid square, each part computed on a
Dask worker with only the road network within its travel-time buffer
(:func:`geosvc.distributed.run_province`), and merged.  The figures equal
``geosvc coverage``'s for the same dataset and filters (residents covered,
per area, per venue, and the gap polygons unless ``--no-gaps``); there is no
service-circle polygon.  The uncovered residents are also written as points
to ``<stem>_gaps.csv``.

The driver (this process) maps the cached network, snaps the venues square
by square and writes the network, the residents and the venues as files
the workers memory-map (:mod:`geosvc.distributed.shared`); each worker snaps
its part's residents and cuts its sub-network itself.  ``--scheduler local``
starts a LocalCluster of ``--workers`` processes; ``inline`` runs the parts
in this process; ``tcp://host:8786`` uses a running cluster: its workers
need ``geosvc`` installed and either ``--shared-dir`` (a directory every
worker sees) or nothing (the driver then snaps everyone and sends each part
its arrays).  Exit 2 for a bad option, 1 for a data or cluster problem.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import click
import numpy as np

from geosvc.commands.batch import dask_options
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
@dask_options("parts")
@click.option("--shared-dir", default=None, type=click.Path(file_okay=False, path_type=str),
              help="Directory for the run's memory-mapped files, seen by every worker "
                   "(default: a temporary directory for local / inline; for a scheduler "
                   "address without it the parts are sent as arrays).")
@click.option("--gaps/--no-gaps", default=True, show_default=True,
              help="Gap polygons as `geosvc coverage` draws them (parts a little wider).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="Result .json (figures, per area, catchments, parts, workers' peak "
                   "memory); the uncovered residents go to <stem>_gaps.csv.")
@click.option("--cache-dir", default=None, type=click.Path(file_okay=False, path_type=str),
              help="Directory of cached networks (default: settings cache_dir).")
@click.option("--config", "config_file", default=None, type=click.Path(dir_okay=False),
              help="Settings file (YAML/JSON); GEOSVC_* variables apply too.")
def command(db: str, osm: str, mode: str, minutes: float, kind: str | None,
            level: str | None, item: str | None, partition: str, scheduler: str,
            workers: int | None, shared_dir: str | None, gaps: bool, out: str,
            cache_dir: str | None, config_file: str | None) -> None:
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
                              config_file, shared_dir=shared_dir, gaps=gaps)
    except InvalidParameter as exc:
        raise click.UsageError(exc.detail) from exc
    except GeosvcError as exc:
        raise click.ClickException(exc.detail) from exc
    doc = result.to_dict()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    gaps_csv = out_path.with_name(f"{out_path.stem}_gaps.csv")
    with open(gaps_csv, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["lon", "lat", "residents", "area_id"])
        w.writeheader()
        w.writerows(result.gap_points(demand))
    _summary(doc)
    click.echo(f"wrote {out_path}, {gaps_csv}")


def _run(db: str, osm: str, params: dict[str, str], partition: str, scheduler: str,
         workers: int | None, cache_dir: str | None, config_file: str | None, *,
         shared_dir: str | None, gaps: bool):  # noqa: ANN202
    """Load the dataset and network, place the venues, run the parts; ``(result, demand)``.

    Never builds the whole network's snapping index: the venues are snapped
    square by square and the residents in their parts (or, when the parts
    cannot read shared files, by this process).
    """
    from geosvc.analysis.demand import (  # lazy: verb engine (fast CLI start)
        build_demand,
        demand_inputs,
    )
    from geosvc.api import load_dataset  # lazy: verb engine (fast CLI start)
    from geosvc.config import Settings  # lazy: verb engine (fast CLI start)
    from geosvc.coords import valid_lonlat  # lazy: verb engine (fast CLI start)
    from geosvc.distributed import run_province  # lazy: verb engine (fast CLI start)
    from geosvc.distributed.snapping import (  # lazy: verb engine (fast CLI start)
        snap_basis,
        snap_by_squares,
    )
    from geosvc.modes import get_mode  # lazy: verb engine (fast CLI start)
    from geosvc.network.cache import load_network  # lazy: verb engine (fast CLI start)

    settings = Settings.load(file=config_file)
    data = load_dataset(db, settings, params)
    idx, q = data["index"], data["query"]
    spec = get_mode(q.mode)
    if not spec.needs_network:
        raise InvalidParameter("mode", f"must be a mode on roads, not {q.mode!r}")
    net = load_network(osm, q.mode, settings=settings, cache_dir=cache_dir)
    click.echo(f"{net.describe()} ({'cache' if net.meta.get('from_cache') else 'built'})",
               err=True)
    cells, areas, notes = demand_inputs(
        data["population"], data["areas"], net, osm=osm,
        floor_area_per_person_m2=settings.floor_area_per_person_m2)
    for note in notes:
        click.echo(note, err=True)
    in_parts = scheduler in ("local", "inline") or shared_dir is not None
    demand = build_demand(net, cells, areas, max_snap_m=settings.snap_max_m,
                          min_component_nodes=settings.min_component_nodes, snap=not in_parts)
    lon, lat = np.asarray(idx.lon, dtype=np.float64), np.asarray(idx.lat, dtype=np.float64)
    chosen = np.unique(np.asarray(data["candidates"], dtype=np.int64))
    chosen = chosen[valid_lonlat(lon[chosen], lat[chosen])]
    vx, vy = net.transformer.transform(lon[chosen], lat[chosen])
    placed = snap_by_squares(net, np.asarray(vx), np.asarray(vy),
                             max_dist_m=spec.snap_limit_m(settings),
                             basis=snap_basis(net, settings.min_component_nodes))
    ok = placed.ok
    if (~ok).any():
        click.echo(f"{int((~ok).sum())} venue(s) too far from the {q.mode} network are not "
                   "counted", err=True)
    labels = [(v.code, v.name) for v in idx.venues]
    result = run_province(net, demand, placed.take(np.flatnonzero(ok)),
                          venue_ids=chosen[ok], minutes=q.minutes[0],
                          walk_speed_mps=float(settings.walk_speed_kph) / 3.6,
                          partition=partition, scheduler=scheduler, workers=workers,
                          venue_labels=labels, progress=True,
                          shared=shared_dir,
                          snap_in_parts=in_parts, max_snap_m=settings.snap_max_m,
                          min_component_nodes=settings.min_component_nodes, gaps=gaps)
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
