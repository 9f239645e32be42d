"""Fixtures of the handler tests: a GeoService over the small city (no Flask)."""

from __future__ import annotations

import pytest

from geosvc.app.service import GeoService
from geosvc.config import Settings
from tests.web.citydata import build_city_db


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> GeoService:
    db = build_city_db(tmp_path_factory.mktemp("api-city") / "city.sqlite")
    return GeoService(Settings.load(env={}, overrides={"db": str(db)}))
