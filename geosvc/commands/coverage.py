"""`geosvc coverage --db FILE --osm FILE [--mode walk] [--minutes 10] [filters] --out FILE`.

Loads the venues of the store and keeps those matching the filters (the same
filters and parsing as ``GET /api/v1/coverage``), loads (or builds and
caches) the ``--mode`` network of ``--osm``, takes demand from the store's
population layer (or, when none is imported, estimates it from the
extract's residential buildings) and areas from the store (or a 3 x 2 grid
over the network), computes the coverage and writes ``--out`` in the
registered output format its suffix names (:mod:`geosvc.formats`: .json,
.csv + ``<stem>_catchments.csv``, .geojson, or .html: the planner's report
with map, per-area table and a chart of covered share at 5..30 minutes per
venue kind; ``--tables csv,xlsx`` also writes its tables).  What a format
draws (its ``needs``) is computed only for it: the service-circle polygon,
the map context (venues, population, curves).
Demand fallbacks are :func:`geosvc.analysis.demand.demand_inputs` (shared
with the server).  Exit 2 for a bad option (the message names it), 1 for a
data or storage problem.  No matching venue still gives a valid report
(0 covered).  Without residents the figures are null, not 0: the summary
prints the ``no-population`` warning (with its fix) and the covered share of
the areas' km² instead, and the report has no share chart.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from geosvc.errors import GeosvcError, InvalidParameter
from geosvc.formats import (
    CIRCLES,
    COVERAGE,
    MAP,
    Output,
    OutputFormat,
    format_for_path,
)
from geosvc.formats import formats as output_formats
from geosvc.modes import TRAVEL_MODES, mode_names, network_modes

#: API parameter name -> CLI option.
_OPTION = {"mode": "--mode", "minutes": "--minutes", "kind": "--kind", "level": "--level",
           "item": "--item", "channel": "--channel", "open_at": "--open-at",
           "accessible": "--accessible", "home_area": "--home-area",
           "include_candidates": "--include-candidates"}


@click.command()
@click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="Dataset store (SQLite file or URL).")
@click.option("--osm", default=None, type=click.Path(dir_okay=False, path_type=str),
              help="OSM extract (.pbf / .osm / .gz) of the road network; required by the "
                   f"modes on roads ({', '.join(network_modes())}).")
@click.option("--mode", default="walk", show_default=True,
              help=f"Travel mode: {', '.join(mode_names())} (straight: great-circle "
                   "distance at walking speed, no road network needed).")
@click.option("--minutes", default="10", show_default=True,
              help="Service-circle size, minutes.")
@click.option("--kind", default=None, help="Venue kinds, comma list: hall, bank_outlet, kiosk.")
@click.option("--level", default=None,
              help="Hall levels, comma list: city, county, township, village.")
@click.option("--item", default=None, help="Item codes, comma list (venues handling all).")
@click.option("--channel", default=None, help="window, self_service or smart_teller.")
@click.option("--open-at", "open_at", default=None,
              help="ISO time; only venues open then (dataset time zone without offset).")
@click.option("--accessible", is_flag=True, default=False, help="Only green-channel venues.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="Report file; its suffix picks the format: .json, .csv, .geojson, .html "
                   "(any registered output format).")
@click.option("--tables", default=None,
              help="With a report format (.html): also write its tables, comma list of "
                   "csv, xlsx.")
@click.option("--title", default=None, help="Title of the .html report.")
@click.option("--lang", default="zh", show_default=True, type=click.Choice(["zh", "en"]),
              help="Language of the .html report.")
@click.option("--gap-radius-m", default=100.0, show_default=True, type=float,
              help="Radius grouping uncovered residents into gap polygons, metres.")
@click.option("--cache-dir", default=None, type=click.Path(file_okay=False, path_type=str),
              help="Directory of cached networks (default: settings cache_dir).")
@click.option("--config", "config_file", default=None, type=click.Path(dir_okay=False),
              help="Settings file (YAML/JSON); GEOSVC_* variables apply too.")
def command(db: str, osm: str | None, mode: str, minutes: str, kind: str | None,
            level: str | None, item: str | None, channel: str | None, open_at: str | None,
            accessible: bool, out: str, tables: str | None, title: str | None, lang: str,
            gap_radius_m: float, cache_dir: str | None, config_file: str | None) -> None:
    """Share of residents within N minutes of a matching venue, per area, with gaps."""
    out_path = Path(out)
    fmt = _out_format(out_path)
    table_formats = _parse_tables(tables, fmt)
    _check_osm(osm, mode)
    if not gap_radius_m > 0:
        raise click.BadParameter("must be a number of metres > 0", param_hint="--gap-radius-m")
    raw = {"mode": mode, "minutes": minutes, "kind": kind, "level": level, "item": item,
           "channel": channel, "open_at": open_at, "accessible": "true" if accessible else None}
    params = {k: v for k, v in raw.items() if v is not None}
    try:
        run, written = _compute_and_write(
            fmt, out_path, table_formats, title, lang,
            lambda step: _run(db, osm, params, cache_dir, config_file, gap_radius_m, step))
    except InvalidParameter as exc:
        bad = [p["name"] for p in exc.invalid_params]
        if bad and all(n in _OPTION for n in bad):
            msg = "; ".join(f"invalid value for {_OPTION[p['name']]}: {p['reason']}"
                            for p in exc.invalid_params)
            raise click.UsageError(msg) from exc
        raise click.ClickException(exc.detail) from exc
    except GeosvcError as exc:
        raise click.ClickException(exc.detail) from exc
    _summary(run, written)


def _compute_and_write(fmt: OutputFormat, out_path: Path, table_formats: tuple[str, ...],
                       title: str | None, lang: str,
                       compute: Callable[[Callable[[str], None]], dict[str, Any]],
                       ) -> tuple[dict[str, Any], list[Path]]:
    """Run ``compute`` under a progress bar, then write ``--out`` in ``fmt``."""
    from tqdm import tqdm  # lazy: tqdm takes ~0.04 s to import; only this path needs it

    from geosvc.analysis.output import (
        coverage_document,  # lazy: verb engine (fast CLI start)
    )

    steps = ["store", "network", "demand", "pass", "area", "gaps"]
    if MAP in fmt.needs:
        steps.append("curves")
    if CIRCLES in fmt.needs:
        steps.append("circles")
    steps.append("write")
    err = sys.stderr  # (click.get_text_stream is deprecated in Click 8.5)
    with tqdm(total=len(steps), unit="step", desc="coverage", leave=False, file=err) as bar:
        def step(name: str) -> None:
            if name in steps and steps.index(name) >= bar.n:
                bar.update(steps.index(name) - bar.n)
                bar.set_postfix_str(name)

        run = compute(step)
        extra: dict[str, Any] = (_report_extra(run, title, step, lang=lang)
                                 if MAP in fmt.needs else {})
        if "lang" in fmt.options:
            extra["lang"] = lang
        if table_formats:
            extra["tables"] = table_formats
        step("circles")
        doc = coverage_document(run["result"], circles=CIRCLES in fmt.needs)
        if run["straight_line"] is not None:
            doc["straight_line"] = run["straight_line"].to_dict()
        step("write")
        written = fmt.write(Output(COVERAGE, doc, extra), out_path)
        bar.update(len(steps) - bar.n)
    return run, written


def _summary(run: dict[str, Any], written: list[Path]) -> None:
    """Print the notes (stderr) and the headline, largest gap and per-area table (stdout)."""
    for note in run["notes"]:
        click.echo(note, err=True)
    result = run["result"]
    d = result.to_dict(catchments=False)
    for w in d["warnings"]:
        click.echo(f"warning ({w['code']}): {w['message']}", err=True)
    area = _pct(d["covered_area_share"])
    if d["total_population"] is None:
        click.echo(f"{d['mode']} {d['minutes']} min: no residents, so no covered share "
                   f"(see the warning); by {d['venues_used']} venues; covered area "
                   f"{d['covered_area_km2']:.2f} km², {area} of the areas' km² (land, not "
                   "residents)")
    else:
        click.echo(f"{d['mode']} {d['minutes']} min: {d['covered_population']:,.0f} of "
                   f"{d['total_population']:,.0f} residents covered "
                   f"({d['covered_share']:.1%}) by {d['venues_used']} venues; covered area "
                   f"{d['covered_area_km2']:.2f} km² ({area} of the areas' km²); "
                   f"{len(result.gaps)} gaps")
    off_venues, off_people = d["venues_off_network"], d["off_network_population"]
    if off_venues or off_people:
        click.echo(f"off the network (not placed): {off_venues} venue(s), "
                   f"{off_people or 0:,.0f} residents (never covered)", err=True)
    if result.gaps:
        top = result.gaps[0]["properties"]["uncovered_population"]
        click.echo(f"largest gap: {top:,.0f} residents uncovered")
    for row in d["by_area"]:
        people = ("residents unknown" if row["total_population"] is None else
                  f"{row['covered_population']:>10,.0f} / {row['total_population']:>10,.0f}"
                  f"  {row['covered_share']:.1%}")
        click.echo(f"  {row['area_id'] or '-':<12} {row['name']:<20} {people}"
                   f"  area {_pct(row['covered_area_share'])}")
    click.echo("wrote " + ", ".join(str(p) for p in written))


def _pct(share: float | None) -> str:
    """Return ``share`` as a percentage, or "–" when unknown."""
    return "–" if share is None else f"{share:.1%}"


def _check_osm(osm: str | None, mode: str) -> None:
    """Refuse a missing ``--osm`` file, or none for a mode that needs a road network."""
    spec = TRAVEL_MODES.get(mode.strip().lower())
    if osm is None:
        if spec is None or not spec.needs_network:
            return  # straight needs none; an unknown mode is named by the filter check
        msg = (f"is required for --mode {spec.name} (a road network); without an extract "
               "use --mode straight")
        raise click.BadParameter(msg, param_hint="--osm")
    if not Path(osm).is_file():
        raise click.BadParameter(f"{osm!r} does not exist or is not a file", param_hint="--osm")


def _out_format(path: Path) -> OutputFormat:
    """Return the registered output format the suffix of ``--out`` names."""
    try:
        return format_for_path(path, COVERAGE)
    except InvalidParameter as exc:
        raise click.BadParameter(exc.invalid_params[0]["reason"], param_hint="--out") from exc


def _parse_tables(tables: str | None, fmt: OutputFormat) -> tuple[str, ...]:
    """Return the ``--tables`` formats (csv, xlsx); refuse them with a format that has none."""
    if not tables:
        return ()
    formats = tuple(dict.fromkeys(t.strip().lower() for t in tables.split(",") if t.strip()))
    bad = [t for t in formats if t not in ("csv", "xlsx")]
    if bad or not formats:
        msg = f"must be a comma list of csv, xlsx, not {tables!r}"
        raise click.BadParameter(msg, param_hint="--tables")
    if "tables" not in fmt.options:
        with_tables = [s for f in output_formats(COVERAGE) if "tables" in f.options
                       for s in f.suffixes]
        msg = f"needs an --out report that has tables ({', '.join(with_tables)})"
        raise click.BadParameter(msg, param_hint="--tables")
    return formats


def _run(db: str, osm: str | None, params: dict[str, str], cache_dir: str | None,
         config_file: str | None, gap_radius_m: float, step) -> dict[str, Any]:
    """Load everything and compute the coverage.

    Returns ``{result, notes, index, filter, candidates, engine, demand}``.
    """
    from geosvc.analysis.coverage import (
        compute_coverage,  # lazy: verb engine (fast CLI start)
    )
    from geosvc.api import (
        load_dataset,  # lazy: verb engine (fast CLI start)
    )
    from geosvc.app.dataset import (
        travel_inputs,  # lazy: verb engine (fast CLI start)
    )
    from geosvc.app.travel import (
        straight_line,  # lazy: verb engine (fast CLI start)
    )
    from geosvc.config import (
        Settings,  # lazy: verb engine (fast CLI start)
    )

    settings = Settings.load(file=config_file)
    step("store")
    data = load_dataset(db, settings, params)
    idx, q, flt, candidates = data["index"], data["query"], data["filter"], data["candidates"]
    step("network")
    inputs = travel_inputs(idx, data["population"], data["areas"], q.mode, settings=settings,
                           osm=osm, cache_dir=cache_dir)
    step("demand")
    engine, demand, notes = inputs.router, inputs.demand, list(inputs.notes)
    labels = [(v.code, v.name) for v in idx.venues]
    key = ("cli", flt.cache_key(), flt.open_at)
    result = compute_coverage(engine, demand, candidates=candidates, minutes=q.minutes[0],
                              key=key, venue_labels=labels, gap_radius_m=gap_radius_m,
                              progress=step)
    return {"result": result, "notes": notes, "index": idx, "filter": flt, "key": key,
            "candidates": candidates, "engine": engine, "demand": demand,
            "straight_line": straight_line(settings, q.mode)}


def _heat_points(demand: Any, max_points: int = 20_000) -> list[tuple[float, float, float]]:
    """Return demand as ``(lon, lat, residents)``, summed into coarser bins when numerous.

    Bins of 0.001°, 0.002°, 0.004° ... (about 100 m, 200 m ...) until at
    most ``max_points`` remain, so a city-wide heat layer stays light.
    """
    keep = demand.count > 0
    lon, lat, n = demand.lon[keep], demand.lat[keep], demand.count[keep]
    step_deg = 0.001
    while len(lon) > max_points:
        cell = np.stack([np.floor(lon / step_deg), np.floor(lat / step_deg)], axis=1)
        uniq, inv = np.unique(cell, axis=0, return_inverse=True)
        inv = inv.ravel()
        w = np.bincount(inv, weights=n)
        lon = np.bincount(inv, weights=lon * n) / w
        lat = np.bincount(inv, weights=lat * n) / w
        n = w
        step_deg *= 2
    return [(round(float(x), 6), round(float(y), 6), round(float(c), 2))
            for x, y, c in zip(lon, lat, n, strict=True)]


#: Chart series: one per venue kind, then every venue.
_CURVE_ALL = "all venues"


def _report_extra(run: dict[str, Any], title: str | None, step, *,
                  lang: str = "zh") -> dict[str, Any]:
    """Return the map context of a report (``MAP``): venues, population, curves, title."""
    from geosvc.analysis.curves import (  # lazy: verb engine (fast CLI start)
        CURVE_MINUTES,
        share_curves,
    )
    from geosvc.app.dataset import (
        filter_positions,  # lazy: verb engine (fast CLI start)
    )
    from geosvc.app.records import (
        base_properties,  # lazy: verb engine (fast CLI start)
    )
    from geosvc.model import (  # lazy: verb engine (fast CLI start)
        VenueFilter,
        VenueKind,
    )

    step("curves")
    idx, flt, result = run["index"], run["filter"], run["result"]
    # Per kind and for every venue: the filter's time and candidate options,
    # none of its other restrictions (the chart puts the selection in context).
    sets: dict[str, tuple[Any, Any]] = {}
    for label, kinds in [*((str(k), (k,)) for k in VenueKind), (_CURVE_ALL, ())]:
        f = VenueFilter(kinds=kinds, open_at=flt.open_at,
                        include_candidates=flt.include_candidates)
        sets[label] = (filter_positions(idx, f), ("cli-curve", f.cache_key(), f.open_at))
    chosen = np.asarray(run["candidates"])
    if not any(np.array_equal(chosen, c) for c, _ in sets.values()):
        sets["selection"] = (chosen, run["key"])  # the headline's pass, cached
    # without residents every share is unknown: no chart (not a chart of zeros)
    curves = (share_curves(run["engine"], run["demand"], sets, CURVE_MINUTES)
              if result.has_population else {})
    props = base_properties(idx)
    feats = [{"type": "Feature", "id": idx.venues[p].code,
              "geometry": {"type": "Point",
                           "coordinates": [idx.venues[p].lon, idx.venues[p].lat]},
              "properties": dict(props[p])} for p in (int(p) for p in chosen)]
    population = _heat_points(run["demand"])
    minutes = result.minutes
    return {
        "title": title or (f"{minutes:g} 分钟服务圈覆盖分析（{result.mode}）" if lang == "zh"
                           else f"{minutes:g}-minute {result.mode} coverage"),
        "subtitle": (f"{len(chosen)} 个场所；覆盖率与时间：{'、'.join(sets)}" if lang == "zh"
                     else f"{len(chosen)} venues; covered share by minutes: "
                          f"{', '.join(sets)}"),
        "venues": {"type": "FeatureCollection", "features": feats},
        "population": population,
        "curves": curves,
    }
