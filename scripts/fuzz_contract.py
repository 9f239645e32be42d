#!/usr/bin/env python
"""Fuzz the demo city's HTTP API against its own ``/openapi.json`` (issue 11, item 7).

The longer run of tests/web/test_contract_fuzz.py: schemathesis with every
check, the examples, coverage and fuzzing phases (``--stateful`` adds the
stateful phase), over ``geosvc.web:create_app()`` on the demo city with its
walking network, in-process (WSGI).  Prints the cases run, the failures by
check (with the first failing requests) and the time; exits 1 on a failure.

Usage::

    python scripts/fuzz_contract.py [--examples 200] [--seed 7] [--stateful]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

# the harness is the test suite's (tests/web/_contract.py): import this checkout's
sys.path[:0] = [str(Path(__file__).resolve().parents[1])]


@click.command()
@click.option("--examples", default=200, show_default=True,
              help="Examples per operation and phase (coverage, plans: a tenth; "
                   "isochrones, maps: a quarter).")
@click.option("--seed", type=int, default=None,
              help="Random seed; without it generation is deterministic.")
@click.option("--stateful/--no-stateful", default=False, show_default=True,
              help="Also run the stateful phase.")
def main(examples: int, seed: int | None, stateful: bool) -> None:
    """Run schemathesis with every check over the demo city's API."""
    import geosvc.demo  # lazy: after the checkout is on sys.path
    from geosvc.web import create_app  # lazy: after the checkout is on sys.path
    from tests.web._contract import contract_schema, run_contract  # lazy: likewise

    with tempfile.TemporaryDirectory(prefix="geosvc-fuzz-") as tmp:
        db = geosvc.demo.ensure_demo_db(Path(tmp) / "demo.sqlite")
        app = create_app({"TESTING": True, "db": str(db),
                          "osm": str(geosvc.demo.demo_osm_path()), "modes": "walk",
                          "cache_dir": str(Path(tmp) / "cache")})
        few, some = max(2, examples // 10), max(2, examples // 4)
        per_path = {"/api/v1/coverage": few, "/api/v1/plans": few,
                    "/api/v1/isochrones": some, "/map": some, "/embed": some}
        phases = ("examples", "coverage", "fuzzing", *(("stateful",) if stateful else ()))
        schema = contract_schema(app, examples=per_path, default_examples=examples,
                                 phases=phases, seed=seed)
        outcome = run_contract(schema)
    click.echo(outcome.report())
    for label, n in sorted(outcome.by_operation.items()):
        click.echo(f"  {n:6d}  {label}")
    if outcome.failures or outcome.errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
