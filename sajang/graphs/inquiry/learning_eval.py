"""How well the bot learns from agents' corrections (`sajang eval learning`).

For each case of `sajang/data/learning_eval.jsonl` (written for the project): a customer asks, an agent
marks the answer wrong and teaches the correct one, then *other* customers ask paraphrases (the learned
answer should be used) and unrelated questions (it must not be). Finally the correction is undone and a
paraphrase is asked again (it must be gone). Everything runs through the real inquiry service on a
throw-away store in a temporary directory, with the shop's CS manual loaded, so the learned answer
competes with the manual as in production.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sajang import PACKAGE_DATA
from sajang.config import Settings

CASES_PATH = PACKAGE_DATA / "learning_eval.jsonl"
MANUAL_DIR = PACKAGE_DATA / "manual"


@contextmanager
def manual_store(settings: Settings, prefix: str,
                 progress: Callable[[str], None] | None = None) -> Iterator[Settings]:
    """A throw-away SQLite store in a temporary directory with the shop's CS manual loaded (the
    embedding settings of `settings`), for the evaluations that run the real inquiry service."""
    from sajang.knowledge.service import get_knowledge

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        store = Settings(data_dir=Path(tmp), database_url=f"sqlite:///{Path(tmp) / 'eval.db'}",
                         embeddings=settings.embeddings, embedding_model=settings.embedding_model,
                         embedding_base_url=settings.embedding_base_url,
                         embedding_api_key=settings.embedding_api_key)
        if progress:
            progress("loading the CS manual into a temporary store …")
        get_knowledge(store).import_manual_dir(MANUAL_DIR)
        yield store


def read_cases(path: Path) -> list[dict[str, Any]]:
    """An evaluation's cases: one JSON object per non-empty line."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _used_learned(result: dict[str, Any], learned_id: int) -> bool:
    return any(s.get("kind") == "learned" and s.get("id") == f"learned:{learned_id}" for s in result["sources"])


def run_learning_eval(settings: Settings, cases_path: Path = CASES_PATH,
                      progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    from sajang.graphs.inquiry.service import get_inquiry_service

    cases = read_cases(cases_path)
    with manual_store(settings, "sajang-learning-eval-", progress) as store:
        service = get_inquiry_service(store)
        rows: list[dict[str, Any]] = []
        for n, case in enumerate(cases, 1):
            thread = service.start_conversation(None, guest_name=f"평가 고객 {n}", channel="api")
            service.ask(case["question"], thread_id=thread)
            taught = service.feedback(thread, case["correct"], author_name="평가")
            learned_id = int(taught["learned_id"])

            def ask_fresh(text: str, k: int = n) -> dict[str, Any]:
                fresh = service.start_conversation(None, guest_name=f"다른 고객 {k}", channel="api")
                return service.ask(text, thread_id=fresh)

            para = [_used_learned(ask_fresh(p), learned_id) for p in case["paraphrases"]]
            unrelated = [_used_learned(ask_fresh(u), learned_id) for u in case["unrelated"]]
            service.undo_learned(learned_id, "평가")
            after_undo = _used_learned(ask_fresh(case["paraphrases"][0]), learned_id)
            rows.append({"question": case["question"], "paraphrases_used": sum(para), "paraphrases": len(para),
                         "unrelated_used": sum(unrelated), "unrelated": len(unrelated), "used_after_undo": after_undo})
            if progress:
                progress(f"{n}/{len(cases)} {case['question']}: paraphrases {sum(para)}/{len(para)}, "
                         f"unrelated {sum(unrelated)}/{len(unrelated)}")
    para_total = sum(r["paraphrases"] for r in rows)
    unrel_total = sum(r["unrelated"] for r in rows)
    return {
        "cases": len(rows),
        "paraphrase_recall": round(sum(r["paraphrases_used"] for r in rows) / (para_total or 1), 3),
        "unrelated_false_use": round(sum(r["unrelated_used"] for r in rows) / (unrel_total or 1), 3),
        "used_after_undo": sum(r["used_after_undo"] for r in rows),
        "rows": rows,
    }


def format_report(report: dict[str, Any]) -> str:
    lines = [f"learning: {report['cases']} corrections taught",
             f"  paraphrases answered with the learned answer: {report['paraphrase_recall']:.3f}",
             f"  unrelated questions wrongly given it:        {report['unrelated_false_use']:.3f}",
             f"  used after undo:                              {report['used_after_undo']}"]
    return "\n".join(lines)
