r"""Import venues, items, links, population and areas: validate every row, all or nothing.

:func:`import_file` reads one file (:func:`read_table`: CSV, GeoJSON or
``.xlsx``), validates EVERY row, and either writes all rows in one store
transaction or raises :class:`~geosvc.errors.ImportRejected` listing every
problem as ``RowProblem(row, field, reason)`` and writes nothing.
:func:`import_manifest` does the same for a whole layers manifest (YAML), in
ONE transaction.

Rows are counted from 1 = the first data row (for CSV/XLSX, the line after the
header, i.e. spreadsheet line ``row + 1``; for GeoJSON, the first feature).
Row 0 is the file itself (e.g. a required column missing from the header).

Columns (header names are case-insensitive; unknown columns are ignored and
reported in :attr:`ImportReport.ignored_columns`):

``venues``
    required ``code, name, kind, lon, lat``; optional ``level`` (required for
    a hall), ``channels``, ``area_code, area_name, address, phone,
    opening_hours`` (OSM syntax), ``official_calendar`` (default true),
    ``accessible, cross_province, regional`` (default false), ``bank``,
    ``machines`` (whole number >= 0), ``name_en, source``, ``status``
    (in_service | candidate | planned | closed, or a Chinese label such as
    运营中, 候选, 筹建, 停用).  Empty ``channels`` means ``window`` for a hall,
    ``self_service`` for a kiosk and none for a bank outlet.  An empty
    ``status`` is ``candidate`` for a bank outlet without channels (reported
    as a warning), else ``in_service``; ``in_service`` for a bank outlet
    without channels is a row problem.  A kiosk can only offer self_service,
    a hall window and self_service.
``items``
    required ``code, name``; optional ``name_en, department, category``
    (person | business, default person), ``high_frequency`` (default false),
    ``scope`` (city | county | cross_province, default city), ``description``.
``links``
    required ``venue_code, item_code`` (both must already be in the store, or
    earlier layers of the same manifest); optional ``channels`` (default: all
    the venue's channels; each must be offered by the venue).
``population``
    ``count`` (>= 0) with ``lon, lat`` or a polygon ``geometry``; optional
    ``code``.  By default an import replaces the whole population layer.
    Or a GeoTIFF (``.tif``): people per cell in band 1, read inside the
    dataset's extent (or ``bbox``); each populated cell becomes a point at its
    centre (:mod:`geosvc.importer._raster`).
``areas``
    required ``code, name, geometry`` (WKT (Multi)Polygon text, or the
    GeoJSON feature geometry); optional ``level`` (default county),
    ``population``.

Headers are also recognised by the aliases of :data:`geosvc.vocab.HEADERS`
(simplified and traditional Chinese, English; e.g. ``名称``/``名稱`` ->
``name``, ``經度`` -> ``lon``).  A file with other headers is mapped by a
:class:`FieldMap` (:func:`mapping_of`: ``--map``/``--set`` of ``geosvc
import``, ``fields:``/``set:`` of a manifest layer): a column from a source
column, a template of columns (``{銀行牌子} {sub區}``) or a constant.

Values: lists (``channels``) separated by ``,`` ``;`` ``|`` or ``、``;
booleans true/false, 1/0, yes/no, y/n, 是/否 (empty = default); vocabularies
take the enum values or common Chinese labels (市/县/区/乡镇/街道/村/社区;
大厅/银行网点/自助终端; 窗口/自助/智慧柜员机; 个人/法人; 全市通办/属地/跨省通办).
Coordinates are degrees in the file's ``crs`` (wgs84 | gcj02 | bd09) and are
stored as WGS-84; (0, 0) is refused as a missing coordinate.  Codes may not
contain whitespace or ``/ ? # % \\`` (they appear in URLs).
"""

from geosvc.importer._file import WHAT, ImportReport, import_file, known_columns, mapping_of
from geosvc.importer._holidays import AnnouncedDays, read_announced
from geosvc.importer._manifest import ManifestReport, import_manifest, load_manifest
from geosvc.importer._mapping import FieldMap, MappingReport, split_assignments
from geosvc.importer._raster import RasterSummary, parse_bbox
from geosvc.importer._read import read_table
from geosvc.importer._settings import SETTINGS, check_setting, check_settings, merge_settings

__all__ = [
    "SETTINGS",
    "WHAT",
    "AnnouncedDays",
    "FieldMap",
    "ImportReport",
    "ManifestReport",
    "MappingReport",
    "check_setting",
    "check_settings",
    "RasterSummary",
    "import_file",
    "import_manifest",
    "known_columns",
    "load_manifest",
    "mapping_of",
    "merge_settings",
    "parse_bbox",
    "read_announced",
    "read_table",
    "split_assignments",
]
