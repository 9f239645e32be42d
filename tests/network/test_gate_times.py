"""Gate times (``OsmRules.barrier_s``): charged once per pass through the gate, never in part.

One straight way of four nodes 100 m apart (ids 1-4, x = 0, 100, 200, 300 m),
a gate at node 3 (x = 200 m), built from ``.osm`` and ``.osm.pbf`` (both must
agree) with and without the gate; trips between points 3 m off the way
(snapped, partial edges, access legs as everywhere) must differ by the
gate's 30 s exactly when they go through it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from geosvc.network import osm as osm_module
from geosvc.network.barriers import split_barriers
from geosvc.network.graph import RoadNetwork
from geosvc.network.osm import OSM_RULES, build_network
from geosvc.network.paths import point_times, times_to_sources
from geosvc.network.snap import snap_points
from geosvc.network.synthetic import grid_network
from geosvc.network.tags import barrier_time_s
from tests.network.test_osm_rules import SETTINGS, WALK_MPS, _ll, same_network, write_records

GATE = 3  # the gate's node id (x = 200 m)
WAY = {"walk": {"highway": "footway"}, "bike": {"highway": "cycleway"},
       "drive": {"highway": "residential"}}


def _build(folder: Path, mode: str, gate: dict[str, str] | None) -> RoadNetwork:
    folder.mkdir(parents=True, exist_ok=True)
    nodes = {k: _ll(100.0 * (k - 1), 0.0) for k in (1, 2, 3, 4)}
    node_tags = {GATE: gate} if gate is not None else None
    osm, pbf = write_records(folder, nodes, [[1, 2, 3, 4]], [WAY[mode]], node_tags=node_tags)
    net = build_network(osm, mode, settings=SETTINGS)
    other = build_network(pbf, mode, settings=SETTINGS)
    same_network(net, other)
    assert net.meta["build"]["barriers_timed"] == other.meta["build"]["barriers_timed"]
    return net


def _trip_s(net: RoadNetwork, x0: float, x1: float) -> float:
    """Seconds from the point 3 m north of the way at ``x0`` m to the one at ``x1`` m."""
    (lon0, lat0), (lon1, lat1) = _ll(x0, 3.0), _ll(x1, 3.0)
    start = snap_points(net, [lon0], [lat0])
    end = snap_points(net, [lon1], [lat1])
    assert (start.edge >= 0).all() and (end.edge >= 0).all()
    nt = times_to_sources(net, end, walk_speed_mps=WALK_MPS)
    return float(point_times(net, start, nt, walk_speed_mps=WALK_MPS)[0][0])


#: (from x, to x, passes the gate at x = 200): starts and ends beside the gate
#: on either side, trips across node 2 that turn before the gate, trips through it
TRIPS = [
    (150.0, 250.0, True), (250.0, 150.0, True), (195.0, 205.0, True), (205.0, 195.0, True),
    (50.0, 290.0, True), (199.0, 201.0, True),
    (195.0, 50.0, False), (50.0, 195.0, False), (205.0, 290.0, False), (290.0, 205.0, False),
    (150.0, 50.0, False), (199.0, 101.0, False), (201.0, 299.0, False),
]


@pytest.mark.parametrize("mode", ["walk", "bike", "drive"])
def test_gate_costs_its_time_once_when_passed(tmp_path: Path, mode: str) -> None:
    """30 s through the gate (drive: through a turn-expanded graph), 0 beside it."""
    plain = _build(tmp_path / "plain", mode, None)
    gated = _build(tmp_path / "gated", mode, {"barrier": "gate"})
    seconds = dict(OSM_RULES[mode].barrier_s)["barrier=gate"]
    assert seconds == 30.0
    assert gated.meta["build"]["barriers_timed"] == 1
    assert plain.meta["build"]["barriers_timed"] == 0
    for x0, x1, passes in TRIPS:
        extra = _trip_s(gated, x0, x1) - _trip_s(plain, x0, x1)
        assert extra == pytest.approx(seconds if passes else 0.0, abs=1e-6), (mode, x0, x1)


def test_walk_through_the_gate_is_the_walk_plus_30_s(tmp_path: Path) -> None:
    """The whole figure, not only the difference: 100 m at walking pace + 6 m access + 30 s."""
    gated = _build(tmp_path, "walk", {"barrier": "gate"})
    # (metres of the layout are approximate to ~0.5 %: 0.5 s)
    assert _trip_s(gated, 150.0, 250.0) == pytest.approx((100.0 + 6.0) / WALK_MPS + 30.0,
                                                         abs=0.5)
    assert _trip_s(gated, 150.0, 195.0) == pytest.approx((45.0 + 6.0) / WALK_MPS, abs=0.5)


@pytest.mark.parametrize(("mode", "tags", "seconds"), [
    ("walk", {"barrier": "lift_gate"}, 30.0),
    ("walk", {"barrier": "swing_gate"}, 30.0),
    ("walk", {"barrier": "bollard", "bollard": "rising"}, 30.0),
    ("walk", {"barrier": "bollard"}, 0.0),  # a plain bollard: walked past
    ("walk", {"barrier": "kerb"}, 0.0),
    ("walk", {"barrier": "gate", "access": "yes"}, 0.0),  # tagged: surveyed open
    ("walk", {"barrier": "gate", "foot": "yes"}, 0.0),
    ("walk", {"barrier": "gate", "access": "permissive"}, 0.0),
    ("walk", {"barrier": "gate", "motor_vehicle": "no"}, 0.0),  # keeps cars out only
    ("bike", {"barrier": "gate"}, 30.0),
    ("drive", {"barrier": "lift_gate"}, 30.0),
    ("drive", {"barrier": "gate", "motorcar": "yes"}, 0.0),
])
def test_which_barriers_cost_time(tmp_path: Path, mode: str, tags: dict[str, str],
                                  seconds: float) -> None:
    """Valhalla's gate nodes without access tags cost 30 s; tagged or other barriers none."""
    assert barrier_time_s(tags, OSM_RULES[mode]) == seconds
    plain = _build(tmp_path / "plain", mode, None)
    gated = _build(tmp_path / "gated", mode, tags)
    assert gated.meta["build"]["barriers_timed"] == (1 if seconds else 0)
    extra = _trip_s(gated, 150.0, 250.0) - _trip_s(plain, 150.0, 250.0)
    assert extra == pytest.approx(seconds, abs=1e-6)


@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_closed_gate_stays_closed(tmp_path: Path, mode: str) -> None:
    """``access=no`` closes the gate (rule 6): no trip through it, no time charged."""
    gated = _build(tmp_path, mode, {"barrier": "gate", "access": "no"})
    assert gated.meta["build"]["nodes_closed"] == 1
    assert gated.meta["build"]["barriers_timed"] == 0
    start = np.flatnonzero(gated.node_id == 1)
    end = np.flatnonzero(gated.node_id == 4)
    assert np.isinf(dijkstra(gated.csr, indices=start)[:, end]).all()
    assert np.isfinite(_trip_s(gated, 150.0, 50.0))


def test_empty_table_charges_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A city whose gates stand open: ``barrier_s=()`` builds the plain network."""
    rules = dataclasses.replace(OSM_RULES["walk"], barrier_s=())
    assert barrier_time_s({"barrier": "gate"}, rules) == 0.0
    monkeypatch.setattr(osm_module, "OSM_RULES",
                        MappingProxyType({**OSM_RULES, "walk": rules}))
    plain = _build(tmp_path / "plain", "walk", None)
    gated = _build(tmp_path / "gated", "walk", {"barrier": "gate"})
    assert gated.meta["build"]["barriers_timed"] == 0
    assert gated.n_edges == plain.n_edges and not gated.edge_is_turn.any()
    for x0, x1, _passes in TRIPS:
        assert _trip_s(gated, x0, x1) == pytest.approx(_trip_s(plain, x0, x1), abs=1e-9)


def test_dead_end_gate_is_not_timed(tmp_path: Path) -> None:
    """A gate where the way ends is passed by no route: nothing to charge."""
    folder = tmp_path / "end"
    folder.mkdir()
    nodes = {k: _ll(100.0 * (k - 1), 0.0) for k in (1, 2, 3)}
    osm, _pbf = write_records(folder, nodes, [[1, 2, 3]], [WAY["walk"]],
                              node_tags={3: {"barrier": "gate"}})
    net = build_network(osm, "walk", settings=SETTINGS)
    assert net.meta["build"]["barriers_timed"] == 0
    assert not net.edge_is_turn.any()


def test_split_barriers_at_a_crossing() -> None:
    """A gate where four streets meet: each pair of sides joined, every way through +30 s."""
    net = grid_network(3, 3)
    centre = 4  # the middle node of the 3 x 3 grid
    node_s = np.zeros(net.n_nodes)
    node_s[centre] = 30.0
    gated = split_barriers(net, node_s)
    assert gated.n_nodes == net.n_nodes + 3  # four sides, one keeps the node
    assert int(gated.edge_is_turn.sum()) == 4 * 3  # every ordered pair of sides
    assert (gated.node_id[net.n_nodes:] == net.node_id[centre]).all()
    assert (gated.edge_u[:net.n_edges] != net.edge_u).sum() + \
        (gated.edge_v[:net.n_edges] != net.edge_v).sum() == 6  # 3 sides moved, 2 edges each
    before = dijkstra(net.csr, indices=np.arange(net.n_nodes))
    after = dijkstra(gated.csr, indices=np.arange(net.n_nodes))[:, :net.n_nodes]
    # west -> east and south -> north through the centre: 30 s more; round the edge: not
    round_top = before[3, 0] + before[0, 1] + before[1, 2] + before[2, 5]
    assert after[3, 5] == pytest.approx(min(before[3, 5] + 30.0, round_top))
    assert after[1, 7] == pytest.approx(min(before[1, 7] + 30.0, round_top))
    assert after[0, 2] == pytest.approx(before[0, 2])  # along the top row: no gate
    assert np.all(after >= before - 1e-9)
    assert split_barriers(net, np.zeros(net.n_nodes)) is net
