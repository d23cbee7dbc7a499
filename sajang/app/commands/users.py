"""`sajang user add|list|passwd`: staff logins (admin = 사장님, agent = 상담원)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from sajang.app.console import emit_json, log
from sajang.errors import SajangError

if TYPE_CHECKING:
    from sajang.db.models import User

# The account store is imported inside each command: every `sajang` command imports this module, and the
# ORM models cost ~0.3 s of CPU that `sajang ask` through a server does not need.

user_app = typer.Typer(help="Staff logins: add, list, change passwords.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")


def _read_password(password_stdin: bool, confirm: bool = True) -> str:
    if password_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise SajangError("no password on stdin")
        return password
    if not sys.stdin.isatty():
        raise SajangError("no terminal to prompt for the password: use --password-stdin")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=confirm)


@user_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Login name (letters, digits, . _ -)")],
    role: Annotated[str, typer.Option(help="admin or agent")] = "agent",
    name: Annotated[str | None, typer.Option(help="Display name shown to colleagues (e.g. 김민지)")] = None,
    locale: Annotated[str, typer.Option(help="UI language: ko or en")] = "ko",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the new user as JSON")] = False,
) -> None:
    """Create a staff user; the password is prompted for (or read from stdin)."""
    from sajang.graphs.common.context import engine_for
    from sajang.services.accounts import create_account, validate_role, validate_username

    if locale not in ("ko", "en"):
        raise SajangError("locale must be ko or en")
    validate_username(username)
    validate_role(role)
    password = _read_password(password_stdin)
    user = create_account(engine_for(), username, password, role, name, locale, actor="cli")
    if json_out:
        emit_json(_user_json(user))
    else:
        log(f"created {user.role} {user.username} ({user.display_name})")


@user_app.command("list")
def list_(json_out: Annotated[bool, typer.Option("--json", help="JSON Lines, one user a line")] = False) -> None:
    """List staff users."""
    from sajang.db.users import list_users
    from sajang.graphs.common.context import engine_for

    for user in list_users(engine_for()):
        if json_out:
            emit_json(_user_json(user))
        else:
            state = "" if user.is_active else "  (disabled)"
            last = user.last_login_at.isoformat(timespec="minutes") if user.last_login_at else "-"
            typer.echo(f"{user.username:<20} {user.role:<6} {user.display_name:<12} last login {last}{state}")


@user_app.command("passwd")
def passwd(
    username: Annotated[str, typer.Argument(help="Login name")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
) -> None:
    """Change a user's password (ends that user's open sessions and tokens)."""
    from sajang.db.users import get_user_by_username
    from sajang.graphs.common.context import engine_for
    from sajang.services.accounts import change_password

    engine = engine_for()
    if get_user_by_username(engine, username) is None:
        raise SajangError(f"no user named {username!r}")
    change_password(engine, username, _read_password(password_stdin), actor="cli")
    log(f"password changed for {username}")


def _user_json(user: User) -> dict[str, object]:
    return {"id": user.id, "username": user.username, "display_name": user.display_name, "role": user.role,
            "is_active": user.is_active, "locale": user.locale,
            "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None}
