"""Benchmark a province on Dask: one synthetic dataset cut into parts, merged, checked.

Usage: ``python scripts/bench_province.py [--nodes 1000000] [--cells N] [--venues N]
[--parts 16] [--workers 1,2] [--snap parts|driver] [--gaps/--no-gaps] [--check/--no-check]
[--plan/--no-plan] [--plan-k 10] [--plan-candidates N]``

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
``/proc/self/clear_refs``; with its RSS at the start and its anonymous
memory's peak, ``RssAnon`` sampled every 20 ms: the rest are pages of the
memory-mapped network, which the kernel can drop), the load average, the
scaling 1 -> 2 workers and, with ``--check``, the equality of the merged
answer (and of the gap polygons, with ``--gaps``) with ONE single-process
:func:`geosvc.analysis.coverage.compute_coverage` on the same network.

With ``--plan`` (default) the run is a site plan as well
(:func:`geosvc.distributed.plans.plan_province`): ``--plan-candidates``
supplied sites at random points (default 2,000 per million nodes, snapped
square by square), maximal covering with ``--plan-k`` sites, the venues as
the fixed sites; the parts also give their coverage-set pairs, the driver
merges them and solves.  Reported: the parts' plan time (coverage sets on the
workers), the pairs, the driver's merge and solve; with ``--check`` the
plan equals ONE single-process
:func:`geosvc.analysis.planning.plan.plan_sites` (a TravelEngine over the
whole network) in every figure.
Prints every target as met / MISSED; ``--markdown`` prints the rows for
docs/benchmarks.md.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import tempfile
import threading
import time
from pathlib import Path

import click
import numpy as np
from _benchmd import finish, write_md_option

from geosvc.analysis.coverage import compute_coverage
from geosvc.analysis.demand import DemandSet, grid_areas
from geosvc.analysis.planning.candidates import Candidates
from geosvc.analysis.planning.plan import plan_sites
from geosvc.config import Settings
from geosvc.distributed import run_province
from geosvc.distributed.partition import grid_side_km
from geosvc.distributed.plans import plan_province
from geosvc.distributed.snapping import snap_basis, snap_by_squares
from geosvc.index import ServiceIndex
from geosvc.model import DatasetInfo, Venue, VenueFilter, VenueKind
from geosvc.network.cache import read_npz, write_npz
from geosvc.network.nearest import TravelEngine
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


def _status_mb(key: str) -> float | None:
    """Return the ``key:`` line of ``/proc/self/status`` in MB (None if there is none)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return float(line.split()[1]) / 1024.0
    return None


class _AnonPeak:
    """Sample this process's anonymous resident memory (``RssAnon``) every 20 ms; keep the most.

    ``VmHWM`` counts the pages of the memory-mapped network the driver has
    read (clean, file-backed: the kernel can drop them) with its own arrays;
    this is the part that must fit in memory.
    """

    def __init__(self) -> None:
        self.peak = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, _status_mb("RssAnon") or 0.0)
            self._done.wait(0.02)

    def stop(self) -> float:
        """Stop sampling; return the peak, MB."""
        self._done.set()
        self._thread.join()
        return max(self.peak, _status_mb("RssAnon") or 0.0)


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


def _province(nodes: int, cells: int, venues: int, sites: int, seed: int, snap: str, tmp: str):
    """Build the network (mapped back from a file), the demand, the venues, the plan's sites."""
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
    basis = snap_basis(net, MCN)
    ven = snap_by_squares(net, np.asarray(vx), np.asarray(vy), max_dist_m=1000.0, basis=basis)
    t_venues = time.perf_counter() - t0
    t0 = time.perf_counter()
    slon, slat = rng.uniform(lo0, lo1, sites), rng.uniform(la0, la1, sites)
    sx, sy = net.transformer.transform(slon, slat)
    placed = snap_by_squares(net, np.asarray(sx), np.asarray(sy), max_dist_m=1000.0,
                             basis=basis)
    ids = tuple(f"s{i}" for i in range(sites))
    cands = Candidates("supplied", ids, tuple(f"site {i}" for i in range(sites)), slon, slat,
                       placed, off_network=tuple(ids[i] for i in np.flatnonzero(~placed.ok)))
    t_sites = time.perf_counter() - t0
    return net, demand, (vlon, vlat), ven, cands, {
        "network": t_net, "demand_snap": t_demand, "venue_snap": t_venues,
        "site_snap": t_sites}


def _run(net, demand, ven, partition: str, workers: int, snap: str, send: str,
         gaps: bool, cands: Candidates | None, k: int) -> tuple[object, float, dict, object]:
    """One run on a fresh LocalCluster; returns (coverage, wall s, facts, plan or None)."""
    from distributed import Client, LocalCluster, get_task_stream

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=40, memory_limit=0) as lc, \
            Client(lc) as client:
        client.run(lambda: None)  # workers up before the clock starts
        reset = _reset_peak()
        start_mb = _status_mb("VmRSS")
        anon = _AnonPeak()
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        opts = {"minutes": MINUTES, "walk_speed_mps": W, "partition": partition,
                "scheduler": client, "progress": True, "snap_in_parts": snap == "parts",
                "min_component_nodes": MCN, "max_snap_m": 1000.0, "gaps": gaps,
                "shared": send == "files"}
        plan = None
        with get_task_stream(client) as ts:
            if cands is None:
                res = run_province(net, demand, ven, **opts)
            else:
                plan = plan_province(net, demand, ven, cands, k=k, **opts)
                res = plan.coverage
        wall = time.perf_counter() - t0
        busy = sum(s["stop"] - s["start"] for t in ts.data for s in t["startstops"]
                   if s["action"] == "compute")
        facts = {"driver_peak_mb": _peak_mb() if reset else None,
                 "driver_anon_mb": anon.stop(), "driver_start_mb": start_mb, "load": load,
                 "load_after": os.getloadavg()[0],
                 "busy": busy / (workers * max(res.timings_s["parts"], 1e-9))}
        return res, wall, facts, plan


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


def _plan_doc(plan) -> dict:
    """Return the plan document without its timings."""
    d = plan.to_dict()
    for key in ("solve_time_s", "build_time_s"):
        d.pop(key)
    d.get("comparison", {}).pop("greedy_solve_time_s", None)
    return d


def _same_plan(got, ref) -> list[str]:
    """Return what differs between the merged plan and the single-process plan_sites."""
    out = []
    if got.selected != ref.selected:
        out.append(f"selected sites ({got.selected} vs {ref.selected})")
    if got.gains != ref.gains:
        out.append("gains")
    if (got.before_population, got.after_population) != (ref.before_population,
                                                         ref.after_population):
        out.append("before / after residents")
    if not np.array_equal(got.demand_covered_before, ref.demand_covered_before):
        out.append("covered before")
    if not np.array_equal(got.demand_covered_after, ref.demand_covered_after):
        out.append("covered after")
    if not out and _plan_doc(got) != _plan_doc(ref):
        out.append("plan document")
    return out


def _warm_solver() -> float:
    """Solve a tiny exact instance once (imports spopt / pulp, starts CBC); return seconds.

    Else the first timed run pays it (20 s here) and the 1 -> 2 worker ratio
    of the whole run measures imports.
    """
    import scipy.sparse as sp

    from geosvc.analysis.planning.solvers import exact_max_cover, reduce_instance

    t0 = time.perf_counter()
    mat = sp.csr_matrix(np.array([[1, 0], [1, 1], [0, 1]], dtype=bool))
    exact_max_cover(reduce_instance(mat, np.array([1.0, 2.0, 3.0])), 1, time_limit_s=30.0)
    return time.perf_counter() - t0


def _reference_plan(net, demand, coords, cands: Candidates, k: int):
    """ONE single-process plan_sites over the whole network: (plan, seconds)."""
    t0 = time.perf_counter()
    venues = [Venue(code=f"V{i}", name=f"venue {i}", kind=VenueKind.HALL, level="county",
                    lon=float(a), lat=float(b)) for i, (a, b) in enumerate(zip(*coords,
                                                                               strict=True))]
    index = ServiceIndex.build(venues, [], [], info=DatasetInfo())
    engine = TravelEngine(net, index.lon, index.lat,
                          settings=Settings(snap_max_m=1000.0, min_component_nodes=MCN))
    ref = plan_sites(engine, demand, index, VenueFilter(), cands, minutes=MINUTES, k=k)
    return ref, time.perf_counter() - t0


def _report(n: int, partition: str, res, wall: float, facts: dict, plan) -> None:
    """Print one run: phases, parts, workers' memory, and the plan's figures."""
    rss = [w["peak_rss_mb"] for w in res.workers.values()]
    rss_file = [w.get("rss_file_mb", 0.0) for w in res.workers.values()]
    secs = [p["seconds"] for p in res.parts]
    prep = [p.get("prepare_s", 0.0) for p in res.parts]
    phases = ", ".join(f"{k} {v:.2f} s" for k, v in res.timings_s.items())
    driver = (f"{facts['driver_peak_mb']:,.0f} MB" if facts["driver_peak_mb"]
              else "n/a")
    if facts.get("driver_anon_mb"):
        driver += (f" (at its start {facts['driver_start_mb']:,.0f} MB; anonymous peak, "
                   f"sampled: {facts['driver_anon_mb']:,.0f} MB, the rest is pages of the "
                   "mapped network)")
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
    if plan is not None:
        ps = [p.get("plan_s", 0.0) for p in res.parts]
        pt, got = plan.timings_s, plan.plan
        print(f"  plan: coverage sets in the parts {sum(ps):.1f} s summed "
              f"({min(ps):.2f}-{max(ps):.2f} s per part), {plan.pairs:,} pairs; driver "
              f"merge {pt['sets']:.2f} s + solve {pt['solve']:.2f} s "
              f"({got.solver}); covered {got.share(got.before_population):.2%}"
              f" -> {got.share(got.after_population):.2%} with {len(got.selected)} sites")


def _check_plan(net, demand, coords, cands: Candidates, k: int, got) -> tuple[str, bool, str]:
    """Compare the merged plan with ONE single-process plan_sites; return the verdict."""
    central = snap_points(net, cands.lon, cands.lat, max_dist_m=1000.0,
                          min_component_nodes=MCN)
    ref_plan, t_plan = _reference_plan(net, demand, coords, cands, k)
    pdiff = _same_plan(got, ref_plan)
    if not (np.array_equal(central.edge, cands.snapped.edge) and np.array_equal(
            central.frac, cands.snapped.frac, equal_nan=True)):
        pdiff.append("site snapping")
    print(f"single process plan_sites: {t_plan:.1f} s (engine + fixed-site pass + "
          f"coverage sets {ref_plan.build_time_s:.1f} s, solve "
          f"{ref_plan.solve_time_s:.2f} s, {ref_plan.solver}); driver peak RSS now "
          f"{_peak_mb():,.0f} MB; selected {ref_plan.selected}")
    return (f"plan == single-process plan_sites at {net.n_nodes:,} nodes "
            f"(k={k}, {len(cands):,} sites)",
            not pdiff and net.n_nodes >= 1_000_000,
            "identical (sites, order, gains, masks, document)" if not pdiff
            else "differs: " + ", ".join(pdiff))


def _markdown(net, cells: int, venues: int, runs: dict, plans: dict, plan_k: int) -> None:
    """Print the rows for docs/benchmarks.md: one per run, and one per plan."""
    for n, (res, wall, facts) in runs.items():
        rss = max(w["peak_rss_mb"] for w in res.workers.values())
        driver = f"{facts['driver_peak_mb']:,.0f}" if facts["driver_peak_mb"] else "n/a"
        print(f"| {net.n_nodes:,} | {cells:,} | {venues:,} | {len(res.parts)} | {n} | "
              f"{wall:.1f} ({res.timings_s['parts']:.1f}) | {facts['busy']:.0%} | "
              f"{rss:,.0f} | {driver} | {facts['load']:.1f} |")
    for n, plan in plans.items():
        if plan is None:
            continue
        res, wall, facts = runs[n]
        rss = max(w["peak_rss_mb"] for w in res.workers.values())
        ps = sum(p.get("plan_s", 0.0) for p in res.parts)
        print(f"| plan {net.n_nodes:,} | {len(plan.plan.candidates):,} sites, "
              f"k={plan_k} | {n} | {res.timings_s['parts']:.1f} | {ps:.1f} | "
              f"{plan.pairs:,} | {plan.timings_s['sets']:.2f} | "
              f"{plan.timings_s['solve']:.2f} | {rss:,.0f} | {facts['load']:.1f} |")


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
@click.option("--plan/--no-plan", "with_plan", default=True, show_default=True,
              help="Also a site plan (maximal covering), coverage sets in the parts.")
@click.option("--plan-k", default=10, show_default=True, type=int, help="Sites to choose.")
@click.option("--plan-candidates", default=None, type=int,
              help="Candidate sites at random points (default 2,000 per 1M nodes, >= 200).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--markdown", is_flag=True, help="Also print the rows for docs/benchmarks.md.")
@write_md_option
def main(nodes: int, cells: int | None, venues: int | None, parts: int, workers_text: str,
         snap: str, send: str, gaps: bool, check: bool, with_plan: bool, plan_k: int,
         plan_candidates: int | None, seed: int, markdown: bool,
         write_md: Path | None) -> None:
    """Run the province benchmark (see the module docstring)."""
    if send == "arrays" and snap == "parts":
        raise click.BadParameter("needs --snap driver", param_hint="--send arrays")
    cells = cells or nodes
    venues = venues or max(1_000, nodes * 50_000 // 10_000_000)
    workers = [int(w) for w in workers_text.split(",")]
    sites = plan_candidates or max(200, nodes * 2_000 // 1_000_000)
    load0 = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load {load0[0]:.2f} {load0[1]:.2f} "
          f"{load0[2]:.2f}, {_avail_gb():.1f} GB available")
    tmp = tempfile.TemporaryDirectory(prefix="bench-province-")
    net, demand, coords, ven, cands, t = _province(nodes, cells, venues, sites, seed, snap,
                                                   tmp.name)
    if not with_plan:
        cands = None
    else:
        t["solver_warm_up"] = _warm_solver()
    placed = ("snapped in the parts" if demand.snapped is None
              else f"{int(demand.snapped.ok.sum()):,} snapped")
    print(f"province: {net.n_nodes:,} nodes, {net.n_edges:,} edges, {cells:,} cells "
          f"({placed}), {venues:,} venues ({int(ven.ok.sum()):,} placed); "
          f"{MODE} {MINUTES:g} min; snap {snap}, send {send}, gaps {gaps}; plan "
          + (f"k={plan_k} of {sites:,} sites ({int(cands.snapped.ok.sum()):,} placed)"
             if cands is not None else "none"))
    print("driver: " + ", ".join(f"{k} {v:.1f} s" for k, v in t.items())
          + f"; peak RSS {_peak_mb():,.0f} MB, {_avail_gb():.1f} GB available")
    side = grid_side_km(net, parts)
    partition = f"grid:{side:g}"
    runs = {}
    plans: dict = {}
    for n in workers:
        res, wall, facts, plan = _run(net, demand, ven, partition, n, snap, send, gaps, cands,
                                      plan_k)
        runs[n] = (res, wall, facts)
        plans[n] = plan
        _report(n, partition, res, wall, facts, plan)
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
    if cands is not None:
        same_runs = same_runs and all(
            _plan_doc(p.plan) == _plan_doc(plans[workers[0]].plan) for p in plans.values())
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
        if cands is not None:
            del ref
            verdicts.append(_check_plan(net, demand, coords, cands, plan_k,
                                        plans[workers[0]].plan))
    load1 = os.getloadavg()
    print(f"load after: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    for name, ok, note in verdicts:
        print(f"  {'met' if ok else 'MISSED':<6} {name} {note}")
    tmp.cleanup()
    if markdown:
        _markdown(net, cells, venues, runs, plans, plan_k)
    finish(write_md, __file__, verdicts)


if __name__ == "__main__":
    main()
