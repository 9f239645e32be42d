"""Demand: OSM building estimate, grid areas, polygon cells, snapping once."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geosvc.analysis.demand import (
    DemandCache,
    build_demand,
    estimate_population_from_osm,
    grid_areas,
)
from geosvc.errors import InvalidParameter
from geosvc.model import PopulationCell
from geosvc.network.synthetic import grid_network


def test_helsinki_estimate_is_positive_and_deterministic(helsinki_population, helsinki_pbf):
    cells = helsinki_population
    total = sum(c.count for c in cells)
    assert 50 <= len(cells) <= 486          # residential subset of the 486 buildings
    assert 1_000 < total < 100_000
    assert all(c.count > 0 and c.code.startswith("osm:") for c in cells)
    assert len({c.code for c in cells}) == len(cells)
    assert all(24.93 < c.lon < 24.96 and 60.16 < c.lat < 60.18 for c in cells)
    denser = estimate_population_from_osm(helsinki_pbf, floor_area_per_person_m2=17.5)
    # same buildings, same order
    assert [c.code for c in denser] == [c.code for c in cells]
    assert sum(c.count for c in denser) == pytest.approx(2 * total, rel=1e-3)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), "x"])
def test_bad_floor_area(helsinki_pbf, bad):
    with pytest.raises(InvalidParameter, match="floor_area_per_person_m2"):
        estimate_population_from_osm(helsinki_pbf, floor_area_per_person_m2=bad)


def test_missing_file(tmp_path):
    with pytest.raises(InvalidParameter, match="osm_path"):
        estimate_population_from_osm(tmp_path / "none.osm.pbf")


def test_grid_areas_tile_the_box():
    areas = grid_areas((117.0, 31.0, 117.0083806, 31.0072186), 3, 2, prefix="X")
    polys = [shapely.from_wkt(a.wkt) for a in areas]
    assert [a.code for a in areas] == [f"X-{k}" for k in range(1, 7)]
    assert shapely.union_all(polys).equals(shapely.box(117.0, 31.0, 117.0083806, 31.0072186))
    assert sum(p.area for p in polys) == pytest.approx(0.0083806 * 0.0072186)
    with pytest.raises(InvalidParameter, match="bounds_lonlat"):
        grid_areas((1, 1, 0, 2))
    with pytest.raises(InvalidParameter, match="nx"):
        grid_areas((0, 0, 1, 1), 0, 1)


def test_polygon_cells_spread_over_lattice_and_areas_assigned():
    net = grid_network(6, 6)
    lon0, lat0, lon1, lat1 = net.bounds_lonlat
    box = shapely.box(lon0, lat0, lon1, lat1)
    cells = [PopulationCell(float(net.node_lon[0]), float(net.node_lat[0]), 5.0),
             PopulationCell(box.centroid.x, box.centroid.y, 1000.0, wkt=box.wkt)]
    areas = grid_areas((lon0 - 1e-3, lat0 - 1e-3, lon1 + 1e-3, lat1 + 1e-3), 2, 1, prefix="A")
    ds = build_demand(net, cells, areas)
    assert ds.total == pytest.approx(1005.0)
    spread = ds.cell == 1
    assert spread.sum() > 10                        # 500 m square on a 100 m lattice
    assert np.allclose(ds.count[spread], 1000.0 / spread.sum())
    assert set(ds.area.tolist()) == {0, 1}
    assert (ds.snapped.edge >= 0).all()
    assert not ds.count.flags.writeable


def test_bad_cells_are_refused():
    net = grid_network(2, 2)
    with pytest.raises(InvalidParameter, match="population"):
        build_demand(net, [PopulationCell(float("nan"), 31.0, 1.0)])
    with pytest.raises(InvalidParameter, match="population"):
        build_demand(net, [PopulationCell(117.0, 31.0, -1.0)])


def test_cache_builds_once():
    net = grid_network(3, 3)
    calls = []

    def load():
        calls.append(1)
        return [PopulationCell(float(net.node_lon[4]), float(net.node_lat[4]), 3.0)], []

    cache = DemandCache()
    a = cache.get(net, 1, load)
    assert cache.get(net, 1, load) is a and len(calls) == 1
    assert cache.get(net, 2, load) is not a and len(calls) == 2
