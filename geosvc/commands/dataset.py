"""``geosvc dataset show|set``: a dataset's settings (name, time zone, calendar, country).

::

    geosvc dataset show --db FILE [--json]
    geosvc dataset set --db FILE [--name TEXT] [--timezone ZONE] [--calendar cn|none]
                       [--country CC] [--dry-run]

``set`` changes only the settings given (one transaction; the revision grows
when something changed, so a running server reloads).  A bad value exits 2
naming its option; a missing or unreadable store exits 1.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from geosvc.app.importing import change_settings, read_settings
from geosvc.commands.importing import check_setting_option, given_settings, setting_options
from geosvc.errors import GeosvcError

if TYPE_CHECKING:
    from geosvc.app.importing import DatasetSettings

_DB_HELP = "Dataset store: a SQLite file or a store URL (default: $GEOSVC_DB)."


def _lines(settings: DatasetSettings) -> list[str]:
    info = settings.info
    return [f"name: {info.name}", f"timezone: {info.timezone}",
            f"calendar: {info.calendar or 'none'}", f"country: {info.country}",
            f"revision: {settings.revision}"]


def _as_json(settings: DatasetSettings) -> str:
    info = settings.info
    return json.dumps({"name": info.name, "timezone": info.timezone, "calendar": info.calendar,
                       "country": info.country, "revision": settings.revision},
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
