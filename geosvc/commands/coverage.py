"""`geosvc coverage --db FILE --osm FILE [--mode walk] [--minutes 10] [filters] --out FILE`.

Loads the venues of the store and keeps those matching the filters (the same
filters and parsing as ``GET /api/v1/coverage``), loads (or builds and
caches) the ``--mode`` network of ``--osm``, takes demand from the store's
population layer (or, when none is imported, estimates it from the
extract's residential buildings) and areas from the store (or a 3 x 2 grid
over the network), computes the coverage and writes ``--out`` by suffix
(.json, .csv + ``<stem>_catchments.csv``, .geojson, .html when the map
report exists).  Exit 2 for a bad option (the message names it), 1 for a
data or storage problem.  No matching venue still gives a valid report
(0 covered).
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from geosvc.errors import GeosvcError, InvalidParameter

#: API parameter name -> CLI option.
_OPTION = {"mode": "--mode", "minutes": "--minutes", "kind": "--kind", "level": "--level",
           "item": "--item", "channel": "--channel", "open_at": "--open-at",
           "accessible": "--accessible", "home_area": "--home-area",
           "include_candidates": "--include-candidates"}


@click.command()
@click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="Dataset store (SQLite file or URL).")
@click.option("--osm", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="OSM extract (.osm.pbf / .osm) of the road network.")
@click.option("--mode", default="walk", show_default=True, help="walk, bike or drive.")
@click.option("--minutes", default="10", show_default=True, help="Service-circle size, minutes.")
@click.option("--kind", default=None, help="Venue kinds, comma list: hall, bank_outlet, kiosk.")
@click.option("--level", default=None, help="Hall levels, comma list: city, county, township, village.")
@click.option("--item", default=None, help="Item codes, comma list (venues handling all).")
@click.option("--channel", default=None, help="window, self_service or smart_teller.")
@click.option("--open-at", "open_at", default=None,
              help="ISO time; only venues open then (dataset time zone without offset).")
@click.option("--accessible", is_flag=True, default=False, help="Only green-channel venues.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="Report file: .json, .csv, .geojson or .html.")
@click.option("--gap-radius-m", default=100.0, show_default=True, type=float,
              help="Radius grouping uncovered residents into gap polygons, metres.")
@click.option("--cache-dir", default=None, type=click.Path(file_okay=False, path_type=str),
              help="Directory of cached networks (default: settings cache_dir).")
@click.option("--config", "config_file", default=None, type=click.Path(dir_okay=False),
              help="Settings file (YAML/JSON); GEOSVC_* variables apply too.")
def command(db: str, osm: str, mode: str, minutes: str, kind: str | None, level: str | None,
            item: str | None, channel: str | None, open_at: str | None, accessible: bool,
            out: str, gap_radius_m: float, cache_dir: str | None,
            config_file: str | None) -> None:
    """Share of residents within N minutes of a matching venue, per area, with gaps."""
    from tqdm import tqdm

    from geosvc.analysis.output import SUFFIXES

    out_path = Path(out)
    if out_path.suffix.lower() not in SUFFIXES:
        msg = f"must end in one of {', '.join(SUFFIXES)}, not {out_path.name!r}"
        raise click.BadParameter(msg, param_hint="--out")
    if out_path.suffix.lower() == ".html":
        import importlib.util

        if importlib.util.find_spec("geosvc.render.report") is None:
            msg = "HTML coverage reports are not available yet; use .json, .csv or .geojson"
            raise click.BadParameter(msg, param_hint="--out")
    if not Path(osm).is_file():
        raise click.BadParameter(f"{osm!r} does not exist or is not a file", param_hint="--osm")
    if not gap_radius_m > 0:
        raise click.BadParameter("must be a number of metres > 0", param_hint="--gap-radius-m")
    raw = {"mode": mode, "minutes": minutes, "kind": kind, "level": level, "item": item,
           "channel": channel, "open_at": open_at, "accessible": "true" if accessible else None}
    params = {k: v for k, v in raw.items() if v is not None}
    steps = ["store", "network", "demand", "pass", "area", "gaps", "write"]
    err = click.get_text_stream("stderr")
    with tqdm(total=len(steps), unit="step", desc="coverage", leave=False, file=err) as bar:
        def step(name: str) -> None:
            if name in steps and steps.index(name) >= bar.n:
                bar.update(steps.index(name) - bar.n)
                bar.set_postfix_str(name)

        try:
            result, notes = _run(db, osm, params, cache_dir, config_file, gap_radius_m, step)
            step("write")
            from geosvc.analysis.output import write_coverage

            written = write_coverage(result, out_path)
            bar.update(len(steps) - bar.n)
        except InvalidParameter as exc:
            bad = [p["name"] for p in exc.invalid_params]
            if bad and all(n in _OPTION for n in bad):
                msg = "; ".join(f"invalid value for {_OPTION[p['name']]}: {p['reason']}"
                                for p in exc.invalid_params)
                raise click.UsageError(msg) from exc
            raise click.ClickException(exc.detail) from exc
        except GeosvcError as exc:
            raise click.ClickException(exc.detail) from exc
    for note in notes:
        click.echo(note, err=True)
    d = result.to_dict(catchments=False)
    click.echo(f"{d['mode']} {d['minutes']} min: {d['covered_population']:,.0f} of "
               f"{d['total_population']:,.0f} residents covered ({d['covered_share']:.1%}) "
               f"by {d['venues_used']} venues; covered area {d['covered_area_km2']:.2f} km²; "
               f"{len(result.gaps)} gaps")
    if result.gaps:
        top = result.gaps[0]["properties"]["uncovered_population"]
        click.echo(f"largest gap: {top:,.0f} residents uncovered")
    for row in result.by_area:
        click.echo(f"  {row['area_id'] or '-':<12} {row['name']:<20} "
                   f"{row['covered_population']:>10,.0f} / {row['total_population']:>10,.0f}"
                   f"  {row['covered_share']:.1%}")
    click.echo("wrote " + ", ".join(str(p) for p in written))


def _run(db: str, osm: str, params: dict[str, str], cache_dir: str | None,
         config_file: str | None, gap_radius_m: float, step) -> tuple[object, list[str]]:
    """Load everything and compute; returns (CoverageResult, notes for stderr)."""
    from zoneinfo import ZoneInfo

    from geosvc.analysis.coverage import compute_coverage
    from geosvc.analysis.demand import build_demand, estimate_population_from_osm, grid_areas
    from geosvc.api.params import ParseContext, parse_query
    from geosvc.config import Settings
    from geosvc.index import ServiceIndex
    from geosvc.network.cache import load_network
    from geosvc.network.nearest import TravelEngine
    from geosvc.store import open_store

    notes: list[str] = []
    settings = Settings.load(file=config_file)
    step("store")
    store = open_store(db, create=False)
    try:
        info = store.info()
        venues, items, links = store.venues(), store.items(), store.links()
        population, areas = store.population(), store.areas()
    finally:
        store.close()
    idx = ServiceIndex.build(venues, items, links, info=info,
                             open_margin_min=settings.open_margin_min)
    ctx = ParseContext(max_limit=settings.max_limit, default_limit=settings.default_limit,
                       tz=ZoneInfo(info.timezone or settings.timezone),
                       known_item=lambda code: idx.item(code) is not None)
    q = parse_query("coverage", params, ctx)
    flt = q.filter
    if flt.open_at is not None:
        candidates = idx.candidate_positions(flt)
        candidates = candidates[idx.mask(flt, at=flt.open_at)[candidates]]
    else:
        candidates = idx.candidate_positions(flt)
    step("network")
    started = time.perf_counter()
    net = load_network(osm, q.mode, settings=settings, cache_dir=cache_dir)
    notes.append(f"{net.describe()} ({'cache' if net.meta.get('from_cache') else 'built'}, "
                 f"{time.perf_counter() - started:.1f} s)")
    step("demand")
    if not population:
        if osm.lower().endswith(".pbf"):
            population = estimate_population_from_osm(
                osm, floor_area_per_person_m2=settings.floor_area_per_person_m2)
            notes.append(f"no population layer imported: estimated "
                         f"{sum(c.count for c in population):,.0f} residents from "
                         f"{len(population)} OSM residential buildings")
        else:
            notes.append("no population layer imported and the extract is not .osm.pbf: "
                         "population is 0 (import one with `geosvc import population`)")
    if not areas and net.n_nodes:
        areas = grid_areas(net.bounds_lonlat, 3, 2, prefix="AREA")
        notes.append("no areas imported: using a 3 x 2 grid over the network (AREA-1..6)")
    demand = build_demand(net, population, areas, max_snap_m=settings.snap_max_m)
    engine = TravelEngine(net, idx.lon, idx.lat, settings=settings)
    if len(engine.unsnappable):
        notes.append(f"{len(engine.unsnappable)} venue(s) too far from the {q.mode} network "
                     f"are not counted")
    labels = [(v.code, v.name) for v in idx.venues]
    result = compute_coverage(engine, demand, candidates=candidates, minutes=q.minutes[0],
                              key=("cli", flt.cache_key(), flt.open_at),
                              venue_labels=labels, gap_radius_m=gap_radius_m, progress=step)
    return result, notes
