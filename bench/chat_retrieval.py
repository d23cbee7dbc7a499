"""Chat-style questions against the bundled manual: top-1 article and the answer gate, before/after.

    python bench/chat_retrieval.py                 # measure (raw vs normalised messages, current gate)
    python bench/chat_retrieval.py --fit           # + fit the confidence model on the `fit` split and
                                                   #   write sajang/knowledge/calibration.json
    python bench/chat_retrieval.py --english       # English chat against the English articles
                                                   #   (chat_retrieval_dev_en.jsonl, the same gate)
    python bench/chat_retrieval.py --with-sets [--fit]
                                                   # + the Korean one-line messages of the conversation
                                                   #   sets read so far, labelled by their facts (below)

Dev set: sajang/data/chat_retrieval_dev.jsonl (229 messages written for Sajang: 210 about the 35 articles,
19 the manual does not answer; 1/3 of each article's messages held out). For each condition it reports the
answerable messages whose hit 1 is their article, and the gate as the offline pipeline applies it
(`answer_confidence`: the calibrated retrieval confidence, raised when the classifier's category agrees with
the article's) at `SAJANG_ANSWER_CONFIDENCE_THRESHOLD`: right articles handed off for low confidence, wrong
articles let through, unanswerable messages handed off. Messages the gate hands off before the confidence
counts (a reported incident, an explicit request for a person) are neither. Prints Markdown.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sajang import PACKAGE_DATA
from sajang.config import Settings, apply_offline_defaults, get_settings
from sajang.graphs.inquiry.answering import answer_confidence
from sajang.graphs.inquiry.classifier import get_classifier
from sajang.graphs.inquiry.conversation_eval import read_cases, states
from sajang.knowledge.chat_eval import (
    CHAT_DEV_EN_PATH,
    CHAT_DEV_PATH,
    MANUAL_DIR,
    ChatCase,
    describe_fit,
    fit_rows,
    manual_index,
    queries_of,
    read_chat_cases,
    search_all,
    shop_lexicon,
    top1_accuracy,
    training_rows,
)
from sajang.knowledge.fusion import CALIBRATION_PATH, FusionConfig, calibrated_confidence
from sajang.knowledge.ingest import read_manual_dir
from sajang.knowledge.service import KnowledgeBase, SearchResult

# `--with-sets`: the conversation evaluation's sets that have been read (set 22 onwards stay blind; never
# list one here before it has been measured blind). The dev set and sets 1–19 join the fit split, 20–21 are
# held out.
FIT_SETS = ("conversation_eval.jsonl", "conversation_eval_heldout.jsonl",
            *(f"conversation_eval_heldout{n}.jsonl" for n in range(2, 20)))
HELD_OUT_SETS = ("conversation_eval_heldout20.jsonl", "conversation_eval_heldout21.jsonl")
LABEL_ARTICLES_MAX = 3  # a fact four articles state («3,000원») says nothing of which one the message asks
WRONG_SHARE = 0.02  # of the fit split's answerable messages (the target is 3 % on unseen messages)
UNANSWERABLE_HANDED_OFF = 0.9


@dataclass
class Signals:
    """What the gate needs of one message, computed once: the confidence model is then re-scored cheaply."""

    case: ChatCase
    features: dict[str, float]
    hits: list[dict[str, Any]]
    category: str
    unknown: list[str]
    by_rule: bool  # handed off before the confidence counts: an incident, or a request for a person

    @property
    def right(self) -> bool:
        return bool(self.hits) and self.case.answered_by(self.hits[0]["id"])


def set_cases() -> list[ChatCase]:
    """The one-line Korean messages of the read conversation sets that the manual answers (group `manual`),
    labelled with every article whose text states all the facts the grader requires (none or more than
    LABEL_ARTICLES_MAX: left out, as a message of two questions answered by two articles is), and those it does
    not answer (`unanswerable`)."""
    articles = [(a["id"], f"{a['title']}\n{a['body']}") for a in read_manual_dir(MANUAL_DIR)[0]
                if not a["id"].endswith(".en") and not a["title"].isascii()]
    out: list[ChatCase] = []
    for names, split in ((FIT_SETS, "fit"), (HELD_OUT_SETS, "held_out")):
        for name in names:
            for case in read_cases(PACKAGE_DATA / name):
                text = case["turns"][0]
                if len(case["turns"]) != 1 or text.isascii():
                    continue
                if case["group"] == "unanswerable":
                    out.append(ChatCase(text, None, split))
                elif case["group"] == "manual" and case["expect"].get("facts"):
                    ids = [i for i, body in articles if all(states(body, alts) for alts in case["expect"]["facts"])]
                    if 0 < len(ids) <= LABEL_ARTICLES_MAX:
                        out.append(ChatCase(text, ids[0], split, tuple(ids[1:])))
    return out


def signals_of(settings: Settings, kb: KnowledgeBase, cases: list[ChatCase], queries: list[str],
               results: list[SearchResult], language: str | None = None) -> list[Signals]:
    classes = get_classifier(settings).classify_many(queries)
    out: list[Signals] = []
    for case, query, res, cls in zip(cases, queries, results, classes, strict=True):
        # the unknown-terms check of the real search (needs the index vocabulary): one search more
        unknown = kb.search(query, k=1, fresh=False, language=language).unknown_terms if res.hits else []
        by_rule = cls.wants_human or cls.urgency == "urgent" or (cls.urgency == "high" and bool(cls.evidence))
        out.append(Signals(case, res.features, [h.as_dict() for h in res.hits], cls.category, unknown, by_rule))
    return out


def gate_report(settings: Settings, cfg: FusionConfig, signals: list[Signals], split: str) -> dict[str, int]:
    """The offline answer gate (`answer_confidence` at the threshold) on the messages of `split`."""
    out = {"answerable": 0, "right_top": 0, "right_handed_off": 0, "right_answered": 0, "wrong_answered": 0,
           "unanswerable": 0, "unanswerable_handed_off": 0, "by_rule": 0}
    for sig in signals:
        if split not in ("all", sig.case.split):
            continue
        conf = calibrated_confidence(sig.features, cfg) if sig.hits else 0.0
        final = answer_confidence(settings, conf, sig.category, sig.hits, sig.hits[0], sig.unknown) if sig.hits \
            else 0.0
        answered = final >= settings.answer_confidence_threshold and not sig.by_rule
        out["by_rule"] += sig.by_rule
        if sig.case.article:
            out["answerable"] += 1
            out["right_top"] += sig.right
            out["right_handed_off"] += sig.right and not answered and not sig.by_rule
            out["right_answered"] += sig.right and answered
            out["wrong_answered"] += (not sig.right) and answered
        else:
            out["unanswerable"] += 1
            out["unanswerable_handed_off"] += not answered
    return out


def tune_intercept(settings: Settings, rows: list[tuple[int, list[float], float]], signals: list[Signals],
                   ) -> tuple[float, dict[str, int]]:
    """The intercept shift chosen by 5-fold cross-validation on the `fit` split: each fold's messages are
    gated by a model fitted without them; the shift answers most right articles while at most WRONG_SHARE of
    the answerable messages pass with a wrong article and UNANSWERABLE_HANDED_OFF of the unanswerable ones
    go to a person (a wrong answer is worse than a handoff). Returns the shift and its out-of-fold gate."""
    folds = 5
    fitted = [fit_rows([r for r in rows if r[0] % folds != k])[0] for k in range(folds)]
    index = {id(sig): i for i, sig in enumerate(signals)}
    best: tuple[int, float, dict[str, int]] = (-1, 0.0, {})
    for step in range(-30, 31):
        shift = step / 10
        total: dict[str, int] = {}
        for k, coef in enumerate(fitted):
            cfg = FusionConfig(coef=[coef[0] + shift, *coef[1:]])
            part = [sig for sig in signals if sig.case.split == "fit" and index[id(sig)] % folds == k]
            for key, value in gate_report(settings, cfg, part, "fit").items():
                total[key] = total.get(key, 0) + value
        if total["wrong_answered"] > WRONG_SHARE * total["answerable"]:
            continue
        if total["unanswerable"] and total["unanswerable_handed_off"] < UNANSWERABLE_HANDED_OFF * total["unanswerable"]:
            continue
        if total["right_answered"] > best[0]:
            best = (total["right_answered"], shift, total)
    return best[1], best[2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", action="store_true", help="fit the confidence model and write calibration.json")
    ap.add_argument("--with-sets", action="store_true",
                    help="add the read conversation sets' one-line messages, labelled by their facts")
    ap.add_argument("--english", action="store_true",
                    help="English chat against the English articles (measured with the one confidence model)")
    args = ap.parse_args()
    if args.english and args.fit:
        ap.error("--fit fits the confidence model on the Korean dev set; English questions are gated by it too")
    apply_offline_defaults()
    settings = get_settings()
    settings.ensure_data_dir()
    language = "en" if args.english else None
    cases = read_chat_cases(CHAT_DEV_EN_PATH if args.english else CHAT_DEV_PATH)
    if args.with_sets:
        cases += set_cases()
    lexicon = shop_lexicon(settings)
    current = FusionConfig.load()
    rows: list[str] = []
    with manual_index(settings, english=args.english) as kb:
        norm_q = queries_of(cases, normalised=True, lexicon=lexicon)
        norm_signals: list[Signals] = []
        for name, queries in {"as typed": queries_of(cases, normalised=False), "normalised": norm_q}.items():
            results = search_all(kb, queries, language=language)
            signals = signals_of(settings, kb, cases, queries, results, language)
            rows.append(_row(name, "current", top1_accuracy(cases, results),
                             {s: gate_report(settings, current, signals, s) for s in ("fit", "held_out")}))
            norm_signals = signals
        if args.fit:
            rows_ = training_rows(kb, cases, norm_q)
            shift, oof = tune_intercept(settings, rows_, norm_signals)
            coef, report = fit_rows(rows_)
            fit_cases = [c for c in cases if c.split == "fit"]
            cfg = FusionConfig(**{**current.__dict__, "coef": [round(coef[0] + shift, 4), *coef[1:]]})
            cfg.fitted_on = (describe_fit(sum(1 for c in fit_cases if c.article), sum(1 for c in fit_cases if not c.article))
                             + f"; intercept shifted by {shift:+.1f}, chosen by 5-fold cross-validation so that at most "
                             f"{WRONG_SHARE:.0%} of the answerable messages pass the gate with a wrong article")
            print(f"out-of-fold gate on the fit split at shift {shift:+.1f}: {oof}", file=sys.stderr)
            rows.append(_row("normalised", "chat-fitted", _acc_of(norm_signals),
                             {s: gate_report(settings, cfg, norm_signals, s) for s in ("fit", "held_out")}))
            cfg.save(CALIBRATION_PATH, calibration=report, previous_coef=current.coef, out_of_fold_gate=oof,
                     corpus="sajang/data/chat_retrieval_dev.jsonl (split fit)")
            print(f"wrote {CALIBRATION_PATH} (brier {report['brier']}, intercept shift {shift:+.1f})",
                  file=sys.stderr)
    print("| messages | confidence model | top-1 fit | top-1 held out | held out: right on top handed off | "
          "held out: wrong answered | held out: unanswerable handed off | fit: right handed off | "
          "fit: wrong answered |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


def _acc_of(signals: list[Signals]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for split in ("fit", "held_out"):
        picked = [s for s in signals if s.case.article and s.case.split == split]
        out[split] = {"n": len(picked), "top1": sum(s.right for s in picked)}
    return out


def _row(name: str, model: str, acc: dict[str, Any], gates: dict[str, dict[str, int]]) -> str:
    h, f = gates["held_out"], gates["fit"]
    return (f"| {name} | {model} | {acc['fit']['top1']}/{acc['fit']['n']} | {acc['held_out']['top1']}/"
            f"{acc['held_out']['n']} | {h['right_handed_off']}/{h['right_top']} | {h['wrong_answered']}/"
            f"{h['answerable']} | {h['unanswerable_handed_off']}/{h['unanswerable']} | "
            f"{f['right_handed_off']}/{f['right_top']} | {f['wrong_answered']}/{f['answerable']} |")


if __name__ == "__main__":
    main()
