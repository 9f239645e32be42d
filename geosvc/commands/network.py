"""`geosvc network build EXTRACT [--modes walk,bike,drive] [--cache-dir DIR]`.

EXTRACT is an ``.osm.pbf``, ``.osm`` or ``.osm.xml`` file, the XML ones also
compressed (``.osm.gz``, ``.osm.bz2``...).  Each mode prints one summary line
and its build report (:data:`geosvc.network.osm.BUILD_REPORT_KEYS`): ways
read, clipped ways and missing node references, nodes, edges, components
and the travel core points snap to.  Then the extract's named places (the
search box's streets, POIs and neighbourhoods) are read or loaded once and
cached beside the networks.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import TYPE_CHECKING

import click
import numpy as np

from geosvc.commands._modes import modes_option
from geosvc.errors import GeosvcError

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from geosvc.config import Settings
    from geosvc.model import Venue
    from geosvc.network.graph import RoadNetwork


@click.group()
def command() -> None:
    """Road networks: build and cache travel-time graphs from OSM extracts."""


@command.command("build")
@click.argument("osm_file", type=click.Path(dir_okay=False, path_type=str))
@modes_option("Travel modes to build")
@click.option("--cache-dir", default=None, type=click.Path(file_okay=False, path_type=str),
              help="Directory of cached networks (default: settings cache_dir).")
@click.option("--config", "config_file", default=None, type=click.Path(dir_okay=False),
              help="Settings file (YAML/JSON); GEOSVC_* variables apply too.")
@click.option("--db", default=None, metavar="FILE|URL",
              help="Also check this dataset's venues: list those too far from each "
                   "mode's roads to be reached (exit 1 if any).")
def build(osm_file: str, modes: str, cache_dir: str | None, config_file: str | None,
          db: str | None) -> None:
    """Build (or load from cache) the network of each mode and print a summary."""
    from tqdm import tqdm  # lazy: tqdm takes ~0.04 s to import; only this path needs it

    from geosvc.config import (
        Settings,  # lazy: verb engine (fast CLI start)
    )
    from geosvc.network.cache import (
        load_network,  # lazy: verb engine (fast CLI start)
    )
    from geosvc.network.graph import (
        MODES,  # lazy: verb engine (fast CLI start)
    )

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
    venues = _read_venues(db) if db else None
    failed = 0
    off_network = 0
    last_hash: str | None = None
    with tqdm(total=len(wanted), unit="mode", desc="networks", leave=False) as bar:
        for mode in wanted:
            bar.set_postfix_str(mode)
            started = time.perf_counter()
            try:
                net = load_network(osm_file, mode, settings=settings, cache_dir=cache_dir,
                                   progress=lambda step: bar.set_postfix_str(step))
            except GeosvcError as exc:
                failed += 1
                tqdm.write(f"{mode}: error: {exc.detail}", file=sys.stderr)
                bar.update(1)
                continue
            elapsed = time.perf_counter() - started
            last_hash = net.source_hash
            how = "loaded from cache" if net.meta.get("from_cache") else "built"
            tqdm.write(
                f"{mode}: {net.n_nodes:,} nodes, {net.n_edges:,} edges, "
                f"{net.components():,} components, {how} in {elapsed:.2f} s, "
                f"cache {net.meta.get('cache_path')}"
            )
            for line in report_lines(net, settings):
                tqdm.write(f"  {line}")
            if venues:
                off_network += _report_venues(net, venues, settings)
            bar.update(1)
    if not failed:
        _build_places(osm_file, settings, cache_dir, nets_hash=last_hash)
    if failed:
        msg = f"{failed} of {len(wanted)} mode(s) failed"
        raise click.ClickException(msg)
    if off_network:
        msg = (f"{off_network} venue/mode pair(s) cannot be reached (listed above); "
               "fix their coordinates or raise `snap_max_m`")
        raise click.ClickException(msg)


def _build_places(osm_file: str, settings: Settings, cache_dir: str | None,
                  nets_hash: str | None) -> None:
    """Read (or load from the cache) the extract's named places and print one line."""
    from geosvc.network.places import (
        load_places,  # lazy: verb engine (fast CLI start)
    )

    try:
        places, meta = load_places(osm_file, cache_dir=cache_dir or settings.cache_dir,
                                   source_hash=nets_hash)
    except GeosvcError as exc:
        raise click.ClickException(exc.detail) from exc
    kinds = Counter(p.kind for p in places)
    how = "loaded from cache" if meta["from_cache"] else "read"
    click.echo(f"places: {kinds['street']:,} streets, {kinds['poi']:,} POIs, "
               f"{kinds['district']:,} neighbourhoods (search box), {how} in "
               f"{meta['load_s']:.2f} s, cache {meta['cache_path']}")


def report_lines(net: RoadNetwork, settings: Settings) -> list[str]:
    """Return the build report of ``net`` as text lines (reader counts, components, snapping).

    Examples
    --------
    >>> from geosvc.config import Settings
    >>> from geosvc.network.synthetic import grid_network
    >>> net = grid_network(3, 2, one_way_rows=[1], missing_edges=[(2, 5)], mode="drive")
    >>> for line in report_lines(net, Settings(min_component_nodes=2)):
    ...     print(line)
    kept 6 nodes, 10 directed edges; 1 component (largest 6 nodes), 2 strongly connected
    travel core 5 nodes (83.3 %); points snap to 9 of 10 street edges (min_component_nodes 2)
    not snapped to: 1 edge of one-way traps, 0 on fragments (core < 2 nodes)
    """
    from geosvc.network.snap import (
        snappable_edges,  # lazy: verb engine (fast CLI start)
    )

    lines = []
    build = net.meta.get("build") or {}
    ways = build.get("ways")
    if ways is not None:
        clipped, missing = build.get("clipped_ways"), build.get("missing_refs")
        text = f"read {ways:,} {net.mode} ways"
        if clipped is None:
            text += "; clipped ways not counted (.osm.pbf)"
        else:
            text += (f", {clipped:,} clipped ({missing:,} node references missing from "
                     "the extract; split there)")
        dropped = build.get("segments_dropped") or 0
        text += f"; {dropped:,} segments dropped" if dropped else ""
        unused = build.get("ways_unused")
        if unused:
            text += (f"; {unused:,} other highway / ferry way{'s' if unused != 1 else ''} "
                     f"left out by the {net.mode} rules (docs/osm-rules.md)")
        closed = build.get("nodes_closed") or 0
        if closed:
            text += (f"; {closed:,} node{'s' if closed != 1 else ''} closed to {net.mode} "
                     "(gates with access=no...: the ways no longer meet there)")
        timed = build.get("barriers_timed") or 0
        if timed:
            text += (f"; {timed:,} gate{'s' if timed != 1 else ''} timed (passing one costs "
                     "its time, docs/osm-rules.md rule 10)")
        lines.append(text)
    n_comp = net.components()
    largest = int(net.component_sizes.max()) if net.n_nodes else 0
    lines.append(f"kept {net.n_nodes:,} nodes, {net.n_edges:,} directed edges; "
                 f"{n_comp:,} component{'s' if n_comp != 1 else ''} (largest {largest:,} "
                 f"nodes), {len(net.strong_sizes):,} strongly connected")
    ok = snappable_edges(net, settings.min_component_nodes)
    core = np.unique(np.concatenate([net.edge_u[ok], net.edge_v[ok]]))
    share = 100.0 * len(core) / net.n_nodes if net.n_nodes else 0.0
    streets = ~net.edge_is_turn  # zero-length turn / gate edges: no street to snap to
    lines.append(f"travel core {len(core):,} nodes ({share:.1f} %); points snap to "
                 f"{int(ok.sum()):,} of {int(streets.sum()):,} street edges "
                 f"(min_component_nodes {settings.min_component_nodes})")
    if not ok[streets].all():
        trap, fragment = _skipped_edges(net, ok, settings.min_component_nodes)
        lines.append(f"not snapped to: {trap:,} edge{'s' if trap != 1 else ''} of one-way "
                     f"traps, {fragment:,} on fragments (core < "
                     f"{settings.min_component_nodes} nodes)")
    turns = build.get("turns")
    if turns:
        skipped = turns["restrictions_skipped"]
        why = ", ".join(f"{n:,} {reason}" for reason, n in skipped.items())
        lines.append(f"turns: {turns['restrictions_applied']:,} of {turns['restrictions']:,} "
                     f"restrictions applied" + (f" (skipped: {why})" if why else "")
                     + f"; {turns['signals']:,} traffic signals; {turns['nodes_before']:,} "
                     f"OSM nodes split into {net.n_nodes:,} (turn ports), "
                     f"{turns['turn_edges']:,} turn edges")
    below, above = int((net.edge_layer < 0).sum()), int((net.edge_layer > 0).sum())
    if below or above:
        lines.append(f"{below:,} edges below the ground (tunnels), {above:,} above it "
                     "(bridges): points snap to them only with no ground-level road within "
                     "the limit")
    return lines


def _skipped_edges(net: RoadNetwork, ok: NDArray[np.bool_], threshold: int) -> tuple[int, int]:
    """Split the street edges points do not snap to: (one-way traps, fragments).

    A trap edge lies in a weak component whose travel core is big enough but
    does not have both ends in it; the others lie in components whose core is
    smaller than ``threshold`` nodes.
    """
    in_main = net.main_strong[net.strong_labels]
    node_core = np.where(in_main, net.strong_sizes[net.strong_labels], 0)
    comp_core = np.zeros(len(net.component_sizes), dtype=np.int64)
    np.maximum.at(comp_core, net.component_labels, node_core)
    big = comp_core[net.component_labels[net.edge_u]] >= threshold
    street = ~net.edge_is_turn  # zero-length turn / gate edges are never snapped to
    return int((~ok & big & street).sum()), int((~ok & ~big & street).sum())


def _read_venues(db: str) -> list[Venue]:
    from geosvc.store import (
        open_store,  # lazy: verb engine (fast CLI start)
    )

    try:
        store = open_store(db, create=False)
    except GeosvcError as exc:
        raise click.ClickException(exc.detail) from exc
    try:
        return store.venues()
    finally:
        store.close()


def _report_venues(net: RoadNetwork, venues: list[Venue], settings: Settings) -> int:
    """Print the venues of ``venues`` that ``net``'s mode cannot reach; return their count."""
    from geosvc.network.nearest import (
        TravelEngine,  # lazy: verb engine (fast CLI start)
    )

    engine = TravelEngine(net, [v.lon for v in venues], [v.lat for v in venues],
                          settings=settings)
    bad = engine.unsnappable.tolist()
    mode = net.mode
    if not bad:
        click.echo(f"{mode}: all {len(venues)} venues are within "
                   f"{settings.snap_max_m:g} m of the network")
        return 0
    click.echo(f"{mode}: {len(bad)} of {len(venues)} venues cannot be reached:", err=True)
    for pos, reason in zip(bad, engine.warnings, strict=True):
        v = venues[pos]
        click.echo(f"  {v.code} {v.name}: {reason.split(': ', 1)[-1]}", err=True)
    return len(bad)
