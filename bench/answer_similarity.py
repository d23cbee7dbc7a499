"""Measurement behind the answer gate's similarity rule (`answering.reads_like_its_answer`).

    python bench/answer_similarity.py                 # every conversation set but the one held out
    python bench/answer_similarity.py --skip heldout20 --skip heldout22

For each single-turn guest case of the manual and unanswerable groups, the message is read the chat's way
(`look_up`), the units the reply would quote are chosen (`manual_parts`), and the cosine of the question's e5
query vector and the quoted units' passage vector is taken. A case is "right" when the units state every fact
the case expects, "wrong" when they do not, "unanswerable" when the manual has no answer. Printed: of the
questions under the answer gate (retrieval confidence at least the rule's floor, no unknown term), how many
of each kind lie on either side of each similarity threshold — the rule answers those at or above it whose quoted
units say every noun of the question (the last two columns).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sajang import PACKAGE_DATA
from sajang.config import Settings
from sajang.graphs.inquiry import answering
from sajang.graphs.inquiry.conversation_eval import states
from sajang.graphs.inquiry.learning_eval import manual_store, read_cases
from sajang.knowledge.embeddings import embed_texts

THRESHOLDS = (0.86, 0.87, 0.88, 0.89, 0.90)


def measure(store: Settings, paths: list[Path]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for path in paths:
        for case in read_cases(path):
            if len(case["turns"]) != 1 or case["group"] not in ("manual", "unanswerable") or case.get("customer"):
                continue
            text = case["turns"][0]
            locale = answering.detect_locale(text)
            found = answering.look_up(store, text, locale)
            if not found.hits:
                continue
            articles, _korean_only = answering.in_language(store, found.hits, locale)
            parts = answering.manual_parts(found.question, articles)
            units = [u for _q, _h, us in parts for u in us]
            if not units:
                continue
            quoted = " ".join(u.quote for u in units)
            if case["group"] == "unanswerable":
                kind = "unanswerable"
            else:
                facts = case["expect"].get("facts") or []
                kind = "right" if all(states(quoted, alts) for alts in facts) else "wrong"
            query = embed_texts(store, [found.question], "query")[0]
            passage = embed_texts(store, [quoted])[0]
            rows.append({"set": path.name, "kind": kind, "confidence": found.confidence,
                         "every_noun": answering.quotes_every_noun(found.question, parts),
                         "unknown": bool(found.unknown_terms), "similarity": float(query @ passage)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip", action="append", default=["heldout20"],
                        help="a set left out (its file name contains this); default: heldout20, measured blind")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    paths = [p for p in sorted(PACKAGE_DATA.glob("conversation_eval*.jsonl"))
             if not any(skip in p.name for skip in args.skip)]
    with manual_store(Settings(), "sajang-bench-similarity-") as store:
        rows = measure(store, paths)
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    gate = Settings().answer_confidence_threshold
    floor = answering.ANSWERS_LIKE_MIN_RETRIEVAL
    print(f"{len(rows)} questions from {len(paths)} sets; the rule looks at those under the gate ({gate}) with "
          f"retrieval confidence ≥ {floor} and no unknown term (rule: ≥ {answering.ANSWERS_LIKE}, every noun said)")
    for unknown in (False, True):
        under = [r for r in rows if floor <= float(r["confidence"]) < gate  # type: ignore[arg-type]
                 and bool(r["unknown"]) is unknown]
        print(f"\n{'with' if unknown else 'without'} an unknown term: {len(under)} questions\n")
        print("| similarity ≥ | right | wrong | unanswerable | right : not right | below: right | below: not right "
              "| every noun said: right | every noun said: not right |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for threshold in THRESHOLDS:
            above = Counter(str(r["kind"]) for r in under if float(r["similarity"]) >= threshold)  # type: ignore[arg-type]
            below = Counter(str(r["kind"]) for r in under if float(r["similarity"]) < threshold)  # type: ignore[arg-type]
            not_right = above["wrong"] + above["unanswerable"]
            ratio = f"{above['right'] / not_right:.1f}" if not_right else "–"
            said = Counter(str(r["kind"]) for r in under
                           if float(r["similarity"]) >= threshold and r["every_noun"])  # type: ignore[arg-type]
            print(f"| {threshold:.2f} | {above['right']} | {above['wrong']} | {above['unanswerable']} | {ratio} | "
                  f"{below['right']} | {below['wrong'] + below['unanswerable']} | {said['right']} | "
                  f"{said['wrong'] + said['unanswerable']} |")

if __name__ == "__main__":
    main()
