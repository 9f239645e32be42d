"""`geosvc plan --db FILE [--osm FILE] --k 10 [...] --out FILE.html|.json|.csv`.

``--out`` is written in the registered output format its suffix names
(:mod:`geosvc.formats`); a format that draws the map (``MAP``) gets the
demand points and existing sites too.
"""

from __future__ import annotations

from pathlib import Path

import click

from geosvc.errors import GeosvcError, InvalidParameter
from geosvc.formats import MAP, PLAN, Output, OutputFormat, format_for_path
from geosvc.modes import TRAVEL_MODES, mode_names, network_modes


@click.command()
@click.option("--db", envvar="GEOSVC_DB", required=True, metavar="FILE",
              help="SQLite dataset (from `geosvc import` or `geosvc demo`).")
@click.option("--osm", envvar="GEOSVC_OSM", default=None, metavar="FILE",
              help="OSM extract (.pbf / .osm / .gz) of the road network; required by the "
                   f"modes on roads ({', '.join(network_modes())}).")
@click.option("--k", "k", type=int, default=None,
              help="Sites to choose (maximal covering); default 10.")
@click.option("--candidates", default="bank_outlets", show_default=True,
              help="bank_outlets | kiosk_sites | a GeoJSON / CSV (id,name,lon,lat) file.")
@click.option("--mode", default="walk", show_default=True, type=click.Choice(mode_names()),
              help="Travel mode (straight: great-circle distance at walking speed, no road "
                   "network needed).")
@click.option("--minutes", default=10.0, show_default=True, type=float,
              help="Service-circle size, minutes.")
@click.option("--target-share", type=float, default=None,
              help="Fewest sites reaching this covered share (0..1) instead of --k.")
@click.option("--add", default=None, metavar="ID,ID",
              help="What-if: these candidate ids added (no optimisation).")
@click.option("--solver", default="auto", show_default=True,
              type=click.Choice(["auto", "exact", "greedy"]))
@click.option("--site-spacing", "site_spacing_m", type=float, default=None,
              help="Cell size of kiosk_sites, metres (default 250).")
@click.option("--kind", default=None, help="Fixed-site filter: venue kinds, comma list.")
@click.option("--level", default=None, help="Fixed-site filter: levels, comma list.")
@click.option("--item", default=None, help="Fixed-site filter: item codes, comma list.")
@click.option("--channel", default=None, help="Fixed-site filter: channel.")
@click.option("--cache-dir", default=".geosvc-cache", show_default=True,
              help="Directory of cached road networks.")
@click.option("--out", required=True, metavar="FILE.html|.json|.csv",
              help="Output file; its suffix picks the format (any registered output format).")
@click.option("--lang", default="zh", show_default=True, type=click.Choice(["zh", "en"]),
              help="Language of the .html map.")
def command(db: str, osm: str | None, k: int | None, candidates: str, mode: str, minutes: float,
            target_share: float | None, add: str | None, solver: str,
            site_spacing_m: float | None, kind: str | None, level: str | None,
            item: str | None, channel: str | None, cache_dir: str, out: str,
            lang: str) -> None:
    """Choose bank outlets or kiosk sites that close the coverage gaps.

    Prints a summary; writes the plan to --out (JSON document, CSV of the
    chosen sites, or an HTML map with the sites numbered in order).
    """
    try:
        fmt = format_for_path(out, PLAN)
    except InvalidParameter as exc:
        raise click.BadParameter(exc.invalid_params[0]["reason"], param_hint="--out") from exc
    if osm is None and TRAVEL_MODES[mode].needs_network:
        msg = (f"is required for --mode {mode} (a road network); without an extract use "
               "--mode straight")
        raise click.BadParameter(msg, param_hint="--osm")
    for name, path in (("--db", db), ("--osm", osm)):
        if path is not None and "://" not in path and not Path(path).is_file():
            raise click.BadParameter(f"`{name}` {path} does not exist", param_hint=name)
    body: dict = {"mode": mode, "minutes": minutes, "solver": solver}
    if k is not None:
        body["k"] = k
    if target_share is not None:
        body["target_share"] = target_share
    if add is not None:
        body["add"] = [a.strip() for a in add.split(",") if a.strip()]
    if site_spacing_m is not None:
        body["site_spacing_m"] = site_spacing_m
    body["filters"] = {n: v for n, v in (("kind", kind), ("level", level), ("item", item),
                                         ("channel", channel)) if v}
    try:
        _run(db, osm, mode, cache_dir, candidates, body, out, fmt, lang=lang)
    except GeosvcError as exc:
        raise click.ClickException(exc.detail) from exc


def _run(db: str, osm: str | None, mode: str, cache_dir: str, candidates: str, body: dict,
         out: str, fmt: OutputFormat, *, lang: str = "zh") -> None:
    from geosvc.analysis.planning import (
        read_candidate_file,  # lazy: verb engine (fast CLI start)
    )
    from geosvc.analysis.planning.output import (
        plan_map_data,  # lazy: verb engine (fast CLI start)
    )
    from geosvc.api._common import (
        parse,  # lazy: verb engine (fast CLI start)
    )
    from geosvc.api.plans import (
        parse_plan_body,  # lazy: verb engine (fast CLI start)
    )
    from geosvc.app.service import (
        GeoService,  # lazy: verb engine (fast CLI start)
    )
    from geosvc.app.travel import (  # lazy: verb engine (fast CLI start)
        PlanRequest,
        plan_new_sites,
    )
    from geosvc.config import (
        Settings,  # lazy: verb engine (fast CLI start)
    )

    if candidates in ("bank_outlets", "kiosk_sites"):
        body["candidates"] = candidates
    else:
        body["candidates"] = {"type": "FeatureCollection", "features": []}  # checked below
    values, flt_params = parse_plan_body(body)
    on_roads = TRAVEL_MODES[mode].needs_network
    settings = Settings.load(overrides={"db": db, "osm": osm if on_roads else None,
                                        "modes": mode if on_roads else "",
                                        "cache_dir": cache_dir})
    service = GeoService(settings)
    snap = service.snapshot
    query = parse(service, snap, "coverage",
                  {**flt_params, "mode": mode, "minutes": f"{values['minutes']!r}"})
    spec = candidates if candidates in ("bank_outlets", "kiosk_sites") else \
        read_candidate_file(candidates)
    add = values["add"]
    request = PlanRequest(mode=mode, minutes=query.minutes[0], k=values["k"],
                          target_share=values["target_share"],
                          add=tuple(add) if add is not None else None, candidates=spec,
                          solver=values["solver"], site_spacing_m=values["site_spacing_m"],
                          filter=query.filter)
    answer = plan_new_sites(service, snap, request)
    doc = answer.result.to_dict()
    if answer.straight_line is not None:
        doc["straight_line"] = answer.straight_line.to_dict()
    extra = plan_map_data(answer.result, service.demand(mode, snap)) if MAP in fmt.needs else {}
    if "lang" in fmt.options:
        extra = {**extra, "lang": lang}
    written = fmt.write(Output(PLAN, doc, extra), Path(out))
    _summary(doc, written)


def _summary(doc: dict, written: list[Path]) -> None:
    """Print the plan's headline, solver and chosen sites."""
    click.echo(f"{doc['problem']}: {len(doc['selected'])} of {doc['candidates_count']} "
               f"{doc['candidates']} candidates, {doc['minutes']:g} min {doc['mode']}")
    if "straight_line" in doc:
        click.echo(f"straight-line analysis: {doc['straight_line']['note']}")
    click.echo(f"covered share {doc['before_share']:.4f} -> {doc['after_share']:.4f} "
               f"(+{doc['gain_population']:.0f} of {doc['total_population']:.0f} residents)")
    click.echo(f"solver {doc['solver']} in {doc['solve_time_s']:.3f} s "
               f"(coverage sets {doc['build_time_s']:.3f} s)")
    if doc["candidates_off_network"]:
        click.echo(f"off the network (ignored): {', '.join(doc['candidates_off_network'])}")
    if doc.get("candidates_not_offering"):
        click.echo("not offering what the filters ask (ignored): "
                   + ", ".join(doc["candidates_not_offering"]))
    for s in doc["selected"]:
        offers = s.get("offers") or {}
        what = " ".join(filter(None, [offers.get("kind"),
                                      ",".join(offers.get("channels") or [])]))
        click.echo(f"  {s['rank']:>3}. {s['id']}  {s['name']}  +{s['gain_population']:.0f}  "
                   f"-> {s['cumulative_share']:.4f}" + (f"  [{what}]" if what else ""))
    click.echo("wrote " + ", ".join(str(p) for p in written))
