"""`sajang reviews …`: triage reviews (a file, or the store's backlog), work the approval queue, export
published replies as CSV."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from sajang.app.console import emit_json, log
from sajang.config import get_settings
from sajang.errors import SajangError

# Commands import their feature inside the function: `sajang --help` and each command load only what they
# run (the graphs, Kiwi and Chroma take seconds to import).

reviews_app = typer.Typer(help="Negative-review detection, reply drafts, approval and export.", no_args_is_help=True)

FILE_BATCH = 128  # reviews analysed (and printed) per batch in file mode
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")


def register(app: typer.Typer) -> None:
    app.add_typer(reviews_app, name="reviews")


# --- file mode ---------------------------------------------------------------------------------------


def _read_text(path: str) -> tuple[str, str]:
    """(content, kind) where kind is csv or jsonl; `-` reads stdin."""
    if path == "-":
        content = sys.stdin.read()
        kind = "jsonl" if content.lstrip().startswith("{") else "csv"
        return content, kind
    p = Path(path)
    if not p.exists():
        raise SajangError(f"{path}: no such file")
    if p.is_dir():
        raise SajangError(f"{path} is a directory, not a file")
    raw = p.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            content = raw.decode("cp949")  # Korean Excel exports
        except UnicodeDecodeError:
            raise SajangError(f"{path}: not UTF-8 or CP949 text") from None
    kind = "jsonl" if p.suffix.lower() in JSON_SUFFIXES or content.lstrip().startswith("{") else "csv"
    return content, kind


def _records(content: str, kind: str) -> list[tuple[int, dict[str, Any]]]:
    """(line number, record) pairs; a JSON array file is accepted too."""
    if kind == "jsonl":
        stripped = content.lstrip()
        if stripped.startswith("["):
            try:
                data = json.loads(stripped)
            except ValueError as exc:
                raise SajangError(f"invalid JSON array: {exc}") from None
            return [(i + 1, r) for i, r in enumerate(data) if isinstance(r, dict)]
        out = []
        for n, line in enumerate(content.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise SajangError(f"line {n}: invalid JSON ({exc.args[0] if exc.args else exc})") from None
            if not isinstance(obj, dict):
                raise SajangError(f"line {n}: expected a JSON object")
            out.append((n, obj))
        return out
    reader = csv.DictReader(io.StringIO(content, newline=""))
    if not reader.fieldnames:
        return []
    reader.fieldnames = [(f or "").strip() for f in reader.fieldnames]
    return [(reader.line_num, row) for row in reader]


def load_review_file(path: str, text_col: str, id_col: str, rating_col: str | None,
                     id_explicit: bool) -> list[dict[str, Any]]:
    """Rows `{"review_id", "text", "rating"}` from a CSV/JSONL file; a missing text column is an error."""
    from sajang.graphs.review.sentiment import normalise_rating

    content, kind = _read_text(path)
    records = _records(content, kind)
    if not records:
        return []
    columns: set[str] = set()
    for _, r in records[:50]:
        columns |= set(r)
    if text_col not in columns:
        raise SajangError(f"no column {text_col!r} in {path} (columns: {', '.join(sorted(columns))}); "
                          "choose it with --text-col")
    if id_explicit and id_col not in columns:
        raise SajangError(f"no column {id_col!r} in {path}; choose it with --id-col")
    if rating_col and rating_col not in columns:
        raise SajangError(f"no column {rating_col!r} in {path}; choose it with --rating-col")
    use_ids = id_col in columns
    if not use_ids:
        log(f"note: no {id_col!r} column; review ids are the line numbers")
    rows = []
    for n, r in records:
        text = r.get(text_col)
        text = "" if text is None else str(text)
        rid = r.get(id_col) if use_ids else None
        rid = str(rid).strip() if rid not in (None, "") else str(n)
        rating = None
        if rating_col:
            raw = r.get(rating_col)
            rating = normalise_rating(raw)
            if rating is None and raw not in (None, ""):
                log(f"line {n}: rating {raw!r} is not 1–5; judged from the text")
        if not text.strip():
            log(f"line {n}: empty review text")
        rows.append({"review_id": rid, "text": text, "rating": rating, "line": n})
    return rows


def _print_human(item: Mapping[str, Any]) -> None:
    from sajang.graphs.review.service import aspect_label

    mark = "부정" if item["negative"] else "정상"
    aspects = ", ".join(aspect_label(a) for a in item["aspects"]) or "-"
    sys.stdout.write(f"[{item['review_id']}] {mark} {item['score']:.2f} · {aspects}\n")
    if item.get("draft"):
        sys.stdout.write(f"    답글 초안: {item['draft']}\n")


@reviews_app.command("triage")
def triage(
    file: Annotated[str | None, typer.Option("--file", "-f", help="CSV or JSONL file of reviews (`-` = stdin); "
                                                                 "without it the store's new reviews are triaged")] = None,
    text_col: Annotated[str, typer.Option("--text-col", help="Column with the review text")] = "text",
    id_col: Annotated[str | None, typer.Option("--id-col", help="Column with the review id [default: review_id]")] = None,
    rating_col: Annotated[str | None, typer.Option("--rating-col", help="Column with the 1–5 rating (default: "
                                                                        "none, judge from the text alone)")] = None,
    all_reviews: Annotated[bool, typer.Option("--all", help="Store mode: also print reviews triaged before")] = False,
    limit: Annotated[int | None, typer.Option("--limit", help="Store mode: at most N new reviews")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON Lines on stdout")] = False,
) -> None:
    """Per review: negative?, score, aspects and a reply draft. File mode never touches the store."""

    emit = emit_json if json_out else _print_human
    if file is not None:
        from sajang.graphs.review.service import triage_rows

        rows = load_review_file(file, text_col, id_col or "review_id", rating_col, id_explicit=id_col is not None)
        settings = get_settings()
        for start in range(0, len(rows), FILE_BATCH):
            for item in triage_rows(settings, rows[start:start + FILE_BATCH]):
                emit(item)
            if len(rows) > FILE_BATCH:
                log(f"triaged {min(start + FILE_BATCH, len(rows))}/{len(rows)}")
        return
    from sajang.graphs.common.context import engine_for
    from sajang.graphs.review.service import process_backlog, queue, triage_dict

    if text_col != "text" or id_col or rating_col:
        raise SajangError("--text-col/--id-col/--rating-col apply to --file only")
    settings = get_settings()
    engine_for(settings)
    done: set[str] = set()
    for row in process_backlog(settings, limit=limit, progress=log):
        done.add(row["review_id"])
        emit(triage_dict(row))
    if all_reviews:
        from sajang.graphs.review.service import analysed_reviews

        for row in analysed_reviews(settings):
            if row["review_id"] not in done:
                emit(triage_dict(row))
    log(f"{len(done)} new reviews triaged; {len(queue(settings, limit=10_000))} drafts wait for approval")


# --- store: queue, decisions, export -----------------------------------------------------------------


@reviews_app.command("queue")
def queue_cmd(
    limit: Annotated[int, typer.Option(help="At most N reviews")] = 50,
    json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
) -> None:
    """Negative reviews whose reply draft waits for approval (most severe first)."""
    from sajang.graphs.review.service import aspect_label, queue

    items = queue(get_settings(), limit=limit)
    if json_out:
        emit_json({"reviews": items})
        return
    for it in items:
        stars = "★" * (it["rating"] or 0)
        sys.stdout.write(f"[{it['review_id']}] {stars:<5} {it['severity'] or '':<6} "
                         f"{', '.join(aspect_label(a) for a in it['aspects'])} · {it['product_name'] or '-'} · "
                         f"{it['customer_name'] or '-'}\n    {it['text']}\n    → {it['draft']}\n")


@reviews_app.command("approve")
def approve_cmd(
    review_id: Annotated[str, typer.Argument(help="Review id")],
    text: Annotated[str | None, typer.Option("--text", help="Publish this text instead of the draft")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
) -> None:
    """Publish the reply of a review (idempotent: a second approve publishes nothing)."""
    from sajang.graphs.review.service import approve

    out = approve(get_settings(), review_id, text, user="cli")
    if json_out:
        emit_json(out)
    else:
        log(f"{review_id}: {out['reply_status']}" + (" (already published)" if out.get("already_published") else ""))


@reviews_app.command("reject")
def reject_cmd(
    review_id: Annotated[str, typer.Argument(help="Review id")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why no reply")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
) -> None:
    """Reject the draft: nothing is published and the review leaves the queue."""
    from sajang.graphs.review.service import reject

    out = reject(get_settings(), review_id, user="cli", reason=reason)
    if json_out:
        emit_json(out)
    else:
        log(f"{review_id}: {out['reply_status']}")


@reviews_app.command("undo")
def undo_cmd(
    review_id: Annotated[str, typer.Argument(help="Review id")],
    json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
) -> None:
    """Take a reply published moments ago (review_undo_seconds) back to a draft waiting for approval."""
    from sajang.graphs.review.service import undo_publish

    out = undo_publish(get_settings(), review_id, user="cli")
    if json_out:
        emit_json(out)
    else:
        log(f"{review_id}: {out['reply_status']} (publication undone)")


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        d = datetime.fromisoformat(value) if "T" in value else datetime.combine(date.fromisoformat(value),
                                                                                datetime.min.time())
    except ValueError:
        raise SajangError(f"--since {value!r} is not a date (YYYY-MM-DD)") from None
    return d if d.tzinfo else d.replace(tzinfo=UTC)


@reviews_app.command("export")
def export_cmd(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="CSV file (default: stdout)")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only replies published on/after this date")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON summary (needs --out)")] = False,
) -> None:
    """Approved/published replies as CSV (UTF-8 with BOM) to paste into marketplaces without a review API."""
    from sajang.graphs.review.service import export_csv

    if json_out and out is None:
        raise SajangError("--json prints a summary; give the CSV a file with --out")
    settings = get_settings()
    day = _since(since)
    if out is None:
        n = export_csv(settings, sys.stdout, since=day)
    else:
        with out.open("w", encoding="utf-8-sig", newline="") as fh:
            n = export_csv(settings, fh, since=day)
    if json_out:
        emit_json({"replies": n, "file": str(out)})
    else:
        log(f"{n} replies exported")
