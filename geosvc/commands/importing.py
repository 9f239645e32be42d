"""``geosvc import``: validate a file and write all its rows, or none.

::

    geosvc import {venues|items|links|population|areas} FILE --db FILE
                  [--crs wgs84|gcj02|bd09] [--dry-run] [--encoding ENC]
                  [--replace] [--append] [--id-field COLUMN]
    geosvc import population FILE.tif --db FILE [--bbox W,S,E,N] [--append] [--dry-run]
    geosvc import manifest FILE.yaml --db FILE [--dry-run]

Exit 0 with a one-line summary per table on stdout when every row was taken;
exit 1 with one line per problem on stderr (``row 7, field lat: must be
between -90 and 90 (got 91.2)``) and a last line saying nothing was written.
Other errors (missing file, bad option, unwritable database) exit 1 with one
readable line.  ``--db`` is created when missing.
"""

from __future__ import annotations

import click

from geosvc.app.importing import ImportRequest, import_layers
from geosvc.errors import GeosvcError, ImportRejected, RowProblem
from geosvc.importer import ManifestReport, parse_bbox

_WHAT = ("venues", "items", "links", "population", "areas", "manifest")


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
@click.option("--bbox", default=None, metavar="W,S,E,N",
              help="population raster (.tif): the WGS-84 extent to read (default: the "
                   "dataset's venues and areas + 5 km, or the whole raster).")
def command(what: str, file: str, db: str, crs: str, dry_run: bool, encoding: str | None,
            id_field: str, replace_links: bool, append_population: bool,
            bbox: str | None) -> None:
    """Import FILE (CSV, GeoJSON or .xlsx) into the dataset, all rows or none.

    WHAT is venues, items, links, population or areas (import venues and
    items before links), or `manifest` for a layers manifest (YAML) imported
    in one transaction.  Rows are numbered from 1 = the line after the header
    (the first feature of a GeoJSON).  Population may also be a GeoTIFF
    (.tif): its cells inside the extent become points at the cell centres.
    """
    if replace_links and what != "links":
        msg = "--replace applies only to links"
        raise click.UsageError(msg)
    if append_population and what != "population":
        msg = "--append applies only to population"
        raise click.UsageError(msg)
    if what == "manifest" and (crs.lower() != "wgs84" or encoding or id_field != "code"):
        msg = "--crs, --encoding and --id-field do not apply to a manifest (set them per layer)"
        raise click.UsageError(msg)

    if bbox is not None and what != "population":
        msg = "--bbox applies only to population (a .tif raster)"
        raise click.UsageError(msg)
    try:
        extent = None if bbox is None else parse_bbox(bbox)
    except GeosvcError as exc:
        raise click.BadParameter(exc.detail, param_hint="--bbox") from None
    request = ImportRequest(db=db, what=what, path=file, crs=crs.lower(), dry_run=dry_run,
                            id_field=id_field, replace_links=replace_links,
                            append_population=append_population, encoding=encoding,
                            bbox=extent)
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
