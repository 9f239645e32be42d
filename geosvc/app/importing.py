"""Use cases: import a layer file or a layers manifest (all rows or none); dataset settings."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from geosvc.hours import ANNOUNCED_KEY
from geosvc.importer import (
    ImportReport,
    ManifestReport,
    check_settings,
    import_file,
    import_manifest,
    merge_settings,
    osm_venues,
    read_announced,
)
from geosvc.importer.osm_venues import OsmVenuesReport
from geosvc.store import open_store
from geosvc.store.base import Batch

if TYPE_CHECKING:
    from geosvc.importer import FieldMap
    from geosvc.model import DatasetInfo
    from geosvc.store.access import WriteGuard

__all__ = ["DatasetSettings", "ImportRequest", "OsmVenuesRequest", "change_settings",
           "import_layers", "import_osm_venues", "read_settings", "set_announced_holidays"]


@dataclass(frozen=True, slots=True)
class ImportRequest:
    """What to import where.

    Attributes
    ----------
    db : str
        Store path or URL (created when missing).
    what : str
        ``venues``, ``items``, ``links``, ``population``, ``areas`` or
        ``manifest`` (a layers manifest, one transaction).
    path : str
        The file (CSV, GeoJSON, .xlsx; a GeoTIFF for population; YAML for a
        manifest).
    crs : str
        Coordinate system of the file (``wgs84``, ``gcj02``, ``bd09``).
    dry_run : bool
        Validate and count; write nothing.
    id_field : str
        Column holding the code.
    replace_links : bool
        links: the file replaces the whole link set of each venue it names.
    append_population : bool
        population: add the cells instead of replacing the layer.
    encoding : str or None
        Text encoding of a CSV file.
    mapping : FieldMap or None
        Where columns come from (``--map``/``--set``); not for a manifest.
    settings : mapping
        Dataset settings stored with the rows (``name``, ``timezone``,
        ``calendar``, ``country``); for a manifest they override its
        ``dataset`` entry.  Settings not given keep their stored values.
    bbox : (min_lon, min_lat, max_lon, max_lat) or None
        population raster: the WGS-84 extent to read (default: the dataset's
        venues and areas + 5 km, or the whole raster).
    guard : WriteGuard or None
        A write through the API: the revision ``If-Match`` expects (checked
        under the write lock) and who writes (one ``audit_log`` row in the
        write's transaction); see :mod:`geosvc.store.access`.
    """

    db: str
    what: str
    path: str
    crs: str = "wgs84"
    dry_run: bool = False
    id_field: str = "code"
    replace_links: bool = False
    append_population: bool = False
    encoding: str | None = None
    mapping: FieldMap | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    bbox: tuple[float, float, float, float] | None = None
    guard: WriteGuard | None = None


def import_layers(request: ImportRequest) -> ImportReport | ManifestReport:
    """Validate every row of ``request.path`` and write all of them in one transaction.

    Raises
    ------
    ImportRejected
        Every bad row (row, field, reason); nothing was written.
    InvalidParameter
        A file-level problem (missing file, bad extension or encoding), a bad
        setting, or a mapping rule naming a column the file lacks.
    PreconditionFailed
        ``request.guard`` expects another revision; nothing was written.
    StorageUnavailable
        The store cannot be opened or written.
    """
    with open_store(request.db) as store, ExitStack() as stack:
        if request.guard is not None:
            stack.enter_context(store.guarded(request.guard))
        if request.what == "manifest":
            return import_manifest(store, request.path, dry_run=request.dry_run,
                                   settings=request.settings)
        return import_file(store, request.what, request.path, crs=request.crs,
                           dry_run=request.dry_run, id_field=request.id_field,
                           replace_links=request.replace_links,
                           append_population=request.append_population,
                           encoding=request.encoding, mapping=request.mapping,
                           settings=request.settings, bbox=request.bbox)


@dataclass(frozen=True, slots=True)
class DatasetSettings:
    """A dataset's settings as stored, and what a change did.

    Attributes
    ----------
    info : DatasetInfo
        Name, time zone, holiday calendar, country (after the change).
    revision : int
        Store revision (after the change).
    changed : bool
        Whether the change altered anything (False for a read).
    """

    info: DatasetInfo
    revision: int
    changed: bool = False


def read_settings(db: str) -> DatasetSettings:
    """Return the settings of the dataset at ``db`` (which must exist).

    Raises
    ------
    StorageUnavailable
        The store is missing or cannot be read.
    """
    with open_store(db, create=False) as store:
        return DatasetSettings(store.info(), store.revision())


def change_settings(db: str, changes: Mapping[str, Any], *,
                    dry_run: bool = False) -> DatasetSettings:
    """Change some settings of the dataset at ``db`` (one transaction); keep the others.

    Raises
    ------
    InvalidParameter
        A bad setting (named as its key: ``timezone``, ``calendar``, ...).
    StorageUnavailable
        The store is missing or cannot be written.
    """
    checked = check_settings(changes)
    with open_store(db, create=False) as store:
        info = merge_settings(store.info(), checked)
        result = store.write(Batch(info=info), dry_run=dry_run)
        return DatasetSettings(info, result.revision, result.info_changed)


def set_announced_holidays(db: str, path: str | None, *, encoding: str | None = None,
                           dry_run: bool = False) -> DatasetSettings:
    """Store the announced days of ``path`` with the dataset (``None``: remove them).

    The table is read and checked whole first (:func:`geosvc.importer.read_announced`);
    the dataset's calendar then takes the years it mentions from it
    (:func:`geosvc.hours.get_calendar`).  One transaction; the revision grows
    when something changed, so a running server reloads.

    Raises
    ------
    InvalidParameter
        The file cannot be read.
    ImportRejected
        Every bad row; nothing is written.
    StorageUnavailable
        The store is missing or cannot be written.
    """
    text = read_announced(path, encoding=encoding).setting() if path is not None else None
    with open_store(db, create=False) as store:
        info = store.info()
        extra = {k: v for k, v in info.extra.items() if k != ANNOUNCED_KEY}
        if text is not None:
            extra[ANNOUNCED_KEY] = text
        result = store.write(Batch(info=replace(info, extra=extra)), dry_run=dry_run)
        return DatasetSettings(replace(info, extra=extra), result.revision,
                               result.info_changed)


@dataclass(frozen=True, slots=True)
class OsmVenuesRequest:
    """Build a starter venue layer from an OSM extract (``geosvc import osm-venues``).

    Attributes
    ----------
    db : str
        Store path or URL (created when missing).
    extract : str
        ``.osm.pbf`` or OSM XML (``.osm``, ``.osm.xml``, ``.gz``/``.bz2``).
    dry_run : bool
        Validate and count; write nothing to the store.
    out : str or None
        Also write the starter rows to this CSV.
    """

    db: str
    extract: str
    dry_run: bool = False
    out: str | None = None


def import_osm_venues(request: OsmVenuesRequest) -> OsmVenuesReport:
    """Upsert the starter venues of ``request.extract`` by code (one transaction).

    Rules: :mod:`geosvc.importer.osm_venues`.

    Raises
    ------
    InvalidParameter
        Named ``extract``: missing or unreadable extract.
    StorageUnavailable
        The store cannot be opened or written.
    """
    with open_store(request.db) as store:
        return osm_venues.import_osm_venues(store, request.extract, dry_run=request.dry_run,
                                            out=request.out)
