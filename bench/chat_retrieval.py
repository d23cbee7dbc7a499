"""Chat-style questions against the bundled manual: top-1 article and the answer gate, before/after.

    python bench/chat_retrieval.py                 # measure (raw vs normalised messages, current gate)
    python bench/chat_retrieval.py --fit           # + fit the confidence model on the `fit` split and
                                                   #   write sajang/knowledge/calibration.json

Dev set: sajang/data/chat_retrieval_dev.jsonl (229 messages written for Sajang: 210 about the 35 articles,
19 the manual does not answer; 1/3 of each article's messages held out). For each condition it reports the
answerable messages whose hit 1 is their article, and the gate as the offline pipeline applies it
(`answer_confidence`: the calibrated retrieval confidence, raised when the classifier's category agrees with
the article's) at `SAJANG_ANSWER_CONFIDENCE_THRESHOLD`: right articles handed off, wrong articles let
through, unanswerable messages handed off. Prints Markdown.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sajang.config import Settings, apply_offline_defaults, get_settings
from sajang.graphs.inquiry.answering import answer_confidence
from sajang.graphs.inquiry.classifier import get_classifier
from sajang.knowledge.chat_eval import (
    ChatCase,
    fit_confidence,
    manual_index,
    queries_of,
    read_chat_cases,
    search_all,
    shop_lexicon,
    top1_accuracy,
)
from sajang.knowledge.fusion import CALIBRATION_PATH, FusionConfig, calibrated_confidence
from sajang.knowledge.service import KnowledgeBase, SearchResult


def gate_report(settings: Settings, kb: KnowledgeBase, cases: list[ChatCase], queries: list[str],
                results: list[SearchResult], split: str) -> dict[str, Any]:
    """The offline answer gate on the messages of `split` (all: both)."""
    picked = [(c, q, r) for c, q, r in zip(cases, queries, results, strict=True) if split in ("all", c.split)]
    categories = [x.category for x in get_classifier(settings).classify_many([q for _c, q, _r in picked])]
    out = {"answerable": 0, "right_top": 0, "right_handed_off": 0, "right_answered": 0, "wrong_answered": 0,
           "unanswerable": 0, "unanswerable_handed_off": 0}
    for (case, _q, res), category in zip(picked, categories, strict=True):
        hits = [h.as_dict() for h in res.hits]
        conf = calibrated_confidence(res.features, kb.fusion) if hits else 0.0
        # the unknown-terms check of the real search needs the vocabulary: recomputed here the same way
        unknown = kb.search(_q, k=1, fresh=False).unknown_terms if hits else []
        final = answer_confidence(settings, conf, category, hits, hits[0], unknown) if hits else 0.0
        answered = final >= settings.answer_confidence_threshold
        if case.article:
            out["answerable"] += 1
            right = bool(hits) and hits[0]["id"] == case.article
            out["right_top"] += right
            out["right_handed_off"] += right and not answered
            out["right_answered"] += right and answered
            out["wrong_answered"] += (not right) and answered
        else:
            out["unanswerable"] += 1
            out["unanswerable_handed_off"] += not answered
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", action="store_true", help="fit the confidence model and write calibration.json")
    args = ap.parse_args()
    apply_offline_defaults()
    settings = get_settings()
    settings.ensure_data_dir()
    cases = read_chat_cases()
    lexicon = shop_lexicon(settings)
    with manual_index(settings) as kb:
        raw_q = queries_of(cases, normalised=False)
        norm_q = queries_of(cases, normalised=True, lexicon=lexicon)
        conditions = {"as typed": raw_q, "normalised": norm_q}
        before = FusionConfig.load()
        rows: list[str] = []
        for name, queries in conditions.items():
            results = search_all(kb, queries)
            acc = top1_accuracy(cases, results)
            gates = {s: gate_report(settings, kb, cases, queries, results, s) for s in ("fit", "held_out")}
            rows.append(_row(name, "current", acc, gates))
        if args.fit:
            cfg, report = fit_confidence(kb, cases, norm_q, say=lambda m: print(m, file=sys.stderr))
            results = search_all(kb, norm_q)
            acc = top1_accuracy(cases, results)
            gates = {s: gate_report(settings, kb, cases, norm_q, results, s) for s in ("fit", "held_out")}
            rows.append(_row("normalised", "chat-fitted", acc, gates))
            cfg.save(CALIBRATION_PATH, calibration=report, previous_coef=before.coef,
                     corpus="sajang/data/chat_retrieval_dev.jsonl (split fit)")
            print(f"wrote {CALIBRATION_PATH} (brier {report['brier']})", file=sys.stderr)
    print("| messages | confidence model | top-1 fit | top-1 held out | held out: right on top handed off | "
          "held out: wrong answered | held out: unanswerable handed off | fit: right handed off | "
          "fit: wrong answered |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


def _row(name: str, model: str, acc: dict[str, Any], gates: dict[str, dict[str, int]]) -> str:
    h, f = gates["held_out"], gates["fit"]
    return (f"| {name} | {model} | {acc['fit']['top1']}/{acc['fit']['n']} | {acc['held_out']['top1']}/"
            f"{acc['held_out']['n']} | {h['right_handed_off']}/{h['right_top']} | {h['wrong_answered']}/"
            f"{h['answerable']} | {h['unanswerable_handed_off']}/{h['unanswerable']} | "
            f"{f['right_handed_off']}/{f['right_top']} | {f['wrong_answered']}/{f['answerable']} |")


if __name__ == "__main__":
    main()
