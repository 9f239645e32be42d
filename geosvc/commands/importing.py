"""``geosvc import``: validate a file and write all its rows, or none.

::

    geosvc import {venues|items|links|population|areas} FILE --db FILE
                  [--crs wgs84|gcj02|bd09] [--dry-run] [--encoding ENC]
                  [--replace] [--append] [--id-field COLUMN]
    geosvc import manifest FILE.yaml --db FILE [--dry-run]
    geosvc import osm-venues EXTRACT --db FILE [--dry-run] [--out venues.csv]

Exit 0 with a one-line summary per table on stdout when every row was taken;
exit 1 with one line per problem on stderr (``row 7, field lat: must be
between -90 and 90 (got 91.2)``) and a last line saying nothing was written.
Other errors (missing file, bad option, unwritable database) exit 1 with one
readable line.  ``--db`` is created when missing.
"""

from __future__ import annotations

import click

from geosvc.app.importing import (
    ImportRequest,
    OsmVenuesRequest,
    import_layers,
    import_osm_venues,
)
from geosvc.errors import GeosvcError, ImportRejected, RowProblem
from geosvc.importer import ManifestReport

_WHAT = ("venues", "items", "links", "population", "areas", "manifest", "osm-venues")


def format_problem(problem: RowProblem) -> str:
    """One stderr line for a problem (``layer venues, row 7, field lat: ...``)."""
    layer, sep, field = problem.field.partition(":")
    prefix = f"layer {layer}, " if sep else ""
    field = field if sep else problem.field
    where = "file" if problem.row == 0 else f"row {problem.row}"
    return f"{prefix}{where}, field {field}: {problem.reason}"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("what", type=click.Choice(_WHAT))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--db", required=True, envvar="GEOSVC_DB",
              help="Dataset store: a SQLite file (created if missing) or a store URL "
                   "(default: $GEOSVC_DB).")
@click.option("--crs", default="wgs84", show_default=True,
              type=click.Choice(["wgs84", "gcj02", "bd09"], case_sensitive=False),
              help="Coordinate system of the file's lon/lat and geometries.")
@click.option("--dry-run", is_flag=True, help="Validate and count; write nothing.")
@click.option("--encoding", default=None, help="Text encoding of a CSV file "
                                               "(default UTF-8; e.g. gb18030).")
@click.option("--id-field", default="code", show_default=True,
              help="Column holding the code, when it is not called `code`.")
@click.option("--replace", "replace_links", is_flag=True,
              help="links: the file replaces the whole link set of each venue it names.")
@click.option("--append", "append_population", is_flag=True,
              help="population: add the cells instead of replacing the layer.")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="osm-venues: also write the starter venues to this CSV.")
def command(what: str, file: str, db: str, crs: str, dry_run: bool, encoding: str | None,
            id_field: str, replace_links: bool, append_population: bool,
            out: str | None) -> None:
    """Import FILE (CSV, GeoJSON or .xlsx) into the dataset, all rows or none.

    WHAT is venues, items, links, population or areas (import venues and
    items before links), or `manifest` for a layers manifest (YAML) imported
    in one transaction.  Rows are numbered from 1 = the line after the header
    (the first feature of a GeoJSON).  `osm-venues` builds starter venues from
    an OSM extract (.osm.pbf, .osm, .osm.xml, .gz/.bz2): halls, bank outlets
    and kiosks coded OSM-N123, upserted by code.
    """
    if what == "osm-venues":
        _osm_venues(file, db=db, dry_run=dry_run, out=out, crs=crs, encoding=encoding,
                    id_field=id_field, replace_links=replace_links,
                    append_population=append_population)
        return
    if out is not None:
        msg = "--out applies only to osm-venues"
        raise click.UsageError(msg)
    if replace_links and what != "links":
        msg = "--replace applies only to links"
        raise click.UsageError(msg)
    if append_population and what != "population":
        msg = "--append applies only to population"
        raise click.UsageError(msg)
    if what == "manifest" and (crs.lower() != "wgs84" or encoding or id_field != "code"):
        msg = "--crs, --encoding and --id-field do not apply to a manifest (set them per layer)"
        raise click.UsageError(msg)

    request = ImportRequest(db=db, what=what, path=file, crs=crs.lower(), dry_run=dry_run,
                            id_field=id_field, replace_links=replace_links,
                            append_population=append_population, encoding=encoding)
    try:
        report = import_layers(request)
    except ImportRejected as exc:
        for problem in exc.problems:
            click.echo(format_problem(problem), err=True)
        click.echo(f"{file}: {len(exc.problems)} problem(s); nothing was written "
                   "(rows count from 1 = the line after the header)", err=True)
        raise SystemExit(1) from None
    except GeosvcError as exc:
        raise click.ClickException(exc.detail) from None
    reports = report.reports if isinstance(report, ManifestReport) else (report,)
    for rep in reports:
        if rep.ignored_columns:
            click.echo(f"{rep.what}: ignored unknown column(s) "
                       f"{', '.join(rep.ignored_columns)}", err=True)
    click.echo(report.summary())


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
