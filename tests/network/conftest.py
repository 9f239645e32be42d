"""Fixtures and an independent reference (networkx Dijkstra) for the network tests."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from geosvc.config import Settings
from geosvc.network.cache import load_network
from geosvc.network.graph import RoadNetwork
from geosvc.network.snap import Snapped
from geosvc.network.synthetic import grid_network

WALK_MPS = 4.5 / 3.6


def reference_times(net: RoadNetwork, q: Snapped, venues: Snapped,
                    walk_speed_mps: float = WALK_MPS) -> np.ndarray:
    """Travel time from the one point ``q`` to every venue, by networkx Dijkstra.

    Built independently of geosvc.network.paths: every directed edge carrying a
    snapped position (of ``q`` or a venue, on it or on its twin at ``1 - f``) is
    split at those positions into a chain; parallel edges keep the fastest.
    """
    on_edge: dict[int, list[tuple[float, object]]] = {}

    def put(e: int, f: float, label: object) -> None:
        on_edge.setdefault(e, []).append((f, label))
        tw = int(net.edge_twin[e])
        if tw >= 0:
            on_edge.setdefault(tw, []).append((1.0 - f, label))

    put(int(q.edge[0]), float(q.frac[0]), "q")
    for i in range(len(venues)):
        if venues.edge[i] >= 0:
            put(int(venues.edge[i]), float(venues.frac[i]), ("v", i))
    g = nx.DiGraph()

    def add(a: object, b: object, w: float) -> None:
        if a == b:
            return
        if not g.has_edge(a, b) or g[a][b]["weight"] > w:
            g.add_edge(a, b, weight=w)

    for e in range(net.n_edges):
        u, v, t = int(net.edge_u[e]), int(net.edge_v[e]), float(net.edge_time_s[e])
        if e not in on_edge:
            add(u, v, t)
            continue
        chain = sorted(on_edge[e], key=lambda p: p[0])
        prev, prev_f = u, 0.0
        for f, label in chain:
            add(prev, label, (f - prev_f) * t)
            prev, prev_f = label, f
        add(prev, v, (1.0 - prev_f) * t)
    g.add_edge("Q", "q", weight=float(q.dist_m[0]) / walk_speed_mps)
    for i in range(len(venues)):
        if venues.edge[i] >= 0:
            g.add_edge(("v", i), ("V", i), weight=float(venues.dist_m[i]) / walk_speed_mps)
    dist = nx.single_source_dijkstra_path_length(g, "Q", weight="weight")
    return np.array([dist.get(("V", i), np.inf) for i in range(len(venues))])


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def grid5() -> RoadNetwork:
    """5 x 5 grid, 100 m spacing, 4.5 km/h: 80 s per edge."""
    return grid_network(5, 5)


@pytest.fixture(scope="session")
def network_cache(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("netcache")


@pytest.fixture(scope="session")
def helsinki_walk(helsinki_pbf, settings, network_cache) -> RoadNetwork:
    return load_network(helsinki_pbf, "walk", settings=settings, cache_dir=network_cache)


@pytest.fixture(scope="session")
def helsinki_drive(helsinki_pbf, settings, network_cache) -> RoadNetwork:
    return load_network(helsinki_pbf, "drive", settings=settings, cache_dir=network_cache)
