"""Candidates and isochrone starts snap by the same component rule as venues and demand."""

from __future__ import annotations

import pytest

from geosvc.analysis.demand import build_demand
from geosvc.analysis.isochrone import isochrone_polygons
from geosvc.analysis.planning import build_candidates, kiosk_site_candidates
from geosvc.config import Settings
from geosvc.errors import InvalidParameter
from geosvc.model import PopulationCell
from geosvc.network.nearest import TravelEngine
from geosvc.network.synthetic import grid_network

ISLAND = [64, 65, 66, 67]  # the 4-node block of grid_network(8, 8, disconnected=True)


@pytest.fixture(scope="module")
def net():
    return grid_network(8, 8, disconnected=True)


def _cells(net, nodes, count=10.0):
    return [
        PopulationCell(float(net.node_lon[i]), float(net.node_lat[i]), count) for i in nodes
    ]


def _main(net, edges):
    return net.component_labels[net.edge_u[edges]] == net.component_labels[0]


def test_kiosk_sites_never_on_a_tiny_fragment(net):
    demand = build_demand(net, _cells(net, ISLAND + [0], 100.0))
    sites = kiosk_site_candidates(net, demand, spacing_m=400)
    node_ids = {int(net.node_id[i]) for i in ISLAND}
    assert len(sites) >= 1 and sites.off_network == ()
    assert not {int(s.removeprefix("site-")) for s in sites.ids} & node_ids
    assert _main(net, sites.snapped.edge).all()
    old = kiosk_site_candidates(net, demand, spacing_m=400, min_component_nodes=1)
    assert {int(s.removeprefix("site-")) for s in old.ids} & node_ids


@pytest.mark.parametrize(("rule", "on_main"), [(50, True), (1, False)])
def test_supplied_candidates_follow_the_engine_setting(net, rule, on_main):
    demand = build_demand(net, _cells(net, [0]), min_component_nodes=rule)
    engine = TravelEngine(net, net.node_lon[[0]], net.node_lat[[0]],
                          settings=Settings().with_(min_component_nodes=rule))
    rows = [{"id": "p", "lon": float(net.node_lon[65]), "lat": float(net.node_lat[65])}]
    cands = build_candidates(rows, index=None, engine=engine, demand=demand)
    assert cands.ids == ("p",) and cands.snapped.ok.all()
    assert bool(_main(net, cands.snapped.edge)[0]) is on_main
    # on the main network the point is 400 m from the nearest street (node 7)
    assert cands.snapped.dist_m[0] == pytest.approx(400.0 if on_main else 0.0, abs=1e-6)


def test_isochrone_start_beside_a_fragment_snaps_to_the_main_network(net):
    start = (float(net.node_lon[64]), float(net.node_lat[64]))
    main = isochrone_polygons(net, start, [10], max_snap_m=None)[0]
    island = isochrone_polygons(net, start, [10], max_snap_m=None, min_component_nodes=1)[0]
    # from the main network the grid is reached; from the 4-node block only the block
    assert main.area_km2 > 3 * island.area_km2
    with pytest.raises(InvalidParameter, match="min_component_nodes"):
        isochrone_polygons(net, start, [10], min_component_nodes=-1)
