"""Benchmark site planning: coverage sets, exact (MIP) vs greedy (CELF), the greedy gap.

Instances:

* the demo city (Helsinki extract, walk network, population estimated from
  its residential buildings) with 200 and 2,000 candidate sites drawn
  (seeded) from the network nodes, no fixed sites;
* optionally (``--synthetic``) a synthetic city of ``--nodes`` nodes with
  ``--demand`` random demand points and the same candidate counts.

Prints, per instance and k: coverage-set build time, reduced size, exact and
greedy solve times and covered population, the greedy gap and the time ratio;
when ``highspy`` is installed also HiGHS on the same model (the peer the
exact solver was chosen against: CBC, see
:mod:`geosvc.analysis.planning.solvers`).

    python scripts/bench_plan.py [--synthetic] [--k 10,50] [--minutes 10]
"""

from __future__ import annotations

import time

import click
import numpy as np


def _instance(net, demand, n_cand: int, minutes: float, seed: int):
    from geosvc.analysis.planning.sets import coverage_sets
    from geosvc.analysis.planning.solvers import reduce_instance
    from geosvc.network.snap import snap_xy

    rng = np.random.default_rng(seed)
    nodes = rng.choice(net.n_nodes, size=min(n_cand, net.n_nodes), replace=False)
    cands = snap_xy(net, net.node_x[nodes], net.node_y[nodes], max_dist_m=1.0)
    t0 = time.perf_counter()
    mat = coverage_sets(net, demand.snapped, cands, minutes * 60, walk_speed_mps=4.5 / 3.6)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    red = reduce_instance(mat, demand.count)
    return red, build, time.perf_counter() - t0, mat.nnz


def _highs_available() -> bool:
    import pulp

    return "HiGHS" in pulp.listSolvers(onlyAvailable=True)


def _run(name: str, net, demand, counts, ks, minutes: float, time_limit: float) -> None:
    from geosvc.analysis.planning.solvers import MIP_SOLVER, exact_max_cover, greedy_max_cover

    highs = _highs_available()
    if not highs:
        click.echo(f"   (exact solver: {MIP_SOLVER}; the HiGHS peer is skipped: "
                   "`pip install highspy` to time it)")

    total = float(demand.count.sum())
    click.echo(f"\n== {name}: {net.n_nodes:,} nodes, {len(demand):,} demand points, "
               f"{total:,.0f} residents, {minutes:g} min {net.mode}")
    for n_cand in counts:
        red, build, reduce_s, nnz = _instance(net, demand, n_cand, minutes, seed=n_cand)
        click.echo(f"-- {n_cand} candidates: coverage sets {build:.2f} s ({nnz:,} pairs), "
                   f"reduced to {red.matrix.shape[0]:,} rows / {red.matrix.nnz:,} pairs "
                   f"in {reduce_s:.2f} s")
        for k in ks:
            if k > n_cand:
                continue
            g = greedy_max_cover(red, k)
            e = exact_max_cover(red, k, time_limit_s=time_limit)
            gap = 1 - g.covered / e.covered if e.covered else 0.0
            ratio = e.solve_time_s / g.solve_time_s if g.solve_time_s > 0 else float("inf")
            click.echo(
                f"   k={k:<4} exact {e.solve_time_s:7.3f} s share {e.covered / total:.4f} "
                f"({e.solver}{'' if e.optimal else ', NOT proven optimal'}) | greedy "
                f"{g.solve_time_s:7.4f} s share {g.covered / total:.4f} | greedy gap "
                f"{100 * gap:.3f} % | exact/greedy time x{ratio:,.0f}")
            if highs:
                h = exact_max_cover(red, k, time_limit_s=time_limit, mip="HiGHS")
                same = abs(h.covered - e.covered) <= 1e-6 * max(e.covered, 1.0)
                click.echo(
                    f"          peer HiGHS {h.solve_time_s:7.3f} s "
                    f"share {h.covered / total:.4f}"
                    f"{'' if h.optimal else ' (NOT proven optimal)'} | CBC/HiGHS time "
                    f"{e.solve_time_s / h.solve_time_s:.2f}x | same optimum: {same}")


@click.command()
@click.option("--k", "ks", default="10,50", show_default=True, help="Comma list of k.")
@click.option("--minutes", default=10.0, show_default=True)
@click.option("--candidates", "counts", default="200,2000", show_default=True)
@click.option("--synthetic/--no-synthetic", default=False, show_default=True)
@click.option("--nodes", default=40_000, show_default=True, help="Synthetic city size.")
@click.option("--demand", "n_demand", default=20_000, show_default=True)
@click.option("--time-limit", default=60.0, show_default=True, help="Exact solver limit, s.")
def main(ks: str, minutes: float, counts: str, synthetic: bool, nodes: int, n_demand: int,
         time_limit: float) -> None:
    """Time exact and greedy planning on the demo city (and a synthetic city)."""
    import tempfile
    from pathlib import Path

    from geosvc.analysis.demand import build_demand, estimate_population_from_osm
    from geosvc.config import Settings
    from geosvc.demo import demo_osm_path
    from geosvc.model import PopulationCell
    from geosvc.network.cache import load_network

    k_list = [int(k) for k in ks.split(",")]
    c_list = [int(c) for c in counts.split(",")]
    osm = demo_osm_path()
    with tempfile.TemporaryDirectory() as tmp:
        net = load_network(osm, "walk", settings=Settings(), cache_dir=Path(tmp))
    cells = estimate_population_from_osm(osm)
    demand = build_demand(net, cells)
    _run("demo city (Helsinki extract)", net, demand, c_list, k_list, minutes, time_limit)
    if synthetic:
        from geosvc.network.synthetic import synthetic_city

        snet = synthetic_city(nodes, seed=0, mode="walk")
        rng = np.random.default_rng(1)
        x = rng.uniform(snet.node_x.min(), snet.node_x.max(), n_demand)
        y = rng.uniform(snet.node_y.min(), snet.node_y.max(), n_demand)
        lon, lat = snet.transformer_inverse.transform(x, y)
        pop = rng.lognormal(3, 1, n_demand)
        scells = [PopulationCell(float(a), float(b), float(c))
                  for a, b, c in zip(lon, lat, pop, strict=True)]
        sdemand = build_demand(snet, scells)
        _run(f"synthetic city ({nodes:,} nodes)", snet, sdemand, c_list, k_list, minutes,
             time_limit)


if __name__ == "__main__":
    main()
