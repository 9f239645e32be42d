"""``geosvc doctor --db FILE [--osm FILE] [--modes walk,...] [--json]``: check a dataset.

Loads the dataset as ``geosvc serve`` would (the networks of ``--modes``
from ``--osm``, every travel engine built) and prints one line per finding
(:mod:`geosvc.app.doctor`): what the dataset lacks or gets wrong, and how to
fix it.  ``--json`` prints the report as one JSON object (the ``doctor``
member of ``GET /healthz?details=true``).

Exit status: 0 when no finding is an error (warnings and infos allowed),
1 when one is (or the store cannot be read), 2 for a bad option.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from geosvc.commands._modes import check_modes, modes_option
from geosvc.errors import GeosvcError

if TYPE_CHECKING:
    from geosvc.app.doctor import DoctorReport

#: Width of the severity column of the text report.
_LABEL = 8


def render_text(report: DoctorReport) -> str:
    """Return the report as text: a headline, then per finding its line, fix and examples."""
    modes = ", ".join(report.modes) or "none"
    lines = [f"dataset {report.dataset!r} (revision {report.revision}; networks: {modes}): "
             f"{report.count('error')} error(s), {report.count('warning')} warning(s), "
             f"{report.count('info')} note(s)"]
    pad = " " * (_LABEL + 1)
    for f in report.findings:
        count = f" ({f.count})" if f.count else ""
        lines.append(f"{f.severity:<{_LABEL}} {f.code}{count}: {f.message}")
        lines.append(f"{pad}fix: {f.fix}")
        if f.examples:
            lines.append(f"{pad}e.g. " + "; ".join(f.examples))
    if not report.findings:
        lines.append("no problem found")
    return "\n".join(lines)


@click.command()
@click.option("--db", required=True, envvar="GEOSVC_DB",
              help="Dataset store: a SQLite file or a store URL (default: $GEOSVC_DB).")
@click.option("--osm", default=None, type=click.Path(dir_okay=False, path_type=str),
              help="OSM extract of the road networks (as `geosvc serve --osm`); without "
                   "one, only mode straight works and no venue is checked against roads.")
@modes_option("Travel modes to load from --osm and check")
@click.option("--cache-dir", default=None, type=click.Path(file_okay=False, path_type=str),
              help="Directory of cached networks (default: settings cache_dir).")
@click.option("--config", "config_file", default=None, type=click.Path(dir_okay=False),
              help="Settings file (YAML/JSON); GEOSVC_* variables apply too.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the report as one JSON object.")
def command(db: str, osm: str | None, modes: str, cache_dir: str | None,
            config_file: str | None, as_json: bool) -> None:
    """Check a dataset: missing layers and networks, misplaced venues, links, calendar.

    Exit 0 when nothing is an error, 1 otherwise.
    """
    from geosvc.app.doctor import (
        diagnose_dataset,  # lazy: verb engine (fast CLI start)
    )
    from geosvc.config import (
        Settings,  # lazy: verb engine (fast CLI start)
    )

    wanted = check_modes(modes)
    overrides: dict[str, object] = {"db": db, "modes": ",".join(wanted)}
    for name, value in (("osm", osm), ("cache_dir", cache_dir)):
        if value is not None:
            overrides[name] = value
    try:
        settings = Settings.load(file=config_file, overrides=overrides)
        report = diagnose_dataset(settings)
    except GeosvcError as exc:
        raise click.ClickException(exc.detail) from exc
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(render_text(report))
    click.get_current_context().exit(0 if report.ok else 1)
