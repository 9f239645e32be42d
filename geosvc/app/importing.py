"""Use case: import one layer file, or a layers manifest, into a dataset (all rows or none)."""

from __future__ import annotations

from dataclasses import dataclass

from geosvc.importer import ImportReport, ManifestReport, import_file, import_manifest
from geosvc.store import open_store

__all__ = ["ImportRequest", "import_layers"]


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
    bbox : (min_lon, min_lat, max_lon, max_lat) or None
        population raster: the WGS-84 extent to read (default: the dataset's
        venues and areas + 5 km, or the whole raster).
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
    bbox: tuple[float, float, float, float] | None = None


def import_layers(request: ImportRequest) -> ImportReport | ManifestReport:
    """Validate every row of ``request.path`` and write all of them in one transaction.

    Raises
    ------
    ImportRejected
        Every bad row (row, field, reason); nothing was written.
    InvalidParameter
        A file-level problem (missing file, bad extension or encoding).
    StorageUnavailable
        The store cannot be opened or written.
    """
    with open_store(request.db) as store:
        if request.what == "manifest":
            return import_manifest(store, request.path, dry_run=request.dry_run)
        return import_file(store, request.what, request.path, crs=request.crs,
                           dry_run=request.dry_run, id_field=request.id_field,
                           replace_links=request.replace_links,
                           append_population=request.append_population,
                           encoding=request.encoding, bbox=request.bbox)
