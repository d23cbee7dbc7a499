"""`sajang qna …`: product Q&A through the inbox — bring questions in and draft them, the queue, approval,
export in the marketplace's upload shape (`sajang.services.qna` does the work)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sajang.app.console import emit_json, log
from sajang.config import get_settings
from sajang.errors import SajangError

# Commands import their feature inside the function: `sajang --help` loads none of the answering pipeline.

qna_app = typer.Typer(help="Product Q&A: sync and draft, queue, approve, export.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(qna_app, name="qna")


@qna_app.command("sync")
def sync_cmd(
    file: Annotated[Path | None, typer.Option("--file", help="Questions exported from the marketplace (CSV/.xlsx/JSON)")]
    = None,
    marketplace: Annotated[str | None, typer.Option(
        help="smartstore, coupang, cafe24, own: where the file's questions come from (their answer deadline)")] = None,
    mapping: Annotated[list[str] | None, typer.Option("--map", help="FIELD=COLUMN for the file, repeatable")] = None,
    preset: Annotated[str | None, typer.Option(help="Column preset of the file")] = None,
    sheet: Annotated[str | None, typer.Option(help=".xlsx: the sheet to read")] = None,
    password: Annotated[str | None, typer.Option(envvar="SAJANG_IMPORT_PASSWORD", help="Password of an encrypted .xlsx")]
    = None,
    no_api: Annotated[bool, typer.Option("--no-api", help="Do not call the marketplace APIs configured")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
) -> None:
    """Import a file and/or fetch from the configured marketplace APIs, post approved answers, draft new questions."""
    from sajang.services import qna

    settings = get_settings()
    clients: list[Any] = []
    if not no_api:
        from sajang.channels.marketplace import clients_from_settings

        clients = clients_from_settings(settings)
    result = qna.sync(settings, file=file, marketplace=marketplace, mapping=mapping or [], preset=preset,
                      sheet=sheet, password=password, clients=clients, progress=log)
    if json_out:
        emit_json(result.as_dict())
        return
    d = result.drafted
    log(f"drafted {d.drafted} (ready {d.ready}, for a person {d.handoff})"
        + (f"; imported {result.imported.get('rows')} rows" if result.imported else "")
        + "".join(f"; {m}: {n} new" for m, n in result.fetched.items())
        + "".join(f"; {m}: {n} posted" for m, n in result.posted.items()))
    for err in result.post_errors:
        log(f"not posted: {err}")


@qna_app.command("queue")
def queue_cmd(
    json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
) -> None:
    """Unanswered questions with their draft, the nearest answer deadline first."""
    from sajang.services import qna

    items = qna.queue(get_settings())
    if json_out:
        emit_json({"questions": [it.as_dict() for it in items]})
        return
    for it in items:
        due = f"기한 {-it.hours_left:.0f}시간 지남" if it.overdue else f"{it.hours_left:.0f}시간 남음"
        product = (it.product or {}).get("name") or "—"
        status = {"ready": "초안", "handoff": "상담원", "none": "대기"}.get(it.draft_status, it.draft_status)
        sys.stdout.write(f"[{it.question_id}] {it.marketplace or '-'} · {due} · {status} · {product}\n"
                         f"    Q: {it.text}\n" + (f"    → {it.draft}\n" if it.draft else ""))


@qna_app.command("approve")
def approve_cmd(
    question_id: Annotated[str, typer.Argument(help="Question id")],
    text: Annotated[str | None, typer.Option("--text", help="Answer with this text instead of the draft")] = None,
    no_teach: Annotated[bool, typer.Option("--no-teach", help="Do not learn an edited draft")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
) -> None:
    """Answer a question with its draft (or --text); approving twice answers once."""
    from sajang.services import qna

    out = qna.approve(get_settings(), question_id, text, user_name="cli", teach=not no_teach)
    if json_out:
        emit_json(out.as_dict())
    else:
        log(f"{question_id}: answered" + ("" if out.answered_now else " (already)")
            + (f"; learned #{out.learned_id}" if out.learned_id else "")
            + (f"; not learned ({out.learn_skipped})" if out.learn_skipped else ""))


@qna_app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="File: .csv, .xlsx or .json")],
    marketplace: Annotated[str | None, typer.Option(help="Only this marketplace's questions")] = None,
    only_new: Annotated[bool, typer.Option("--new", help="Only answers not exported before")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON summary")] = False,
) -> None:
    """Answers approved in Sajang, in one file to upload to (or paste into) the marketplace."""
    from sajang.services import qna

    if out.is_dir():
        raise SajangError(f"{out} is a directory, not a file")
    result = qna.export(get_settings(), out, marketplace=marketplace, only_new=only_new)
    if json_out:
        emit_json({"rows": result.rows, "file": result.file, "format": result.format})
    else:
        log(f"{result.rows} answers exported to {result.file}")
