"""Fixtures of the store tests: the PostGIS test server and one harness per backend.

The session fixture ``pg_server`` starts a throw-away PostgreSQL + PostGIS
server from the Debian packages (``postgis_server.py``) the first time a test
needs it; missing binaries FAIL those tests (run
scripts/install_system_deps.sh).  ``harness`` is parametrised over
:data:`geosvc.store.BACKENDS`, so a test that takes it runs against every
registered backend.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from geosvc.store import BACKENDS

from .harness import Harness, PostGISHarness, SQLiteHarness
from .postgis_server import INSTALL_HINT, Server, ServerUnavailable, start_server

#: Backend name -> how to build its harness (from the pytest request and tmp_path).
HARNESSES: dict[str, Callable[[pytest.FixtureRequest, Path], Harness]] = {
    "sqlite": lambda request, tmp_path: SQLiteHarness(tmp_path),
    "postgresql": lambda request, tmp_path: PostGISHarness(
        request.getfixturevalue("pg_server")),
}


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    """Start a PostgreSQL + PostGIS server for this session (FAIL when not installed)."""
    try:
        server = start_server()
    except ServerUnavailable as exc:
        pytest.fail(f"cannot start the PostGIS test server: {exc}\n-> {INSTALL_HINT}",
                    pytrace=False)
    sys.stderr.write(f"\n[postgis] test server on port {server.port} "
                     f"started in {server.start_s:.2f} s\n")
    yield server
    server.stop()


@pytest.fixture(params=sorted(BACKENDS))
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    """Return the test harness of each registered backend in turn."""
    return HARNESSES[request.param](request, tmp_path)
