"""The `sajang` command line. Each feature keeps its commands in `sajang.app.commands.<name>`,
a module with `register(app)`; this file only assembles them and turns errors into one line."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from sajang.config import apply_offline_defaults
from sajang.db.errors import DataError
from sajang.errors import SajangError

app = typer.Typer(
    name="sajang",
    help="사장님 AI 매니저 — AI customer service and CRM for small online shops.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# One line per feature module; each registers its own commands.
COMMAND_MODULES = [
    "core",
    "users",
    "kb",
    "evals",
    "segment",
    "reviews",
    "inquiry",
]


def emit_json(obj: Any) -> None:
    """One JSON object on stdout (UTF-8, no ASCII escaping of Hangul)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def emit_report(report: Any, json_out: bool, as_text: Callable[[Any], str]) -> None:
    """A command's result: one JSON object with `--json`, else its human-readable text."""
    if json_out:
        emit_json(report)
    else:
        typer.echo(as_text(report))


def log(msg: str) -> None:
    """Progress and logs go to stderr so that `--json` stdout stays parseable."""
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def read_batch_lines(path: str) -> list[str]:
    """Non-empty lines of a batch file, or of stdin for `-` (UTF-8, BOM tolerated)."""
    if path == "-":
        text = sys.stdin.read()
    else:
        p = Path(path)
        if not p.is_file():
            raise SajangError(f"{path}: no such file")
        try:
            text = p.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise SajangError(f"{path}: not UTF-8 text") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def fail(msg: str, code: int = 1) -> typer.Exit:
    log(f"error: {msg}")
    return typer.Exit(code)


for _name in COMMAND_MODULES:
    importlib.import_module(f"sajang.app.commands.{_name}").register(app)


def main() -> None:
    apply_offline_defaults()
    try:
        app()
    except (SajangError, DataError) as exc:
        log(f"error: {exc}")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
