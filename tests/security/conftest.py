"""A real server on loopback over the small test city, for the hostile-client tests (issue 11).

The app is the real ``create_app`` served by werkzeug's threaded server on a
free port; requests go through real sockets (``http.client`` and raw
``socket``), so limits are checked as a client meets them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from geosvc.web import create_app
from tests.security._serve import geosvc_serve, serve_in_thread
from tests.web.citydata import build_city_db

#: Another site's origin (pages there must not write to the API).
FOREIGN = "https://evil.example"
#: An origin the server admits writes from (`write_origins`).
PORTAL = "https://portal.example.gov.cn"


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve the small city (straight-line only, 4 KB body limit) on 127.0.0.1."""
    db = build_city_db(tmp_path_factory.mktemp("security") / "city.sqlite")
    app = create_app({"TESTING": True, "db": str(db), "osm": None,
                      "max_body_bytes": 4096, "write_origins": PORTAL})
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture(scope="session")
def city_file(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second copy of the small city for tests that break their store."""
    return build_city_db(tmp_path_factory.mktemp("security-broken") / "city.sqlite")


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Path]]:
    """`geosvc serve --workers 2` over the small city (3 s body timeout, 100 kB bodies).

    (base URL, port, the server's stderr log).
    """
    db = build_city_db(tmp_path_factory.mktemp("served") / "city.sqlite")
    env = {"GEOSVC_BODY_TIMEOUT_S": "3", "GEOSVC_MAX_BODY_BYTES": "100000"}
    with geosvc_serve(db, env=env) as where:
        yield where
