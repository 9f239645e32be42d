"""``geosvc import``: validate a file and write all its rows, or none.

::

    geosvc import {venues|items|links|population|areas} FILE --db FILE
                  [--crs wgs84|gcj02|bd09] [--dry-run] [--encoding ENC]
                  [--replace] [--append] [--id-field COLUMN]
                  [--map COLUMN=SOURCE]... [--set COLUMN=VALUE]...
                  [--timezone ZONE] [--calendar cn|none] [--country CC]
    geosvc import population FILE.tif --db FILE [--bbox W,S,E,N] [--append] [--dry-run]
    geosvc import manifest FILE.yaml --db FILE [--dry-run] [--timezone ...]
    geosvc import osm-venues EXTRACT --db FILE [--dry-run] [--out venues.csv]

Every form also takes ``--no-prepare-cache`` / ``--cache-dir DIR`` (the
snapshot cache a committed import fills for the next load; see
:func:`geosvc.app.dataset.prepare_snapshot`).

Exit 0 with a one-line summary per table on stdout when every row was taken
(with ``--dry-run`` and a mapping, the mapping and the first rows mapped
first; venues add their count by status, ``; status: 3 in_service, 2
candidate``, and warnings, e.g. bank outlets stored as candidates, go to
stderr); exit 1 with one line per problem on stderr (``row 7, field lat:
must be between -90 and 90 (got 91.2)``) and a last line saying nothing was
written.  Other errors (missing file, unwritable database) exit 1 with one
readable line; a bad option (a ``--map`` naming a column the file lacks, an
unknown ``--timezone``) exits 2 naming it.  ``--db`` is created when missing.
"""

from __future__ import annotations

from typing import Any

import click

from geosvc.app.importing import (
    ImportRequest,
    OsmVenuesRequest,
    import_layers,
    import_osm_venues,
)
from geosvc.config import Settings
from geosvc.errors import GeosvcError, ImportRejected, InvalidParameter, RowProblem
from geosvc.importer import (
    FieldMap,
    ImportReport,
    ManifestReport,
    check_setting,
    mapping_of,
    parse_bbox,
    split_assignments,
)

_WHAT = ("venues", "items", "links", "population", "areas", "bundles", "manifest",
         "osm-venues")


def format_problem(problem: RowProblem) -> str:
    """One stderr line for a problem (``layer venues, row 7, field lat: ...``)."""
    layer, sep, field = problem.field.partition(":")
    prefix = f"layer {layer}, " if sep else ""
    field = field if sep else problem.field
    where = "file" if problem.row == 0 else f"row {problem.row}"
    return f"{prefix}{where}, field {field}: {problem.reason}"


def check_setting_option(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Click callback: check a dataset setting option (``--timezone`` ...); exit 2 if bad."""
    if value is None:
        return None
    try:
        return check_setting(str(param.name), value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


def setting_options(func: Any) -> Any:
    """Add ``--timezone``, ``--calendar`` and ``--country`` (shared with ``geosvc dataset``)."""
    func = click.option("--country", default=None, callback=check_setting_option,
                        metavar="CC", help="Dataset country: ISO 3166 code (e.g. CN, HK); "
                                           "default: keep the stored one (CN).")(func)
    func = click.option("--calendar", default=None, callback=check_setting_option,
                        type=click.Choice(["cn", "none"], case_sensitive=False),
                        help="Dataset holiday calendar: cn (official Chinese calendar) or "
                             "none; default: keep the stored one (cn).")(func)
    return click.option("--timezone", default=None, callback=check_setting_option,
                        metavar="ZONE", help="Dataset time zone (IANA, e.g. Asia/Hong_Kong); "
                                             "default: keep the stored one "
                                             "(Asia/Shanghai).")(func)


def given_settings(**values: Any) -> dict[str, Any]:
    """Return the settings options given on the command line (``--calendar none`` -> None)."""
    ctx = click.get_current_context()
    return {k: v for k, v in values.items()
            if ctx.get_parameter_source(k) is click.core.ParameterSource.COMMANDLINE}


def _mapping(what: str, maps: tuple[str, ...], sets: tuple[str, ...]) -> FieldMap | None:
    """Build the field mapping of ``--map``/``--set`` (exit 2 naming the option if bad)."""
    if not maps and not sets:
        return None
    if what == "manifest":
        msg = "--map and --set do not apply to a manifest (give fields: and set: per layer)"
        raise click.UsageError(msg)
    try:
        return mapping_of(what, fields=split_assignments(maps, "--map"),
                          constants=split_assignments(sets, "--set"),
                          fields_option="--map", constants_option="--set")
    except InvalidParameter as exc:
        raise click.UsageError(exc.detail) from None


def _check_options(what: str, crs: str, encoding: str | None, id_field: str,
                   replace_links: bool, append_population: bool) -> None:
    if replace_links and what != "links":
        msg = "--replace applies only to links"
        raise click.UsageError(msg)
    if append_population and what != "population":
        msg = "--append applies only to population"
        raise click.UsageError(msg)
    if what == "manifest" and (crs.lower() != "wgs84" or encoding or id_field != "code"):
        msg = "--crs, --encoding and --id-field do not apply to a manifest (set them per layer)"
        raise click.UsageError(msg)


def _extent(bbox: str | None, what: str) -> tuple[float, float, float, float] | None:
    """Return the ``--bbox`` extent (population rasters only); exit 2 naming it if bad."""
    if bbox is None:
        return None
    if what != "population":
        msg = "--bbox applies only to population (a .tif raster)"
        raise click.UsageError(msg)
    try:
        return parse_bbox(bbox)
    except GeosvcError as exc:
        raise click.BadParameter(exc.detail, param_hint="--bbox") from None


def _run(request: ImportRequest, file: str) -> ImportReport | ManifestReport:
    """Import; bad rows -> exit 1 listing each, a bad option -> exit 2, else exit 1."""
    try:
        return import_layers(request)
    except ImportRejected as exc:
        for problem in exc.problems:
            click.echo(format_problem(problem), err=True)
        click.echo(f"{file}: {len(exc.problems)} problem(s); nothing was written "
                   "(rows count from 1 = the line after the header)", err=True)
        raise SystemExit(1) from None
    except InvalidParameter as exc:
        if all(p["name"].startswith("--") for p in exc.invalid_params):
            raise click.UsageError(exc.detail) from None
        raise click.ClickException(exc.detail) from None
    except GeosvcError as exc:
        raise click.ClickException(exc.detail) from None


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("what", type=click.Choice(_WHAT))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--db", required=True, envvar="GEOSVC_DB",
              help="Dataset store: a SQLite file (created if missing) or a store URL "
                   "(default: $GEOSVC_DB).")
@click.option("--crs", default="wgs84", show_default=True,
              type=click.Choice(["wgs84", "gcj02", "bd09"], case_sensitive=False),
              help="Coordinate system of the file's lon/lat and geometries.")
@click.option("--dry-run", is_flag=True, help="Validate and count; write nothing (and show "
                                              "the mapping applied, with the first rows).")
@click.option("--encoding", default=None, help="Text encoding of a CSV file "
                                               "(default UTF-8; e.g. gb18030).")
@click.option("--id-field", default="code", show_default=True,
              help="Column holding the code, when it is not called `code`.")
@click.option("--replace", "replace_links", is_flag=True,
              help="links: the file replaces the whole link set of each venue it names.")
@click.option("--append", "append_population", is_flag=True,
              help="population: add the cells instead of replacing the layer.")
@click.option("--map", "maps", multiple=True, metavar="COLUMN=SOURCE",
              help="Take COLUMN from the file's column SOURCE, or from a template of "
                   "columns in braces (\"name={銀行牌子} {sub區}\"); repeatable.")
@click.option("--set", "sets", multiple=True, metavar="COLUMN=VALUE",
              help="Give COLUMN the value VALUE on every row (kind=bank_outlet); "
                   "repeatable.")
@click.option("--bbox", default=None, metavar="W,S,E,N",
              help="population raster (.tif): the WGS-84 extent to read (default: the "
                   "dataset's venues and areas + 5 km, or the whole raster).")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="osm-venues: also write the starter venues to this CSV.")
@click.option("--prepare-cache/--no-prepare-cache", default=True, show_default=True,
              help="After the commit, write the new revision's snapshot cache "
                   "(GEOSVC_CACHE_DIR/snapshots; stores of >= "
                   "GEOSVC_SNAPSHOT_CACHE_MIN_VENUES venues; smaller ones: nothing), so "
                   "the next load maps arrays instead of reading every row.  A running "
                   "server reloading meanwhile waits for it and maps the same files.")
@click.option("--cache-dir", default=None, type=click.Path(file_okay=False, path_type=str),
              help="Base directory of the snapshot cache the import prepares (give the "
                   "server's `geosvc serve --cache-dir`; default: settings cache_dir, "
                   "$GEOSVC_CACHE_DIR or .geosvc-cache).")
@setting_options
def command(what: str, file: str, db: str, crs: str, dry_run: bool, encoding: str | None,
            id_field: str, replace_links: bool, append_population: bool,
            maps: tuple[str, ...], sets: tuple[str, ...], bbox: str | None,
            out: str | None, prepare_cache: bool, cache_dir: str | None,
            timezone: str | None, calendar: str | None, country: str | None) -> None:
    """Import FILE (CSV, GeoJSON or .xlsx) into the dataset, all rows or none.

    WHAT is venues, items, links, population, areas or bundles (import venues
    and items before links, items before bundles), or `manifest` for a layers
    manifest (YAML) imported in one transaction.  Rows are numbered from 1 =
    the line after the header (the first feature of a GeoJSON).  `osm-venues`
    builds starter venues from an OSM extract (.osm.pbf, .osm, .osm.xml,
    .gz/.bz2): halls, bank outlets and kiosks coded OSM-N123, upserted by code.
    """
    if what == "osm-venues":
        if maps or sets or any(v is not None for v in (bbox, timezone, calendar, country)):
            msg = ("--map, --set, --bbox, --timezone, --calendar and --country do not "
                   "apply to osm-venues")
            raise click.UsageError(msg)
        _osm_venues(file, db=db, dry_run=dry_run, out=out, crs=crs, encoding=encoding,
                    id_field=id_field, replace_links=replace_links,
                    append_population=append_population)
        if prepare_cache and not dry_run:
            _prepare_cache(db, cache_dir)
        return
    if out is not None:
        msg = "--out applies only to osm-venues"
        raise click.UsageError(msg)
    _check_options(what, crs, encoding, id_field, replace_links, append_population)
    mapping = _mapping(what, maps, sets)
    if mapping is not None and id_field != "code" and any(
            r.target == "code" for r in mapping.rules):
        msg = "--id-field and --map code=... cannot be used together (keep --map)"
        raise click.UsageError(msg)
    settings = given_settings(timezone=timezone, calendar=calendar, country=country)
    request = ImportRequest(db=db, what=what, path=file, crs=crs.lower(), dry_run=dry_run,
                            id_field=id_field, replace_links=replace_links,
                            append_population=append_population, encoding=encoding,
                            mapping=mapping, settings=settings, bbox=_extent(bbox, what))
    report = _run(request, file)
    reports = report.reports if isinstance(report, ManifestReport) else (report,)
    for rep in reports:
        if rep.ignored_columns:
            click.echo(f"{rep.what}: ignored unknown column(s) "
                       f"{', '.join(rep.ignored_columns)}", err=True)
        for mapped in rep.mappings:
            if dry_run and mapped.mapped:
                click.echo("\n".join(mapped.lines()))
        for warning in rep.warnings:
            click.echo(f"warning: {rep.what}: {warning}", err=True)
    click.echo(report.summary())
    if settings:
        shown = ", ".join(f"{k} {v if v is not None else 'none'}" for k, v in settings.items())
        click.echo(f"dataset settings: {shown}" + (" (dry run)" if dry_run else ""))
    if prepare_cache and not dry_run:
        _prepare_cache(db, cache_dir)


def _prepare_cache(db: str, cache_dir: str | None) -> None:
    """Write the committed revision's snapshot cache; say so on stderr when it did."""
    from geosvc.app.dataset import prepare_snapshot  # lazy: index and store readers

    try:
        given = {} if cache_dir is None else {"cache_dir": cache_dir}
        settings = Settings.load(overrides=given)
        done = prepare_snapshot(db, settings)
    except GeosvcError as exc:  # the import is committed: say why, do not fail it
        click.echo(f"warning: snapshot cache not prepared: {exc.detail}", err=True)
        return
    if done.where is not None:
        click.echo(f"snapshot cache: revision {done.revision} ({done.venues:,} venues) "
                   f"prepared in {done.seconds:.1f} s under {done.where.parent}; a server "
                   "with the same cache_dir maps it on its next load "
                   "(--no-prepare-cache: skip)", err=True)


def _osm_venues(extract: str, *, db: str, dry_run: bool, out: str | None, crs: str,
                encoding: str | None, id_field: str, replace_links: bool,
                append_population: bool) -> None:
    """``geosvc import osm-venues EXTRACT``: starter venues from an OSM extract."""
    if (crs.lower() != "wgs84" or encoding or id_field != "code" or replace_links
            or append_population):
        msg = ("--crs, --encoding, --id-field, --replace and --append do not apply to "
               "osm-venues (an OSM extract is WGS-84 and coded by OSM id)")
        raise click.UsageError(msg)
    try:
        report = import_osm_venues(OsmVenuesRequest(db=db, extract=extract,
                                                    dry_run=dry_run, out=out))
    except ImportRejected as exc:
        for problem in exc.problems:
            click.echo(format_problem(problem), err=True)
        click.echo(f"{extract}: {len(exc.problems)} problem(s); nothing was written", err=True)
        raise SystemExit(1) from None
    except GeosvcError as exc:
        raise click.ClickException(exc.detail) from None
    if report.hours_invalid:
        bad = report.hours_invalid
        shown = "; ".join(bad[:3]) + (f" (and {len(bad) - 3} more)" if len(bad) > 3 else "")
        click.echo(f"warning: {len(bad)} invalid opening_hours tag(s) "
                   f"dropped, hours left unknown: {shown}", err=True)
    if report.claimed:
        click.echo(f"osm-venues: {len(report.claimed)} OSM object(s) skipped: a venue "
                   "with another code carries the same source", err=True)
    if report.duplicates:
        click.echo("warning: starter venue(s) duplicated by a bureau venue with the same "
                   f"source: {', '.join(report.duplicates)}", err=True)
    if report.kept:
        click.echo(f"osm-venues: {len(report.kept)} starter code(s) left as another file "
                   "set them (their source changed)", err=True)
    if report.out:
        click.echo(f"osm-venues: {report.rows} rows written to {report.out}", err=True)
    click.echo(report.summary())
