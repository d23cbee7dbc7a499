"""How good the offline answers to manual questions are (`sajang eval answers`).

Each case of `sajang/data/answer_eval.jsonl` (written for the project from the demo shop's manual) is a
guest's question, the manual article that answers it (its English version `<id>.en` counts for an English
question) and the facts a right answer states (any one of them, e.g. "3~5영업일"), or `"article": null` for a question on the shop's topics that the manual does not
answer (a person must take it). Every question goes through the real inquiry service on a throw-away store
with the CS manual loaded. Reported for the answerable questions: the bot answered (no handoff), the source
is the right article, and the answer contains the fact — the last is what the customer needs; for the
others: the bot handed off instead of answering from a wrong article.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sajang import PACKAGE_DATA
from sajang.config import Settings
from sajang.graphs.inquiry.learning_eval import manual_store, read_cases

CASES_PATH = PACKAGE_DATA / "answer_eval.jsonl"
# Real messages open with a greeting or some context: every question is asked once more after one of these
# (in turn), and the answers must not change.
OPENERS = {"ko": ["안녕하세요, ", "사장님, ", "지난번에 주문했던 사람인데요, ", "엄마 선물로 사려고 하는데 ",
                  "수고 많으십니다. ", "혹시 "],
           "en": ["Hi, ", "Hello there, "]}


def run_answer_eval(settings: Settings, cases_path: Path = CASES_PATH,
                    progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    from sajang.graphs.inquiry.service import get_inquiry_service

    cases = read_cases(cases_path)
    with manual_store(settings, "sajang-answer-eval-", progress) as store:
        service = get_inquiry_service(store)
        rows: list[dict[str, Any]] = []
        opened: list[dict[str, Any]] = []
        for n, case in enumerate(cases):
            rows.append(_ask(service, case, case["q"], progress))
            openers = OPENERS["en" if case["q"].isascii() else "ko"]
            opened.append(_ask(service, case, openers[n % len(openers)] + case["q"], progress))
    return {**_summary(rows), "with_opener": _summary(opened), "rows": rows, "opened_rows": opened}


def _ask(service: Any, case: dict[str, Any], question: str,
         progress: Callable[[str], None] | None) -> dict[str, Any]:
    thread = service.start_conversation(None, guest_name="평가 고객", channel="api")
    r = service.ask(question, thread_id=thread)
    answer = r["answer"] or ""
    answered = not r["handoff"]
    source = (r["sources"] or [{}])[0].get("id")
    fact = answered and any(f in answer for f in case["facts"])  # no facts: the manual has no answer
    # right: the fact stated, or a person takes a question the manual does not answer
    ok = fact if case["article"] is not None else not answered
    if progress:
        progress(f"{'✓' if ok else '✗'} {question} → {source} ({r['confidence']})")
    # the English version of an article (`delivery-fee.en`) is the right source for an English question
    right = answered and source is not None and source.removesuffix(".en") == case["article"]
    return {"q": question, "article": case["article"], "answered": answered, "source": source,
            "right_source": right, "fact": fact, "ok": ok,
            "confidence": r["confidence"], "handoff_reason": r["handoff_reason"]}


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    answerable = [r for r in rows if r["article"] is not None]
    unanswerable = [r for r in rows if r["article"] is None]
    ko = [r for r in answerable if not r["q"].isascii()]
    en = [r for r in answerable if r["q"].isascii()]

    def share(sub: list[dict[str, Any]], key: str) -> float:
        return round(sum(bool(r[key]) for r in sub) / (len(sub) or 1), 3)

    return {"cases": len(answerable), "answered": share(answerable, "answered"),
            "right_source": share(answerable, "right_source"), "fact_in_answer": share(answerable, "fact"),
            "korean": {"cases": len(ko), "answered": share(ko, "answered"), "fact_in_answer": share(ko, "fact")},
            "english": {"cases": len(en), "answered": share(en, "answered"), "fact_in_answer": share(en, "fact")},
            "unanswerable": {"cases": len(unanswerable),
                             "handed_off": round(1 - share(unanswerable, "answered"), 3) if unanswerable else None}}


def format_report(report: dict[str, Any]) -> str:
    lines = [f"answers: {report['cases']} manual questions asked by guests",
             f"  answered by the bot:           {report['answered']:.3f}",
             f"  answered from the right article: {report['right_source']:.3f}",
             f"  answer states the fact:        {report['fact_in_answer']:.3f}"
             f"  (Korean {report['korean']['fact_in_answer']:.3f} of {report['korean']['cases']},"
             f" English {report['english']['fact_in_answer']:.3f} of {report['english']['cases']})"]
    if report["unanswerable"]["cases"]:
        lines.append(f"  not in the manual, handed off:  {report['unanswerable']['handed_off']:.3f}"
                     f"  (of {report['unanswerable']['cases']})")
    opened = report["with_opener"]
    lines.append(f"  after a greeting or context:   fact {opened['fact_in_answer']:.3f}"
                 + (f", handed off {opened['unanswerable']['handed_off']:.3f}" if opened["unanswerable"]["cases"]
                    else ""))
    for key, opener in (("rows", ""), ("opened_rows", ", with an opener")):
        lines += [f"  ✗ [{'no fact' if r['article'] is not None else 'answered, not in the manual'}{opener}] {r['q']}"
                  f" → {r['source']} ({r['handoff_reason'] or 'answered'}, {r['confidence']})"
                  for r in report[key] if not r["ok"]]
    return "\n".join(lines)
