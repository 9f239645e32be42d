"""Snapping only to big enough connected components (``min_component_nodes``)."""

from __future__ import annotations

import numpy as np
import pytest

from geosvc.config import Settings
from geosvc.errors import ConfigError, InvalidParameter
from geosvc.network.graph import make_network
from geosvc.network.nearest import TravelEngine
from geosvc.network.snap import (
    default_min_component_nodes,
    edge_index,
    snap_points,
    snap_xy,
    snappable_edges,
)
from geosvc.network.synthetic import grid_network


@pytest.fixture(scope="module")
def grid_and_fragment():
    """8 x 8 grid (64 nodes) plus a 2 x 2 fragment (nodes 64..67) 300 m east of it."""
    return grid_network(8, 8, disconnected=True)


def _inside_fragment(net):
    """Return a point inside the fragment: 40 m from its streets, 350 m from the grid's."""
    return net.node_x[64:65] + 50.0, net.node_y[64:65] + 40.0


def _merge(a, b, dx_m):
    """One network holding ``a`` and ``b`` (shifted ``dx_m`` east); b's nodes follow a's."""
    n, e = a.n_nodes, a.n_edges
    bx = b.node_x + dx_m
    lon, lat = a.transformer_inverse.transform(bx, b.node_y)
    return make_network(
        mode=a.mode, crs=a.crs, source_hash="synthetic:merged",
        node_id=np.concatenate([a.node_id, b.node_id + n]),
        node_lon=np.concatenate([a.node_lon, lon]), node_lat=np.concatenate([a.node_lat, lat]),
        node_x=np.concatenate([a.node_x, bx]), node_y=np.concatenate([a.node_y, b.node_y]),
        edge_u=np.concatenate([a.edge_u, b.edge_u + n]),
        edge_v=np.concatenate([a.edge_v, b.edge_v + n]),
        edge_length_m=np.concatenate([a.edge_length_m, b.edge_length_m]),
        edge_time_s=np.concatenate([a.edge_time_s, b.edge_time_s]),
        geom_offsets=np.concatenate([a.geom_offsets, b.geom_offsets[1:] + len(a.geom_x)]),
        geom_x=np.concatenate([a.geom_x, b.geom_x + dx_m]),
        geom_y=np.concatenate([a.geom_y, b.geom_y]),
        edge_twin=np.concatenate([a.edge_twin,
                                  np.where(b.edge_twin >= 0, b.edge_twin + e, -1)]),
    )


def test_component_labels_and_sizes(grid_and_fragment):
    net = grid_and_fragment
    assert net.components() == 2
    assert sorted(net.component_sizes.tolist()) == [4, 64]
    lab = net.component_labels
    assert len(set(lab[:64].tolist())) == 1 and len(set(lab[64:].tolist())) == 1
    assert lab[0] != lab[64]
    assert not lab.flags.writeable


def test_point_snaps_to_main_grid_not_the_nearer_fragment(grid_and_fragment):
    net = grid_and_fragment
    x, y = _inside_fragment(net)
    old = snap_xy(net, x, y, min_component_nodes=1)
    assert net.edge_u[old.edge[0]] >= 64 and old.dist_m[0] == pytest.approx(40.0)
    new = snap_xy(net, x, y)  # default threshold 50: the fragment is not eligible
    assert new.ok[0] and net.edge_u[new.edge[0]] < 64 and net.edge_v[new.edge[0]] < 64
    assert new.dist_m[0] == pytest.approx(350.0)
    # lon/lat entry point, explicit threshold and "0 = any edge" agree
    lon, lat = net.transformer_inverse.transform(x, y)
    assert snap_points(net, lon, lat, min_component_nodes=50).edge[0] == new.edge[0]
    assert snap_points(net, lon, lat, min_component_nodes=0).edge[0] == old.edge[0]
    # the search radius applies to eligible edges only
    assert not snap_xy(net, x, y, max_dist_m=200).ok[0]


def test_points_next_to_the_grid_are_unaffected(grid_and_fragment):
    net = grid_and_fragment
    x, y = net.node_x[:10] + 30.0, net.node_y[:10] + 7.0
    a, b = snap_xy(net, x, y, min_component_nodes=1), snap_xy(net, x, y)
    assert np.array_equal(a.edge, b.edge) and np.allclose(a.dist_m, b.dist_m)


def test_largest_component_when_none_reaches_the_threshold():
    net = grid_network(3, 3, disconnected=True)  # 9 + 4 nodes, both < 50
    ok = snappable_edges(net)
    assert ok.any() and (net.edge_u[ok] < 9).all() and (net.edge_u[~ok] >= 9).all()
    s = snap_xy(net, net.node_x[9:10] + 50.0, net.node_y[9:10] + 40.0)
    assert net.edge_u[s.edge[0]] < 9
    assert snappable_edges(grid_network(3, 3)).all()  # one component: everything


def test_island_above_threshold_keeps_its_points():
    main = grid_network(10, 6)                        # 60 nodes
    island = grid_network(8, 7)                       # 56 nodes, 1.5 km east
    net = _merge(main, island, dx_m=1500.0)
    assert sorted(net.component_sizes.tolist()) == [56, 60]
    assert snappable_edges(net).all()
    x, y = net.node_x[60:61] + 30.0, net.node_y[60:61] + 5.0
    s = snap_xy(net, x, y)
    assert net.edge_u[s.edge[0]] >= 60 and s.dist_m[0] == pytest.approx(5.0)
    # with a higher threshold only the main grid is eligible
    t = snap_xy(net, x, y, min_component_nodes=58)
    assert net.edge_u[t.edge[0]] < 60
    # ...and the island's venue is unreachable from the mainland, never moved
    eng = TravelEngine(net, net.node_lon[[60]], net.node_lat[[60]], settings=Settings())
    assert eng.unsnappable.size == 0
    assert eng.nearest(net.node_lon[0], net.node_lat[0], candidates=None, k=1) == []


def test_engine_uses_the_setting(grid_and_fragment):
    net = grid_and_fragment
    x, y = _inside_fragment(net)
    lon, lat = net.transformer_inverse.transform(x, y)
    grid_lon, grid_lat = net.node_lon[[27]], net.node_lat[[27]]
    # a venue on the grid; a citizen standing inside the fragment
    eng = TravelEngine(net, grid_lon, grid_lat, settings=Settings())
    hits = eng.nearest(lon[0], lat[0], candidates=None, k=1)
    assert [h.pos for h in hits] == [0]
    old = TravelEngine(net, grid_lon, grid_lat, settings=Settings(min_component_nodes=1))
    assert old.nearest(lon[0], lat[0], candidates=None, k=1) == []
    # a venue inside the fragment is moved onto the grid (350 m access), not stranded
    eng2 = TravelEngine(net, lon, lat, settings=Settings())
    assert eng2.unsnappable.size == 0 and net.edge_u[eng2.venues.edge[0]] < 64
    assert len(eng2.nearest(net.node_lon[0], net.node_lat[0], candidates=None, k=1)) == 1


def test_index_cached_per_threshold(grid_and_fragment):
    net = grid_and_fragment
    assert edge_index(net) is edge_index(net, default_min_component_nodes())
    assert edge_index(net, 0) is edge_index(net, 1)
    assert edge_index(net, 1) is not edge_index(net)
    assert len(edge_index(net, 1).seg_edge) > len(edge_index(net).seg_edge)


@pytest.mark.parametrize("bad", [-1, 2.5, True, "50", None])
def test_bad_threshold(grid5, bad):
    if bad is None:  # None is allowed: the Settings default
        assert snap_xy(grid5, grid5.node_x[:1], grid5.node_y[:1], min_component_nodes=bad).ok[0]
        return
    with pytest.raises(InvalidParameter, match="min_component_nodes"):
        snap_xy(grid5, grid5.node_x[:1], grid5.node_y[:1], min_component_nodes=bad)


def test_setting():
    assert Settings().min_component_nodes == default_min_component_nodes() == 50
    env = {"GEOSVC_MIN_COMPONENT_NODES": "7"}
    assert Settings.load(env=env).min_component_nodes == 7
    with pytest.raises(ConfigError, match="min_component_nodes"):
        Settings(min_component_nodes=-1)


# -- the demo city (Helsinki walk) ------------------------------------------------------
def _small(net, snapped, threshold=50):
    ok = snapped.edge >= 0
    small = np.zeros(len(snapped), dtype=bool)
    comp = net.component_labels[net.edge_u[snapped.edge[ok]]]
    small[ok] = net.component_sizes[comp] < threshold
    return small


def test_helsinki_walk_components(helsinki_walk):
    net = helsinki_walk
    sizes = net.component_sizes
    # sizes count node ids: a timed gate's copies (one per street side) count once
    assert sizes.sum() == len(np.unique(net.node_id)) and net.components() == len(sizes) > 1
    big = sizes >= 50
    assert big.sum() >= 1 and sizes.max() > 0.9 * net.n_nodes
    ok = snappable_edges(net)
    assert 0.9 * net.n_edges < ok.sum() < net.n_edges  # fragments exist and are skipped


def test_demo_coverage_has_no_fragment_gap(demo_db, helsinki_pbf, network_cache):
    """The demo's 10-min walking coverage: the 348-resident block is covered.

    The block lay on a 4-node fragment of the walk network: snapped there it
    reached no venue (a gap that does not exist) until points snapped to
    travel cores of >= 50 nodes only.  Since the walking rules of issue 12
    (cycleways with ``foot=designated``, pedestrian areas) that fragment is
    joined to the city, so the block is on the largest component with either
    snapping rule, no resident snaps to a small fragment even with the rule
    off, and the block is covered.
    """
    from geosvc.analysis.coverage import compute_coverage
    from geosvc.app.service import GeoService

    settings = Settings(db=str(demo_db), osm=str(helsinki_pbf), modes=("walk",),
                        cache_dir=str(network_cache), reload_interval_s=0)
    svc = GeoService(settings)
    net = svc.network("walk")
    demand = svc.demand("walk")
    old_snap = snap_xy(net, demand.x, demand.y, lon=demand.lon, lat=demand.lat,
                       max_dist_m=settings.snap_max_m, min_component_nodes=1)
    count = np.asarray(demand.count)
    block = np.flatnonzero(np.isclose(count, 348.41, atol=0.01))
    assert len(block) == 1
    largest = int(np.argmax(net.component_sizes))
    for snapped in (old_snap, demand.snapped):
        assert _small(net, snapped).sum() == 0
        edge = int(snapped.edge[block[0]])
        assert net.component_labels[net.edge_u[edge]] == largest
    res = compute_coverage(svc.travel("walk"), demand, minutes=10)
    assert res.time_s[block[0]] <= 600
    assert not any(g["properties"]["uncovered_population"] == pytest.approx(348.41, abs=0.5)
                   for g in res.gaps)
