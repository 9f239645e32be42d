"""The ``--modes`` option of the verbs that load road networks, from the modes registry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from geosvc.modes import network_modes

__all__ = ["check_modes", "modes_option"]


def modes_option(help_text: str = "Travel modes to load from the OSM extract") -> Callable[
        [Callable[..., Any]], Callable[..., Any]]:
    """Return the ``--modes`` click option: a comma list of the network modes."""
    names = ",".join(network_modes())
    return click.option("--modes", default=names, show_default=True,
                        help=f"{help_text} (comma list of {', '.join(network_modes())}).")


def check_modes(modes: str) -> list[str]:
    """Return the modes of ``--modes``; refuse one the registry has no network for."""
    wanted = [m.strip() for m in modes.split(",") if m.strip()]
    bad = sorted(set(wanted) - set(network_modes()))
    if bad:
        msg = (f"`--modes` has unknown modes {', '.join(bad)}; use "
               f"{','.join(network_modes())}")
        raise click.BadParameter(msg, param_hint="--modes")
    return wanted
