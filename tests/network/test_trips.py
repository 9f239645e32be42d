"""The compiled trips of a nearest search: the same floats as the per-hit Python path."""

from __future__ import annotations

import numpy as np
import pytest

from geosvc.network import _dijkstra
from geosvc.network.synthetic import synthetic_city

from .test_search import _engine, _queries


@pytest.fixture(scope="module")
def city():
    return synthetic_city(4000, mode="drive", seed=5)


def test_pairwise_sum_is_numpys():
    """Bit-equal to ``ndarray.sum`` (numpy's pairwise summation) at every length and offset."""
    rng = np.random.default_rng(11)
    for n in [*range(300), 513, 1000, 1031, 4096, 20001]:
        a = rng.random(n + 5) * 10 ** rng.uniform(0, 5, n + 5)
        assert _dijkstra._pairwise_sum(a, 0, n) == float(a[:n].sum())
        assert _dijkstra._pairwise_sum(a, 5, n) == float(a[5:].sum())


def test_trips_equal_walk_back_and_distance(city, settings):
    """Every settled venue's trip: the nodes walk_back gives and _distance's length, exactly."""
    rng = np.random.default_rng(3)
    eng = _engine(city, settings, rng, 60)
    cand = np.ones(60, dtype=np.bool_) & eng._snapped_ok
    sc = _dijkstra.Scratch(city.n_nodes + 60)
    v = eng.venues
    checked = 0
    for lon, lat in _queries(city, settings, rng, 25):
        q = eng.snap_query(lon, lat)
        x_node, x_sec = eng._exits_one(q)
        s_pos, s_sec = eng._same_line(q, cand)
        ids = np.concatenate([x_node, city.n_nodes + s_pos])
        secs = np.concatenate([x_sec, s_sec])
        qt = (int(q.edge[0]), float(q.frac[0]), float(q.dist_m[0]))
        one = _dijkstra.search_trips(sc, city.csr, eng._entries, cand, ids, secs, 8, np.inf,
                                     city, eng._best_edges, qt, (v.edge, v.frac, v.dist_m))
        assert one is not None
        vid, _, nodes, ptr, dist = one
        assert len(vid) >= 8
        for i, p in enumerate(vid.tolist()):
            ref = _dijkstra.walk_back(sc, int(sc.pred[city.n_nodes + p]))
            assert nodes[ptr[i]:ptr[i + 1]].tolist() == ref
            assert dist[i] == eng._distance(q, p, ref)  # the very same float
            checked += 1
        sc.reset()
    assert checked >= 200


def test_fast_path_equals_resumable_path(city, settings):
    """No predicate (one compiled call) == an always-true predicate (resumable search)."""
    rng = np.random.default_rng(8)
    eng = _engine(city, settings, rng, 80)
    cands = np.sort(rng.choice(80, 50, replace=False))
    for i, (lon, lat) in enumerate(_queries(city, settings, rng, 15)):
        k = 1 + i % 7
        fast = eng.nearest(lon, lat, candidates=cands, k=k, route=True)
        slow = eng.nearest(lon, lat, candidates=cands, k=k, route=True,
                           accept=lambda p, t: True)
        assert fast == slow  # positions, times, lengths and routes: equal floats


def test_requests_use_the_warm_up_signatures(city, settings):
    """Searches after the warm-up compile nothing new (gunicorn forks after it)."""
    rng = np.random.default_rng(4)
    eng = _engine(city, settings, rng, 30)  # runs _dijkstra.warm_up()
    kernels = (_dijkstra._search_trips, _dijkstra._trips, _dijkstra._run, _dijkstra._start)
    before = [set(f.signatures) for f in kernels]
    for lon, lat in _queries(city, settings, rng, 3):
        eng.nearest(lon, lat, candidates=None, k=3)
        eng.nearest(lon, lat, candidates=None, k=3, accept=lambda p, t: True)
    assert [set(f.signatures) for f in kernels] == before
