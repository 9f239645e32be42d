"""Turn restrictions and turn costs: a turn-expanded road network by node splitting.

A mode with turn costs (``TravelMode.turns``, :class:`geosvc.modes.TurnCosts`;
``drive``) gets its network expanded once, when it is built
(:func:`geosvc.network.osm.build_network` calls :func:`expand_turns`); every
pass, search, route and isochrone then runs on the expanded network with the
same code as before.

Node splitting
--------------
At a node ``v`` every incoming edge ``i`` gets an IN-PORT and every outgoing
edge ``o`` an OUT-PORT, both at ``v``'s coordinates and with ``v``'s OSM id.
The street edge ``u -> v`` becomes ``out-port(u, e) -> in-port(v, e)`` with
its own geometry, length and time, and keeps its index: every street segment
is still exactly ONE edge (snapping, twins and partial-edge offsets work as
before).  Each allowed turn ``i -> o`` is a zero-length TURN edge
``in-port(i) -> out-port(o)`` whose time is the turn's cost
(:attr:`RoadNetwork.edge_is_turn`); a forbidden turn has no edge.

Ports are merged again wherever that changes no trip, so the graph stays
small: all ports of a node whose turns are all allowed and free (a one-way
street's middle node, a fork without signals); an in-port whose only turn
is free into the out-port it leads to, and an out-port entered by one free
turn only.  A two-way street's middle node so becomes two nodes, one per
direction (no U-turn there); an intersection keeps its ports.

Turns
-----
* U-turns (back to the node one came from) are forbidden, except where an
  incoming edge has no other way on: a dead end (``TurnCosts.dead_end_s``)
  or a node whose other exits are forbidden or one-way (``uturn_s``).
* At an intersection (three or more neighbouring nodes) a turn costs by its
  angle (:attr:`TurnCosts.angle_s`, right turns cheaper than left ones),
  plus ``yield_s`` when the incoming road is of a lower class
  (:data:`ROAD_CLASS_RANK`) than another road there and no signals stand.
  Bends of a street (two neighbours) are free.
* ``highway=traffic_signals``: ``signal_s`` on every turn through a
  signalled intersection; a signal node on a street (often a few metres
  before the junction) charges the traffic heading to an intersection
  within ``signal_reach_m`` (both directions when none is that near).
* Barriers (a gate's time, :attr:`~geosvc.modes.OsmRules.barrier_s`): added
  to every turn through the node, none to a U-turn before it, so the gate's
  ports stay apart and its time is paid once per pass
  (:mod:`geosvc.network.barriers`).
* Restrictions: ``type=restriction`` relations with a ``from`` way, a
  ``via`` NODE and a ``to`` way (``no_left_turn``, ``no_right_turn``,
  ``no_straight_on``, ``no_u_turn``, ``no_entry``/``no_exit`` as ``no_*``,
  ``only_left_turn``, ``only_right_turn``, ``only_straight_on``,
  ``only_u_turn``), read from ``restriction:motorcar`` before ``restriction``;
  an ``except`` naming the mode's vehicle (:attr:`TurnCosts.exempt`) or a
  condition (``day_on``, ``hour_on``, ``restriction:conditional`` only)
  skips it.  Via WAYS are not applied: they are counted as skipped.  When the
  via node lies in the middle of the ``to`` or the ``from`` way, the turn's
  direction (left / right / straight) picks the side.

The build report (``net.meta["build"]["turns"]``) counts the restrictions
read, applied and skipped (by reason), the signals, and the sizes before
and after.
"""

from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import osmium
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geosvc.network.graph import make_network

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import IO

    from geosvc.modes import TurnCosts
    from geosvc.network.graph import RoadNetwork

__all__ = [
    "ROAD_CLASS_RANK",
    "Restriction",
    "TurnSource",
    "expand_turns",
    "original_nodes",
    "read_turn_source",
    "turn_angles",
]

#: Rank of a ``highway`` class for the give-way rule (``_link`` roads rank as
#: their road); every other class ranks 0.
ROAD_CLASS_RANK: Mapping[str, int] = MappingProxyType({
    "motorway": 5, "trunk": 4, "primary": 3, "secondary": 2, "tertiary": 1,
})

_NO = ("no_left_turn", "no_right_turn", "no_straight_on", "no_u_turn", "no_entry", "no_exit")
_ONLY = ("only_left_turn", "only_right_turn", "only_straight_on", "only_u_turn")
_CONDITIONS = ("day_on", "day_off", "hour_on", "hour_off")


@dataclass(frozen=True, slots=True)
class Restriction:
    """One turn restriction: from a way, over a node, onto a way."""

    relation: int
    kind: str  # one of _NO + _ONLY
    from_way: int
    via_node: int
    to_way: int


@dataclass
class TurnSource:
    """What an extract says about turns: restrictions, signals, the ways they name.

    ``way_refs`` holds the node ids of the ways restrictions name;
    ``skipped`` counts relations not used, by reason (``via_way``,
    ``except``, ``conditional``, ``kind``, ``members``).
    """

    restrictions: list[Restriction] = field(default_factory=list)
    signals: frozenset[int] = frozenset()
    way_refs: dict[int, tuple[int, ...]] = field(default_factory=dict)
    read: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


def _relation(rid: int, tags: Mapping[str, str], members: Iterable[tuple[str, int, str]],
              turns: TurnCosts, src: TurnSource) -> None:
    """Classify one ``type=restriction`` relation into ``src`` (kept or skipped)."""
    src.read += 1
    kind = next((tags[k] for k in turns.restriction_keys if k in tags), None)
    if kind is None:
        why = "conditional" if "restriction:conditional" in tags else "other_vehicle"
        src.skipped[why] += 1
        return
    kind = kind.strip()
    exempt = {v.strip() for v in tags.get("except", "").split(";")}
    if exempt & set(turns.exempt):
        src.skipped["except"] += 1
        return
    if any(k in tags for k in _CONDITIONS):
        src.skipped["conditional"] += 1
        return
    if kind not in _NO + _ONLY:
        src.skipped["kind"] += 1
        return
    frm = [ref for typ, ref, role in members if typ == "w" and role == "from"]
    to = [ref for typ, ref, role in members if typ == "w" and role == "to"]
    via_n = [ref for typ, ref, role in members if typ == "n" and role == "via"]
    via_w = [ref for typ, ref, role in members if typ == "w" and role == "via"]
    if via_w:
        src.skipped["via_way"] += 1
        return
    if len(frm) != 1 or len(to) != 1 or len(via_n) != 1:
        src.skipped["members"] += 1
        return
    src.restrictions.append(Restriction(rid, kind, frm[0], via_n[0], to[0]))


def read_turn_source(path: str | os.PathLike[str], kind: str, turns: TurnCosts,
                     *, open_xml: Callable[[Path], IO[bytes]] | None = None) -> TurnSource:
    """Read restrictions, signal nodes and the named ways of an extract.

    ``kind`` is ``"pbf"`` (read with pyosmium) or ``"xml"`` (the standard
    library's ``iterparse``; ``open_xml`` opens compressed files).
    """
    if kind == "pbf":
        return _read_pbf(Path(path), turns)
    opener = open_xml or (lambda p: open(p, "rb"))  # noqa: SIM115 - closed below
    with opener(Path(path)) as stream:
        return _read_xml(stream, turns)


def _read_pbf(path: Path, turns: TurnCosts) -> TurnSource:
    src = TurnSource()
    rels = osmium.FileProcessor(str(path), osmium.osm.RELATION).with_filter(
        osmium.filter.TagFilter(("type", "restriction")))
    for r in rels:
        if not isinstance(r, osmium.osm.Relation):
            continue
        _relation(r.id, {t.k: t.v for t in r.tags},
                  [(m.type, m.ref, m.role) for m in r.members], turns, src)
    signals = osmium.FileProcessor(str(path), osmium.osm.NODE).with_filter(
        osmium.filter.TagFilter(("highway", "traffic_signals")))
    src.signals = frozenset(n.id for n in signals)
    wanted = {w for r in src.restrictions for w in (r.from_way, r.to_way)}
    if wanted:
        ways = osmium.FileProcessor(str(path), osmium.osm.WAY).with_filter(
            osmium.filter.IdFilter(wanted))
        src.way_refs = {w.id: tuple(n.ref for n in w.nodes) for w in ways
                        if isinstance(w, osmium.osm.Way)}
    return src


def _read_xml(stream: IO[bytes], turns: TurnCosts) -> TurnSource:
    src = TurnSource()
    signals: set[int] = set()
    refs: dict[int, tuple[int, ...]] = {}
    for _event, el in ET.iterparse(stream, events=("end",)):
        if el.tag == "node":
            for t in el.iter("tag"):
                if t.attrib.get("k") == "highway" and t.attrib.get("v") == "traffic_signals":
                    signals.add(int(el.attrib["id"]))
            el.clear()
        elif el.tag == "way":
            if any(t.attrib.get("k") == "highway" for t in el.iter("tag")):
                wid = int(el.attrib["id"])
                refs[wid] = tuple(int(nd.attrib["ref"]) for nd in el.iter("nd"))
            el.clear()
        elif el.tag == "relation":
            tags = {t.attrib["k"]: t.attrib["v"] for t in el.iter("tag")}
            if tags.get("type") == "restriction":
                members = [(m.attrib.get("type", "")[:1], int(m.attrib["ref"]),
                            m.attrib.get("role", "")) for m in el.iter("member")]
                _relation(int(el.attrib["id"]), tags, members, turns, src)
            el.clear()
    src.signals = frozenset(signals)
    wanted = {w for r in src.restrictions for w in (r.from_way, r.to_way)}
    src.way_refs = {w: refs[w] for w in wanted if w in refs}
    return src


# -- geometry ------------------------------------------------------------------------
def turn_angles(net: RoadNetwork, into: NDArray[np.int64],
                out: NDArray[np.int64]) -> NDArray[np.float64]:
    """Turn angle from edge ``into`` onto edge ``out`` at their shared node, degrees.

    ``(-180, 180]``: 0 straight on, positive to the LEFT (counter-clockwise),
    negative to the right; from the last segment of ``into``'s polyline and
    the first of ``out``'s (projected).  Vectorised.
    """
    off = net.geom_offsets
    a1, a0 = off[into + 1] - 1, np.maximum(off[into + 1] - 2, off[into])
    b0, b1 = off[out], np.minimum(off[out] + 1, off[out + 1] - 1)
    dx1, dy1 = net.geom_x[a1] - net.geom_x[a0], net.geom_y[a1] - net.geom_y[a0]
    dx2, dy2 = net.geom_x[b1] - net.geom_x[b0], net.geom_y[b1] - net.geom_y[b0]
    return np.degrees(np.arctan2(dx1 * dy2 - dy1 * dx2, dx1 * dx2 + dy1 * dy2))


@dataclass
class _Turns:
    """Every candidate turn ``into[k] -> out[k]`` of a network, grouped by ``into``."""

    into: NDArray[np.int64]
    out: NDArray[np.int64]
    ptr: NDArray[np.int64]  # turns of in-edge i: ptr[i]:ptr[i+1]
    node: NDArray[np.int64]
    back: NDArray[np.bool_]  # U-turn: back to the node one came from
    angle: NDArray[np.float64]


def _candidate_turns(net: RoadNetwork) -> _Turns:
    e = net.n_edges
    u = net.edge_u.astype(np.int64)
    v = net.edge_v.astype(np.int64)
    out_order = np.argsort(u, kind="stable")
    out_ptr = np.zeros(net.n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(u, minlength=net.n_nodes), out=out_ptr[1:])
    count = out_ptr[v + 1] - out_ptr[v]
    into = np.repeat(np.arange(e, dtype=np.int64), count)
    ptr = np.concatenate([[0], np.cumsum(count)]).astype(np.int64)
    k = np.arange(len(into)) - ptr[into]
    out = out_order[out_ptr[v[into]] + k].astype(np.int64)
    back = u[into] == v[out]
    return _Turns(into, out, ptr, v[into], back, turn_angles(net, into, out))


def _neighbour_counts(net: RoadNetwork) -> NDArray[np.int64]:
    """Distinct neighbouring nodes of each node (directions ignored)."""
    u = net.edge_u.astype(np.int64)
    v = net.edge_v.astype(np.int64)
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    pairs = np.unique(lo * net.n_nodes + hi)
    a, b = pairs // net.n_nodes, pairs % net.n_nodes
    return np.bincount(np.concatenate([a, b]), minlength=net.n_nodes).astype(np.int64)


def _rank(highway: NDArray[Any] | None, n: int) -> NDArray[np.int64]:
    if highway is None:
        return np.zeros(n, dtype=np.int64)
    ranks = {}
    for val in set(highway.tolist()):
        base = str(val).split(";")[0].strip().removesuffix("_link") if val else ""
        ranks[val] = ROAD_CLASS_RANK.get(base, 0)
    return np.fromiter((ranks[x] for x in highway.tolist()), dtype=np.int64, count=n)


# -- restrictions -----------------------------------------------------------------------
def _edges_on_way(net: RoadNetwork, refs: tuple[int, ...], via_pos: int, *,
                  into: bool, by_pair: Mapping[tuple[int, int], list[int]]) -> list[int]:
    """Edges of a way (by its node ids) into (``into``) or out of the via node."""
    via = int(net.node_id[via_pos])
    found: list[int] = []
    for k, ref in enumerate(refs):
        if ref != via:
            continue
        for j in (k - 1, k + 1):
            if 0 <= j < len(refs):
                pair = (refs[j], via) if into else (via, refs[j])
                found.extend(x for x in by_pair.get(pair, ()) if x not in found)
    return found


def _pick_side(kind: str, angles: NDArray[np.float64], back: NDArray[np.bool_],
               ) -> NDArray[np.bool_]:
    """Of several candidate turns onto the ``to`` way, those of the restriction's side."""
    if kind.endswith("u_turn"):
        return back
    if kind.endswith("left_turn"):
        side = angles > 0
    elif kind.endswith("right_turn"):
        side = angles < 0
    else:  # straight on
        side = np.abs(angles) == np.abs(angles).min()
    return side & ~back


def _apply_restrictions(net: RoadNetwork, t: _Turns, src: TurnSource,
                        allowed: NDArray[np.bool_], banned: NDArray[np.bool_],
                        skipped: Counter[str]) -> int:
    """Forbid the turns of ``src``'s restrictions (in place); return how many applied."""
    ids = net.node_id
    order = np.argsort(ids, kind="stable")
    by_pair: dict[tuple[int, int], list[int]] = {}
    vias = np.fromiter({r.via_node for r in src.restrictions}, dtype=np.int64)
    eu, ev = ids[net.edge_u], ids[net.edge_v]
    for x in np.flatnonzero(np.isin(eu, vias) | np.isin(ev, vias)).tolist():
        by_pair.setdefault((int(eu[x]), int(ev[x])), []).append(x)
    applied = 0
    for r in src.restrictions:
        pos = np.searchsorted(ids[order], r.via_node)
        if pos >= len(order) or ids[order][pos] != r.via_node:
            skipped["not_in_network"] += 1
            continue
        via = int(order[pos])
        if r.from_way not in src.way_refs or r.to_way not in src.way_refs:
            skipped["way_missing"] += 1
            continue
        ins = _edges_on_way(net, src.way_refs[r.from_way], via, into=True, by_pair=by_pair)
        outs = _edges_on_way(net, src.way_refs[r.to_way], via, into=False, by_pair=by_pair)
        if not ins or not outs:
            skipped["not_in_network"] += 1
            continue
        hit = False
        both_ways = len(ins) > 1  # the via node in the middle of the from way
        for i in ins:
            lo, hi = int(t.ptr[i]), int(t.ptr[i + 1])
            onto = np.isin(t.out[lo:hi], outs)
            if onto.sum() > 1 or both_ways or (r.kind.endswith("u_turn") and onto.any()):
                side = onto & _pick_side(r.kind, t.angle[lo:hi], t.back[lo:hi])
                if both_ways and not side.any():
                    continue  # from this side the turn is not the restricted one
                onto = side if side.any() else onto
            if not onto.any():
                continue
            hit = True
            if r.kind.startswith("no_"):
                allowed[lo:hi][onto] = False
                banned[lo:hi][onto] = True
            else:
                allowed[lo:hi][~onto] = False
                banned[lo:hi][~onto] = True
        if hit:
            applied += 1
        else:
            skipped["not_in_network"] += 1
    return applied


# -- signals ---------------------------------------------------------------------------
def _signal_charges(net: RoadNetwork, t: _Turns, signal_nodes: NDArray[np.int64],
                    junction: NDArray[np.bool_], reach_m: float) -> NDArray[np.bool_]:
    """Per turn: whether it passes a traffic signal that stops it (see the module notes)."""
    charged = np.zeros(len(t.into), dtype=bool)
    if not len(signal_nodes):
        return charged
    is_signal = np.zeros(net.n_nodes, dtype=bool)
    is_signal[signal_nodes] = True
    charged |= is_signal[t.node] & junction[t.node]
    street = is_signal[t.node] & ~junction[t.node] & ~t.back
    if not street.any():
        return charged
    out_order = np.argsort(net.edge_u, kind="stable")
    out_ptr = np.zeros(net.n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(net.edge_u, minlength=net.n_nodes), out=out_ptr[1:])

    def heads_to_junction(e: int) -> bool:
        dist, prev, cur = float(net.edge_length_m[e]), int(net.edge_u[e]), int(net.edge_v[e])
        while dist <= reach_m:
            if junction[cur]:
                return True
            nxt = [int(x) for x in out_order[out_ptr[cur]:out_ptr[cur + 1]]
                   if int(net.edge_v[x]) != prev]
            if not nxt:
                return False
            e = nxt[0]
            dist += float(net.edge_length_m[e])
            prev, cur = cur, int(net.edge_v[e])
        return False

    toward = {int(o): heads_to_junction(int(o)) for o in np.unique(t.out[street])}
    idx = np.flatnonzero(street)
    heads = np.array([toward[int(o)] for o in t.out[idx]], dtype=bool)
    node_any = np.zeros(net.n_nodes, dtype=bool)
    node_any[t.node[idx][heads]] = True
    charged[idx] = heads | ~node_any[t.node[idx]]
    return charged


# -- expansion -------------------------------------------------------------------------
def expand_turns(net: RoadNetwork, turns: TurnCosts, *, source: TurnSource | None = None,
                 edge_highway: NDArray[Any] | None = None,
                 node_s: NDArray[np.float64] | None = None) -> RoadNetwork:
    """Return the turn-expanded copy of ``net`` (see the module notes); ``net`` is unchanged.

    Street edges keep their index, geometry, length, time, twin and layer;
    the turn edges follow them.  ``net.meta["build"]["turns"]`` of the
    result reports restrictions read / applied / skipped (by reason),
    signals, forbidden turns and the sizes before and after.

    Parameters
    ----------
    net : RoadNetwork
        A network without turn edges.
    turns : TurnCosts
        The mode's cost table.
    source : TurnSource, optional
        Restrictions and signals of the extract (:func:`read_turn_source`).
    edge_highway : object array, optional
        ``highway`` tag of each edge (the give-way rule; without it no edge
        outranks another).
    node_s : float array, optional
        Seconds of passing each node (a gate's time,
        :attr:`~geosvc.modes.OsmRules.barrier_s`), added to every turn
        through the node except a U-turn in front of it
        (:mod:`geosvc.network.barriers`); ``meta["turns"]["barrier_nodes"]``
        counts the nodes charged.
    """
    started = time.perf_counter()
    src = source or TurnSource()
    e, n = net.n_edges, net.n_nodes
    t = _candidate_turns(net)
    nbrs = _neighbour_counts(net)
    junction = nbrs >= 3
    # costs by angle at intersections; bends of a street are free
    allowed = ~t.back
    cost = np.where(junction[t.node] & allowed, _angle_costs(turns, t.angle), 0.0)
    banned = np.zeros(len(t.into), dtype=bool)
    skipped: Counter[str] = Counter(src.skipped)
    applied = _apply_restrictions(net, t, src, allowed, banned, skipped) if src.restrictions \
        else 0
    # U-turns only where an incoming edge has no other way on
    n_allowed = np.bincount(t.into[allowed], minlength=e)
    stuck = (t.ptr[1:] > t.ptr[:-1]) & (n_allowed == 0)
    reopen = stuck[t.into] & t.back & ~banned
    allowed |= reopen
    cost[reopen] = np.where(nbrs[t.node[reopen]] == 1, turns.dead_end_s, turns.uturn_s)
    # signals and give way
    sig_nodes = np.flatnonzero(np.isin(net.node_id, np.fromiter(src.signals, np.int64)))
    signalled = _signal_charges(net, t, sig_nodes, junction, turns.signal_reach_m)
    cost[signalled & allowed] += turns.signal_s
    rank = _rank(edge_highway, e)
    yield_turn = _give_way(net, t, rank, junction, sig_nodes)
    cost[yield_turn & allowed & ~reopen] += turns.yield_s
    # barrier times (gates): every turn through the node, none turning back before it
    barrier_nodes = 0
    if node_s is not None:
        through = allowed & ~t.back & (node_s[t.node] > 0)
        cost[through] += node_s[t.node[through]]
        barrier_nodes = int(len(np.unique(t.node[through])))
    new = _split(net, t, allowed, cost)
    report = {
        "restrictions": src.read,
        "restrictions_applied": applied,
        "restrictions_skipped": dict(sorted(skipped.items())),
        "signals": int(len(sig_nodes)),
        "forbidden_turns": int((~allowed).sum()),
        "nodes_before": n,
        "edges_before": e,
        "turn_edges": int(new.edge_is_turn.sum()),
        "barrier_nodes": barrier_nodes,
    }
    new.meta["turns"] = report
    new.meta["turns_s"] = round(time.perf_counter() - started, 3)
    return new


def _angle_costs(turns: TurnCosts, angle: NDArray[np.float64]) -> NDArray[np.float64]:
    """Seconds of each turn by its angle (:attr:`TurnCosts.angle_s`; beyond: ``uturn_s``)."""
    tops = np.array([b[0] for b in turns.angle_s] + [np.inf])
    right = np.array([b[1] for b in turns.angle_s] + [turns.uturn_s])
    left = np.array([b[2] for b in turns.angle_s] + [turns.uturn_s])
    band = np.searchsorted(tops, np.abs(angle), side="left")
    return np.where(angle > 0, left[band], right[band])


def _give_way(net: RoadNetwork, t: _Turns, rank: NDArray[np.int64],
              junction: NDArray[np.bool_], sig_nodes: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Per turn: entering an unsignalled intersection from a road outranked there."""
    if not rank.any():
        return np.zeros(len(t.into), dtype=bool)
    u = net.edge_u.astype(np.int64)
    v = net.edge_v.astype(np.int64)
    # per node, the best rank of any edge there and how many neighbours carry it
    ends = np.concatenate([u, v])
    others = np.concatenate([v, u])
    r2 = np.concatenate([rank, rank])
    best = np.zeros(net.n_nodes, dtype=np.int64)
    np.maximum.at(best, ends, r2)
    top = r2 == best[ends]
    key = np.unique(ends[top] * net.n_nodes + others[top])
    n_top = np.bincount(key // net.n_nodes, minlength=net.n_nodes)
    came = u[t.into]
    r_in = rank[t.into]
    # outranked: another neighbour's road ranks higher than the incoming one
    is_top_nb = np.isin(t.node * net.n_nodes + came, key)
    higher_elsewhere = (best[t.node] > r_in) & ((n_top[t.node] > 1) | ~is_top_nb)
    quiet = np.ones(net.n_nodes, dtype=bool)
    quiet[sig_nodes] = False
    return higher_elsewhere & junction[t.node] & quiet[t.node] & ~t.back


def _split(net: RoadNetwork, t: _Turns, allowed: NDArray[np.bool_],
           cost: NDArray[np.float64]) -> RoadNetwork:
    """Build the expanded network: ports merged where no trip changes, turn edges added."""
    e, n = net.n_edges, net.n_nodes
    ports = 2 * e  # in-port of edge i = i, out-port of edge o = e + o
    port_node = np.concatenate([net.edge_v, net.edge_u]).astype(np.int64)
    a = t.into[allowed]
    b = t.out[allowed]
    c = cost[allowed]
    free = c == 0
    deg_out = np.bincount(a, minlength=e)
    deg_in = np.bincount(b, minlength=e)
    star = free & ((deg_out[a] == 1) | (deg_in[b] == 1))
    # whole nodes: every turn allowed and free (or no turn at all)
    indeg = np.bincount(net.edge_v, minlength=n)
    outdeg = np.bincount(net.edge_u, minlength=n)
    free_turns = np.bincount(t.node[allowed][free], minlength=n)
    whole = (free_turns == indeg * outdeg)
    order = np.argsort(port_node, kind="stable")
    same = whole[port_node[order[1:]]] & (port_node[order[1:]] == port_node[order[:-1]])
    ua = np.concatenate([a[star], order[:-1][same]])
    ub = np.concatenate([e + b[star], order[1:][same]])
    g = coo_matrix((np.ones(len(ua)), (ua, ub)), shape=(ports, ports)).tocsr()
    _, label = connected_components(g, directed=False)
    # renumber: by original node, then by the component's first port
    first = np.full(label.max() + 1, ports, dtype=np.int64)
    np.minimum.at(first, label, np.arange(ports))
    comp_node = port_node[first]
    rank = np.lexsort((first, comp_node))
    new_id = np.empty_like(rank)
    new_id[rank] = np.arange(len(rank))
    lab = new_id[label]
    node_orig = comp_node[rank]
    # turn edges between different nodes (parallel ones keep the cheapest)
    ta, tb = lab[a], lab[e + b]
    keep = ta != tb
    ta, tb, tc = ta[keep], tb[keep], c[keep]
    m = len(rank)
    key = ta * m + tb
    o = np.lexsort((tc, key))
    first_k = np.ones(len(o), dtype=bool)
    first_k[1:] = key[o][1:] != key[o][:-1]
    ta, tb, tc = ta[o][first_k], tb[o][first_k], tc[o][first_k]
    k = len(ta)
    x, y = net.node_x[node_orig], net.node_y[node_orig]
    gx = np.empty(2 * k)
    gy = np.empty(2 * k)
    gx[0::2], gx[1::2] = x[ta], x[ta]
    gy[0::2], gy[1::2] = y[ta], y[ta]
    last = net.geom_offsets[-1]
    in_edge_layer = np.zeros(k, dtype=np.int8)
    return make_network(
        mode=net.mode, crs=net.crs, source_hash=net.source_hash,
        node_id=net.node_id[node_orig], node_lon=net.node_lon[node_orig],
        node_lat=net.node_lat[node_orig], node_x=x, node_y=y,
        edge_u=np.concatenate([lab[e + np.arange(e)], ta]),
        edge_v=np.concatenate([lab[np.arange(e)], tb]),
        edge_length_m=np.concatenate([net.edge_length_m, np.zeros(k)]),
        edge_time_s=np.concatenate([net.edge_time_s, tc]),
        geom_offsets=np.concatenate([net.geom_offsets, last + 2 * np.arange(1, k + 1)]),
        geom_x=np.concatenate([net.geom_x, gx]), geom_y=np.concatenate([net.geom_y, gy]),
        edge_twin=np.concatenate([net.edge_twin, np.full(k, -1, dtype=np.int64)]),
        edge_layer=np.concatenate([net.edge_layer, in_edge_layer]),
        meta=dict(net.meta),
    )


def original_nodes(net: RoadNetwork, nodes: Iterable[int]) -> list[int]:
    """Map node positions of a path to OSM node ids, consecutive repeats dropped.

    A path through an intersection of a turn-expanded network passes its
    in-port and out-port (one OSM node); this gives the original node path.

    Examples
    --------
    >>> from geosvc.network.synthetic import grid_network
    >>> original_nodes(grid_network(2, 2), [0, 1, 1, 3])
    [0, 1, 3]
    """
    out: list[int] = []
    for p in nodes:
        i = int(net.node_id[int(p)])
        if not out or out[-1] != i:
            out.append(i)
    return out
