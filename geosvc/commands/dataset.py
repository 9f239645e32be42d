"""``geosvc dataset show|set|holidays``: a dataset's settings, its announced holidays.

::

    geosvc dataset show --db FILE [--json]
    geosvc dataset set --db FILE [--name TEXT] [--timezone ZONE] [--calendar cn|none]
                       [--country CC] [--dry-run]
    geosvc dataset holidays --db FILE (DAYS.csv | --clear) [--encoding ENC] [--dry-run]

``set`` changes only the settings given (one transaction; the revision grows
when something changed, so a running server reloads).  A bad value exits 2
naming its option; a missing or unreadable store exits 1.  ``holidays``
stores the days of a State Council notice (a table of ``date, kind``:
:mod:`geosvc.importer._holidays`) with the dataset, for the years
``chinese-calendar`` does not have yet; every bad row is listed (exit 1) and
nothing is written.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from geosvc.app.importing import change_settings, read_settings, set_announced_holidays
from geosvc.commands.importing import check_setting_option, given_settings, setting_options
from geosvc.errors import GeosvcError, ImportRejected
from geosvc.hours import ANNOUNCED_KEY, announced_days, calendar_of

if TYPE_CHECKING:
    from geosvc.app.importing import DatasetSettings

_DB_HELP = "Dataset store: a SQLite file or a store URL (default: $GEOSVC_DB)."


def _announced(settings: DatasetSettings) -> dict[str, Any] | None:
    """Return the announced days' summary (years, counts); None without any or unreadable."""
    text = settings.info.extra.get(ANNOUNCED_KEY)
    try:
        holidays, workdays = announced_days(text)
    except GeosvcError:
        return None
    if not holidays and not workdays:
        return None
    years = sorted({d.year for d in (*holidays, *workdays)})
    return {"years": years, "holidays": len(holidays), "workdays": len(workdays)}


def _calendar_ends(settings: DatasetSettings) -> str | None:
    cal = calendar_of(settings.info)
    end = None if cal is None else cal.last_day
    return None if end is None else end.isoformat()


def _lines(settings: DatasetSettings) -> list[str]:
    info = settings.info
    out = [f"name: {info.name}", f"timezone: {info.timezone}",
           f"calendar: {info.calendar or 'none'}", f"country: {info.country}"]
    ann = _announced(settings)
    if ann is not None:
        out.append(f"announced holidays: {', '.join(map(str, ann['years']))} "
                   f"({ann['holidays']} days off, {ann['workdays']} make-up working days)")
    ends = _calendar_ends(settings)
    if ends is not None:
        out.append(f"holiday data ends: {ends}")
    return [*out, f"revision: {settings.revision}"]


def _as_json(settings: DatasetSettings) -> str:
    info = settings.info
    return json.dumps({"name": info.name, "timezone": info.timezone, "calendar": info.calendar,
                       "country": info.country, "announced_holidays": _announced(settings),
                       "calendar_ends": _calendar_ends(settings),
                       "revision": settings.revision},
                      ensure_ascii=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def command() -> None:
    """Show or change a dataset's settings: name, time zone, holiday calendar, country."""


@command.command("show")
@click.option("--db", required=True, envvar="GEOSVC_DB", help=_DB_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def show(db: str, as_json: bool) -> None:
    """Print the dataset's settings and revision."""
    try:
        settings = read_settings(db)
    except GeosvcError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(_as_json(settings) if as_json else "\n".join(_lines(settings)))


@command.command("set")
@click.option("--db", required=True, envvar="GEOSVC_DB", help=_DB_HELP)
@click.option("--name", default=None, callback=check_setting_option,
              help="Dataset name (shown by /healthz, the OGC landing page, maps).")
@setting_options
@click.option("--dry-run", is_flag=True, help="Check and show the result; write nothing.")
def set_(db: str, name: str | None, timezone: str | None, calendar: str | None,
         country: str | None, dry_run: bool) -> None:
    """Change the settings given; keep the others."""
    changes = given_settings(name=name, timezone=timezone, calendar=calendar, country=country)
    if not changes:
        msg = "give at least one of --name, --timezone, --calendar, --country"
        raise click.UsageError(msg)
    try:
        settings = change_settings(db, changes, dry_run=dry_run)
    except GeosvcError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo("\n".join(_lines(settings)))
    state = "changed" if settings.changed else "unchanged"
    click.echo(f"settings {state}" + (" (dry run, nothing written)" if dry_run else ""))


@command.command("holidays")
@click.option("--db", required=True, envvar="GEOSVC_DB", help=_DB_HELP)
@click.argument("table", required=False, type=click.Path(dir_okay=False))
@click.option("--clear", is_flag=True, help="Remove the dataset's announced days.")
@click.option("--encoding", default=None,
              help="Text encoding of a CSV table (default UTF-8; e.g. gb18030).")
@click.option("--dry-run", is_flag=True, help="Check and show the result; write nothing.")
def holidays(db: str, table: str | None, clear: bool, encoding: str | None,
             dry_run: bool) -> None:
    """Store a year's announced holidays and make-up working days (a date, kind table).

    For years the installed chinese-calendar does not have yet: TABLE lists
    every day off (放假) and every make-up working day (调休上班) of the
    State Council's notice; the years it mentions replace the package's.
    """
    if (table is None) == (not clear):
        msg = "give a TABLE of days or --clear (not both)"
        raise click.UsageError(msg)
    try:
        settings = set_announced_holidays(db, table, encoding=encoding, dry_run=dry_run)
    except ImportRejected as exc:
        lines = [exc.detail, *(str(p) for p in exc.problems)]
        raise click.ClickException("\n".join(lines)) from None
    except GeosvcError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo("\n".join(_lines(settings)))
    state = "changed" if settings.changed else "unchanged"
    dry = " (dry run, nothing written)" if dry_run else ""
    click.echo(f"announced holidays {state}{dry}")
