"""`sajang manager ask TEXT`: the owner's AI manager (sales, stock, churn risk, claims, reviews) from the CLI."""

from __future__ import annotations

from typing import Annotated

import typer

from sajang.app.console import emit_json
from sajang.config import get_settings

manager_app = typer.Typer(help="AI manager: ask about sales, stock, churn risk, claims, reviews.",
                          no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(manager_app, name="manager")


@manager_app.command("ask")
def ask(
    text: Annotated[str, typer.Argument(help="The question, e.g. '이번 주 매출 지난주랑 비교해줘'")],
    json_out: Annotated[bool, typer.Option("--json", help='Print {"answer", "tools", "data", "method"}')] = False,
) -> None:
    """Answer one question from the shop's data (read-only)."""
    from sajang.services.manager import ask as ask_manager

    out = ask_manager(get_settings(), text)
    if json_out:
        emit_json(out.as_dict())
    else:
        typer.echo(out.answer)
