"""`geosvc network` (placeholder until its issue lands)."""

from __future__ import annotations

import click


@click.command()
def command() -> None:
    """Not available yet."""
    msg = "this command is not implemented yet"
    raise click.ClickException(msg)
