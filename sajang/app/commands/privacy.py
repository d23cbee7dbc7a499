"""`sajang privacy export|forget|purge`, `sajang backup`, `sajang restore`: customers' personal data and
the shop's backups (sajang/services/privacy.py, sajang/services/backup.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sajang.app.console import emit_json, log
from sajang.config import get_settings

privacy_app = typer.Typer(help="Customers' personal data: export, erase, retention purge.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(privacy_app, name="privacy")
    app.command("backup")(backup)
    app.command("restore")(restore)


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON")]


@privacy_app.command("export")
def export(
    customer: Annotated[str, typer.Argument(help="Customer id, e.g. C-00001")],
    json_out: JsonOption = False,
) -> None:
    """Everything stored about one customer (a data-subject access request), as one JSON document."""
    from sajang.services.privacy import export_customer

    document = export_customer(get_settings(), customer)
    if not json_out:
        log(f"{customer}: {len(document['orders'])} orders, {len(document['conversations'])} conversations, "
            f"{len(document['reviews'])} reviews (the document follows as JSON)")
    emit_json(document)


@privacy_app.command("forget")
def forget(
    customer: Annotated[str, typer.Argument(help="Customer id, e.g. C-00001")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
    json_out: JsonOption = False,
) -> None:
    """Erase a customer's personal data; orders, ratings and counts stay under the pseudonymous id."""
    from sajang.services.privacy import forget_customer

    if not yes and not typer.confirm(f"Erase the personal data of {customer}? This cannot be undone"):
        raise typer.Exit(1)
    result = forget_customer(get_settings(), customer, actor="cli")
    if json_out:
        emit_json(result.as_dict())
    else:
        log(", ".join(f"{k} {v}" for k, v in result.as_dict().items()))


@privacy_app.command("purge")
def purge(json_out: JsonOption = False) -> None:
    """Delete what the retention settings (SAJANG_RETENTION_*_DAYS) no longer allow."""
    from sajang.services.privacy import purge as run_purge

    result = run_purge(get_settings(), actor="cli")
    if json_out:
        emit_json(result.as_dict())
    else:
        log(", ".join(f"{k} {v}" for k, v in result.as_dict().items()))


def backup(
    out: Annotated[Path, typer.Option("--out", help="The archive to write (.tar.gz)")],
    json_out: JsonOption = False,
) -> None:
    """Back up the database, chat checkpoints, attachments and secret key into one archive."""
    from sajang.services.backup import backup as run_backup

    result = run_backup(get_settings(), out)
    if json_out:
        emit_json(result.as_dict())
    else:
        log(f"{result.path}: {result.database}, {len(result.members)} parts")


def restore(
    archive: Annotated[Path, typer.Argument(help="An archive written by `sajang backup`")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
    json_out: JsonOption = False,
) -> None:
    """Restore a backup into the configured database and data dir (stop the server first)."""
    from sajang.services.backup import restore as run_restore

    if not yes and not typer.confirm("Replace this shop's database and files with the backup?"):
        raise typer.Exit(1)
    result = run_restore(get_settings(), archive)
    if json_out:
        emit_json(result)
    else:
        log(f"restored {archive} ({result['database']}, {result['files']} files); run `sajang kb rebuild`")
