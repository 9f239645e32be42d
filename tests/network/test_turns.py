"""Turn restrictions and turn costs (issue 12 item 3): one small ``.osm`` file per rule.

The grid of most tests: nodes 1..9, 100 m apart (1 2 3 the south row, 7 8 9
the north row), every street its own two-way residential way at 36 km/h
(10 m/s, 10 s per edge), named by its ends (way 45 = nodes 4-5).  The trip
starts in the middle of way 45 (the west arm of crossing 5, heading east)
and ends in the middle of an arm of 5: straight on is way 56, left way 58,
right way 25.  Turning left at 5 costs 4 s (the table's 90-degree band), right
2 s; the way round a forbidden left turn is back west, right at 4, along 7-8
and right again at 8 (two right turns, 300 m).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from click.testing import CliRunner

from geosvc.cli import main
from geosvc.config import Settings
from geosvc.modes import TRAVEL_MODES, TurnCosts
from geosvc.network.graph import RoadNetwork
from geosvc.network.nearest import TravelEngine
from geosvc.network.osm import build_network
from geosvc.network.paths import times_from_point, times_to_sources
from geosvc.network.snap import snap_points, snap_xy
from geosvc.network.turns import original_nodes

TABLE = TurnCosts()
LEFT, RIGHT = TABLE.angle_cost_s(90.0), TABLE.angle_cost_s(-90.0)
SIGNAL, YIELD = TABLE.signal_s, TABLE.yield_s
GRID_WAYS = {45: (4, 5), 56: (5, 6), 25: (2, 5), 58: (5, 8), 12: (1, 2), 23: (2, 3),
             36: (3, 6), 69: (6, 9), 98: (9, 8), 87: (8, 7), 74: (7, 4), 14: (1, 4)}


def test_table_is_the_documented_one():
    assert (LEFT, RIGHT, TABLE.uturn_s, SIGNAL, YIELD) == (2.0, 1.0, 20.0, 2.0, 1.0)
    assert TABLE.angle_cost_s(0.0) == 0.0 and TABLE.angle_cost_s(170.0) is None
    assert TRAVEL_MODES["drive"].turns == TABLE
    assert TRAVEL_MODES["walk"].turns is None and TRAVEL_MODES["bike"].turns is None


def _node(i: int, **tags: str) -> str:
    k = i - 1
    lat, lon = 31.0 + (k // 3) * 0.0009, 117.0 + (k % 3) * 0.00105
    tg = "".join(f'<tag k="{a}" v="{b}"/>' for a, b in tags.items())
    return f'<node id="{i}" lat="{lat:.7f}" lon="{lon:.7f}">{tg}</node>'


def _way(wid: int, refs: tuple[int, ...], **tags: str) -> str:
    tags = {"highway": "residential", "maxspeed": "36", **tags}
    nds = "".join(f'<nd ref="{r}"/>' for r in refs)
    tg = "".join(f'<tag k="{a}" v="{b}"/>' for a, b in tags.items())
    return f'<way id="{wid}">{nds}{tg}</way>'


def _relation(rid: int, frm: int, via: int, to: int, *, via_type: str = "node",
              **tags: str) -> str:
    members = (f'<member type="way" ref="{frm}" role="from"/>'
               f'<member type="{via_type}" ref="{via}" role="via"/>'
               f'<member type="way" ref="{to}" role="to"/>')
    tg = "".join(f'<tag k="{a}" v="{b}"/>' for a, b in {"type": "restriction", **tags}.items())
    return f'<relation id="{rid}">{members}{tg}</relation>'


def grid_xml(*relations: str, node_tags: dict[int, dict[str, str]] | None = None,
             way_tags: dict[int, dict[str, str]] | None = None,
             grid_ways: dict[int, tuple[int, ...]] | None = None) -> str:
    nodes = [_node(i, **(node_tags or {}).get(i, {})) for i in range(1, 10)]
    ways = [_way(w, refs, **(way_tags or {}).get(w, {}))
            for w, refs in (grid_ways or GRID_WAYS).items()]
    return "\n".join(["<?xml version='1.0' encoding='UTF-8'?>", '<osm version="0.6">',
                      *nodes, *ways, *relations, "</osm>", ""])


def build(tmp_path, xml: str, mode: str = "drive") -> RoadNetwork:
    path = tmp_path / f"t{abs(hash(xml))}.osm"
    path.write_text(xml, encoding="utf-8")
    return build_network(path, mode, settings=Settings())


def midpoint(net: RoadNetwork, a: int, b: int) -> tuple[float, float]:
    """Lon/lat of the middle of the street a-b (projected midpoint: frac 0.5, 0 m off)."""
    pos = {int(i): p for p, i in enumerate(net.node_id)}
    x = (net.node_x[pos[a]] + net.node_x[pos[b]]) / 2
    y = (net.node_y[pos[a]] + net.node_y[pos[b]]) / 2
    lon, lat = net.transformer_inverse.transform(x, y)
    return float(lon), float(lat)


def street_s(net: RoadNetwork) -> dict[tuple[int, int], float]:
    """Seconds of each street edge by its OSM ends."""
    ids = net.node_id
    return {(int(ids[net.edge_u[e]]), int(ids[net.edge_v[e]])): float(net.edge_time_s[e])
            for e in np.flatnonzero(~net.edge_is_turn)}


def trip(net: RoadNetwork, start: tuple[int, int], end: tuple[int, int],
         settings: Settings | None = None) -> tuple[float, list[int]] | None:
    """(seconds, OSM nodes passed) from the middle of street ``start`` to that of ``end``."""
    lon, lat = midpoint(net, *end)
    eng = TravelEngine(net, [lon], [lat], settings=settings or Settings())
    hits = eng.nearest(*midpoint(net, *start), candidates=None, k=1, route=True)
    if not hits:
        return None
    passed: list[int] = []
    for a, b in hits[0].route_lonlat:  # the route's vertices at OSM nodes, in order
        at = np.flatnonzero((np.abs(net.node_lon - a) < 1e-7)
                            & (np.abs(net.node_lat - b) < 1e-7))
        if len(at) and (not passed or passed[-1] != int(net.node_id[at[0]])):
            passed.append(int(net.node_id[at[0]]))
    return hits[0].time_s, passed


def test_left_turn_costs_the_table_more_than_straight_on(tmp_path):
    net = build(tmp_path, grid_xml())
    s = street_s(net)
    t_straight, via_s = trip(net, (4, 5), (5, 6))
    t_left, via_l = trip(net, (4, 5), (5, 8))
    t_right, via_r = trip(net, (4, 5), (5, 2))
    assert via_s == via_l == via_r == [5]
    assert t_straight == pytest.approx(s[(4, 5)] / 2 + s[(5, 6)] / 2, abs=1e-6)
    assert t_left - t_straight == pytest.approx(LEFT + (s[(5, 8)] - s[(5, 6)]) / 2, abs=1e-6)
    assert t_right - t_straight == pytest.approx(RIGHT + (s[(5, 2)] - s[(5, 6)]) / 2, abs=1e-6)


def around(s: dict[tuple[int, int], float]) -> float:
    """The way round a left turn at 5: back to 4, right to 7, along to 8, right to 5."""
    return s[(5, 4)] / 2 + RIGHT + s[(4, 7)] + s[(7, 8)] + RIGHT + s[(8, 5)] / 2


def test_no_left_turn_goes_around(tmp_path):
    net = build(tmp_path, grid_xml(_relation(1, 45, 5, 58, restriction="no_left_turn")))
    report = net.meta["build"]["turns"]
    assert report["restrictions"] == 1 and report["restrictions_applied"] == 1
    t, via = trip(net, (4, 5), (5, 8))
    assert via == [4, 7, 8]
    assert t == pytest.approx(around(street_s(net)), abs=1e-6)
    # the other turns at 5 are untouched, and so is the left turn from the other side
    assert trip(net, (4, 5), (5, 6))[1] == [5]
    assert trip(net, (6, 5), (5, 2))[1] == [5]


def test_via_node_in_the_middle_of_the_ways(tmp_path):
    # one way 456 runs west-east through 5, one way 258 south-north: "no left turn from
    # 456 onto 258" forbids the left turns only (north from the west, south from the
    # east); the right turns onto 258 stay allowed from both sides
    ways = {k: v for k, v in GRID_WAYS.items() if k not in (45, 56, 25, 58)}
    ways |= {456: (4, 5, 6), 258: (2, 5, 8)}
    net = build(tmp_path, grid_xml(_relation(1, 456, 5, 258, restriction="no_left_turn"),
                                   grid_ways=ways))
    assert net.meta["build"]["turns"]["restrictions_applied"] == 1
    assert trip(net, (4, 5), (5, 8))[1] == [4, 7, 8]
    assert trip(net, (6, 5), (5, 8))[1] == [5]
    assert trip(net, (4, 5), (5, 2))[1] == [5]
    assert trip(net, (6, 5), (5, 2))[1] == [6, 3, 2]  # left from the east: round the block


def test_only_straight_on(tmp_path):
    net = build(tmp_path, grid_xml(_relation(1, 45, 5, 56, restriction="only_straight_on")))
    assert trip(net, (4, 5), (5, 6))[1] == [5]
    t, via = trip(net, (4, 5), (5, 8))  # left forbidden: round the block
    assert via == [4, 7, 8] and t == pytest.approx(around(street_s(net)), abs=1e-6)
    assert trip(net, (4, 5), (5, 2))[1] != [5]  # right forbidden too


@pytest.mark.parametrize("tags,applied,skipped", [
    ({"restriction:motorcar": "no_left_turn"}, 1, {}),
    ({"restriction": "no_left_turn", "except": "bicycle;motorcar"}, 0, {"except": 1}),
    ({"restriction:hgv": "no_left_turn"}, 0, {"other_vehicle": 1}),
    ({"restriction": "no_left_turn", "hour_on": "07:00"}, 0, {"conditional": 1}),
])
def test_restriction_motorcar_and_except(tmp_path, tags, applied, skipped):
    net = build(tmp_path, grid_xml(_relation(1, 45, 5, 58, **tags)))
    report = net.meta["build"]["turns"]
    assert report["restrictions_applied"] == applied
    assert report["restrictions_skipped"] == skipped
    assert trip(net, (4, 5), (5, 8))[1] == ([4, 7, 8] if applied else [5])


def test_via_way_restrictions_are_counted_as_skipped(tmp_path):
    rel = _relation(1, 14, 45, 56, via_type="way", restriction="no_left_turn")
    net = build(tmp_path, grid_xml(rel))
    report = net.meta["build"]["turns"]
    assert report["restrictions"] == 1 and report["restrictions_applied"] == 0
    assert report["restrictions_skipped"] == {"via_way": 1}


def test_cli_prints_the_turns_report(tmp_path):
    path = tmp_path / "grid.osm"
    via_way = _relation(2, 14, 45, 56, via_type="way", restriction="no_left_turn")
    path.write_text(grid_xml(_relation(1, 45, 5, 58, restriction="no_left_turn"), via_way),
                    encoding="utf-8")
    res = CliRunner().invoke(main, ["network", "build", str(path), "--modes", "drive",
                                    "--cache-dir", str(tmp_path / "cache")])
    assert res.exit_code == 0, res.output
    assert ("turns: 1 of 2 restrictions applied (skipped: 1 via_way); 0 traffic signals; "
            "9 OSM nodes split into 40 (turn ports), 35 turn edges") in res.output


def test_restriction_on_a_way_the_mode_lacks_is_skipped(tmp_path):
    net = build(tmp_path, grid_xml(_relation(1, 45, 5, 999, restriction="no_left_turn")))
    assert net.meta["build"]["turns"]["restrictions_skipped"] == {"way_missing": 1}


def test_traffic_signals_cost_their_seconds(tmp_path):
    plain = build(tmp_path, grid_xml())
    signals = build(tmp_path, grid_xml(node_tags={5: {"highway": "traffic_signals"}}))
    assert signals.meta["build"]["turns"]["signals"] == 1
    for end in ((5, 6), (5, 8), (5, 2)):
        assert trip(signals, (4, 5), end)[0] - trip(plain, (4, 5), end)[0] == \
            pytest.approx(SIGNAL, abs=1e-6)


def test_signal_before_a_junction_stops_the_traffic_heading_to_it(tmp_path):
    # node 10 on way 45, 10 m west of crossing 5: stops eastbound traffic only
    xml = grid_xml().replace(
        '<way id="45"><nd ref="4"/><nd ref="5"/>',
        '<way id="45"><nd ref="4"/><nd ref="10"/><nd ref="5"/>').replace(
        "</osm>", '<node id="10" lat="31.0009000" lon="117.0009450">'
                  '<tag k="highway" v="traffic_signals"/></node></osm>')
    net = build(tmp_path, xml)
    plain = build(tmp_path, xml.replace('<tag k="highway" v="traffic_signals"/>', ""))
    east = trip(net, (4, 10), (5, 6))[0] - trip(plain, (4, 10), (5, 6))[0]
    west = trip(net, (6, 5), (10, 4))[0] - trip(plain, (6, 5), (10, 4))[0]
    assert east == pytest.approx(SIGNAL, abs=1e-6) and west == pytest.approx(0, abs=1e-6)


def test_give_way_entering_a_higher_road_class(tmp_path):
    primary = {w: {"highway": "primary"} for w in (45, 56)}
    net = build(tmp_path, grid_xml(way_tags=primary))
    plain = build(tmp_path, grid_xml())
    # from the residential south arm across the primary road: give way
    d_minor = trip(net, (2, 5), (5, 8))[0] - trip(plain, (2, 5), (5, 8))[0]
    # along the primary road: no one to give way to
    d_major = trip(net, (4, 5), (5, 6))[0] - trip(plain, (4, 5), (5, 6))[0]
    assert d_minor == pytest.approx(YIELD, abs=1e-6) and d_major == pytest.approx(0, abs=1e-6)


def uturn_xml(*relations: str) -> str:
    """0 -> 2 one-way east; 2 - 3 east to a dead end; 2 - 5 north to a dead end."""
    nodes = [_node(1).replace('id="1"', 'id="10"'), _node(2), _node(3), _node(5)]
    ways = [_way(1, (10, 2), oneway="yes"), _way(3, (2, 3)), _way(5, (2, 5))]
    return "\n".join(["<?xml version='1.0' encoding='UTF-8'?>", '<osm version="0.6">',
                      *nodes, *ways, *relations, "</osm>", ""])


def test_u_turn_only_at_the_dead_end_and_no_u_turn(tmp_path):
    loose = Settings(min_component_nodes=0)  # the one-way start is not in the travel core
    left = _relation(1, 1, 2, 5, restriction="no_left_turn")
    net = build(tmp_path, uturn_xml(left))
    s = street_s(net)
    t, via = trip(net, (10, 2), (2, 5), loose)
    # no left turn at 2: on to the dead end 3, turn round there (free), right at 2
    assert via == [2, 3, 2]
    assert t == pytest.approx(s[(10, 2)] / 2 + s[(2, 3)] + TABLE.dead_end_s + s[(3, 2)]
                              + RIGHT + s[(2, 5)] / 2, abs=1e-6)
    banned = build(tmp_path, uturn_xml(left, _relation(2, 3, 3, 3, restriction="no_u_turn")))
    assert banned.meta["build"]["turns"]["restrictions_applied"] == 2
    assert trip(banned, (10, 2), (2, 5), loose) is None


def test_u_turns_are_forbidden_at_junctions(tmp_path):
    net = build(tmp_path, grid_xml())
    ids = net.node_id
    turn = net.edge_is_turn
    pairs = {(int(ids[net.edge_u[e]]), int(ids[net.edge_v[e]])) for e in np.flatnonzero(turn)}
    assert all(a == b for a, b in pairs)  # turns stay inside one OSM node
    # no turn edge joins the in-port of 4->5 to the out-port of 5->4
    ends = {(int(ids[net.edge_u[e]]), int(ids[net.edge_v[e]])): e
            for e in np.flatnonzero(~turn)}
    in_port, out_port = net.edge_v[ends[(4, 5)]], net.edge_u[ends[(5, 4)]]
    assert in_port != out_port
    assert net.edge_between(np.array([in_port]), np.array([out_port]))[0] == -1


def test_walk_ignores_restrictions_and_turn_costs(tmp_path):
    xml = grid_xml(_relation(1, 45, 5, 58, restriction="no_left_turn"),
                   node_tags={5: {"highway": "traffic_signals"}})
    walk = build(tmp_path, xml, "walk")
    assert not walk.edge_is_turn.any() and walk.n_nodes == 9
    assert walk.meta["build"]["turns"] is None
    s = street_s(walk)
    t, via = trip(walk, (4, 5), (5, 8))
    assert via == [5] and t == pytest.approx(s[(4, 5)] / 2 + s[(5, 8)] / 2, abs=1e-6)


def test_original_nodes_drop_port_repeats(tmp_path):
    net = build(tmp_path, grid_xml())
    ports = np.flatnonzero(net.node_id == 5)
    assert len(ports) == 8  # a crossing of two two-way streets: 4 in + 4 out
    assert original_nodes(net, [*ports[:2], ports[0]]) == [5]


def test_snapping_never_lands_on_a_turn_edge(tmp_path, helsinki_drive):
    for net in (build(tmp_path, grid_xml()), helsinki_drive):
        assert net.edge_is_turn.any()
        # exactly on every node (where the zero-length turn edges lie), and nearby
        x = np.concatenate([net.node_x, net.node_x + 3.0])
        y = np.concatenate([net.node_y, net.node_y - 2.0])
        snapped = snap_xy(net, x, y, min_component_nodes=0)
        assert (snapped.edge >= 0).all()
        assert not net.edge_is_turn[snapped.edge].any()


# -- the expanded Helsinki drive network agrees with networkx on the same graph ----------
def _digraph(net: RoadNetwork, *, reverse: bool = False) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(net.n_nodes))
    for u, v, t in zip(net.edge_u.tolist(), net.edge_v.tolist(), net.edge_time_s.tolist(),
                       strict=True):
        a, b = (v, u) if reverse else (u, v)
        if not g.has_edge(a, b) or g[a][b]["weight"] > t:
            g.add_edge(a, b, weight=t)
    return g


def test_expanded_drive_passes_equal_networkx(helsinki_drive):
    net = helsinki_drive
    assert net.edge_is_turn.any() and (net.edge_time_s[net.edge_is_turn] > 0).any()
    rng = np.random.default_rng(12)
    settings = Settings()
    w = settings.walk_speed_kph / 3.6
    pts = rng.choice(net.n_edges, 40, replace=False)
    mid = net.geom_offsets[pts]
    lon, lat = net.transformer_inverse.transform(net.geom_x[mid] + 4, net.geom_y[mid] + 3)
    snapped = snap_points(net, lon, lat, min_component_nodes=settings.min_component_nodes)
    # coverage: one multi-source pass TO the nearest of 6 sources
    src = snapped.take(np.arange(6))
    nt = times_to_sources(net, src, walk_speed_mps=w)
    g = _digraph(net, reverse=True)
    for i in range(6):
        e = int(src.edge[i])
        g.add_edge(("s", i), int(net.edge_u[e]), weight=src.frac[i] * net.edge_time_s[e]
                   + src.dist_m[i] / w)
        tw = int(net.edge_twin[e])
        if tw >= 0:
            g.add_edge(("s", i), int(net.edge_u[tw]),
                       weight=(1 - src.frac[i]) * net.edge_time_s[tw] + src.dist_m[i] / w)
        g.add_edge("S", ("s", i), weight=0.0)
    ref = nx.single_source_dijkstra_path_length(g, "S", weight="weight")
    expect = np.array([ref.get(x, np.inf) for x in range(net.n_nodes)])
    np.testing.assert_allclose(nt.time_s, expect, rtol=1e-9, atol=1e-6)
    # isochrones: forward times from one point
    q = snapped.take([10])
    times = times_from_point(net, q, walk_speed_mps=w)
    g = _digraph(net)
    e, f = int(q.edge[0]), float(q.frac[0])
    g.add_edge("Q", int(net.edge_v[e]), weight=(1 - f) * net.edge_time_s[e] + q.dist_m[0] / w)
    tw = int(net.edge_twin[e])
    if tw >= 0:
        g.add_edge("Q", int(net.edge_v[tw]), weight=f * net.edge_time_s[tw] + q.dist_m[0] / w)
    ref = nx.single_source_dijkstra_path_length(g, "Q", weight="weight")
    expect = np.array([ref.get(x, np.inf) for x in range(net.n_nodes)])
    np.testing.assert_allclose(times, expect, rtol=1e-9, atol=1e-6)
