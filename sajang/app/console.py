"""What every `sajang` command prints: JSON on stdout, progress on stderr, batch input lines.

The command modules (`sajang.app.commands.*`) import these helpers from here, and `sajang.app.cli`
imports the command modules: the arrows go one way (cli → commands → console), nothing imports cli.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from sajang.errors import SajangError


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

