"""Accuracy of the inquiry classifier (`sajang eval classification`).

Two sets:
- `bitext`: English e-commerce utterances of `../shared/data/cs_intents/bitext_customer_service_8k.csv`
  whose intent maps onto one of our categories (`BITEXT_MAP`; intents with no clear equivalent —
  `change_order`, `place_order`, `complaint`, `review` — are left out). A deterministic sample of
  `per_intent` utterances per intent keeps the embedding time low. Rows are split by a hash of the
  utterance into `dev` (what the examples were checked against while writing them) and `test` (the
  reported number), so the report is not measured on what the examples were tuned with.
- `ko`: the hand-written Korean held-out set `sajang/data/intents_eval_ko.tsv` (never used as examples).
"""

from __future__ import annotations

import csv
import hashlib
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sajang.config import Settings
from sajang.graphs.inquiry.classifier import (
    EVAL_KO_FILE,
    Classification,
    classify_text,
    get_classifier,
    load_examples,
)

BITEXT_MAP: dict[str, str] = {
    "cancel_order": "cancel",
    "check_cancellation_fee": "cancel",
    "contact_human_agent": "human",
    "contact_customer_service": "human",
    "delivery_options": "delivery",
    "delivery_period": "delivery",
    "track_order": "delivery",
    "change_shipping_address": "delivery",
    "set_up_shipping_address": "delivery",
    "check_refund_policy": "return_refund",
    "get_refund": "return_refund",
    "track_refund": "return_refund",
    "check_payment_methods": "payment",
    "payment_issue": "payment",
    "check_invoice": "payment",
    "get_invoice": "payment",
    "create_account": "other",
    "delete_account": "other",
    "edit_account": "other",
    "recover_password": "other",
    "registration_problems": "other",
    "switch_account": "other",
    "newsletter_subscription": "other",
}
DEFAULT_BITEXT = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "cs_intents" / \
    "bitext_customer_service_8k.csv"


def _split_of(text: str) -> str:
    return "dev" if int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % 2 == 0 else "test"


def bitext_sample(path: Path, per_intent: int = 50, split: str = "test", seed: int = 7) -> list[tuple[str, str]]:
    """(category, utterance) pairs: `per_intent` per mapped intent from the given split."""
    by_intent: dict[str, list[str]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            intent = row.get("intent") or ""
            text = (row.get("utterance") or "").strip()
            if intent in BITEXT_MAP and text and (split == "all" or _split_of(text) == split):
                by_intent.setdefault(intent, []).append(text)
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    for intent in sorted(by_intent):
        texts = sorted(set(by_intent[intent]))
        rng.shuffle(texts)
        out.extend((BITEXT_MAP[intent], t) for t in texts[:per_intent])
    return out


def score(pairs: list[tuple[str, str]], predicted: list[Classification]) -> dict[str, Any]:
    total = len(pairs)
    correct = sum(1 for (gold, _), p in zip(pairs, predicted, strict=True) if p.category == gold)
    confusion = Counter((gold, p.category) for (gold, _), p in zip(pairs, predicted, strict=True)
                        if p.category != gold)
    per_cat: dict[str, dict[str, Any]] = {}
    for (gold, _), p in zip(pairs, predicted, strict=True):
        d = per_cat.setdefault(gold, {"n": 0, "correct": 0})
        d["n"] += 1
        d["correct"] += int(p.category == gold)
    for d in per_cat.values():
        d["accuracy"] = round(d["correct"] / d["n"], 4)
    errors = [{"text": t, "gold": g, "predicted": p.category}
              for (g, t), p in zip(pairs, predicted, strict=True) if p.category != g]
    return {
        "n": total, "accuracy": round(correct / total, 4) if total else 0.0,
        "per_category": dict(sorted(per_cat.items())),
        "confusion_pairs": [{"gold": g, "predicted": p, "count": c} for (g, p), c in confusion.most_common(10)],
        "errors": errors[:20],
    }


def _predict(settings: Settings, texts: list[str]) -> list[Classification]:
    if settings.llm_enabled:
        return [classify_text(settings, t) for t in texts]
    return get_classifier(settings).classify_many(texts)


def run_classification_eval(settings: Settings, bitext: Path | None = None, per_intent: int = 50,
                            split: str = "test", progress: Any = None) -> dict[str, Any]:
    report: dict[str, Any] = {"method": "llm" if settings.llm_enabled else "embedding",
                              "examples": len(load_examples())}
    ko = load_examples(EVAL_KO_FILE)
    t0 = time.perf_counter()
    report["ko"] = score(ko, _predict(settings, [t for _, t in ko]))
    report["ko"]["seconds"] = round(time.perf_counter() - t0, 2)
    path = bitext or DEFAULT_BITEXT
    if path.exists():
        pairs = bitext_sample(path, per_intent, split)
        if progress:
            progress(f"classifying {len(pairs)} bitext utterances ({split} split)…")
        t0 = time.perf_counter()
        report["bitext"] = score(pairs, _predict(settings, [t for _, t in pairs]))
        report["bitext"].update(split=split, per_intent=per_intent, seconds=round(time.perf_counter() - t0, 2),
                                mapping=BITEXT_MAP)
    else:
        report["bitext"] = {"skipped": f"{path} is absent"}
    return report


def format_report(report: dict[str, Any]) -> str:
    lines = [f"classifier: {report['method']} ({report['examples']} examples)"]
    for name in ("ko", "bitext"):
        part = report.get(name) or {}
        if "skipped" in part:
            lines.append(f"{name}: skipped ({part['skipped']})")
            continue
        lines.append(f"{name}: accuracy {part['accuracy']:.3f} on {part['n']} utterances")
        for c in part["confusion_pairs"][:6]:
            lines.append(f"  {c['gold']:>14} → {c['predicted']:<14} {c['count']}")
    return "\n".join(lines)
