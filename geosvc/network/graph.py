"""Road networks as compact numpy arrays: one directed graph per travel mode.

A :class:`RoadNetwork` holds nodes (lon/lat and projected x/y), DIRECTED edges
(only the directions the mode may travel), their length in metres and travel
time in seconds, and each edge's polyline in the network's projected metric
CRS (the UTM zone of the data's centre).  Everything is a plain numpy array, so
a network pickles, saves to ``.npz`` without pickled objects
(:mod:`geosvc.network.cache`) and loads back in a fraction of a second.

Disconnected parts of the road graph are KEPT: a venue on an island is simply
unreachable from the mainland (infinite time).  Snapping
(:mod:`geosvc.network.snap`) skips tiny fragments and one-way traps, though:
points snap only to edges inside the main strongly connected component of a
weak component, when that has at least ``min_component_nodes`` nodes (see
:attr:`RoadNetwork.component_labels`, :attr:`RoadNetwork.strong_labels` and
:attr:`RoadNetwork.main_strong`).
Each edge records whether it runs below, on or above the ground
(:attr:`RoadNetwork.edge_layer`, from the ``bridge`` / ``layer`` / ``level``
tags): points snap to ground edges first.
Self-loops (a way that starts and ends at the same node with no node between)
are dropped: they can never shorten a trip.

Turn-expanded networks (modes with turn costs, :mod:`geosvc.network.turns`)
split intersections into port nodes joined by zero-length TURN edges whose
time is the turn's cost (0 allowed); every street segment stays exactly one
edge.  Street edges are at least 1 cm long, so ``edge_length_m == 0`` marks
the turns (:attr:`RoadNetwork.edge_is_turn`); nothing snaps to them.  A gate
passed at a cost of time (:mod:`geosvc.network.barriers`) is such a zero-length
edge too, between copies of the gate's node, on networks without turns (walk,
bike) as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.csgraph import connected_components

from geosvc.coords import projection
from geosvc.errors import InvalidParameter
from geosvc.modes import network_modes

if TYPE_CHECKING:
    import pyproj


__all__ = ["ABOVE", "BELOW", "GROUND", "MODES", "RoadNetwork", "check_mode", "edge_twins",
           "make_network"]

#: The travel modes a network can be built for (the road modes of :mod:`geosvc.modes`).
MODES = network_modes()


def check_mode(mode: str) -> str:
    """Return ``mode`` if it is one of :data:`MODES`, else raise InvalidParameter("mode").

    Examples
    --------
    >>> check_mode("walk")
    'walk'
    """
    if mode not in MODES:
        msg = f"must be one of {', '.join(MODES)}, not {mode!r}"
        raise InvalidParameter("mode", msg)
    return mode

_ARRAY_FIELDS = (
    "node_id",
    "node_lon",
    "node_lat",
    "node_x",
    "node_y",
    "edge_u",
    "edge_v",
    "edge_length_m",
    "edge_time_s",
    "edge_twin",
    "geom_offsets",
    "geom_x",
    "geom_y",
    "edge_layer",
)

#: Values of :attr:`RoadNetwork.edge_layer`: below the ground (tunnels with a
#: negative layer, underground levels), on the ground, above it (bridges, upper levels).
BELOW, GROUND, ABOVE = -1, 0, 1


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A directed road network of one travel mode, as numpy arrays.

    Build with :func:`geosvc.network.osm.build_network` / :func:`load_network`, or
    :func:`geosvc.network.synthetic.grid_network` in tests.  Immutable: the
    arrays are flagged read-only; derived structures (``csr``, the edge
    index used for snapping, the coordinate transformer) are computed once on
    first use and dropped when pickling.

    Attributes
    ----------
    mode : str
        A road mode of :mod:`geosvc.modes` (``"walk"``, ``"bike"``, ``"drive"``).
    crs : str
        Projected metric CRS of ``node_x``/``node_y``/``geom_*`` (e.g. ``"EPSG:32635"``).
    source_hash : str
        sha256 of the source file (``"synthetic:..."`` for generated networks).
    node_id : int64[N]
        OSM node ids (or synthetic ids).
    node_lon, node_lat : float64[N]
        WGS-84 degrees.
    node_x, node_y : float64[N]
        Projected metres in ``crs``.
    edge_u, edge_v : int32[E]
        Node positions of each directed edge (travel allowed u -> v only).
    edge_length_m, edge_time_s : float64[E]
        Length (m) and travel time (s) of each edge; time > 0, except on the
        turn edges of a turn-expanded network (length 0, time >= 0: the turn's
        cost; see :attr:`edge_is_turn`).
    edge_twin : int64[E]
        The directed edge running v -> u along the same line, or -1 (one-way).
    geom_offsets : int64[E+1]
        Edge ``e``'s vertices are ``geom_x/geom_y[geom_offsets[e]:geom_offsets[e+1]]``,
        first = node u, last = node v (projected metres).
    edge_layer : int8[E]
        Where the edge runs: :data:`BELOW` the ground (-1: a negative ``layer``
        or ``level``), on the :data:`GROUND` (0) or :data:`ABOVE` it
        (1: ``bridge``, positive ``layer`` or ``level``); see
        :func:`geosvc.network.osm.edge_layers`.  Points (which carry no layer)
        snap to ground edges first (:mod:`geosvc.network.snap`).
    """

    mode: str
    crs: str
    source_hash: str
    node_id: NDArray[np.int64]
    node_lon: NDArray[np.float64]
    node_lat: NDArray[np.float64]
    node_x: NDArray[np.float64]
    node_y: NDArray[np.float64]
    edge_u: NDArray[np.int32]
    edge_v: NDArray[np.int32]
    edge_length_m: NDArray[np.float64]
    edge_time_s: NDArray[np.float64]
    edge_twin: NDArray[np.int64]
    geom_offsets: NDArray[np.int64]
    geom_x: NDArray[np.float64]
    geom_y: NDArray[np.float64]
    edge_layer: NDArray[np.int8]
    #: Free-form build facts (build seconds, source path...); not part of equality.
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in _ARRAY_FIELDS:
            arr = getattr(self, name)
            if isinstance(arr, np.ndarray) and arr.flags.writeable:
                arr = arr.view()
                arr.flags.writeable = False
                object.__setattr__(self, name, arr)

    # -- pickling: arrays only, caches are rebuilt on demand ------------------
    def __getstate__(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)

    # -- sizes ------------------------------------------------------------------
    @property
    def n_nodes(self) -> int:
        """Number of nodes N."""
        return int(self.node_x.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of directed edges E."""
        return int(self.edge_u.shape[0])

    @property
    def bounds_lonlat(self) -> tuple[float, float, float, float]:
        """``(min_lon, min_lat, max_lon, max_lat)`` of the nodes, degrees."""
        if self.n_nodes == 0:
            return (np.nan, np.nan, np.nan, np.nan)
        return (
            float(self.node_lon.min()),
            float(self.node_lat.min()),
            float(self.node_lon.max()),
            float(self.node_lat.max()),
        )

    # -- derived structures -------------------------------------------------------
    @cached_property
    def edge_is_turn(self) -> NDArray[np.bool_]:
        """``bool[E]``: the zero-length edges: turns and barriers (read-only).

        Turn edges join the port nodes of one intersection of a
        turn-expanded network (:mod:`geosvc.network.turns`); barrier edges
        join the copies of a gate's node, their time the gate's
        (:mod:`geosvc.network.barriers`, also without turn costs).  Passes
        and searches use them like any edge; snapping, street geometry and
        isochrone pieces skip them.  All False on a network with neither.
        """
        turn = self.edge_length_m == 0
        turn.flags.writeable = False
        return turn

    @cached_property
    def fastest_edges(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Return the fastest directed edge of each distinct node pair ``(u, v)``.

        Parallel edges (two ways joining the same nodes) keep the one with the
        smallest ``edge_time_s`` (the lowest edge index on a tie).  This is the
        lookup :meth:`edge_between`, :attr:`csr` and the searches of
        :class:`~geosvc.network.nearest.TravelEngine` read, so a route walks the
        same edge each of them picks.  Computed once per network (O(E log E)),
        cached; the arrays are shared, do not write to them.

        Returns
        -------
        keys : numpy.ndarray of int64
            ``u * n_nodes + v`` of every distinct pair joined by an edge,
            ascending (search them with ``numpy.searchsorted``).
        edge : numpy.ndarray of int64
            ``edge[i]``: the index (into the ``edge_*`` arrays) of the fastest
            edge from ``keys[i] // n_nodes`` to ``keys[i] % n_nodes``.

        Examples
        --------
        >>> from geosvc.network.synthetic import grid_network
        >>> keys, edge = grid_network(3, 1, one_way_rows=[0]).fastest_edges
        >>> keys.tolist(), edge.tolist()
        ([1, 5], [0, 1])
        """
        n = np.int64(self.n_nodes)
        keys = self.edge_u.astype(np.int64) * n + self.edge_v.astype(np.int64)
        order = np.lexsort((self.edge_time_s, keys))
        keys_sorted = keys[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = keys_sorted[1:] != keys_sorted[:-1]
        return keys_sorted[first], order[first].astype(np.int64)

    @cached_property
    def csr(self) -> sp.csr_matrix:
        """N x N travel seconds, forward (row = from), min over parallel edges."""
        keys, best = self.fastest_edges
        return self._csr_from(keys, self.edge_time_s[best])

    @cached_property
    def csr_reverse(self) -> sp.csr_matrix:
        """The transpose of :attr:`csr` (row = to): passes for trips TO targets."""
        n = np.int64(self.n_nodes)
        keys, best = self.fastest_edges
        rkeys = (keys % n) * n + keys // n
        order = np.argsort(rkeys, kind="stable")
        return self._csr_from(rkeys[order], self.edge_time_s[best][order])

    def _csr_from(self, keys: NDArray[np.int64], data: NDArray[np.float64]) -> sp.csr_matrix:
        """N x N CSR matrix of ``data`` at ``keys = row * N + col`` (ascending, distinct)."""
        n = self.n_nodes
        rows = keys // n
        cols = (keys % n).astype(np.int32)
        indptr = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
        # Explicit zero weights stay edges in scipy.sparse.csgraph (csr input).
        return sp.csr_matrix(
            (np.ascontiguousarray(data, dtype=np.float64), cols, indptr), shape=(n, n)
        )

    def edge_between(self, a: NDArray[np.int64], b: NDArray[np.int64]) -> NDArray[np.int64]:
        """Fastest directed edge a[i] -> b[i] (vectorised), -1 where none."""
        keys, best = self.fastest_edges
        q = np.asarray(a, dtype=np.int64) * self.n_nodes + np.asarray(b, dtype=np.int64)
        if len(keys) == 0:
            return np.full(q.shape, -1, dtype=np.int64)
        pos = np.searchsorted(keys, q)
        pos_c = np.minimum(pos, len(keys) - 1)
        found = keys[pos_c] == q
        return np.where(found, best[pos_c], -1)

    @cached_property
    def transformer(self) -> pyproj.Transformer:
        """WGS-84 lon/lat -> projected ``crs`` transformer (always_xy)."""
        return projection(self.crs).forward

    @cached_property
    def transformer_inverse(self) -> pyproj.Transformer:
        """Projected ``crs`` -> WGS-84 lon/lat transformer (always_xy)."""
        return projection(self.crs).inverse

    @cached_property
    def component_labels(self) -> NDArray[np.int32]:
        """Weakly connected component of each node, ``int32[N]`` (labels 0..C-1).

        Weak connectivity ignores edge directions: a one-way dead end belongs
        to the street network it hangs off.  Computed once, read-only.
        """
        _, labels = connected_components(self.csr, directed=True, connection="weak")
        labels = np.ascontiguousarray(labels, dtype=np.int32)
        labels.flags.writeable = False
        return labels

    def _places_per(self, labels: NDArray[np.int32]) -> NDArray[np.int64]:
        """Distinct node ids per label: the ports of a turn-expanded node count once."""
        n_labels = int(labels.max()) + 1 if len(labels) else 0
        if len(np.unique(self.node_id)) == self.n_nodes:
            sizes = np.bincount(labels, minlength=n_labels).astype(np.int64)
        else:
            pairs = np.unique(np.column_stack([labels.astype(np.int64), self.node_id]), axis=0)
            sizes = np.bincount(pairs[:, 0], minlength=n_labels).astype(np.int64)
        sizes.flags.writeable = False
        return sizes

    @cached_property
    def component_sizes(self) -> NDArray[np.int64]:
        """Node count of each weakly connected component, ``int64[C]`` (read-only).

        Nodes are counted by id: the ports of one intersection of a
        turn-expanded network count once (:mod:`geosvc.network.turns`).
        """
        return self._places_per(self.component_labels)

    def components(self) -> int:
        """Return the number of weakly connected components (isolated nodes count)."""
        return int(self.component_sizes.shape[0])

    @cached_property
    def strong_labels(self) -> NDArray[np.int32]:
        """Strongly connected component of each node, ``int32[N]`` (labels 0..S-1).

        Two nodes share a label when each can be reached from the other.
        Walk networks (every street both ways) have the weak components;
        drive networks add a single-node component for every node of a
        one-way dead end or a one-way street leaving the extract.  Computed
        once, read-only.
        """
        _, labels = connected_components(self.csr, directed=True, connection="strong")
        labels = np.ascontiguousarray(labels, dtype=np.int32)
        labels.flags.writeable = False
        return labels

    @cached_property
    def strong_sizes(self) -> NDArray[np.int64]:
        """Node count (by id, as :attr:`component_sizes`) per SCC, ``int64[S]`` (read-only)."""
        return self._places_per(self.strong_labels)

    @cached_property
    def main_strong(self) -> NDArray[np.bool_]:
        """Per strongly connected component: True for the largest of its weak component.

        ``bool[S]``, exactly one True per weak component (ties go to the lower
        label).  The travel core of a weak component: every node of it can
        reach and be reached from every other.  Read-only.
        """
        ssize = self.strong_sizes
        n_scc = len(ssize)
        scc_weak = np.zeros(n_scc, dtype=np.int64)
        scc_weak[self.strong_labels] = self.component_labels  # one weak label per SCC
        order = np.lexsort((np.arange(n_scc), -ssize, scc_weak))
        first = np.ones(n_scc, dtype=bool)
        first[1:] = scc_weak[order[1:]] != scc_weak[order[:-1]]
        main = np.zeros(n_scc, dtype=bool)
        main[order[first]] = True
        main.flags.writeable = False
        return main

    def describe(self) -> str:
        """One line: mode, nodes, edges, CRS."""
        return (
            f"{self.mode} network: {self.n_nodes:,} nodes, {self.n_edges:,} directed "
            f"edges, {self.crs}"
        )


def edge_twins(
    edge_u: NDArray[np.integer],
    edge_v: NDArray[np.integer],
    edge_length_m: NDArray[np.floating],
) -> NDArray[np.int64]:
    """Pair each directed edge u -> v with an edge v -> u of the same length.

    Two-way streets appear as two directed edges along the same line; the
    twin lets a point snapped to one of them use the other direction.  Edges
    are paired only when their lengths agree to the centimetre.

    Examples
    --------
    >>> edge_twins(np.array([0, 1, 1]), np.array([1, 0, 2]), np.array([5.0, 5.0, 3.0]))
    array([ 1,  0, -1])
    """
    u = np.asarray(edge_u, dtype=np.int64)
    v = np.asarray(edge_v, dtype=np.int64)
    length_cm = np.round(np.asarray(edge_length_m, dtype=np.float64) * 100).astype(np.int64)
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    forward = u <= v
    order = np.lexsort((~forward, length_cm, hi, lo))
    twin = np.full(len(u), -1, dtype=np.int64)
    if len(u) < 2:
        return twin
    a, b = order[:-1], order[1:]
    pair = (
        (lo[a] == lo[b]) & (hi[a] == hi[b]) & (length_cm[a] == length_cm[b])
        & forward[a] & ~forward[b] & (u[a] != v[a])
    )
    # Within one (lo, hi, length) group the forward edges sort before the
    # backward ones, so each group has at most one forward -> backward step:
    # pairs never overlap.
    idx = np.flatnonzero(pair)
    twin[order[idx]] = order[idx + 1]
    twin[order[idx + 1]] = order[idx]
    return twin


def make_network(
    *,
    mode: str,
    crs: str,
    source_hash: str,
    node_id: NDArray[np.int64],
    node_lon: NDArray[np.float64],
    node_lat: NDArray[np.float64],
    node_x: NDArray[np.float64],
    node_y: NDArray[np.float64],
    edge_u: NDArray[np.integer],
    edge_v: NDArray[np.integer],
    edge_length_m: NDArray[np.floating],
    edge_time_s: NDArray[np.floating],
    geom_offsets: NDArray[np.integer],
    geom_x: NDArray[np.floating],
    geom_y: NDArray[np.floating],
    edge_twin: NDArray[np.integer] | None = None,
    edge_layer: NDArray[np.integer] | None = None,
    meta: dict[str, Any] | None = None,
) -> RoadNetwork:
    """Validate arrays and assemble a :class:`RoadNetwork` (twins computed if absent).

    ``edge_layer`` defaults to every edge on the ground (:data:`GROUND`).

    Raises
    ------
    InvalidParameter
        ``mode`` unknown, arrays of inconsistent length, or a non-positive or
        non-finite edge time (0 is allowed on the zero-length turn edges of a
        turn-expanded network).
    """
    check_mode(mode)
    n = len(node_x)
    e = len(edge_u)
    arrays: dict[str, NDArray[Any]] = {
        "node_id": np.ascontiguousarray(node_id, dtype=np.int64),
        "node_lon": np.ascontiguousarray(node_lon, dtype=np.float64),
        "node_lat": np.ascontiguousarray(node_lat, dtype=np.float64),
        "node_x": np.ascontiguousarray(node_x, dtype=np.float64),
        "node_y": np.ascontiguousarray(node_y, dtype=np.float64),
        "edge_u": np.ascontiguousarray(edge_u, dtype=np.int32),
        "edge_v": np.ascontiguousarray(edge_v, dtype=np.int32),
        "edge_length_m": np.ascontiguousarray(edge_length_m, dtype=np.float64),
        "edge_time_s": np.ascontiguousarray(edge_time_s, dtype=np.float64),
        "geom_offsets": np.ascontiguousarray(geom_offsets, dtype=np.int64),
        "geom_x": np.ascontiguousarray(geom_x, dtype=np.float64),
        "geom_y": np.ascontiguousarray(geom_y, dtype=np.float64),
        "edge_layer": (np.zeros(e, dtype=np.int8) if edge_layer is None
                       else np.ascontiguousarray(edge_layer, dtype=np.int8)),
    }
    for name in ("node_id", "node_lon", "node_lat", "node_y"):
        if len(arrays[name]) != n:
            msg = f"has {len(arrays[name])} entries, expected {n} (one per node)"
            raise InvalidParameter(name, msg)
    for name in ("edge_v", "edge_length_m", "edge_time_s", "edge_layer"):
        if len(arrays[name]) != e:
            msg = f"has {len(arrays[name])} entries, expected {e} (one per edge)"
            raise InvalidParameter(name, msg)
    if len(arrays["geom_offsets"]) != e + 1:
        msg = f"must have {e + 1} entries (edges + 1)"
        raise InvalidParameter("geom_offsets", msg)
    ends = (arrays["edge_u"], arrays["edge_v"])
    if e and (min(a.min() for a in ends) < 0 or max(a.max() for a in ends) >= n):
        msg = "refers to a node position outside 0..N-1"
        raise InvalidParameter("edge_u", msg)
    t = arrays["edge_time_s"]
    turn = arrays["edge_length_m"] == 0
    if e and not (np.isfinite(t).all() and ((t > 0) | (turn & (t == 0))).all()):
        msg = "must be finite and > 0 seconds on every edge (>= 0 on zero-length turn edges)"
        raise InvalidParameter("edge_time_s", msg)
    if edge_twin is None:
        twin = edge_twins(arrays["edge_u"], arrays["edge_v"], arrays["edge_length_m"])
    else:
        twin = np.ascontiguousarray(edge_twin, dtype=np.int64)
    return RoadNetwork(
        mode=mode,
        crs=crs,
        source_hash=source_hash,
        edge_twin=twin,
        meta=dict(meta or {}),
        **arrays,
    )
