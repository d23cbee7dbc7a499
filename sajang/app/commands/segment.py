"""`sajang segment`: run the segmentation graph to its approval point, approve or cancel a run,
list runs, export the outbox as CSV."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from sajang.app.console import emit_json, log
from sajang.config import get_settings
from sajang.errors import SajangError

# Commands import their feature inside the function: `sajang --help` and each command load only what they
# run (the graphs, Kiwi and Chroma take seconds to import).

segment_app = typer.Typer(help="RFM customer segments and the coupons they propose.", no_args_is_help=False)


def register(app: typer.Typer) -> None:
    app.add_typer(segment_app, name="segment")


def _as_of(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise SajangError(f"--as-of {value!r} is not a date (YYYY-MM-DD)") from None


def _print_run(run: Mapping[str, Any]) -> None:
    from sajang.db.rfm import segment_label
    from sajang.graphs.segmentation.policy import benefit_text

    out = sys.stdout
    out.write(f"세그먼트 실행 #{run['run_id']} · 기준일 {run['as_of']} · 고객 {run['customers']}명 · "
              f"{run['status']} ({run['method']})\n")
    for seg, n in run["segments"].items():
        if n:
            out.write(f"  {segment_label(seg):<12} {n:>7}명\n")
    for m in run.get("moves", [])[:10]:
        out.write(f"  이동 {segment_label(m['from']) or '(신규)'} → {segment_label(m['to']) or '(제외)'}: "
                  f"{m['customers']}명\n")
    for p in run["proposals"]:
        mark = "✔" if p.get("approved") else ("★" if p.get("recommended") else " ")
        out.write(f"  {mark} [{p['id']}] {p['label']} {p['customers']}명 · {p['title']} · "
                  f"{benefit_text(p['discount_type'], p['discount_value'], p.get('min_order_amount'))}\n")
    for c in run.get("coupons", []):
        out.write(f"  쿠폰 캠페인 {c['code']}: {c['issued']}명에게 고객별 코드 발급\n")


@segment_app.callback(invoke_without_command=True)
def segment(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date the RFM is computed for (YYYY-MM-DD; "
                                                                "default: today in KST)")] = None,
    customers: Annotated[bool, typer.Option("--customers", help="Include every scored customer")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON only")] = False,
) -> None:
    """Run the segmentation graph up to the admin's approval and print the segments and proposals."""
    if ctx.invoked_subcommand is not None:
        return
    from sajang.db.rfm import run_customers
    from sajang.graphs.common.context import engine_for
    from sajang.graphs.segmentation.service import start_run

    day = _as_of(as_of)
    settings = get_settings()
    engine_for(settings)
    log("RFM 계산 중…")
    run = start_run(settings, as_of=day, started_by="cli")
    log(f"run {run['run_id']}: {run['customers']} customers, waiting for approval "
        f"(sajang segment approve {run['run_id']} --proposal ID)")
    out: dict[str, Any] = {k: run[k] for k in ("run_id", "as_of", "segments", "proposals")}
    out.update(status=run["status"], method=run["method"], moves=run["moves"])
    if customers:
        out["customers"] = [{**c, "monetary": float(c["monetary"])} for c in
                            run_customers(engine_for(settings), run["run_id"])]
    if json_out:
        emit_json(out)
    else:
        _print_run(run)


def _pairs(values: list[str] | None, flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values or []:
        key, sep, val = v.partition("=")
        if not sep or not key:
            raise SajangError(f"{flag} {v!r}: use PROPOSAL_ID=VALUE")
        out[key.strip()] = val
    return out


@segment_app.command("approve")
def approve(
    run_id: Annotated[int, typer.Argument(help="Run id printed by `sajang segment`")],
    proposal: Annotated[list[str] | None, typer.Option("--proposal", "-p",
                                                        help="Proposal id to approve (repeatable)")] = None,
    recommended: Annotated[bool, typer.Option("--recommended", help="Approve the recommended proposals")] = False,
    amount: Annotated[list[str] | None, typer.Option("--amount", help="ID=VALUE: percent, won or gift value")] = None,
    message: Annotated[list[str] | None, typer.Option("--message", help="ID=TEXT ({name} {shop} {benefit} "
                                                                        "{coupon} {valid_until})")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON only")] = False,
) -> None:
    """Approve proposals of a run: issues the coupons and queues the messages (exactly once)."""
    from sajang.graphs.segmentation.service import approve_run, run_summary

    settings = get_settings()
    ids = list(proposal or [])
    if recommended:
        ids += [p["id"] for p in run_summary(settings, run_id)["proposals"] if p.get("recommended")]
    if not ids:
        raise SajangError("choose proposals with --proposal ID (repeatable) or --recommended")
    amounts, messages = _pairs(amount, "--amount"), _pairs(message, "--message")
    unknown = (set(amounts) | set(messages)) - set(ids)
    if unknown:
        raise SajangError(f"--amount/--message for proposals that are not approved: {', '.join(sorted(unknown))}")
    approvals = [{"id": i, "discount_value": amounts.get(i), "message": messages.get(i)} for i in dict.fromkeys(ids)]
    run = approve_run(settings, run_id, approvals, actor="cli")
    if json_out:
        emit_json(run)
    else:
        _print_run(run)
        if run.get("already_executed"):
            sys.stdout.write("이미 실행된 세그먼트입니다. 추가로 발급된 쿠폰은 없습니다.\n")


@segment_app.command("cancel")
def cancel(
    run_id: Annotated[int, typer.Argument(help="Run id")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON only")] = False,
) -> None:
    """Cancel a run waiting for approval: nothing is issued."""
    from sajang.graphs.segmentation.service import cancel_run

    run = cancel_run(get_settings(), run_id, actor="cli")
    if json_out:
        emit_json(run)
    else:
        log(f"run {run_id}: {run['status']}")


@segment_app.command("runs")
def runs(
    limit: Annotated[int, typer.Option(help="How many recent runs")] = 20,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON only")] = False,
) -> None:
    """Recent segmentation runs."""
    from sajang.graphs.segmentation.service import list_runs

    items = list_runs(get_settings(), limit=limit)
    if json_out:
        emit_json({"runs": items})
        return
    for r in items:
        sys.stdout.write(f"#{r['run_id']} {r['as_of']} {r['status']:<18} {r['customers']:>7}명 "
                         f"{r['started_by'] or ''} → {r['approved_by'] or ''}\n")


@segment_app.command("outbox")
def outbox(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="CSV file to write (default: stdout)")] = None,
    run: Annotated[int | None, typer.Option("--run", help="Only messages of this run")] = None,
    all_statuses: Annotated[bool, typer.Option("--all", help="Also messages exported before")] = False,
    keep_pending: Annotated[bool, typer.Option("--keep-pending", help="Do not mark them exported")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON summary (needs --out)")] = False,
) -> None:
    """Export queued customer messages as CSV (UTF-8 with BOM for Excel); nothing is sent from here."""
    from sajang.db.rfm import export_outbox_csv
    from sajang.graphs.common.context import engine_for

    if json_out and out is None:
        raise SajangError("--json prints a summary; give the CSV a file with --out")
    engine = engine_for(get_settings())
    kwargs: dict[str, Any] = {"run_id": run, "status": None if all_statuses else "pending",
                              "mark_exported": not keep_pending, "actor": "cli"}
    if out is None:
        n = export_outbox_csv(engine, sys.stdout, **kwargs)
    else:
        with out.open("w", encoding="utf-8-sig", newline="") as fh:
            n = export_outbox_csv(engine, fh, **kwargs)
    if json_out:
        emit_json({"messages": n, "file": str(out)})
    else:
        log(f"{n} messages exported")
