"""``geosvc keys create|list|revoke|audit``: API keys of a dataset and its audit log.

::

    geosvc keys create --db FILE --name NAME --scope import [--scope venue:CODE]... [--json]
    geosvc keys list --db FILE [--json]
    geosvc keys revoke ID --db FILE
    geosvc keys audit --db FILE [--limit N] [--json]

``create`` prints the key (``gsk_<id>_<secret>``) ONCE on stdout: the store
keeps only a salted hash, so a lost key is revoked and replaced, never
recovered.  ``list`` never shows secrets.  A bad ``--scope`` or ``--name``
exits 2 naming it; a missing store or an unknown id exits 1.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from geosvc.app.access import create_key, list_keys, read_audit, revoke_key
from geosvc.errors import GeosvcError, InvalidParameter

if TYPE_CHECKING:
    from geosvc.store.access import ApiKey

_DB_HELP = "Dataset store: a SQLite file or a store URL (default: $GEOSVC_DB; must exist)."


def _key_line(key: ApiKey) -> str:
    state = f"revoked {key.revoked_at}" if key.revoked_at else "active"
    used = key.last_used_at or "never"
    return (f"{key.id}  {key.name}  scopes={','.join(key.scopes)}  created {key.created_at}  "
            f"last used {used}  {state}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def command() -> None:
    """Manage the API keys that may write to a dataset, and read its audit log."""


@command.command("create")
@click.option("--db", required=True, envvar="GEOSVC_DB", help=_DB_HELP)
@click.option("--name", required=True, help="Who holds the key (a person, a system).")
@click.option("--scope", "scopes", multiple=True, required=True, metavar="SCOPE",
              help="admin, import or venue:<code>; repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def create(db: str, name: str, scopes: tuple[str, ...], as_json: bool) -> None:
    """Create a key and print it once (only its hash is stored)."""
    try:
        new = create_key(db, name, scopes)
    except InvalidParameter as exc:
        raise click.BadParameter(exc.detail, param_hint=f"--{exc.invalid_params[0]['name']}"
                                 ) from None
    except GeosvcError as exc:
        raise click.ClickException(exc.detail) from None
    if as_json:
        click.echo(json.dumps({**new.key.as_dict(), "key": new.token}, ensure_ascii=False))
        return
    click.echo(new.token)
    click.echo(f"key {new.key.id} ({new.key.name}; scopes {', '.join(new.key.scopes)}) "
               "created: give it to its holder now, it cannot be shown again", err=True)


@command.command("list")
@click.option("--db", required=True, envvar="GEOSVC_DB", help=_DB_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list.")
def list_(db: str, as_json: bool) -> None:
    """List the keys (id, name, scopes, times; never a secret)."""
    try:
        keys = list_keys(db)
    except GeosvcError as exc:
        raise click.ClickException(exc.detail) from None
    if as_json:
        click.echo(json.dumps([k.as_dict() for k in keys], ensure_ascii=False))
    else:
        for key in keys:
            click.echo(_key_line(key))


@command.command("revoke")
@click.argument("key_id", metavar="ID")
@click.option("--db", required=True, envvar="GEOSVC_DB", help=_DB_HELP)
def revoke(key_id: str, db: str) -> None:
    """Revoke key ID: it stops working at once (kept in the list and the audit log)."""
    try:
        key = revoke_key(db, key_id)
    except GeosvcError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(_key_line(key))


@command.command("audit")
@click.option("--db", required=True, envvar="GEOSVC_DB", help=_DB_HELP)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000),
              help="Newest entries to show.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per line.")
def audit(db: str, limit: int, as_json: bool) -> None:
    """Print the audit log of writes, newest first: who, when, what, before/after."""
    try:
        entries = read_audit(db, limit=limit)
    except GeosvcError as exc:
        raise click.ClickException(exc.detail) from None
    for entry in entries:
        if as_json:
            click.echo(json.dumps(entry.as_dict(), ensure_ascii=False, sort_keys=True))
            continue
        who = f"{entry.key_name} ({entry.key_id})" if entry.key_id else entry.key_name
        what = entry.action + (f" {entry.layer}" if entry.layer else "")
        if entry.action.startswith("key.") and "key_id" in entry.summary:
            what += f" {entry.summary['key_id']} ({entry.summary.get('name', '')})"
        rows = f", {entry.rows} rows" if entry.rows is not None else ""
        revs = (f", revision {entry.revision_before} -> {entry.revision_after}"
                if entry.revision_before is not None else "")
        tables = entry.summary.get("tables")
        changed = ""
        if isinstance(tables, dict):
            changed = "; " + ", ".join(
                f"{t}: +{c['created']} ~{c['updated']} -{c['deleted']}"
                for t, c in tables.items()) if tables else "; no change"
        click.echo(f"{entry.at}  {who}  {entry.endpoint}: {what}{rows}{revs}{changed}")
