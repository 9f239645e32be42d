#!/usr/bin/env python
"""Write the schema-v1 store fixtures of ``tests/data/store/`` with the store code of schema v1.

The fixtures are history: a database as geosvc left it before numbered
migrations existed, which the migration tests open with the current code.
They were made with the code of commit 215d43f (the commit that adds this
script; its store code is the one of schema v1): ``git worktree add /tmp/v1
215d43f`` and run ``python scripts/make_v1_fixture.py --out
<repo>/tests/data/store`` from there.  The script refuses to write anything when the
code it runs creates a schema other than version 1, so it cannot overwrite
the fixtures with a newer schema by mistake.

* ``v1.sqlite``: :func:`tests.store.v1_fixture.batches` written with
  ``open_store(path)``, closed (WAL checkpointed: one file).
* ``v1_postgis.sql`` (needs the PostgreSQL + PostGIS Debian packages; skip with
  ``--no-postgis``): the same batches written with the PostGIS store into a
  throw-away server (``tests/store/postgis_server.py``), then dumped as the v1
  DDL the code ran, followed by one ``INSERT`` per row in insertion order
  (geometries as hex EWKB, floats exact).

Usage::

    python scripts/make_v1_fixture.py [--out tests/data/store] [--no-postgis]
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout: geosvc and tests import from here

from geosvc.store import open_store  # noqa: E402
from tests.store.v1_fixture import batches  # noqa: E402

#: Tables in the order they are dumped (dependencies first), with their order column.
DUMP_ORDER = (("meta", "key"), ("items", "seq"), ("venues", "seq"), ("links", "seq"),
              ("areas", "seq"), ("population", "id"))


def _commit() -> str:
    out = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                         capture_output=True, text=True, check=False).stdout.strip()
    return out or "unknown"


def write_sqlite(path: Path) -> None:
    """Write the fixture batches into a new SQLite file and check it is schema v1."""
    if path.exists():
        path.unlink()
    with open_store(str(path)) as store:
        for batch in batches():
            store.write(batch)
    conn = sqlite3.connect(path)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()
    if version != 1:
        path.unlink()
        msg = (f"this code writes schema version {version}, not 1; run the script at the "
               "commit of schema v1 (see its docstring)")
        raise click.ClickException(msg)


def write_postgis(path: Path) -> None:
    """Write the batches with the PostGIS store of this code and dump them as SQL."""
    import psycopg  # optional: only for the PostGIS fixture
    from psycopg import sql

    from geosvc.store import _postgis_schema
    from tests.store.postgis_server import start_server

    server = start_server("geosvc_fixture")
    try:
        url = server.url_for("v1")
        with open_store(url) as store:
            for batch in batches():
                store.write(batch)
        with psycopg.connect(server.url) as conn:
            row = conn.execute(
                "SELECT value FROM v1.meta WHERE key = 'schema_version'").fetchone()
            version = row[0] if row else None
            if version != "1":
                msg = (f"this code writes schema version {version}, not 1; run the script "
                       "at the commit of schema v1 (see its docstring)")
                raise click.ClickException(msg)
            lines = [
                "-- geosvc PostGIS store, schema version 1: the DDL the v1 code ran and every",
                f"-- row it stored.  Written by scripts/make_v1_fixture.py at {_commit()}.",
                "-- Load with search_path = <target schema>, public "
                "(tests/store/v1_fixture.py).",
                # DDL exists in the v1 code this script runs on (see the docstring)
                _postgis_schema.DDL.strip(),  # type: ignore[attr-defined]
            ]
            for table, order in DUMP_ORDER:
                cols = [r[0] for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                    "'v1' AND table_name = %s AND is_identity = 'NO' ORDER BY ordinal_position",
                    (table,))]
                select = sql.SQL("SELECT {} FROM v1.{} ORDER BY {}").format(
                    sql.SQL(", ").join(map(sql.Identifier, cols)), sql.Identifier(table),
                    sql.Identifier(order))
                for row in conn.execute(select):
                    values = sql.SQL(", ").join(map(sql.Literal, row)).as_string(conn)
                    lines.append(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({values});")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    finally:
        server.stop()


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=ROOT / "tests" / "data" / "store", show_default=True)
@click.option("--no-postgis", is_flag=True, help="Only write the SQLite fixture.")
def main(out_dir: Path, no_postgis: bool) -> None:
    """Write v1.sqlite (and v1_postgis.sql) into OUT_DIR."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_sqlite(out_dir / "v1.sqlite")
    click.echo(f"wrote {out_dir / 'v1.sqlite'}")
    if not no_postgis:
        write_postgis(out_dir / "v1_postgis.sql")
        click.echo(f"wrote {out_dir / 'v1_postgis.sql'}")


if __name__ == "__main__":
    main()
