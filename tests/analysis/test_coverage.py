"""Coverage on hand-checkable grids and random networks, checked against networkx."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest
import shapely

from geosvc.analysis.coverage import compute_coverage
from geosvc.analysis.demand import build_demand, grid_areas
from geosvc.analysis.output import coverage_document
from geosvc.config import Settings
from geosvc.errors import InvalidParameter
from geosvc.formats import COVERAGE, Output, write_output
from geosvc.model import PopulationCell
from geosvc.network.nearest import TravelEngine
from geosvc.network.synthetic import grid_network, synthetic_city
from geosvc.routing._geometry import buffer_pieces, pass_pieces

W = 4.5 / 3.6


def cells_at(net, nodes, count=1.0):
    counts = np.broadcast_to(np.asarray(count, dtype=float), (len(nodes),))
    return [PopulationCell(float(net.node_lon[i]), float(net.node_lat[i]), float(c))
            for i, c in zip(nodes, counts, strict=True)]


def venues_at(net, nodes):
    return (net.node_lon[list(nodes)], net.node_lat[list(nodes)])


@pytest.fixture(scope="module")
def grid9():
    net = grid_network(9, 9)
    rng = np.random.default_rng(3)
    counts = rng.integers(1, 50, net.n_nodes).astype(float)
    demand = build_demand(net, cells_at(net, range(net.n_nodes), counts),
                          grid_areas(_pad(net.bounds_lonlat), 2, 2, prefix="T"))
    return net, demand


def _pad(b, d=1e-4):
    return (b[0] - d, b[1] - d, b[2] + d, b[3] + d)


def test_hand_checked_counts(grid9):
    net, demand = grid9
    # venue at the centre node 40; 4.1 min = 246 s: 3 blocks (Manhattan) of 80 s
    res = compute_coverage(net, demand, venues=venues_at(net, [40]), minutes=4.1)
    i, j = np.arange(81) % 9, np.arange(81) // 9
    expect = (np.abs(i - 4) + np.abs(j - 4)) <= 3
    assert np.array_equal(res.time_s <= 246, expect)
    assert np.allclose(res.time_s, (np.abs(i - 4) + np.abs(j - 4)) * 80.0)
    assert res.covered_population == pytest.approx(demand.count[expect].sum())
    assert res.venues_used == 1


def test_totals_areas_catchments_and_gaps_add_up(grid9):
    net, demand = grid9
    res = compute_coverage(net, demand, venues=venues_at(net, [10, 70]), minutes=3)
    d = res.to_dict()
    assert set(d) >= {"mode", "minutes", "total_population", "covered_population",
                      "covered_share", "covered_area_km2", "venues_used", "by_area", "gaps"}
    assert d["total_population"] == pytest.approx(demand.count.sum())
    assert len(d["by_area"]) == 4
    assert sum(r["total_population"] for r in d["by_area"]) == pytest.approx(
        d["total_population"], abs=0.5)
    assert sum(r["covered_population"] for r in d["by_area"]) == pytest.approx(
        d["covered_population"], abs=0.5)
    assert {c["venue"] for c in d["catchments"]} == {0, 1}
    assert sum(c["population"] for c in d["catchments"]) == pytest.approx(
        d["covered_population"], abs=0.5)
    gaps = d["gaps"]["features"]
    assert gaps, "uncovered demand must show as gaps"
    pops = [g["properties"]["uncovered_population"] for g in gaps]
    assert pops == sorted(pops, reverse=True)
    assert sum(pops) == pytest.approx(d["total_population"] - d["covered_population"], abs=0.5)
    for g in gaps:
        assert g["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    json.dumps(d)  # serialisable as is


def test_share_rises_with_minutes_and_falls_with_fewer_venues(grid9):
    net, demand = grid9
    v = venues_at(net, [0, 40, 80])
    shares = [compute_coverage(net, demand, venues=v, minutes=m).covered_share
              for m in (1, 2, 4, 12)]
    assert shares == sorted(shares) and shares[0] < shares[-1] == 1.0
    fewer = [compute_coverage(net, demand, venues=v, candidates=c, minutes=3).covered_share
             for c in ([0, 1, 2], [0, 1], [0])]
    assert fewer[0] > fewer[1] > fewer[2] > 0
    areas = [compute_coverage(net, demand, venues=v, minutes=m).covered_area_km2
             for m in (1, 2, 4)]
    assert areas == sorted(areas) and areas[0] > 0


def test_zero_venues(grid9):
    net, demand = grid9
    res = compute_coverage(net, demand, venues=venues_at(net, [40]), candidates=[], minutes=10)
    assert res.covered_population == 0 and res.covered_share == 0 and res.venues_used == 0
    assert res.covered_area_km2 == 0 and res.catchments == []
    assert sum(g["properties"]["uncovered_population"] for g in res.gaps) == pytest.approx(
        demand.total, abs=0.5)


def test_one_way_street_matters():
    net = grid_network(5, 1, one_way_rows=[0])      # a single street running east only
    demand = build_demand(net, cells_at(net, range(5), 10.0))
    east = compute_coverage(net, demand, venues=venues_at(net, [4]), minutes=10)
    west = compute_coverage(net, demand, venues=venues_at(net, [0]), minutes=10)
    assert east.covered_population == 50.0       # everyone walks east to node 4
    assert west.covered_population == 10.0       # only the venue's own node
    assert np.isinf(west.time_s[1:]).all()


def test_disconnected_part_is_a_gap():
    # an island on purpose: min_component_nodes=1 lets demand snap to every component
    net = grid_network(3, 3, disconnected=True)
    demand = build_demand(net, cells_at(net, range(net.n_nodes), 5.0), min_component_nodes=1)
    res = compute_coverage(net, demand, venues=venues_at(net, [4]), minutes=60)
    assert res.covered_population == 45.0
    assert np.isinf(res.time_s[9:]).all()
    assert len(res.gaps) == 1
    gap = res.gaps[0]
    assert gap["properties"]["uncovered_population"] == 20.0
    island = shapely.geometry.shape(gap["geometry"])
    assert island.contains(shapely.Point(net.node_lon[10], net.node_lat[10]))
    assert not island.intersects(shapely.Point(net.node_lon[4], net.node_lat[4]))


def test_covered_iff_networkx_time_within_limit():
    net = synthetic_city(900, seed=5, mode="walk")
    rng = np.random.default_rng(7)
    vnodes = rng.choice(net.n_nodes, 6, replace=False)
    # every node keeps its own street (the three cut-off blocks stay unreachable)
    demand = build_demand(net, cells_at(net, range(net.n_nodes), 1.0), min_component_nodes=1)
    engine = TravelEngine(net, *venues_at(net, vnodes),
                          settings=Settings().with_(min_component_nodes=1))
    res = compute_coverage(engine, demand, minutes=5)
    g = nx.DiGraph()
    for u, v, t in zip(net.edge_u, net.edge_v, net.edge_time_s, strict=True):
        if not g.has_edge(int(v), int(u)) or g[int(v)][int(u)]["w"] > t:
            g.add_edge(int(v), int(u), w=float(t))   # reversed: trips TO venues
    dist = nx.multi_source_dijkstra_path_length(g, [int(n) for n in vnodes], weight="w")
    expect = np.array([dist.get(i, np.inf) for i in range(net.n_nodes)])
    assert np.allclose(res.time_s, expect, rtol=0, atol=1e-6)
    clear = np.abs(expect - 300) > 1e-6
    assert np.array_equal((res.time_s <= 300)[clear], (expect <= 300)[clear])
    assert res.covered_population == pytest.approx(float((expect <= 300).sum()))
    # catchments: each demand point counted at the venue it reaches first
    assert sum(c["population"] for c in res.catchments) == pytest.approx(res.covered_population)


def test_tiny_fragment_demand_is_covered_via_the_main_network():
    # 8 x 8 grid (64 nodes >= the default 50) and a 4-node block 300 m east of it
    net = grid_network(8, 8, disconnected=True)
    island = [64, 65, 66, 67]
    cells = cells_at(net, range(net.n_nodes), 5.0)
    venue = venues_at(net, [7])                       # the grid's south-east corner
    demand = build_demand(net, cells)       # the default rule: Settings().min_component_nodes
    assert demand.min_component_nodes == Settings().min_component_nodes == 50
    on_grid = net.component_labels[net.edge_u[demand.snapped.edge]] == net.component_labels[0]
    assert on_grid.all()
    # nearest main-network street of node 64 is the corner node 7, 300 m west
    assert demand.snapped.dist_m[64] == pytest.approx(300.0, abs=1e-6)
    res = compute_coverage(net, demand, venues=venue, minutes=60)
    assert res.covered_population == res.total_population == 5.0 * net.n_nodes
    assert np.isfinite(res.time_s[island]).all() and len(res.gaps) == 0
    # the access leg is walked: 300 m at 4.5 km/h from node 64 to the venue at node 7
    assert res.time_s[64] == pytest.approx(300.0 / W, abs=1e-6)
    engine = TravelEngine(net, *venue, settings=Settings())
    same = compute_coverage(engine, demand, minutes=60)
    assert np.allclose(same.time_s, res.time_s) and same.covered_population == 340.0
    # the old rule (any edge) leaves the block as a 20-resident gap
    old = build_demand(net, cells, min_component_nodes=0)
    gap = compute_coverage(net, old, venues=venue, minutes=60)
    assert gap.covered_population == 320.0 and np.isinf(gap.time_s[island]).all()
    assert [g["properties"]["uncovered_population"] for g in gap.gaps] == [20.0]


def test_engine_rule_cannot_be_contradicted_and_bad_rule_is_refused():
    net = grid_network(8, 8, disconnected=True)
    demand = build_demand(net, cells_at(net, range(net.n_nodes), 1.0), min_component_nodes=1)
    engine = TravelEngine(net, *venues_at(net, [7]), settings=Settings())
    with pytest.raises(InvalidParameter) as err:
        compute_coverage(engine, demand, minutes=5, min_component_nodes=1)
    assert err.value.invalid_params[0]["name"] == "min_component_nodes"
    with pytest.raises(InvalidParameter, match="min_component_nodes"):
        build_demand(net, cells_at(net, [0], 1.0), min_component_nodes=-1)


def test_raster_area_matches_vector_buffer(grid9):
    net, demand = grid9
    from geosvc.network.paths import times_to_sources
    from geosvc.network.snap import snap_points

    nt = times_to_sources(net, snap_points(net, *venues_at(net, [40])), walk_speed_mps=W)
    vector = buffer_pieces(pass_pieces(net, nt, 180.0, W), 30.0).area / 1e6
    res = compute_coverage(net, demand, venues=venues_at(net, [40]), minutes=3, buffer_m=30)
    assert res.covered_area_km2 == pytest.approx(vector, rel=0.1)
    poly = res.covered_geometry
    assert poly.contains(shapely.Point(net.node_lon[40], net.node_lat[40]))
    assert not poly.contains(shapely.Point(net.node_lon[0], net.node_lat[0]))


def test_outside_areas_row_and_offnetwork_demand():
    net = grid_network(5, 5)
    cells = cells_at(net, [0, 24], 10.0) + [PopulationCell(float(net.node_lon[0]) - 0.05,
                                                           float(net.node_lat[0]), 7.0)]
    areas = grid_areas(_pad(net.bounds_lonlat), 1, 1, prefix="A")
    demand = build_demand(net, cells, areas)
    res = compute_coverage(net, demand, venues=venues_at(net, [0]), minutes=30)
    assert res.off_network_population == 7.0
    rows = {r["area_id"]: r for r in res.by_area}
    assert rows["A-1"]["total_population"] == 20.0 and rows["A-1"]["covered_share"] == 1.0
    assert rows[None]["total_population"] == 7.0 and rows[None]["covered_population"] == 0.0


def test_venues_off_network_are_counted(grid9):
    """A venue beyond the snapping limit is counted, not silently dropped."""
    net, demand = grid9
    lon, lat = venues_at(net, [10, 70])
    far_lon = np.append(lon, float(net.node_lon[0]) - 0.05)  # ~2.4 km west of the grid
    far_lat = np.append(lat, float(net.node_lat[0]))
    res = compute_coverage(net, demand, venues=(far_lon, far_lat), minutes=3)
    assert res.venues_used == 2 and res.venues_off_network == 1
    d = res.to_dict()
    assert d["venues_used"] == 2 and d["venues_off_network"] == 1
    on = compute_coverage(net, demand, venues=(lon, lat), minutes=3)
    assert on.venues_off_network == 0
    assert on.covered_population == res.covered_population


@pytest.mark.parametrize("minutes", [0, -1, float("nan"), 1000, True])
def test_bad_minutes(grid9, minutes):
    net, demand = grid9
    with pytest.raises(InvalidParameter) as err:
        compute_coverage(net, demand, venues=venues_at(net, [0]), minutes=minutes)
    assert err.value.invalid_params[0]["name"] == "minutes"


def test_demand_of_another_network_is_refused(grid9):
    net, demand = grid9
    other = grid_network(3, 3, origin_lonlat=(24.9, 60.2))
    with pytest.raises(InvalidParameter, match="demand"):
        compute_coverage(other, demand, venues=venues_at(other, [0]))


def test_write_outputs(grid9, tmp_path):
    net, demand = grid9
    res = compute_coverage(net, demand, venues=venues_at(net, [40]), minutes=2,
                           venue_labels=[("V1", "中心大厅")])
    out = Output(COVERAGE, coverage_document(res, circles=True))
    [j] = write_output(out, tmp_path / "c.json")
    doc = json.loads(j.read_text(encoding="utf-8"))
    assert doc["covered_share"] == round(res.covered_share, 4)
    table, side = write_output(out, tmp_path / "c.csv")
    lines = table.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == ("area_id,name,total_population,covered_population,covered_share,"
                        "covered_area_share")
    assert lines[-1].startswith("TOTAL,") and len(lines) == 2 + 4
    assert "中心大厅" in side.read_text(encoding="utf-8-sig")
    [g] = write_output(out, tmp_path / "c.geojson")
    layers = [f["properties"]["layer"] for f in json.loads(g.read_text())["features"]]
    assert layers[0] == "covered" and set(layers[1:]) == {"gap"}
    with pytest.raises(InvalidParameter, match="out"):
        write_output(out, tmp_path / "c.txt")
