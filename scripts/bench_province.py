"""Benchmark a province on Dask: one synthetic dataset cut into parts, merged, checked.

Usage: ``python scripts/bench_province.py [--nodes 1000000] [--cells N] [--venues N]
[--parts 16] [--workers 1,2] [--snap parts|driver] [--gaps/--no-gaps] [--check/--no-check]``

A synthetic province (:func:`geosvc.network.synthetic.synthetic_city`, walk:
a jittered street grid 80 m apart, 4 % of streets missing, three cut-off
blocks), ``--cells`` population cells at random points (a 4 x 4 grid of
"counties"), ``--venues`` venues at random points; 10-minute walking
coverage (the product's default; about half the residents covered at 50k
venues per 10 M nodes, so the check can fail both ways).  This process (the
driver) builds the network, saves it and maps it back from the file (as the
CLI's network cache does), snaps the venues square by square
(:func:`geosvc.distributed.snapping.snap_by_squares`) and, with ``--snap
driver``, every cell; with ``--snap parts`` (default) each part snaps its own
cells on its worker.  The parts (grid squares, about ``--parts``) run on a
LocalCluster of 1, then 2 one-thread worker processes
(:func:`geosvc.distributed.run_province`; the workers read the network from
memory-mapped files and cut their parts themselves).  Reported: sizes, the
driver's phases (plan, write, parts, merge, gaps), per-part prepare (snap +
cut) and pass time on the worker, the workers' busy share of the parts phase
(Dask's task stream), the peak RSS of every worker (``VmHWM`` inside the
worker) and of the driver during the run (``VmHWM`` reset through
``/proc/self/clear_refs``), the load average, the scaling 1 -> 2 workers and,
with ``--check``, the equality of the merged answer (and of the gap polygons,
with ``--gaps``) with ONE single-process
:func:`geosvc.analysis.coverage.compute_coverage` on the same network.
Prints every target as met / MISSED; ``--markdown`` prints the rows for
docs/benchmarks.md.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import tempfile
import time
from pathlib import Path

import click
import numpy as np
from _benchmd import finish, write_md_option

from geosvc.analysis.coverage import compute_coverage
from geosvc.analysis.demand import DemandSet, grid_areas
from geosvc.distributed import run_province
from geosvc.distributed.partition import grid_side_km
from geosvc.distributed.snapping import snap_basis, snap_by_squares
from geosvc.network.cache import read_npz, write_npz
from geosvc.network.paths import DEFAULT_WALK_SPEED_MPS
from geosvc.network.snap import snap_points, snap_xy
from geosvc.network.synthetic import synthetic_city

W = DEFAULT_WALK_SPEED_MPS
MINUTES = 10.0
MODE = "walk"
MCN = 50  # Settings.min_component_nodes default


def _peak_mb() -> float:
    """Return this process's peak RSS, MB (VmHWM; ru_maxrss would include a parent's)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _reset_peak() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux >= 4.0); False if refused."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _avail_gb() -> float:
    import psutil

    return psutil.virtual_memory().available / 2**30


def _province(nodes: int, cells: int, venues: int, seed: int, snap: str, tmp: str):
    """Build the network (mapped back from a file), the demand (4 x 4 counties), the venues."""
    t0 = time.perf_counter()
    built = synthetic_city(nodes, mode=MODE, seed=seed)
    path = write_npz(built, Path(tmp) / "province.npz")
    del built
    net = read_npz(path)  # memory-mapped, as the CLI's network cache
    t_net = time.perf_counter() - t0
    rng = np.random.default_rng(seed)
    x0, x1 = float(net.node_x.min()), float(net.node_x.max())
    y0, y1 = float(net.node_y.min()), float(net.node_y.max())
    t0 = time.perf_counter()
    x = rng.uniform(x0, x1, cells)
    y = rng.uniform(y0, y1, cells)
    count = rng.integers(0, 60, cells).astype(np.float64)
    lon, lat = net.transformer_inverse.transform(x, y)
    lon, lat = np.asarray(lon), np.asarray(lat)
    snapped = (snap_xy(net, x, y, lon=lon, lat=lat, max_dist_m=1000.0,
                       min_component_nodes=MCN) if snap == "driver" else None)
    areas = tuple(grid_areas(net.bounds_lonlat, 4, 4, prefix="C"))
    lo0, la0, lo1, la1 = net.bounds_lonlat
    col = np.clip(((lon - lo0) / (lo1 - lo0) * 4).astype(np.int64), 0, 3)
    row = np.clip(((lat - la0) / (la1 - la0) * 4).astype(np.int64), 0, 3)
    demand = DemandSet(lon=lon, lat=lat, x=x, y=y, count=count,
                       cell=np.arange(cells, dtype=np.int64), area=row * 4 + col, areas=areas,
                       snapped=snapped, crs=net.crs, min_component_nodes=MCN)
    t_demand = time.perf_counter() - t0
    vlon = rng.uniform(lo0, lo1, venues)
    vlat = rng.uniform(la0, la1, venues)
    t0 = time.perf_counter()
    vx, vy = net.transformer.transform(vlon, vlat)
    ven = snap_by_squares(net, np.asarray(vx), np.asarray(vy), max_dist_m=1000.0,
                          basis=snap_basis(net, MCN))
    t_venues = time.perf_counter() - t0
    return net, demand, (vlon, vlat), ven, {"network": t_net, "demand_snap": t_demand,
                                             "venue_snap": t_venues}


def _run(net, demand, ven, partition: str, workers: int, snap: str, send: str,
         gaps: bool) -> tuple[object, float, dict]:
    """One run on a fresh LocalCluster; returns (result, wall s, facts of the run)."""
    from distributed import Client, LocalCluster, get_task_stream

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=40, memory_limit=0) as lc, \
            Client(lc) as client:
        client.run(lambda: None)  # workers up before the clock starts
        reset = _reset_peak()
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        with get_task_stream(client) as ts:
            res = run_province(net, demand, ven, minutes=MINUTES, walk_speed_mps=W,
                               partition=partition, scheduler=client, progress=True,
                               snap_in_parts=snap == "parts", min_component_nodes=MCN,
                               max_snap_m=1000.0, gaps=gaps, shared=send == "files")
        wall = time.perf_counter() - t0
        busy = sum(s["stop"] - s["start"] for t in ts.data for s in t["startstops"]
                   if s["action"] == "compute")
        facts = {"driver_peak_mb": _peak_mb() if reset else None, "load": load,
                 "load_after": os.getloadavg()[0],
                 "busy": busy / (workers * max(res.timings_s["parts"], 1e-9))}
        return res, wall, facts


def _same(res, ref) -> list[str]:
    """Return what differs between the merged answer and the single-process one."""
    cov = (ref.time_s <= MINUTES * 60) & (ref.venue >= 0)
    out = []
    if not np.array_equal(res.covered, cov):
        out.append(f"covered mask ({int((res.covered != cov).sum())} points)")
    if not np.array_equal(res.time_s[cov], ref.time_s[cov]):
        out.append("covered times")
    if not np.array_equal(res.venue[cov], ref.venue[cov]):
        out.append(f"venues ({int((res.venue[cov] != ref.venue[cov]).sum())} points)")
    if res.covered_population != ref.covered_population:
        out.append("covered population")
    rows = [{k: v for k, v in r.items() if k != "covered_area_share"} for r in ref.by_area]
    if res.by_area != rows:
        out.append("per-area rows")
    if res.catchments != ref.catchments:
        out.append("catchments")
    if res.gaps is not None and res.gaps != ref.gaps:
        out.append(f"gap polygons ({len(res.gaps)} vs {len(ref.gaps)})")
    return out


@click.command()
@click.option("--nodes", default=1_000_000, show_default=True, type=int)
@click.option("--cells", default=None, type=int, help="Population cells (default: = nodes).")
@click.option("--venues", default=None, type=int,
              help="Venues (default: 50,000 per 10 M nodes, at least 1,000).")
@click.option("--parts", default=16, show_default=True, type=int,
              help="About this many grid squares.")
@click.option("--workers", "workers_text", default="1,2", show_default=True)
@click.option("--snap", type=click.Choice(["parts", "driver"]), default="parts",
              show_default=True, help="Who snaps the cells: each part on its worker, or "
                                      "the driver once for all.")
@click.option("--send", type=click.Choice(["files", "arrays"]), default="files",
              show_default=True, help="Workers map the network from files and cut their "
                                      "parts, or the driver cuts and sends each part "
                                      "(needs --snap driver).")
@click.option("--gaps/--no-gaps", default=True, show_default=True,
              help="Also the gap polygons (parts widened; the driver draws them).")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Compare with one single-process compute_coverage (needs the memory).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--markdown", is_flag=True, help="Also print the rows for docs/benchmarks.md.")
@write_md_option
def main(nodes: int, cells: int | None, venues: int | None, parts: int, workers_text: str,
         snap: str, send: str, gaps: bool, check: bool, seed: int, markdown: bool,
         write_md: Path | None) -> None:
    """Run the province benchmark (see the module docstring)."""
    if send == "arrays" and snap == "parts":
        raise click.BadParameter("needs --snap driver", param_hint="--send arrays")
    cells = cells or nodes
    venues = venues or max(1_000, nodes * 50_000 // 10_000_000)
    workers = [int(w) for w in workers_text.split(",")]
    load0 = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load {load0[0]:.2f} {load0[1]:.2f} "
          f"{load0[2]:.2f}, {_avail_gb():.1f} GB available")
    tmp = tempfile.TemporaryDirectory(prefix="bench-province-")
    net, demand, coords, ven, t = _province(nodes, cells, venues, seed, snap, tmp.name)
    placed = ("snapped in the parts" if demand.snapped is None
              else f"{int(demand.snapped.ok.sum()):,} snapped")
    print(f"province: {net.n_nodes:,} nodes, {net.n_edges:,} edges, {cells:,} cells "
          f"({placed}), {venues:,} venues ({int(ven.ok.sum()):,} placed); "
          f"{MODE} {MINUTES:g} min; snap {snap}, send {send}, gaps {gaps}")
    print("driver: " + ", ".join(f"{k} {v:.1f} s" for k, v in t.items())
          + f"; peak RSS {_peak_mb():,.0f} MB, {_avail_gb():.1f} GB available")
    side = grid_side_km(net, parts)
    partition = f"grid:{side:g}"
    runs = {}
    for n in workers:
        res, wall, facts = _run(net, demand, ven, partition, n, snap, send, gaps)
        runs[n] = (res, wall, facts)
        rss = [w["peak_rss_mb"] for w in res.workers.values()]
        rss_file = [w.get("rss_file_mb", 0.0) for w in res.workers.values()]
        secs = [p["seconds"] for p in res.parts]
        prep = [p.get("prepare_s", 0.0) for p in res.parts]
        phases = ", ".join(f"{k} {v:.2f} s" for k, v in res.timings_s.items())
        driver = (f"{facts['driver_peak_mb']:,.0f} MB" if facts["driver_peak_mb"]
                  else "n/a")
        print(f"{n} worker(s): {len(res.parts)} parts ({partition}), wall {wall:.1f} s "
              f"({phases}); per part on the worker {min(secs):.2f}-{max(secs):.2f} s "
              f"(sum {sum(secs):.1f} s, of which snap + cut {sum(prep):.1f} s), "
              f"{min(p['nodes'] for p in res.parts):,}-{max(p['nodes'] for p in res.parts):,}"
              f" nodes, sent {max(p['sent_mb'] for p in res.parts):.0f} MB max; workers busy "
              f"{facts['busy']:.0%} of the parts phase; worker peak RSS "
              f"{', '.join(f'{r:,.0f}' for r in rss)} MB (file-backed, shared: "
              f"{', '.join(f'{r:,.0f}' for r in rss_file)} MB); driver peak during the run "
              f"{driver}; load {facts['load']:.2f} -> {facts['load_after']:.2f}; covered "
              f"{res.covered_share:.2%}, {len(res.gaps or [])} gaps")
    print(f"driver peak RSS after the runs: {_peak_mb():,.0f} MB")
    verdicts = []
    size_ok = net.n_nodes >= 10_000_000 and cells >= 10_000_000 and venues >= 50_000
    verdicts.append(("province >= 10M nodes, >= 10M cells, >= 50k venues", size_ok,
                     f"{net.n_nodes:,} / {cells:,} / {venues:,}"))
    if 1 in runs and 2 in runs:
        s = runs[1][1] / runs[2][1]
        verdicts.append(("2 workers faster than 1 (scaling, whole run)", s > 1.0, f"x{s:.2f}"))
        p = runs[1][0].timings_s["parts"] / runs[2][0].timings_s["parts"]
        verdicts.append(("2 workers faster than 1 (parts phase)", p > 1.0, f"x{p:.2f}"))
    first = runs[workers[0]][0]
    same_runs = all(np.array_equal(r.venue, first.venue) and r.gaps == first.gaps
                    for r, _, _ in runs.values())
    verdicts.append(("same answer with every worker count", same_runs, ""))
    if check:
        t0 = time.perf_counter()
        if demand.snapped is None:  # the single process snaps everyone itself
            demand = dataclasses.replace(demand, snapped=snap_xy(
                net, demand.x, demand.y, lon=demand.lon, lat=demand.lat, max_dist_m=1000.0,
                min_component_nodes=MCN))
        ref = compute_coverage(net, demand, venues=coords, minutes=MINUTES,
                               min_component_nodes=MCN)
        t_ref = time.perf_counter() - t0
        diff = _same(first, ref)
        central = snap_points(net, *coords, max_dist_m=1000.0, min_component_nodes=MCN)
        if not (np.array_equal(central.edge, ven.edge) and np.array_equal(
                central.frac, ven.frac, equal_nan=True)):
            diff.append("venue snapping")
        if first.off_network_population != float(
                demand.count[~demand.snapped.ok].sum()):
            diff.append("off-network residents (the parts' snapping)")
        print(f"single process (snapping + compute_coverage): {t_ref:.1f} s (pass "
              f"{ref.timings_s['pass']:.1f} s); driver peak RSS now {_peak_mb():,.0f} MB; "
              f"covered {ref.covered_share:.2%}, {len(ref.gaps)} gaps")
        verdicts.append((f"merged == single process at {net.n_nodes:,} nodes (>= 1M)",
                         not diff and net.n_nodes >= 1_000_000,
                         "identical" if not diff else "differs: " + ", ".join(diff)))
    load1 = os.getloadavg()
    print(f"load after: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    for name, ok, note in verdicts:
        print(f"  {'met' if ok else 'MISSED':<6} {name} {note}")
    tmp.cleanup()
    if markdown:
        for n, (res, wall, facts) in runs.items():
            rss = max(w["peak_rss_mb"] for w in res.workers.values())
            driver = f"{facts['driver_peak_mb']:,.0f}" if facts["driver_peak_mb"] else "n/a"
            print(f"| {net.n_nodes:,} | {cells:,} | {venues:,} | {len(res.parts)} | {n} | "
                  f"{wall:.1f} ({res.timings_s['parts']:.1f}) | {facts['busy']:.0%} | "
                  f"{rss:,.0f} | {driver} | {facts['load']:.1f} |")
    finish(write_md, __file__, verdicts)


if __name__ == "__main__":
    main()
