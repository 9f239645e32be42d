"""Fixtures of the analysis tests: hand-checkable grids and the real Helsinki extract."""

from __future__ import annotations

from pathlib import Path

import pytest

from geosvc.model import PopulationCell


@pytest.fixture(scope="session")
def helsinki_population(helsinki_pbf: Path) -> list[PopulationCell]:
    """Return the OSM building estimate of the Helsinki extract (computed once)."""
    from geosvc.analysis.demand import estimate_population_from_osm

    return estimate_population_from_osm(helsinki_pbf)


@pytest.fixture(scope="session")
def helsinki_walk(helsinki_pbf: Path, tmp_path_factory: pytest.TempPathFactory):
    """Return the Helsinki walk network (built once into a session cache)."""
    from geosvc.config import Settings
    from geosvc.network.cache import load_network

    return load_network(helsinki_pbf, "walk", settings=Settings(),
                        cache_dir=tmp_path_factory.mktemp("netcache"))

