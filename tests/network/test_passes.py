"""The exact bucket-queue pass (``_dijkstra.passes``) against scipy and networkx.

Times must equal a binary-heap Dijkstra's to the last bit (random graphs with
non-integer, tiny and zero weights; several seeds per source with offsets;
cutoffs; every bucket width), the nearest source must be the highest index
among the sources exactly as near, and predecessors must form best paths.
Then the callers: ``times_to_sources`` on the Helsinki network equals scipy
over the augmented graph and networkx; the engine caches cut passes apart
from the uncut ones ``nearest`` reuses; coverage from a cut pass equals
coverage from the uncut one.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from geosvc.analysis.coverage import compute_coverage
from geosvc.analysis.demand import build_demand
from geosvc.errors import InvalidParameter
from geosvc.model import PopulationCell
from geosvc.network import _dijkstra
from geosvc.network.nearest import CutKey, TravelEngine
from geosvc.network.paths import augmented_graph, entries, times_to_sources
from geosvc.network.snap import snap_points
from geosvc.network.synthetic import synthetic_city

WIDTHS = (None, 0.25, 1.0, 4.0, 64.0)


def random_graph(rng: np.random.Generator, kind: str) -> sp.csr_matrix:
    """A random digraph (one edge per pair) whose weights are of ``kind``."""
    n = int(rng.integers(2, 80))
    m = int(rng.integers(1, 5 * n))
    u, v = rng.integers(0, n, m), rng.integers(0, n, m)
    w = rng.uniform(0.0, 6.0, m)
    if kind == "integer":  # many exact ties
        w = np.round(w)
    elif kind == "tiny":
        w = np.where(rng.random(m) < 0.3, rng.uniform(0.0, 1e-3, m), w)
    elif kind == "zero":  # zero-weight edges, as turn edges of split nodes
        w = np.where(rng.random(m) < 0.3, 0.0, w * 3)
    keys, first = np.unique(u * n + v, return_index=True)
    return sp.csr_matrix((w[first], (keys // n, keys % n)), shape=(n, n))


def reference(g: sp.csr_matrix, seeds: np.ndarray, secs: np.ndarray, src: np.ndarray,
              n_sources: int, limit: float) -> np.ndarray:
    """Per source: scipy's times from its seeds (virtual node, explicit zeros kept)."""
    n = g.shape[0]
    out = np.full((n_sources, n), np.inf)
    for s in range(n_sources):
        mine = src == s
        if not mine.any():
            continue
        aug = augmented_graph(g, 1, np.zeros(int(mine.sum()), np.int64),
                              seeds[mine].astype(np.int64), secs[mine])
        out[s] = dijkstra(aug, directed=True, indices=n, limit=limit)[:n]
    return out


@pytest.mark.parametrize("kind", ["real", "integer", "tiny", "zero"])
def test_equal_to_scipy_on_random_graphs(kind: str) -> None:
    rng = np.random.default_rng(["real", "integer", "tiny", "zero"].index(kind))
    for case in range(60):
        g = random_graph(rng, kind)
        n = g.shape[0]
        n_sources = int(rng.integers(1, 5))
        n_seeds = int(rng.integers(1, 8))
        seeds = rng.integers(0, n, n_seeds)
        src = rng.integers(0, n_sources, n_seeds)
        secs = rng.uniform(0.0, 4.0, n_seeds)
        if kind == "integer":
            secs = np.round(secs)
        limit = np.inf if case % 2 else float(rng.uniform(0.0, 10.0))
        per = reference(g, seeds, secs, src, n_sources, limit)
        best = per.min(axis=0)
        # highest source index among those exactly as near
        tied = per == best[None, :]
        want_src = np.where(np.isfinite(best),
                            n_sources - 1 - np.argmax(tied[::-1], axis=0), -1)
        first = None
        for width in WIDTHS:
            d, s, p = _dijkstra.passes(g, seeds, secs, src, limit_s=limit, width_s=width)
            assert np.array_equal(d, best), (kind, case, width)  # bit for bit
            assert np.array_equal(s, want_src), (kind, case, width)
            _check_preds(g, d, s, p, seeds, secs, src)
            if first is None:
                first = p
            elif kind != "zero":
                assert np.array_equal(p, first), (kind, case, width)  # width-independent


def _check_preds(g: sp.csr_matrix, d: np.ndarray, s: np.ndarray, p: np.ndarray,
                 seeds: np.ndarray, secs: np.ndarray, src: np.ndarray) -> None:
    """Every reached node: a seed of its source at its time, or pred + edge == its time."""
    for x in np.flatnonzero(np.isfinite(d)):
        if p[x] < 0:
            assert ((seeds == x) & (secs == d[x]) & (src == s[x])).any()
        else:
            assert d[p[x]] + g[p[x], x] == d[x] and s[p[x]] == s[x]
    assert (p[~np.isfinite(d)] == -1).all() and (s[~np.isfinite(d)] == -1).all()


def test_seed_keeps_a_tie_and_the_heap_orders_zero_edges() -> None:
    # 0 -(0)-> 1 -(0)-> 2, 3 -(2)-> 2; seeds: 0 at 1 s (source 0), 2 at 1 s (source 1)
    g = sp.csr_matrix(([0.0, 0.0, 2.0], [1, 2, 2], [0, 1, 2, 2, 3]), shape=(4, 4))
    d, s, p = _dijkstra.passes(g, np.array([0, 2, 3]), np.array([1.0, 1.0, 0.0]),
                               np.array([0, 1, 0]))
    assert d.tolist() == [1.0, 1.0, 1.0, 0.0]
    assert s.tolist() == [0, 0, 1, 0] and p.tolist() == [-1, 0, -1, -1]


def test_cutoff_keeps_exactly_the_nodes_within() -> None:
    g = sp.csr_matrix(([1.5, 1.5, 1.5], [1, 2, 3], [0, 1, 2, 3, 3]), shape=(4, 4))
    d, _, p = _dijkstra.passes(g, np.array([0]), np.array([0.0]), limit_s=3.0)
    assert d.tolist() == [0.0, 1.5, 3.0, np.inf] and p.tolist() == [-1, 0, 1, -1]
    d, _, _ = _dijkstra.passes(g, np.array([0]), np.array([3.5]), limit_s=3.0)
    assert np.isinf(d).all()


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_refuses_bad_weights_and_widths(bad: float) -> None:
    g = sp.csr_matrix(([bad], [1], [0, 1, 1]), shape=(2, 2))
    with pytest.raises(ValueError, match="edge times"):
        _dijkstra.passes(g, np.array([0]), np.array([0.0]))
    ok = sp.csr_matrix(([1.0], [1], [0, 1, 1]), shape=(2, 2))
    with pytest.raises(ValueError, match="seed times"):
        _dijkstra.passes(ok, np.array([0]), np.array([bad]))
    with pytest.raises(ValueError, match="power of two"):
        _dijkstra.passes(ok, np.array([0]), np.array([0.0]), width_s=3.0)


def _scipy_pass(net, snapped, limit: float):
    """times_to_sources as it was: scipy over the augmented graph (virtual nodes)."""
    n, m = net.n_nodes, len(snapped)
    idx, node, sec = entries(net, snapped, 4.5 / 3.6)
    graph = augmented_graph(net.csr_reverse, m, idx, node, sec)
    dist, pred, src = dijkstra(graph, directed=True, indices=n + np.unique(idx),
                               min_only=True, return_predecessors=True, limit=limit)
    return dist[:n], np.where(np.isfinite(dist[:n]), src[:n] - n, -1)


@pytest.mark.parametrize("limit", [np.inf, 300.0, 900.0])
def test_helsinki_pass_equals_scipy_and_networkx(helsinki_walk, limit: float) -> None:
    net = helsinki_walk
    rng = np.random.default_rng(11)
    b = net.bounds_lonlat
    lon, lat = rng.uniform(b[0], b[2], 60), rng.uniform(b[1], b[3], 60)
    # co-located pairs: exact ties between sources
    lon[30:40], lat[30:40] = lon[:10], lat[:10]
    snapped = snap_points(net, lon, lat, max_dist_m=500.0)
    nt = times_to_sources(net, snapped, cutoff_s=None if np.isinf(limit) else limit)
    ref_t, ref_s = _scipy_pass(net, snapped, limit)
    assert np.array_equal(nt.time_s, ref_t)
    # the nearest source is scipy's: the same one even for co-located sources
    assert np.array_equal(nt.source, ref_s)
    reached = np.isfinite(nt.time_s)
    assert (nt.time_s[reached] <= limit).all() and (nt.next_node[~reached] == -1).all()
    # networkx from one super-source over the reversed graph
    g = nx.DiGraph()
    idx, node, sec = entries(net, snapped, 4.5 / 3.6)
    for u, v, t in zip(net.edge_u, net.edge_v, net.edge_time_s, strict=True):
        if not g.has_edge(int(v), int(u)) or g[int(v)][int(u)]["w"] > t:
            g.add_edge(int(v), int(u), w=float(t))
    for x, t in zip(node, sec, strict=True):
        if not g.has_edge("S", int(x)) or g["S"][int(x)]["w"] > t:
            g.add_edge("S", int(x), w=float(t))
    dist = nx.single_source_dijkstra_path_length(g, "S", weight="w", cutoff=limit)
    want = np.array([dist.get(i, np.inf) for i in range(net.n_nodes)])
    np.testing.assert_allclose(nt.time_s, want, rtol=0, atol=1e-6)


@pytest.fixture(scope="module")
def city():
    return synthetic_city(1_500, seed=3, mode="walk")


def test_engine_caches_cut_passes_apart_from_uncut(city, settings) -> None:
    rng = np.random.default_rng(5)
    pick = rng.choice(city.n_nodes, 12, replace=False)
    eng = TravelEngine(city, city.node_lon[pick], city.node_lat[pick], settings=settings)
    cut = eng.pass_for(None, "all", cutoff_s=300.0)
    assert cut.cutoff_s == 300.0 and eng.cached_keys == [CutKey("all", 300.0)]
    assert eng.pass_for(None, "all", cutoff_s=200.0) is cut  # reaches far enough
    assert (eng.cache_hits, eng.cache_misses) == (1, 1)
    wider = eng.pass_for(None, "all", cutoff_s=600.0)  # does not: a new cut pass
    assert wider is not cut and eng.cache_misses == 2
    # nearest never answers from a cut pass; the uncut pass is its own entry
    hits = eng.nearest(float(city.node_lon[0]), float(city.node_lat[0]), candidates=None,
                       key="all", k=1)
    assert "all" not in eng.cached_keys and hits
    full = eng.pass_for(None, "all")
    assert np.isinf(full.cutoff_s) and "all" in eng.cached_keys
    assert eng.pass_for(None, "all", cutoff_s=900.0) is full  # uncut answers cut requests
    within = full.time_s <= 300.0
    assert np.array_equal(cut.time_s[within], full.time_s[within])
    assert np.array_equal(cut.source[within], full.source[within])
    assert np.array_equal(cut.next_node[within], full.next_node[within])
    assert np.isinf(cut.time_s[~within]).all() and (cut.source[~within] == -1).all()
    with pytest.raises(InvalidParameter, match="cutoff_s"):
        eng.pass_for(None, "all", cutoff_s=-1.0)


@pytest.mark.parametrize("minutes", [2, 5, 9])
def test_coverage_from_a_cut_pass_equals_the_uncut(city, settings, minutes: int) -> None:
    rng = np.random.default_rng(minutes)
    pick = rng.choice(city.n_nodes, 8, replace=False)
    cells = [PopulationCell(float(x), float(y), float(c)) for x, y, c in zip(
        city.node_lon + rng.normal(0, 3e-4, city.n_nodes),
        city.node_lat + rng.normal(0, 2e-4, city.n_nodes),
        rng.integers(1, 30, city.n_nodes), strict=True)]
    demand = build_demand(city, cells)
    cut_eng = TravelEngine(city, city.node_lon[pick], city.node_lat[pick], settings=settings)
    cut = compute_coverage(cut_eng, demand, minutes=minutes, key="k")
    assert cut_eng.cached_keys == [CutKey("k", minutes * 60.0)]
    full_eng = TravelEngine(city, city.node_lon[pick], city.node_lat[pick], settings=settings)
    full_eng.pass_for(None, "k")  # the uncut pass answers the coverage below
    full = compute_coverage(full_eng, demand, minutes=minutes, key="k")
    assert full_eng.cached_keys == ["k"]
    assert cut.to_dict() == full.to_dict()
    assert cut.covered_area_km2 == full.covered_area_km2
    # time_s / venue are the uncut pass's (computed on first access)
    assert np.array_equal(cut.time_s, full.time_s) and np.array_equal(cut.venue, full.venue)
    assert "k" in cut_eng.cached_keys
    # a bare network: the same document
    bare = compute_coverage(city, demand, minutes=minutes,
                            venues=(city.node_lon[pick], city.node_lat[pick]))
    assert bare.to_dict() == full.to_dict()
    assert np.array_equal(bare.time_s, full.time_s)
