"""The bounded forward search: cold equals warm, equals networkx, scratch reuse, threads."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from geosvc.network import _dijkstra
from geosvc.network.nearest import TravelEngine
from geosvc.network.snap import snap_points
from geosvc.network.synthetic import grid_network, synthetic_city

from .conftest import reference_times
from .test_nearest import random_network


def _queries(net, settings, rng, n):
    lo0, la0, lo1, la1 = net.bounds_lonlat
    out = []
    while len(out) < n:
        lon, lat = rng.uniform(lo0, lo1), rng.uniform(la0, la1)
        if snap_points(net, lon, lat).dist_m[0] <= settings.snap_max_m:
            out.append((lon, lat))
    return out


def _engine(net, settings, rng, n_venues):
    lo0, la0, lo1, la1 = net.bounds_lonlat
    return TravelEngine(net, rng.uniform(lo0, lo1, n_venues), rng.uniform(la0, la1, n_venues),
                        settings=settings)


def _same(a, b):
    assert [h.pos for h in a] == [h.pos for h in b]
    np.testing.assert_allclose([h.time_s for h in a], [h.time_s for h in b], rtol=1e-12)
    np.testing.assert_allclose([h.distance_m for h in a], [h.distance_m for h in b], rtol=1e-9)
    for ha, hb in zip(a, b, strict=True):
        if ha.route_lonlat is not None or hb.route_lonlat is not None:
            np.testing.assert_allclose(ha.route_lonlat, hb.route_lonlat, atol=1e-9)


@pytest.fixture(scope="module")
def city():
    return synthetic_city(4000, mode="drive", seed=3)


@pytest.mark.parametrize("k", [1, 5])
def test_cold_search_equals_warm_pass(city, settings, k):
    rng = np.random.default_rng(20 + k)
    eng = _engine(city, settings, rng, 80)
    cands = np.sort(rng.choice(80, 40, replace=False))
    queries = _queries(city, settings, rng, 12)
    cold = [eng.nearest(lon, lat, candidates=cands, key=("k", k, i), k=k, route=True)
            for i, (lon, lat) in enumerate(queries)]
    assert not any(("k", k, i) in eng.cached_keys for i in range(12))  # no pass built
    eng.pass_for(cands, "warm")
    for (lon, lat), c in zip(queries, cold, strict=True):
        warm = eng.nearest(lon, lat, candidates=cands, key="warm", k=k, route=True)
        assert len(warm) == k
        _same(c, warm)


def test_k5_with_accept_and_limit_equals_networkx(helsinki_drive, settings):
    rng = np.random.default_rng(31)
    eng = _engine(helsinki_drive, settings, rng, 40)
    cands = np.arange(0, 40, 1)
    venues = eng.venues.take(cands)

    def accept(pos, t):
        return pos % 3 != 1

    for lon, lat in _queries(helsinki_drive, settings, rng, 5):
        ref = reference_times(helsinki_drive, snap_points(helsinki_drive, lon, lat), venues)
        for limit_min in (None, 3.0):
            ok = np.isfinite(ref) & (cands % 3 != 1)
            if limit_min is not None:
                ok &= ref <= limit_min * 60
            want = np.flatnonzero(ok)
            want = want[np.lexsort((cands[want], np.round(ref[want], 6)))][:5]
            hits = eng.nearest(lon, lat, candidates=cands, k=5, accept=accept,
                               max_minutes=limit_min)
            assert [h.pos for h in hits] == cands[want].tolist()
            times = [h.time_s for h in hits]
            np.testing.assert_allclose(times, ref[want], rtol=1e-9, atol=1e-6)


def _scratch_is_clean(eng):
    sc = eng._local.scratch
    return bool(np.isinf(sc.dist).all() and not sc.done.any() and not sc.state.any())


def test_scratch_reset_across_many_queries(city, settings):
    rng = np.random.default_rng(5)
    eng = _engine(city, settings, rng, 60)
    fresh_rng = np.random.default_rng(6)
    queries = _queries(city, settings, fresh_rng, 150)
    for i, (lon, lat) in enumerate(queries):
        cands = np.sort(rng.choice(60, int(rng.integers(1, 60)), replace=False))
        k = int(rng.integers(1, 8))
        limit = None if i % 3 else float(rng.uniform(0.5, 6))
        got = eng.nearest(lon, lat, candidates=cands, key=("many", i), k=k, max_minutes=limit)
        assert _scratch_is_clean(eng)
        if i % 10 == 0:  # a new engine (new scratch) gives the same answer
            other = TravelEngine(city, eng.venues.lon, eng.venues.lat, settings=settings)
            _same(got, other.nearest(lon, lat, candidates=cands, k=k, max_minutes=limit))


def test_failing_accept_leaves_scratch_clean(grid5, settings):
    nodes = [24, 4]
    eng = TravelEngine(grid5, grid5.node_lon[nodes], grid5.node_lat[nodes], settings=settings)

    def boom(pos, t):
        raise KeyError(pos)

    with pytest.raises(KeyError):
        eng.nearest(grid5.node_lon[0], grid5.node_lat[0], candidates=None, k=2, accept=boom)
    assert _scratch_is_clean(eng)
    hits = eng.nearest(grid5.node_lon[0], grid5.node_lat[0], candidates=None, k=2)
    assert [h.pos for h in hits] == [1, 0]
    np.testing.assert_allclose([h.time_s for h in hits], [320, 640], atol=1e-6)


def test_reentrant_accept(grid5, settings):
    nodes = [24, 4, 12, 2]
    eng = TravelEngine(grid5, grid5.node_lon[nodes], grid5.node_lat[nodes], settings=settings)
    inner = []

    def accept(pos, t):
        inner.append(eng.nearest(grid5.node_lon[24], grid5.node_lat[24], candidates=[1], k=1))
        return pos != 3

    hits = eng.nearest(grid5.node_lon[0], grid5.node_lat[0], candidates=None, k=3,
                       accept=accept)
    assert [h.pos for h in hits] == [1, 2, 0]
    assert all([h.pos for h in r] == [1] for r in inner) and len(inner) == 4
    assert _scratch_is_clean(eng)


def test_threads_share_one_engine(city, settings):
    rng = np.random.default_rng(9)
    eng = _engine(city, settings, rng, 100)
    cands = np.arange(0, 100, 3)
    queries = _queries(city, settings, rng, 40)
    serial = [eng.nearest(lon, lat, candidates=cands, key="t", k=5) for lon, lat in queries]
    results: dict[tuple[int, int, int], list] = {}
    errors: list[BaseException] = []

    def work(tid):
        try:
            for rep in range(3):
                for i in range(tid, len(queries), 4):
                    lon, lat = queries[i]
                    got = eng.nearest(lon, lat, candidates=cands, key="t", k=5)
                    results[(tid, rep, i)] = got
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 3 * len(queries)
    for (_, _, i), got in results.items():
        _same(got, serial[i])


def test_pass_built_only_once_searches_earn_it(settings):
    net = grid_network(6, 6)  # 36 nodes
    eng = TravelEngine(net, net.node_lon[[35, 5]], net.node_lat[[35, 5]], settings=settings)
    q = (net.node_lon[0], net.node_lat[0])
    hits = eng.nearest(*q, candidates=None, key="all", k=2)
    assert [h.pos for h in hits] == [1, 0] and eng.cached_keys == []
    assert eng.cache_misses == 1
    for _ in range(5):  # k > 1 with hits: a pass would not help, never built
        eng.nearest(*q, candidates=None, key="all", k=2)
    assert eng.cached_keys == [] and eng.cache_hits == 5
    built_after = None
    for i in range(20):  # k = 1 searches add their settled nodes up to 36
        eng.nearest(*q, candidates=None, key="all", k=1)
        if "all" in eng.cached_keys:
            built_after = i
            break
    assert built_after is not None and built_after >= 1
    assert eng.nearest(*q, candidates=None, key="all", k=1)[0].pos == 1
    # pass_for always returns a pass, and reuses a key nearest has seen
    nt = eng.pass_for([0], "zero")
    assert nt.source_ids.tolist() == [0] and "zero" in eng.cached_keys


def test_nothing_reachable_without_and_with_pass(settings):
    net = grid_network(3, 3, disconnected=True)
    # the 4-node block counts as a real island (>= min_component_nodes): the venue stays on it
    eng = TravelEngine(net, net.node_lon[[9]], net.node_lat[[9]],
                       settings=settings.with_(min_component_nodes=4))
    for _ in range(3):
        hits = eng.nearest(net.node_lon[0], net.node_lat[0], candidates=None, key="x", k=3)
        assert hits == []
    assert "x" in eng.cached_keys  # empty answers are what a pass answers for free


# -- the kernel alone -------------------------------------------------------------------
def test_kernel_equals_scipy_with_heap_growth():
    net = random_network(4, n=80)
    csr = net.csr
    rng = np.random.default_rng(0)
    n, n_venues = net.n_nodes, 30
    # venue v is entered from node at[v] after sec[v] seconds
    at = rng.integers(0, n, n_venues)
    sec = rng.uniform(0, 50, n_venues)
    ent = _dijkstra.VenueEntries.build(n, np.arange(n_venues), at, sec)
    sc = _dijkstra.Scratch(n + n_venues, heap_capacity=1)
    for start_node in range(0, n, 7):
        ref = dijkstra(csr, indices=start_node)
        want = ref[at] + sec
        for cand_every in (1, 2):
            cand = np.zeros(n_venues, dtype=np.bool_)
            cand[::cand_every] = True
            _dijkstra.start(sc, np.array([start_node]), np.array([0.0]))
            vid, vt = _dijkstra.run(csr, ent, cand, sc, need=n_venues)
            reach = np.flatnonzero(cand & np.isfinite(want))
            assert sorted(vid.tolist()) == reach.tolist()
            np.testing.assert_allclose(vt, want[vid], rtol=1e-12)
            assert (np.diff(vt) >= 0).all()
            for v in vid[:3].tolist():  # predecessors trace a real path of that length
                path = _dijkstra.walk_back(sc, int(sc.pred[n + v]))
                assert path[0] == start_node
                hops = sum(csr[a, b] for a, b in zip(path[:-1], path[1:], strict=True))
                assert hops + sec[v] == pytest.approx(want[v], rel=1e-12)
    assert len(sc.heap_t) > 1  # grew from one slot


def test_kernel_resumes_and_stops_at_ties_and_limit():
    # a star: node 0 -> 1..4, all 10 s; one venue per leaf, entered at 0 s
    indptr = np.array([0, 4, 4, 4, 4, 4], dtype=np.int32)
    csr = sp.csr_matrix((np.full(4, 10.0), np.array([1, 2, 3, 4], np.int32), indptr),
                        shape=(5, 5))
    ent = _dijkstra.VenueEntries.build(5, np.arange(4), np.array([1, 2, 3, 4]), np.zeros(4))
    cand = np.ones(4, dtype=np.bool_)
    sc = _dijkstra.Scratch(9)
    _dijkstra.start(sc, np.array([0]), np.array([0.0]))
    vid, vt = _dijkstra.run(csr, ent, cand, sc, need=1)
    assert sorted(vid.tolist()) == [0, 1, 2, 3]  # need 1, but all four tie at 10 s
    _dijkstra.start(sc, np.array([0]), np.array([0.0]))
    assert len(_dijkstra.run(csr, ent, cand, sc, need=1, limit_s=9.0)[0]) == 0
    assert len(_dijkstra.run(csr, ent, cand, sc, need=4, limit_s=10.0)[0]) == 4  # resumed
    assert len(_dijkstra.run(csr, ent, cand, sc, need=1)[0]) == 0  # exhausted
    sc.reset()
    assert np.isinf(sc.dist).all() and not sc.done.any()


@pytest.mark.parametrize("row", [0, 2])  # row 0 runs east only, row 2 both ways
def test_same_street_venues_equal_networkx(settings, row):
    net = grid_network(5, 5, one_way_rows=[0])
    y = float(net.node_y[row * 5]) + 4.0  # 4 m off the street: access legs count
    x0 = float(net.node_x[0])
    # query between columns 1 and 2; venues ahead / behind on that block, and the next block
    xs = x0 + np.array([150.0, 185.0, 120.0, 270.0, 40.0])  # no exact ties
    lon, lat = net.transformer_inverse.transform(xs, np.full(5, y))
    eng = TravelEngine(net, lon[1:], lat[1:], settings=settings)
    q = snap_points(net, lon[0], lat[0])
    ref = reference_times(net, q, eng.venues)
    want = np.lexsort((np.arange(4), np.round(ref, 6)))
    cold = eng.nearest(lon[0], lat[0], candidates=None, key="c", k=4, route=True)
    assert [h.pos for h in cold] == want.tolist()
    np.testing.assert_allclose([h.time_s for h in cold], ref[want], rtol=1e-9)
    if row == 0:  # the venue behind on a one-way block needs a detour round the block
        assert ref[1] > ref[0] + 80
    eng.pass_for(None, "c")
    for k in (1, 4):
        warm = eng.nearest(lon[0], lat[0], candidates=None, key="c", k=k, route=True)
        _same(warm, cold[:k])
