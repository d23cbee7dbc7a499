"""Core commands: demo, serve, seed-demo, import."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from sajang.app.console import emit_json, log
from sajang.config import get_settings

# Commands import their feature inside the function: `sajang --help` and each command load only what they
# run (the graphs, Kiwi and Chroma take seconds to import).

# The demo shop's reference date: orders' dates and statuses are relative to it (15:00 KST that day).
TodayOption = Annotated[datetime | None, typer.Option(
    "--today", formats=["%Y-%m-%d"],
    help="Generate the demo shop as of this date, YYYY-MM-DD (default: today); same seed + same date = same shop")]


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("demo")(demo)
    app.command("seed-demo")(seed_demo)
    app.command("import")(import_file)


def _run_server(host: str, port: int, workers: int = 1) -> None:
    from sajang.app.client import announced
    from sajang.app.serving import run

    with announced(get_settings(), host, port):  # `sajang ask` finds the server by this data dir's serve.json
        run(host, port, workers)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(
        min=1, max=64, help="Worker processes on the port (more than 1 needs SAJANG_UI=off: the Gradio UIs "
                            "keep their sessions in one process)")] = 1,
) -> None:
    """Serve the API and the UIs on the configured stores."""
    _run_server(host, port, workers)


def demo(
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    today: TodayOption = None,
) -> None:
    """Create the Korean demo shop if the data dir is empty, then serve API + UIs."""
    from sajang.app.demo import prepare_demo

    logins = prepare_demo(get_settings(), progress=log, today=_day(today))
    base = f"http://{host}:{port}"
    log(f"고객 채팅   {base}/chat")
    log(f"상담원 허브 {base}/agent")
    log(f"관리자      {base}/admin")
    log(f"API 문서    {base}/api/v1/docs")
    for role, username, password in logins:
        log(f"demo login ({role}): {username} / {password}")
    _run_server(host, port)


def seed_demo(
    customers: Annotated[int, typer.Option(help="Number of customers (~10 orders each)")] = 300,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same shop)")] = 42,
    reset: Annotated[bool, typer.Option("--reset", help="Delete the existing business data first")] = False,
    data_only: Annotated[bool, typer.Option("--data-only", help="Business data only: no manual, no demo users")] = False,
    today: TodayOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON summary")] = False,
) -> None:
    """Write a deterministic Korean demo store of the given size (refuses a non-empty store without --reset)."""
    from sajang.app.demo import seed_business_data, seed_everything

    if customers < 1:
        raise typer.BadParameter("--customers must be at least 1")
    run = seed_business_data if data_only else seed_everything
    summary = run(get_settings(), customers, seed, reset=reset, progress=log, today=_day(today))
    if json_out:
        emit_json(summary)
    else:
        log(", ".join(f"{k} {v}" for k, v in summary.items() if not isinstance(v, dict | list)))


def import_file(
    kind: Annotated[str, typer.Argument(help="orders, customers, products, reviews, qna, settlements, manual")],
    file: Annotated[Path, typer.Argument(help="CSV / .xlsx / JSON / JSONL file (manual: also Markdown, txt, PDF)")],
    mapping: Annotated[list[str] | None, typer.Option("--map", help="FIELD=COLUMN, repeatable")] = None,
    preset: Annotated[str | None, typer.Option(help="Column preset: smartstore, coupang, cafe24")] = None,
    sheet: Annotated[str | None, typer.Option(help=".xlsx: the sheet to read (default: the first)")] = None,
    password: Annotated[str | None, typer.Option(
        envvar="SAJANG_IMPORT_PASSWORD", help="Password of an encrypted .xlsx (or set SAJANG_IMPORT_PASSWORD)")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON summary")] = False,
) -> None:
    """Import a file in one transaction; a bad row rejects the file with its line number."""
    from sajang.app.importing import import_kind

    result = import_kind(get_settings(), kind, file, mapping or [], preset=preset, progress=log, sheet=sheet,
                         password=password)
    if json_out:
        emit_json(result)
    else:
        log(", ".join(f"{k} {v}" for k, v in result.items()))
