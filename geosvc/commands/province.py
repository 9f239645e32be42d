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

``--plan bank_outlets|kiosk_sites|FILE`` also plans new sites as
``geosvc plan`` does (``--k`` / ``--target-share`` / ``--add``, ``--solver``;
the venues matching the filters are the fixed sites): each part gives which
candidates its residents not covered yet reach
(:func:`geosvc.distributed.plans.plan_province`), this process merges them
and solves; the plan (``plan`` in the JSON) equals ``geosvc plan``'s.
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
@click.option("--plan", "plan_spec", default=None, metavar="bank_outlets|kiosk_sites|FILE",
              help="Also plan new sites among these candidates (as `geosvc plan`; a "
                   "GeoJSON / CSV file of points), coverage sets computed in the parts.")
@click.option("--k", "k", type=click.IntRange(min=1), default=None,
              help="With --plan: sites to choose (maximal covering); default 10.")
@click.option("--target-share", type=click.FloatRange(0.0, 1.0), default=None,
              help="With --plan: fewest sites reaching this covered share instead of --k.")
@click.option("--add", default=None, metavar="ID,ID",
              help="With --plan: what-if, these candidate ids added (no optimisation).")
@click.option("--solver", default="auto", show_default=True,
              type=click.Choice(["auto", "exact", "greedy"]), help="With --plan: the solver.")
@click.option("--site-spacing", "site_spacing_m", type=float, default=None,
              help="With --plan kiosk_sites: cell size, metres (default 250).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="Result .json (figures, per area, catchments, parts, workers' peak "
                   "memory); the uncovered residents go to <stem>_gaps.csv.")
@click.option("--cache-dir", default=None, type=click.Path(file_okay=False, path_type=str),
              help="Directory of cached networks (default: settings cache_dir).")
@click.option("--config", "config_file", default=None, type=click.Path(dir_okay=False),
              help="Settings file (YAML/JSON); GEOSVC_* variables apply too.")
def command(db: str, osm: str, mode: str, minutes: float, kind: str | None,
            level: str | None, item: str | None, partition: str, scheduler: str,
            workers: int | None, shared_dir: str | None, gaps: bool, plan_spec: str | None,
            k: int | None, target_share: float | None, add: str | None, solver: str,
            site_spacing_m: float | None, out: str, cache_dir: str | None,
            config_file: str | None) -> None:
    """Coverage of one large dataset, partitioned by area over Dask; equal to `coverage`.

    With --plan, also the site plan of `geosvc plan`, its coverage sets computed in
    the parts.
    """
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
    problem = _plan_problem(plan_spec, k, target_share, add, solver, site_spacing_m)
    if not Path(osm).is_file():
        raise click.BadParameter(f"{osm!r} does not exist or is not a file", param_hint="--osm")
    raw = {"mode": mode, "minutes": f"{minutes:g}", "kind": kind, "level": level,
           "item": item}
    params = {k: v for k, v in raw.items() if v is not None}
    try:
        result, demand, plan = _run(db, osm, params, partition, scheduler, workers,
                                    cache_dir, config_file, shared_dir=shared_dir, gaps=gaps,
                                    problem=problem)
    except InvalidParameter as exc:
        raise click.UsageError(exc.detail) from exc
    except GeosvcError as exc:
        raise click.ClickException(exc.detail) from exc
    doc = result.to_dict()
    if plan is not None:
        doc["plan"] = {**plan.plan.to_dict(),
                       "province": {"pairs": plan.pairs, "timings_s": dict(plan.timings_s)}}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    gaps_csv = out_path.with_name(f"{out_path.stem}_gaps.csv")
    with open(gaps_csv, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["lon", "lat", "residents", "area_id"])
        w.writeheader()
        w.writerows(result.gap_points(demand))
    _summary(doc)
    if "plan" in doc:
        _plan_summary(doc["plan"])
    click.echo(f"wrote {out_path}, {gaps_csv}")


def _plan_problem(spec: str | None, k: int | None, target_share: float | None,
                  add: str | None, solver: str, site_spacing_m: float | None) -> dict | None:
    """Return the plan's arguments (None without ``--plan``); exit 2 on a bad combination."""
    given = [n for n, v in (("--k", k), ("--target-share", target_share), ("--add", add),
                            ("--site-spacing", site_spacing_m)) if v is not None]
    if spec is None:
        if given or solver != "auto":
            raise click.BadParameter(f"{', '.join(given) or '--solver'} needs --plan",
                                     param_hint="--plan")
        return None
    if sum(v is not None for v in (k, target_share, add)) > 1:
        msg = "give one of --k, --target-share and --add"
        raise click.BadParameter(msg, param_hint="--k / --target-share / --add")
    if spec not in ("bank_outlets", "kiosk_sites") and not Path(spec).is_file():
        msg = f"must be bank_outlets, kiosk_sites or a GeoJSON / CSV file, not {spec!r}"
        raise click.BadParameter(msg, param_hint="--plan")
    return {"spec": spec, "k": k, "target_share": target_share, "solver": solver,
            "add": None if add is None else [a.strip() for a in add.split(",") if a.strip()],
            "site_spacing_m": site_spacing_m}


class _Placer:
    """Snap points as the mode's router does, square by square (no whole-network index).

    Duck-types what the candidate builders read of a router: ``snap(lon,
    lat)`` and ``venues.take(positions)`` (the dataset's venues).
    """

    def __init__(self, net, lon, lat, *, max_dist_m: float, basis) -> None:  # noqa: ANN001
        self.net, self.lon, self.lat = net, lon, lat
        self.max_dist_m, self.basis = max_dist_m, basis
        self.venues = self

    def take(self, positions):  # noqa: ANN001, ANN201
        """Return the dataset's venues at ``positions``, snapped."""
        return self.snap(self.lon[positions], self.lat[positions])

    def snap_xy(self, x, y, max_dist_m: float):  # noqa: ANN001, ANN201
        """Return projected points snapped within ``max_dist_m``, as snap_xy on the network."""
        from geosvc.distributed.snapping import (
            snap_by_squares,  # lazy: verb engine (fast CLI start)
        )

        return snap_by_squares(self.net, x, y, max_dist_m=max_dist_m, basis=self.basis)

    def snap(self, lon, lat):  # noqa: ANN001, ANN201
        """Return the points snapped (invalid coordinates: edge -1), as RoadRouter.snap."""
        from geosvc.coords import valid_lonlat  # lazy: verb engine (fast CLI start)
        from geosvc.distributed.snapping import (
            snap_by_squares,  # lazy: verb engine (fast CLI start)
        )
        from geosvc.network.snap import Snapped  # lazy: verb engine (fast CLI start)

        lo = np.atleast_1d(np.asarray(lon, dtype=np.float64))
        la = np.atleast_1d(np.asarray(lat, dtype=np.float64))
        good = valid_lonlat(lo, la)
        x, y = self.net.transformer.transform(np.where(good, lo, 0.0), np.where(good, la, 0.0))
        s = snap_by_squares(self.net, np.asarray(x), np.asarray(y), max_dist_m=self.max_dist_m,
                            basis=self.basis)
        edge = np.where(good, s.edge, -1)
        return Snapped(edge=edge, frac=s.frac, dist_m=np.where(edge >= 0, s.dist_m, np.inf),
                       x=s.x, y=s.y, px=s.px, py=s.py, lon=lo, lat=la)


def _candidates(problem: dict, idx, flt, net, demand, placer: _Placer,  # noqa: ANN001, ANN202
                min_component_nodes: int):
    """Build the plan's candidates as ``geosvc plan`` does (build_candidates' rules)."""
    from geosvc.analysis.planning.candidates import (  # lazy: verb engine (fast CLI start)
        KIOSK_SPACING_M,
        bank_outlet_candidates,
        kiosk_site_candidates,
        offering,
        read_candidate_file,
        supplied_points,
    )

    spec = problem["spec"]
    if spec == "bank_outlets":
        cands = bank_outlet_candidates(idx, placer, exclude=np.flatnonzero(idx.mask(flt)))
    elif spec == "kiosk_sites":
        cands = kiosk_site_candidates(net, demand,
                                      spacing_m=problem["site_spacing_m"] or KIOSK_SPACING_M,
                                      min_component_nodes=min_component_nodes,
                                      snap=placer.snap_xy)  # no whole-network index
    else:
        cands = supplied_points(placer, read_candidate_file(spec))  # type: ignore[arg-type]
    return offering(cands, flt)


def _run(db: str, osm: str, params: dict[str, str], partition: str, scheduler: str,
         workers: int | None, cache_dir: str | None, config_file: str | None, *,
         shared_dir: str | None, gaps: bool, problem: dict | None):  # noqa: ANN202
    """Load the dataset and network, place the venues, run the parts.

    Returns ``(result, demand, plan or None)``.

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
    basis = snap_basis(net, settings.min_component_nodes)
    placed = snap_by_squares(net, np.asarray(vx), np.asarray(vy),
                             max_dist_m=spec.snap_limit_m(settings), basis=basis)
    ok = placed.ok
    if (~ok).any():
        click.echo(f"{int((~ok).sum())} venue(s) too far from the {q.mode} network are not "
                   "counted", err=True)
    labels = [(v.code, v.name) for v in idx.venues]
    common: dict = {
        "venue_ids": chosen[ok], "minutes": q.minutes[0],
        "walk_speed_mps": float(settings.walk_speed_kph) / 3.6, "partition": partition,
        "scheduler": scheduler, "workers": workers, "venue_labels": labels, "progress": True,
        "shared": shared_dir, "snap_in_parts": in_parts, "max_snap_m": settings.snap_max_m,
        "min_component_nodes": settings.min_component_nodes, "gaps": gaps,
        "basis": basis}
    if problem is None:
        return run_province(net, demand, placed.take(np.flatnonzero(ok)), **common), demand, \
            None
    from geosvc.distributed.plans import plan_province  # lazy: verb engine (fast CLI start)

    placer = _Placer(net, lon, lat, max_dist_m=spec.snap_limit_m(settings), basis=basis)
    cands = _candidates(problem, idx, q.filter, net, demand, placer,
                        settings.min_component_nodes)
    fixed = np.flatnonzero(idx.mask(q.filter))
    plan = plan_province(net, demand, placed.take(np.flatnonzero(ok)), cands,
                         k=problem["k"], target_share=problem["target_share"],
                         add=problem["add"], solver=problem["solver"], fixed_sites=len(fixed),
                         fixed_lonlat=[(float(lon[i]), float(lat[i])) for i in fixed],
                         **common)
    return plan.coverage, demand, plan


def _plan_summary(doc: dict) -> None:
    """Print the plan's headline and its selected sites."""
    click.echo(f"plan {doc['problem']}: {len(doc['selected'])} selected sites of "
               f"{doc['candidates_count']} {doc['candidates']} candidates; covered share "
               f"{doc['before_share']:.4f} -> {doc['after_share']:.4f}; "
               f"solver {doc['solver']}; {doc['province']['pairs']:,} coverage-set pairs "
               "from the parts")
    for s in doc["selected"]:
        click.echo(f"  {s['rank']:>3}. {s['id']}  {s['name']}  +{s['gain_population']:.0f}  "
                   f"-> {s['cumulative_share']:.4f}")


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
