"""The demo city app with its walking network, shared by the contract tests."""

from __future__ import annotations

from pathlib import Path

import pytest

import geosvc.demo
from geosvc.web import create_app


def build_demo_app(demo_db: Path, tmp_path_factory: pytest.TempPathFactory):
    """Create the app over the demo database and the demo OSM extract (walk only).

    The network cache lives in one directory of the session's temporary
    base, so the second module that builds the app reads the cached graph.
    """
    cache = tmp_path_factory.getbasetemp() / "demo-walk-cache"
    cache.mkdir(exist_ok=True)
    return create_app({
        "TESTING": True, "db": str(demo_db), "osm": str(geosvc.demo.demo_osm_path()),
        "modes": "walk", "cache_dir": str(cache),
    })
