"""Benchmark a province on Dask: one synthetic dataset cut into parts, merged, checked.

Usage: ``python scripts/bench_province.py [--nodes 1000000] [--cells N] [--venues N]
[--parts 16] [--workers 1,2] [--check/--no-check]``

A synthetic province (:func:`geosvc.network.synthetic.synthetic_city`, walk:
a jittered street grid 80 m apart, 4 % of streets missing, three cut-off
blocks), ``--cells`` population cells at random points (a 4 x 4 grid of
"counties"), ``--venues`` venues at random points; 10-minute walking
coverage (the product's default; about half the residents covered at 50k
venues per 10 M nodes, so the check can fail both ways).  This process (the driver) builds
the network and snaps every cell and venue once; the parts (grid squares,
about ``--parts``) run on a LocalCluster of 1, then 2 worker processes
(:func:`geosvc.distributed.run_province`).  Reported: sizes, per-stage and
per-part wall time, the peak RSS of every worker (``getrusage`` inside the
worker), the driver's peak RSS, the scaling 1 -> 2 workers and, with
``--check``, the equality of the merged answer with ONE single-process
:func:`geosvc.analysis.coverage.compute_coverage` on the same network.
Prints every target as met / MISSED; ``--markdown`` prints the rows for
docs/benchmarks.md.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import click
import numpy as np
from _benchmd import finish, write_md_option

from geosvc.analysis.coverage import compute_coverage
from geosvc.analysis.demand import DemandSet, grid_areas
from geosvc.distributed import run_province
from geosvc.distributed.partition import grid_side_km
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


def _avail_gb() -> float:
    import psutil

    return psutil.virtual_memory().available / 2**30


def _province(nodes: int, cells: int, venues: int, seed: int):
    """Build the network, the snapped demand (4 x 4 counties) and the snapped venues."""
    t0 = time.perf_counter()
    net = synthetic_city(nodes, mode=MODE, seed=seed)
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
    snapped = snap_xy(net, x, y, lon=lon, lat=lat, max_dist_m=1000.0, min_component_nodes=MCN)
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
    ven = snap_points(net, vlon, vlat, max_dist_m=1000.0, min_component_nodes=MCN)
    t_venues = time.perf_counter() - t0
    return net, demand, (vlon, vlat), ven, {"network": t_net, "demand_snap": t_demand,
                                             "venue_snap": t_venues}


def _run(net, demand, ven, partition: str, workers: int) -> tuple[object, float]:
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=40, memory_limit=0) as lc, \
            Client(lc) as client:
        client.run(lambda: None)  # workers up before the clock starts
        t0 = time.perf_counter()
        res = run_province(net, demand, ven, minutes=MINUTES, walk_speed_mps=W,
                           partition=partition, scheduler=client, progress=True)
        return res, time.perf_counter() - t0


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
    return out


@click.command()
@click.option("--nodes", default=1_000_000, show_default=True, type=int)
@click.option("--cells", default=None, type=int, help="Population cells (default: = nodes).")
@click.option("--venues", default=None, type=int,
              help="Venues (default: 50,000 per 10 M nodes, at least 1,000).")
@click.option("--parts", default=16, show_default=True, type=int,
              help="About this many grid squares.")
@click.option("--workers", "workers_text", default="1,2", show_default=True)
@click.option("--check/--no-check", default=True, show_default=True,
              help="Compare with one single-process compute_coverage (needs the memory).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--markdown", is_flag=True, help="Also print the rows for docs/benchmarks.md.")
@write_md_option
def main(nodes: int, cells: int | None, venues: int | None, parts: int, workers_text: str,
         check: bool, seed: int, markdown: bool, write_md: Path | None) -> None:
    """Run the province benchmark (see the module docstring)."""
    cells = cells or nodes
    venues = venues or max(1_000, nodes * 50_000 // 10_000_000)
    workers = [int(w) for w in workers_text.split(",")]
    load0 = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load {load0[0]:.2f} {load0[1]:.2f} "
          f"{load0[2]:.2f}, {_avail_gb():.1f} GB available")
    net, demand, coords, ven, t = _province(nodes, cells, venues, seed)
    print(f"province: {net.n_nodes:,} nodes, {net.n_edges:,} edges, {cells:,} cells "
          f"({int(demand.snapped.ok.sum()):,} snapped), {venues:,} venues "
          f"({int(ven.ok.sum()):,} placed); {MODE} {MINUTES:g} min")
    print("driver: " + ", ".join(f"{k} {v:.1f} s" for k, v in t.items())
          + f"; peak RSS {_peak_mb():,.0f} MB, {_avail_gb():.1f} GB available")
    side = grid_side_km(net, parts)
    partition = f"grid:{side:g}"
    runs = {}
    for n in workers:
        res, wall = _run(net, demand, ven, partition, n)
        runs[n] = (res, wall)
        rss = [w["peak_rss_mb"] for w in res.workers.values()]
        secs = [p["seconds"] for p in res.parts]
        print(f"{n} worker(s): {len(res.parts)} parts ({partition}), wall {wall:.1f} s "
              f"(parts {res.timings_s['parts']:.1f} s, plan {res.timings_s['plan']:.2f} s, "
              f"merge {res.timings_s['merge']:.2f} s); per part on the worker "
              f"{min(secs):.2f}-{max(secs):.2f} s (sum {sum(secs):.1f} s), "
              f"{min(p['nodes'] for p in res.parts):,}-{max(p['nodes'] for p in res.parts):,}"
              f" nodes, sent {max(p['sent_mb'] for p in res.parts):.0f} MB max; "
              f"worker peak RSS {', '.join(f'{r:,.0f}' for r in rss)} MB; covered "
              f"{res.covered_share:.2%}")
    print(f"driver peak RSS after the runs: {_peak_mb():,.0f} MB")
    verdicts = []
    size_ok = net.n_nodes >= 10_000_000 and cells >= 10_000_000 and venues >= 50_000
    verdicts.append(("province >= 10M nodes, >= 10M cells, >= 50k venues", size_ok,
                     f"{net.n_nodes:,} / {cells:,} / {venues:,}"))
    if 1 in runs and 2 in runs:
        s = runs[1][1] / runs[2][1]
        verdicts.append(("2 workers faster than 1 (scaling)", s > 1.0, f"x{s:.2f}"))
    first = runs[workers[0]][0]
    same_runs = all(np.array_equal(r.venue, first.venue) for r, _ in runs.values())
    verdicts.append(("same answer with every worker count", same_runs, ""))
    if check:
        t0 = time.perf_counter()
        ref = compute_coverage(net, demand, venues=coords, minutes=MINUTES,
                               min_component_nodes=MCN)
        t_ref = time.perf_counter() - t0
        diff = _same(first, ref)
        print(f"single process compute_coverage: {t_ref:.1f} s (pass "
              f"{ref.timings_s['pass']:.1f} s); driver peak RSS now {_peak_mb():,.0f} MB; "
              f"covered {ref.covered_share:.2%}")
        verdicts.append((f"merged == single process at {net.n_nodes:,} nodes (>= 1M)",
                         not diff and net.n_nodes >= 1_000_000,
                         "identical" if not diff else "differs: " + ", ".join(diff)))
    load1 = os.getloadavg()
    print(f"load after: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    for name, ok, note in verdicts:
        print(f"  {'met' if ok else 'MISSED':<6} {name} {note}")
    if markdown:
        for n, (res, wall) in runs.items():
            rss = max(w["peak_rss_mb"] for w in res.workers.values())
            print(f"| {net.n_nodes:,} | {cells:,} | {venues:,} | {len(res.parts)} | {n} | "
                  f"{wall:.1f} | {rss:,.0f} | {load0[0]:.1f} |")
    finish(write_md, __file__, verdicts)


if __name__ == "__main__":
    main()
