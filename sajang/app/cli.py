"""The `sajang` command line. Each feature keeps its commands in `sajang.app.commands.<name>`, a module
with `register(app)`; this file only assembles them and turns errors into one line. The command
modules print through `sajang.app.console` and never import this file back."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

from sajang.app.commands import (
    canned,
    core,
    evals,
    inquiry,
    kb,
    manager,
    privacy,
    qna,
    reviews,
    segment,
    settings,
    users,
)
from sajang.app.console import log
from sajang.config import apply_offline_defaults, get_settings
from sajang.db.errors import DataError
from sajang.errors import SajangError
from sajang.tracing import configure_tracing

app = typer.Typer(
    name="sajang",
    help="사장님 AI 매니저 — AI customer service and CRM for small online shops.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# One module per feature; each registers its own commands (this order is the order of `sajang --help`).
for _module in (core, users, settings, kb, evals, segment, reviews, qna, inquiry, canned, manager, privacy):
    _module.register(app)


def main() -> None:
    apply_offline_defaults()
    try:
        configure_tracing(get_settings().tracing)
        app()
    except (SajangError, DataError) as exc:
        log(f"error: {exc}")
        sys.exit(1)
    except ValidationError as exc:  # a setting from the environment or .env that does not parse
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or exc.title
        log(f"error: invalid setting {where}: {first.get('msg', '')}")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
