"""Routers of the demo city: the walking road router and the straight-line router.

Both are built by one :class:`GeoService` over the demo database and the demo
OSM extract (walk network only), so they share the snapshot's venues and
index; the network cache sits where the web tests keep theirs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from geosvc.app.service import GeoService
from geosvc.config import Settings

#: Router modes every contract test runs with.
ROUTER_MODES = ("walk", "straight")


@pytest.fixture(scope="session")
def demo_service(demo_db: Path, helsinki_pbf: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> GeoService:
    cache = tmp_path_factory.getbasetemp() / "demo-walk-cache"
    cache.mkdir(exist_ok=True)
    settings = Settings.load(env={}, overrides={
        "db": str(demo_db), "osm": str(helsinki_pbf), "modes": "walk",
        "cache_dir": str(cache)})
    return GeoService(settings)


@pytest.fixture(params=ROUTER_MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture()
def router(demo_service: GeoService, mode: str):
    return demo_service.travel(mode)


@pytest.fixture()
def demand(demo_service: GeoService, mode: str):
    return demo_service.demand(mode)
