"""`sajang canned list|add|edit|rm|render`: the agent hub's canned replies (macros) from the shell.

Whoever runs the CLI has the shop's database in hand, so it acts as the admin (`--actor` is written to
the audit log), as `sajang settings` does."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from sajang.app.console import emit_json
from sajang.config import get_settings

if TYPE_CHECKING:
    from sajang.services.accounts import StaffMember

canned_app = typer.Typer(help="Canned replies for the agent hub: list, add, edit, rm, render.", no_args_is_help=True)

ActorOption = Annotated[str, typer.Option("--actor", help="Who changes it (written to the audit log)")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON")]


def register(app: typer.Typer) -> None:
    app.add_typer(canned_app, name="canned")


def _operator(actor: str) -> StaffMember:
    from sajang.services.accounts import StaffMember  # not at import: it loads the account store

    return StaffMember(id=0, username=actor, name=actor, role="admin", locale="ko")


@canned_app.command("list")
def list_replies(json_out: JsonOption = False) -> None:
    """Every saved reply, by title."""
    from sajang.services import canned_replies as cr

    replies = [r.as_dict() for r in cr.list_replies(get_settings())]
    if json_out:
        emit_json({"replies": replies})
        return
    for r in replies:
        typer.echo(f"#{r['id']}  {r['title']}\n    {r['body']}")


@canned_app.command("add")
def add(title: Annotated[str, typer.Argument(help="A unique title")],
        body: Annotated[str, typer.Argument(help="The text; variables such as {고객명} {주문번호} {배송비} {상담시간}")],
        actor: ActorOption = "cli", json_out: JsonOption = False) -> None:
    """Save a new reply."""
    from sajang.services import canned_replies as cr

    saved = cr.create_reply(get_settings(), title, body, _operator(actor)).as_dict()
    emit_json(saved) if json_out else typer.echo(f"added #{saved['id']} {saved['title']}")


@canned_app.command("edit")
def edit(reply_id: Annotated[int, typer.Argument(help="The reply's id (see `sajang canned list`)")],
         title: Annotated[str | None, typer.Option("--title")] = None,
         body: Annotated[str | None, typer.Option("--body")] = None,
         actor: ActorOption = "cli", json_out: JsonOption = False) -> None:
    """Change a reply's title and/or text."""
    from sajang.services import canned_replies as cr

    saved = cr.update_reply(get_settings(), reply_id, _operator(actor), title=title, body=body).as_dict()
    emit_json(saved) if json_out else typer.echo(f"saved #{saved['id']} {saved['title']}")


@canned_app.command("rm")
def remove(reply_id: Annotated[int, typer.Argument(help="The reply's id")], actor: ActorOption = "cli") -> None:
    """Delete a reply."""
    from sajang.services import canned_replies as cr

    cr.delete_reply(get_settings(), reply_id, _operator(actor))
    typer.echo(f"deleted #{reply_id}")


@canned_app.command("render")
def render(reply_id: Annotated[int, typer.Argument(help="The reply's id")],
           thread: Annotated[str, typer.Argument(help="The conversation's thread id")],
           json_out: JsonOption = False) -> None:
    """The reply filled in for one conversation (printed, never sent)."""
    from sajang.services import canned_replies as cr

    out = cr.render_reply(get_settings(), reply_id, thread).as_dict()
    emit_json(out) if json_out else typer.echo(out["text"])
