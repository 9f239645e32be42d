"""TravelEngine.nearest equals an exact networkx Dijkstra (partial edges included)."""

from __future__ import annotations

import numpy as np
import pytest

from geosvc.errors import InvalidParameter, OutsideNetwork
from geosvc.network.graph import make_network
from geosvc.network.nearest import TravelEngine
from geosvc.network.snap import snap_points
from geosvc.network.synthetic import grid_network

from .conftest import reference_times


def random_network(seed: int, n: int = 60):
    """A random directed planar-ish network with one-way streets and parallel edges."""
    rng = np.random.default_rng(seed)
    base = grid_network(1, 1)  # borrow a CRS / origin
    x0, y0 = float(base.node_x[0]), float(base.node_y[0])
    x = x0 + rng.uniform(0, 2000, n)
    y = y0 + rng.uniform(0, 2000, n)
    a = rng.integers(0, n, 3 * n)
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    np.fill_diagonal(d, np.inf)
    b = np.argsort(d, axis=1)[a, rng.integers(0, 4, 3 * n)]
    two = rng.random(3 * n) < 0.7
    u = np.concatenate([a, b[two]])
    v = np.concatenate([b, a[two]])
    speed = np.concatenate([rng.uniform(3, 15, 3 * n), rng.uniform(3, 15, 3 * n)[two]])
    gx = np.column_stack([x[u], (x[u] + x[v]) / 2 + 5, x[v]]).ravel()  # bent polylines
    gy = np.column_stack([y[u], (y[u] + y[v]) / 2, y[v]]).ravel()
    seg = np.hypot(gx.reshape(-1, 3)[:, 1] - x[u], gy.reshape(-1, 3)[:, 1] - y[u]) + \
        np.hypot(x[v] - gx.reshape(-1, 3)[:, 1], y[v] - gy.reshape(-1, 3)[:, 1])
    lon, lat = base.transformer_inverse.transform(x, y)
    return make_network(mode="drive", crs=base.crs, source_hash=f"random:{seed}",
                        node_id=np.arange(n), node_lon=lon, node_lat=lat, node_x=x, node_y=y,
                        edge_u=u, edge_v=v, edge_length_m=seg, edge_time_s=seg / speed,
                        geom_offsets=np.arange(0, 3 * len(u) + 1, 3), geom_x=gx, geom_y=gy)


def check_against_reference(net, settings, rng, n_venues, n_queries, k=4):
    lo0, la0, lo1, la1 = net.bounds_lonlat
    vlon = rng.uniform(lo0, lo1, n_venues)
    vlat = rng.uniform(la0, la1, n_venues)
    eng = TravelEngine(net, vlon, vlat, settings=settings)
    cands = np.sort(rng.choice(n_venues, size=max(1, n_venues // 2), replace=False))
    checked = 0
    for _ in range(n_queries):
        qlon, qlat = rng.uniform(lo0, lo1), rng.uniform(la0, la1)
        q = snap_points(net, qlon, qlat)
        if q.dist_m[0] > settings.snap_max_m:
            continue
        ref = reference_times(net, q, eng.venues.take(cands))
        order = np.lexsort((cands, np.round(ref, 6)))
        finite = order[np.isfinite(ref[order])]
        for kk in (1, k):
            hits = eng.nearest(qlon, qlat, candidates=cands, k=kk)
            want = finite[:kk]
            assert [h.pos for h in hits] == [int(cands[i]) for i in want] or np.allclose(
                [h.time_s for h in hits], ref[want], rtol=1e-9)
            np.testing.assert_allclose(
                [h.time_s for h in hits], ref[want], rtol=1e-9, atol=1e-6
            )
        checked += 1
    return checked


@pytest.mark.parametrize("seed", range(5))
def test_random_graphs_equal_networkx(seed, settings):
    rng = np.random.default_rng(100 + seed)
    assert check_against_reference(random_network(seed), settings, rng, 12, 8) >= 5


def test_helsinki_walk_equals_networkx(helsinki_walk, settings):
    rng = np.random.default_rng(7)
    assert check_against_reference(helsinki_walk, settings, rng, 40, 6, k=5) >= 4


def test_helsinki_drive_equals_networkx(helsinki_drive, settings):
    rng = np.random.default_rng(8)
    assert check_against_reference(helsinki_drive, settings, rng, 30, 6, k=5) >= 4


@pytest.fixture()
def grid_engine(grid5, settings):
    # venues at nodes 24 (pos 0), 4 (pos 1), 12 (pos 2, centre), 2 (pos 3)
    nodes = [24, 4, 12, 2]
    return TravelEngine(grid5, grid5.node_lon[nodes], grid5.node_lat[nodes], settings=settings)


def test_grid_nearest_by_hand(grid_engine, grid5):
    hits = grid_engine.nearest(grid5.node_lon[0], grid5.node_lat[0], candidates=None, k=4)
    assert [h.pos for h in hits] == [3, 1, 2, 0]  # ties: lower position first
    np.testing.assert_allclose([h.time_s for h in hits], [160, 320, 320, 640], atol=1e-6)
    np.testing.assert_allclose([h.distance_m for h in hits], [200, 400, 400, 800], atol=1e-3)


def test_accept_rejecting_the_nearest(grid_engine, grid5):
    seen = []

    def accept(pos, t):
        seen.append((pos, round(t)))
        return pos != 3

    hits = grid_engine.nearest(grid5.node_lon[0], grid5.node_lat[0], candidates=None, k=1,
                               accept=accept)
    # positions 1 and 2 tie at 320 s: the lower position first, as without `accept`
    # (test_grid_nearest_by_hand); asked in order, nothing past the first accepted
    assert [h.pos for h in hits] == [1]
    assert seen == [(3, 160), (1, 320)]
    everything = grid_engine.nearest(grid5.node_lon[0], grid5.node_lat[0], candidates=None, k=4)
    assert [h.pos for h in everything if h.pos != 3][:1] == [h.pos for h in hits]


def test_k_larger_than_reachable_and_candidates(grid_engine, grid5):
    hits = grid_engine.nearest(grid5.node_lon[0], grid5.node_lat[0], candidates=[0, 1], k=10)
    assert [h.pos for h in hits] == [1, 0]


def test_max_minutes(grid_engine, grid5):
    hits = grid_engine.nearest(grid5.node_lon[0], grid5.node_lat[0], candidates=None, k=5,
                               max_minutes=5.5)
    assert [h.pos for h in hits] == [3, 1, 2]
    assert grid_engine.nearest(grid5.node_lon[0], grid5.node_lat[0], candidates=None, k=1,
                               max_minutes=2) == []


def test_unreachable_venue_never_returned(settings):
    net = grid_network(3, 3, disconnected=True)
    # the 4-node block counts as a real island (>= min_component_nodes): venue 0 stays on it
    eng = TravelEngine(net, net.node_lon[[9, 4]], net.node_lat[[9, 4]],
                       settings=settings.with_(min_component_nodes=4))
    hits = eng.nearest(net.node_lon[0], net.node_lat[0], candidates=None, k=5)
    assert [h.pos for h in hits] == [1]
    assert eng.nearest(net.node_lon[0], net.node_lat[0], candidates=[0], k=1) == []


def test_unsnappable_venues_recorded(grid5, settings):
    lon = np.array([grid5.node_lon[0], grid5.node_lon[0] + 0.5, np.nan])
    lat = np.array([grid5.node_lat[0], grid5.node_lat[0], 31.0])
    eng = TravelEngine(grid5, lon, lat, settings=settings)
    assert eng.unsnappable.tolist() == [1, 2]
    assert len(eng.warnings) == 2 and "1000 m" in eng.warnings[0]
    hits = eng.nearest(grid5.node_lon[12], grid5.node_lat[12], candidates=[0, 1, 2], k=3)
    assert [h.pos for h in hits] == [0]


def test_routes_start_at_query_and_end_at_venue(grid_engine, grid5):
    qlon, qlat = grid5.node_lon[0] + 0.0003, grid5.node_lat[0] + 0.0001
    for k in (1, 3):
        for h in grid_engine.nearest(qlon, qlat, candidates=None, k=k, route=True):
            r = np.array(h.route_lonlat)
            assert r[0] == pytest.approx([qlon, qlat], abs=1e-9)
            assert r[-1] == pytest.approx([grid_engine.venues.lon[h.pos],
                                           grid_engine.venues.lat[h.pos]], abs=1e-9)
            xy = np.column_stack(grid5.transformer.transform(r[:, 0], r[:, 1]))
            length = np.hypot(*np.diff(xy, axis=0).T).sum()
            assert length == pytest.approx(h.distance_m, abs=0.5)


def test_query_outside_network_and_bad_parameters(grid_engine, grid5):
    with pytest.raises(OutsideNetwork, match="walk road"):
        grid_engine.nearest(grid5.node_lon[0] - 0.05, grid5.node_lat[0], candidates=None)
    with pytest.raises(InvalidParameter, match="`k`"):
        grid_engine.nearest(grid5.node_lon[0], grid5.node_lat[0], candidates=None, k=0)
    with pytest.raises(InvalidParameter, match="`max_minutes`"):
        grid_engine.nearest(grid5.node_lon[0], grid5.node_lat[0], candidates=None,
                            max_minutes=-1)
    with pytest.raises(InvalidParameter, match="`candidates`"):
        grid_engine.nearest(grid5.node_lon[0], grid5.node_lat[0], candidates=[7])


def test_pass_cache_hits_misses_and_lru_bound(grid5, settings):
    eng = TravelEngine(grid5, grid5.node_lon, grid5.node_lat,
                       settings=settings.with_(pass_cache_size=2))
    a = eng.pass_for([0], "a")
    assert eng.pass_for([0], "a") is a and (eng.cache_hits, eng.cache_misses) == (1, 1)
    eng.pass_for([1], "b")
    eng.pass_for([0], "a")  # refresh a: b becomes least recently used
    eng.pass_for([2], "c")
    assert eng.cached_keys == ["a", "c"]
    assert eng.cache_misses == 3
    eng.nearest(grid5.node_lon[3], grid5.node_lat[3], candidates=[5, 6], k=1)
    eng.nearest(grid5.node_lon[3], grid5.node_lat[3], candidates=[6, 5], k=1)  # same set
    assert eng.cache_misses == 4 and eng.cache_hits == 3
    assert eng.pass_for([2], "c").source_ids.tolist() == [2]
