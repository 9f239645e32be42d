"""The ``geosvc`` command line (see docs/api.md, "Command line").

Each verb lives in its own module under :mod:`geosvc.commands` and exposes a
click command named ``command``; this module only assembles the group.
"""

from __future__ import annotations

import importlib

import click

from geosvc import __version__

#: module under geosvc.commands -> verb
_COMMANDS = {
    "demo": "demo",
    "serve": "serve",
    "importing": "import",
    "dataset": "dataset",
    "doctor": "doctor",
    "network": "network",
    "coverage": "coverage",
    "plan": "plan",
    "batch": "batch",
    "province": "province",
    "keys": "keys",
}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="geosvc")
def main() -> None:
    """Government-service map and locator: halls, bank outlets, 24/7 kiosks."""


for _module, _verb in _COMMANDS.items():
    _cmd = importlib.import_module(f"geosvc.commands.{_module}").command
    main.add_command(_cmd, name=_verb)
