"""Import one file: parse, validate every row, write all rows in one transaction (or none).

The work behind :func:`geosvc.importer.import_file`; :mod:`._manifest` builds
on :func:`parse_rows`, :func:`batch_of` and :func:`report_of`.  Columns,
vocabularies and row numbering: the :mod:`geosvc.importer` docstring.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from itertools import islice
from typing import TYPE_CHECKING, Any

from geosvc import vocab
from geosvc.coords import parse_crs
from geosvc.errors import ImportRejected, InvalidParameter, RowProblem
from geosvc.importer._mapping import PREVIEW_ROWS, FieldMap, MappingReport, map_rows
from geosvc.importer._raster import Bbox, RasterParsed, RasterSummary, is_raster, raster_layer
from geosvc.importer._read import iter_csv, read_table
from geosvc.importer._rows import COLUMNS, PARSERS, Parsed
from geosvc.importer._settings import check_settings, merge_settings
from geosvc.store.base import Batch, WriteResult

if TYPE_CHECKING:
    from geosvc.store.base import Store

__all__ = ["WHAT", "ImportReport", "batch_of", "import_file", "known_columns", "mapping_of",
           "parse_rows", "report_of"]

#: Rows of a CSV file validated at a time (:func:`parse_csv_streamed`).
CHUNK_ROWS = 20_000

#: Layer kinds, in dependency order (links need venues and items, bundles items).
WHAT: tuple[str, ...] = ("items", "venues", "links", "areas", "population", "bundles")


@dataclass(frozen=True)
class ImportReport:
    """What an import did (or, for a dry run, would do) to one table."""

    what: str
    source: str
    rows: int
    created: int
    updated: int
    unchanged: int
    deleted: int = 0
    dry_run: bool = False
    revision: int = 0
    ignored_columns: tuple[str, ...] = ()
    #: How each file of the layer was mapped (``--map``/``--set``, aliases; first rows).
    mappings: tuple[MappingReport, ...] = ()
    #: a population raster: what was read and kept (cells, sum, extent)
    raster: RasterSummary | None = None
    #: Venues only: ``(status, rows)`` of each status the file's venues have.
    statuses: tuple[tuple[str, int], ...] = ()
    #: Things to tell the user although every row was taken (the CLI: stderr).
    warnings: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line, e.g. ``venues: 120 rows, 118 created, 2 updated, 0 unchanged``.

        A population raster adds a second line (:meth:`RasterSummary.summary`).
        Venues add their count by status: ``; status: 117 in_service, 3 candidate``.
        """
        text = (f"{self.what}: {self.rows} rows, {self.created} created, "
                f"{self.updated} updated, {self.unchanged} unchanged")
        if self.deleted:
            text += f", {self.deleted} deleted"
        if self.statuses:
            text += "; status: " + ", ".join(f"{n} {code}" for code, n in self.statuses)
        if self.dry_run:
            text += " (dry run, nothing written)"
        if self.raster is not None:
            text += "\n" + self.raster.summary()
        return text


def check_what(what: str) -> str:
    """Return ``what`` if it names a layer kind, else raise InvalidParameter."""
    if what not in WHAT:
        msg = f"must be one of {', '.join(WHAT)} (got {what!r})"
        raise InvalidParameter("what", msg)
    return what


def known_columns(what: str) -> tuple[str, ...]:
    """Return the columns the importer reads for layer kind ``what`` (required first)."""
    required, optional = COLUMNS[what]
    return required + optional


def mapping_of(what: str, *, fields: Mapping[str, Any] | None = None,
               constants: Mapping[str, Any] | None = None, fields_option: str = "fields",
               constants_option: str = "set") -> FieldMap | None:
    """Build the field mapping of a layer (None when there is none); see :class:`FieldMap`.

    Raises
    ------
    InvalidParameter
        Naming ``fields_option`` / ``constants_option`` for each bad rule.
    """
    if not fields and not constants:
        return None
    return FieldMap.build(what, known_columns(check_what(what)), fields=fields,
                          constants=constants, fields_option=fields_option,
                          constants_option=constants_option)


def parse_rows(what: str, rows: list[dict], *, crs: str, store: Store | None = None,
               id_field: str = "code", pending: dict[str, Parsed] | None = None,
               mapping: FieldMap | None = None, layer: str | None = None) -> Parsed:
    """Validate raw rows of one layer (no writing).

    ``mapping`` and the built-in header aliases are applied first
    (:func:`~geosvc.importer._mapping.map_rows`); a problem of a mapped
    column says where its value came from.  ``store`` and ``pending``
    (already parsed venues/items of the same manifest) are where links look
    their venues and items up.

    Raises
    ------
    InvalidParameter
        A rule of ``mapping`` names a column the file lacks.
    """
    known = _known(what, store, pending)
    return _parse_rows(what, rows, crs=crs, known=known, id_field=id_field, mapping=mapping,
                       layer=layer)


def _parse_rows(what: str, rows: list[dict], *, crs: str, known: dict[str, Any],
                id_field: str, mapping: FieldMap | None, layer: str | None) -> Parsed:
    """:func:`parse_rows` with the venues/items to check against already looked up."""
    rows, mapped = map_rows(what, rows, known_columns(what), mapping, layer=layer)
    id_key = id_field.strip().lower()
    if id_key != "code" and what != "links":
        rows = [{("code" if k == id_key else k): v for k, v in row.items()
                 if not (k == "code" and id_key in row)} for row in rows]
    parsed = PARSERS[what](rows, crs=crs, **known)
    parsed.mappings = (mapped,)
    if mapping is not None:
        origin = {r.target: r.describe() for r in mapping.rules}
        parsed.problems = [
            RowProblem(p.row, p.field, f"{p.reason} [from {origin[p.field]}]")
            if p.field in origin else p for p in parsed.problems]
    return parsed


def _known(what: str, store: Store | None, pending: dict[str, Parsed] | None
           ) -> dict[str, Any]:
    """Return the keyword arguments of the layer's parser: known items (venues for links)."""
    if what not in ("links", "bundles"):
        return {}
    pending = pending or {}
    items: dict = {}
    if store is not None:
        items.update((i.code, True) for i in store.items())
    if "items" in pending:
        items.update(dict.fromkeys(pending["items"].keys, True))
    if what == "bundles":
        return {"items": items}
    venues: dict = {}
    if store is not None:
        venues.update((v.code, v.channels) for v in store.venues())
    if "venues" in pending:
        venues.update(pending["venues"].venue_channels)
    return {"venues": venues, "items": items}


def parse_csv_streamed(what: str, path: str | os.PathLike[str], *, crs: str,
                       store: Store | None = None, encoding: str | None = None,
                       id_field: str = "code", mapping: FieldMap | None = None,
                       chunk_rows: int | None = None) -> Parsed | None:
    """Validate a CSV file :data:`CHUNK_ROWS` rows at a time; None if it must be parsed whole.

    Memory holds the raw rows of one chunk and the records of the good rows
    so far, not every raw row of the file (a 200k-row venue file: about half
    the peak of reading it whole).  The outcome equals :func:`parse_rows` of
    the whole file when every row is good; as soon as a chunk has a problem,
    a warning, or a key an earlier chunk had (a duplicate across chunks),
    this returns None and the caller parses the whole file at once, so that
    a bad file's report (every problem, numbered, worded and ordered as
    always) comes from the one-pass validators.  Nothing is written here.

    Raises
    ------
    InvalidParameter
        As :func:`read_table` (the file, its encoding, a malformed line) or
        :func:`parse_rows` (a mapping rule naming a column the file lacks).
    """
    size = chunk_rows or CHUNK_ROWS
    known = _known(what, store, None)
    rows = iter_csv(path, encoding=encoding)
    total: Parsed | None = None
    offset = 0
    statuses: Counter[str] = Counter()
    while True:
        chunk = list(islice(rows, size))
        if total is not None and not chunk:
            break
        part = _parse_rows(what, chunk, crs=crs, known=known, id_field=id_field,
                           mapping=mapping, layer=None)
        if part.problems or part.warnings:
            return None
        if total is None:
            total = replace(part, records=[], keys={}, venue_channels={}, statuses={},
                            rows=0, ignored_columns=(),
                            mappings=tuple(replace(m, preview=()) for m in part.mappings))
        if not total.keys.keys().isdisjoint(part.keys):
            return None  # a key repeated across chunks: a problem the whole pass reports
        _merge(total, part, offset, statuses)
        offset += len(chunk)
        del chunk, part
    assert total is not None
    total.statuses = {code: statuses[code] for code in vocab.STATUSES.codes()
                      if statuses[code]}
    return total


def _merge(total: Parsed, part: Parsed, offset: int, statuses: Counter[str]) -> None:
    """Add the good chunk ``part`` (its rows numbered from ``offset + 1``) to ``total``."""
    total.rows += part.rows
    total.records.extend(part.records)
    total.keys.update((k, row + offset) for k, row in part.keys.items())
    total.venue_channels.update(part.venue_channels)
    statuses.update(part.statuses)
    total.ignored_columns = tuple(dict.fromkeys(total.ignored_columns + part.ignored_columns))
    head, = total.mappings
    more, = part.mappings
    if len(head.preview) < PREVIEW_ROWS:
        preview = head.preview + tuple((row + offset, values) for row, values in more.preview)
        total.mappings = (replace(head, preview=preview[:PREVIEW_ROWS]),)


def batch_of(layers: dict[str, Parsed], *, replace_links: bool = False,
             append_population: bool = False) -> Batch:
    """Build the store batch of validated layers."""
    def records(what: str) -> list:
        return layers[what].records if what in layers else []

    links = records("links")
    return Batch(
        items=records("items"), venues=records("venues"), links=links,
        areas=records("areas"), population=records("population"),
        replace_population="population" in layers and not append_population,
        replace_links_for=sorted({k.venue_code for k in links}) if replace_links else (),
        bundles=records("bundles"),
    )


def report_of(parsed: Parsed, result: WriteResult, *, source: str) -> ImportReport:
    """Turn a write result into the report of one layer."""
    counts = result[parsed.what]
    return ImportReport(
        what=parsed.what, source=source, rows=parsed.rows, created=counts.created,
        updated=counts.updated, unchanged=counts.unchanged, deleted=counts.deleted,
        dry_run=result.dry_run, revision=result.revision,
        ignored_columns=parsed.ignored_columns, mappings=parsed.mappings,
        raster=parsed.raster if isinstance(parsed, RasterParsed) else None,
        statuses=tuple(parsed.statuses.items()), warnings=tuple(parsed.warnings),
    )


def import_file(
    store: Store,
    what: str,
    path: str | os.PathLike[str],
    *,
    crs: str = "wgs84",
    dry_run: bool = False,
    id_field: str = "code",
    replace_links: bool = False,
    append_population: bool = False,
    encoding: str | None = None,
    mapping: FieldMap | None = None,
    settings: Mapping[str, Any] | None = None,
    bbox: Bbox | None = None,
) -> ImportReport:
    """Validate every row of ``path`` and write them all in one transaction.

    Parameters
    ----------
    store : Store
        Where to write; links are checked against the venues and items in it.
    what : str
        ``venues``, ``items``, ``links``, ``population``, ``areas`` or ``bundles``.
    path : path
        A ``.csv``, ``.geojson``/``.json`` or ``.xlsx`` file (see the module
        docstring for its columns); for population also a GeoTIFF (``.tif``,
        see :mod:`geosvc.importer._raster`).
    crs : str
        System of the file's coordinates: ``wgs84``, ``gcj02`` or ``bd09``
        (a raster with a CRS of its own: ``wgs84``).
    dry_run : bool
        Validate and count what would be created/updated; write nothing.
    id_field : str
        Column holding the code, when it is not called ``code``.
    replace_links : bool
        Links only: the file replaces the whole link set of each venue it names.
    append_population : bool
        Population only: add the cells instead of replacing the layer.
    encoding : str, optional
        Text encoding of a CSV file (default UTF-8, BOM allowed).
    mapping : FieldMap, optional
        Where columns come from (source columns, templates, constants; see
        :func:`mapping_of`); other headers go through the built-in aliases.
    settings : mapping, optional
        Dataset settings to store with the rows (``name``, ``timezone``,
        ``calendar``, ``country``); the others keep their stored values.
    bbox : (min_lon, min_lat, max_lon, max_lat), optional
        Population raster only: the WGS-84 extent to read (default: the
        dataset's venues and areas + 5 km, or the whole raster).

    Returns
    -------
    ImportReport

    Raises
    ------
    ImportRejected
        Any row has any problem; ``problems`` lists every one; nothing written.
    InvalidParameter
        ``what``, ``crs``, ``path`` (missing, unreadable, malformed), an
        option that does not apply, a bad setting, or a mapping rule naming a
        column the file lacks (named as the rule's option, e.g. ``--map``).
    StorageUnavailable
        The store cannot be written.
    """
    check_what(what)
    crs = parse_crs(crs)
    if mapping is not None and id_field != "code" and any(
            r.target == "code" for r in mapping.rules):
        raise InvalidParameter("id_field", "and a mapping of `code` cannot be used together")
    if replace_links and what != "links":
        raise InvalidParameter("replace_links", "applies only to links")
    if append_population and what != "population":
        raise InvalidParameter("append_population", "applies only to population")
    changes = check_settings(settings or {})
    if is_raster(path) or bbox is not None:
        if mapping is not None:
            raise InvalidParameter("mapping", "does not apply to a population raster")
        parsed: Parsed = raster_layer(what, path, crs=crs, bbox=bbox, store=store)
    else:
        streamed = None
        if str(path).lower().endswith(".csv"):
            streamed = parse_csv_streamed(what, path, crs=crs, store=store, encoding=encoding,
                                          id_field=id_field, mapping=mapping)
        parsed = streamed or parse_rows(what, read_table(path, encoding=encoding), crs=crs,
                                        store=store, id_field=id_field, mapping=mapping)
    if parsed.problems:
        raise ImportRejected(parsed.problems, source=str(path))
    batch = batch_of({what: parsed}, replace_links=replace_links,
                     append_population=append_population)
    if changes:
        batch = replace(batch, info=merge_settings(store.info(), changes))
    result = store.write(batch, dry_run=dry_run)
    return report_of(parsed, result, source=str(path))
