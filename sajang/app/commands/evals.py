"""`sajang eval …`: the project's own quality reports. Each area adds its subcommand to `eval_app`
(`@eval_app.command("name")`); retrieval lives in `sajang.knowledge.evaluation`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from sajang.app.console import emit_report, log
from sajang.config import get_settings

# Commands import their feature inside the function: `sajang --help` and each command load only what they
# run (the graphs, Kiwi and Chroma take seconds to import).

eval_app = typer.Typer(help="Quality reports: retrieval, classification, answers, conversation, reviews, learning.",
                       invoke_without_command=True)
FAQ = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "faq" / "smartstore_faq_dev.jsonl"


@eval_app.callback()
def all_reports(ctx: typer.Context) -> None:
    """Without a subcommand: every report in turn (retrieval only when the FAQ data set is beside the repo)."""
    if ctx.invoked_subcommand is not None:
        return

    if FAQ.exists():
        ctx.invoke(retrieval, corpus=FAQ)
    else:
        log(f"retrieval: skipped ({FAQ} is absent; run `sajang eval retrieval --corpus FILE`)")
    for command in (classification, answers, conversation, reviews, learning):
        ctx.invoke(command)


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")


@eval_app.command("retrieval")
def retrieval(
    corpus: Annotated[Path, typer.Option(help="JSONL corpus: one document + its query per line")],
    id_field: Annotated[str, typer.Option(help="Field with the document id")] = "id",
    body_field: Annotated[str, typer.Option(help="Field indexed as the document body")] = "answer",
    query_field: Annotated[str, typer.Option(help="Field used as the query")] = "question_no_prefix",
    title_field: Annotated[str | None, typer.Option(help="Optional field indexed as the title")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N rows")] = None,
    modes: Annotated[str, typer.Option(help="Comma-separated: lexical,dense,rrf,hybrid")] = "lexical,dense,rrf,hybrid",
    fit_calibration: Annotated[bool, typer.Option(help="Fit the confidence model and write calibration.json")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
) -> None:
    """hit@1, hit@5, MRR@10 and latency per retrieval mode on a JSONL corpus (own temporary index)."""
    from sajang.knowledge.evaluation import format_table, run_retrieval_eval

    report = run_retrieval_eval(get_settings(), corpus, id_field=id_field, body_field=body_field,
                                query_field=query_field, title_field=title_field, limit=limit,
                                modes=[m.strip() for m in modes.split(",") if m.strip()],
                                fit_calibration=fit_calibration, progress=log)
    emit_report(report, json_out, format_table)


@eval_app.command("classification")
def classification(
    bitext: Annotated[Path | None, typer.Option(help="Bitext CSV (default ../shared/data/cs_intents/…)")] = None,
    per_intent: Annotated[int, typer.Option(help="Utterances sampled per mapped intent")] = 50,
    split: Annotated[str, typer.Option(help="Bitext rows: test (reported), dev (used while writing), all")] = "test",
    json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
) -> None:
    """Inquiry classifier accuracy: Korean held-out set + mapped Bitext intents, with confusion pairs."""
    from sajang.graphs.inquiry.classifier_eval import format_report, run_classification_eval

    report = run_classification_eval(get_settings(), bitext=bitext, per_intent=per_intent, split=split, progress=log)
    emit_report(report, json_out, format_report)


@eval_app.command("reviews")
def reviews(
    file: Annotated[Path | None, typer.Option(help="Labelled JSONL (text, negative[, aspects, split]); "
                                                   "default: the project's shopping reviews")] = None,
    split: Annotated[str, typer.Option(help="heldout, train or all")] = "heldout",
    with_rating: Annotated[bool, typer.Option(help="Also use the rating field (default: text only)")] = False,
    review_set: Annotated[str, typer.Option("--set", help="shopping (the project's food reviews) or naver "
                                                          "(real Naver Shopping reviews, per product group)")] = "shopping",
    json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
) -> None:
    """Negative-review detection: precision/recall/F1 (shipped head vs the movie-only head), aspects;
    `--set naver`: on real Naver Shopping reviews, per product group."""
    from sajang.graphs.review.evaluation import (
        format_naver_report,
        format_report,
        run_naver_eval,
        run_review_eval,
    )
    from sajang.graphs.review.naver_sample import NAVER_PATH
    from sajang.graphs.review.sentiment import SHOPPING_PATH

    if review_set == "naver":
        emit_report(run_naver_eval(file or NAVER_PATH, split), json_out, format_naver_report)
        return
    if review_set != "shopping":
        raise typer.BadParameter("--set must be shopping or naver")
    report = run_review_eval(file or SHOPPING_PATH, split, with_rating)
    emit_report(report, json_out, format_report)


@eval_app.command("learning")
def learning(json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False) -> None:
    """Corrections taught by an agent: used on paraphrases, not on unrelated questions, gone after undo."""
    from sajang.graphs.inquiry.learning_eval import format_report, run_learning_eval

    report = run_learning_eval(get_settings(), progress=log)
    emit_report(report, json_out, format_report)


@eval_app.command("answers")
def answers(json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False) -> None:
    """Manual questions: answered, from the right article, and stating the fact the customer needs."""
    from sajang.graphs.inquiry.answer_eval import format_report, run_answer_eval

    report = run_answer_eval(get_settings(), progress=log)
    emit_report(report, json_out, format_report)


@eval_app.command("conversation")
def conversation(
    cases: Annotated[Path | None, typer.Option(help="JSONL cases (default: the project's chat dev set; "
                                                    "sajang/data/conversation_eval_heldout.jsonl is held out)")] = None,
    today: Annotated[datetime | None, typer.Option(
        formats=["%Y-%m-%d"], help="The demo shop's date, YYYY-MM-DD (default: today in Korea, the bot's clock)")] = None,
    group: Annotated[list[str] | None, typer.Option(
        help="Only the cases of this group (repeatable): manual, own_order, follow_up, guest, unanswerable, "
             "urgency, smalltalk")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
) -> None:
    """Real customer chat on the demo shop: right / wrong / unnecessary handoff per group, data leaks."""
    from sajang.graphs.inquiry.conversation_eval import CASES_PATH, format_report, run_conversation_eval

    report = run_conversation_eval(get_settings(), cases or CASES_PATH, today=today.date() if today else None,
                                   groups=group or None, progress=log)
    emit_report(report, json_out, format_report)
