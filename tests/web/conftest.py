"""Fixtures of the web tests: the small city in a SQLite file, the app, a client."""

from __future__ import annotations

from pathlib import Path

import pytest

from geosvc.web import create_app
from tests.web.citydata import build_city_db


@pytest.fixture(scope="session")
def city_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Write the small city with the real store (read-only for tests)."""
    return build_city_db(tmp_path_factory.mktemp("web-city") / "city.sqlite")


@pytest.fixture(scope="session")
def app(city_db: Path):
    """Build the app over the city, without road networks (straight-line only)."""
    return create_app({"TESTING": True, "db": str(city_db), "osm": None})


@pytest.fixture()
def client(app):
    return app.test_client()
