"""`sajang eval reviews`: precision / recall / F1 of negative-review detection, text only, with the shipped
head, on the held-out split by default.

- `--set shopping` (default): the project's labelled food-shop reviews; beside the shipped numbers the
  movie-only head (CC0 Naver movie reviews, no shopping data), and aspect P/R/F1 on the negative reviews.
- `--set naver`: the real third-party Naver Shopping sample (`naver_sample.py`; labels from the star
  rating), overall and per product group; skipped with a notice when the file is absent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from sajang.errors import SajangError
from sajang.graphs.review.naver_sample import GROUPS, NAVER_PATH, load_naver
from sajang.graphs.review.sentiment import HEAD_PATH, SHOPPING_PATH, decide, embed, load_head
from sajang.graphs.review.train import evaluate, make_head, prf


def load_labelled(path: Path, split: str | None) -> list[dict[str, Any]]:
    """Rows with `text` and boolean `negative` (JSONL); `split` filters on the `split` field when given."""
    if not path.exists():
        raise SajangError(f"{path}: no such file")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise SajangError(f"line {n}: invalid JSON") from None
        if "text" not in row or "negative" not in row:
            raise SajangError(f"line {n}: needs text and negative")
        row.setdefault("id", str(n))
        if split and split != "all" and row.get("split", split) != split:
            continue
        rows.append(row)
    return rows


def run_review_eval(path: Path = SHOPPING_PATH, split: str = "heldout", with_rating: bool = False) -> dict[str, Any]:
    rows = load_labelled(path, split)
    if not rows:
        raise SajangError(f"no labelled rows in {path} for split {split!r}")
    head = load_head()
    vecs = embed([r["text"] for r in rows])
    report: dict[str, Any] = {"file": str(path), "split": split, "n": len(rows),
                              "negatives": sum(1 for r in rows if r["negative"]),
                              "thresholds": {"threshold": head.threshold, "cue_threshold": head.cue_threshold},
                              "shipped": evaluate(head, rows, vecs, use_rating=with_rating)}
    with np.load(HEAD_PATH, allow_pickle=False) as z:
        if "movie_w" in z.files:
            movie = make_head(z["movie_w"], float(z["movie_b"]), 0.5, 1.01)
            report["movie_only"] = {k: v for k, v in evaluate(movie, rows, vecs, use_rating=with_rating).items()
                                    if k != "errors"}
    return report


def format_report(report: dict[str, Any]) -> str:
    lines = [f"review detection · {report['file']} · split {report['split']} · n={report['n']} "
             f"(negative {report['negatives']})", f"{'model':<28}{'precision':>10}{'recall':>8}{'F1':>8}"]

    def row(name: str, m: dict[str, Any]) -> None:
        lines.append(f"{name:<28}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['f1']:>8.3f}")

    row("shipped (head + rules)", report["shipped"]["head_plus_rules"])
    row("shipped head only", report["shipped"]["head_only"])
    if "movie_only" in report:
        row("movie-only head", report["movie_only"]["head_only"])
    row("aspects (negative rows)", report["shipped"]["aspects"])
    for e in report["shipped"]["errors"][:20]:
        lines.append(f"  miss {e['id']}: gold={'neg' if e['gold'] else 'ok'} score={e['score']:.2f} {e['text']}")
    return "\n".join(lines)



def run_naver_eval(path: Path = NAVER_PATH, split: str = "heldout") -> dict[str, Any]:
    """Detection P/R/F1 on the real Naver Shopping sample, text only, overall and per product group.
    An absent file gives `{"skipped": reason}` instead of an error (the sample is optional data)."""
    if not path.exists():
        return {"file": str(path), "split": split, "skipped": f"{path} not found"}
    rows = load_naver(path, split)
    if not rows:
        raise SajangError(f"no rows in {path} for split {split!r}")
    head = load_head()
    vecs = embed([r["text"] for r in rows])
    probs = head.proba(vecs)
    verdicts = [decide(r["text"], None, float(p), v, head) for r, p, v in zip(rows, probs, vecs, strict=True)]
    truth = [bool(r["negative"]) for r in rows]
    pred = [v.negative for v in verdicts]
    groups: dict[str, dict[str, Any]] = {}
    for g in (*GROUPS, "non-food"):
        idx = [i for i, r in enumerate(rows)
               if (r["group"] == g if g != "non-food" else r["group"] not in ("food", "other"))]
        if idx:
            groups[g] = prf([truth[i] for i in idx], [pred[i] for i in idx])
    errors = [{"id": r["id"], "text": r["text"], "gold": r["negative"], "score": v.score, "group": r["group"]}
              for r, v in zip(rows, verdicts, strict=True) if v.negative != r["negative"]]
    return {"file": str(path), "split": split, "n": len(rows), "negatives": sum(truth),
            "thresholds": {"threshold": head.threshold, "cue_threshold": head.cue_threshold},
            "overall": prf(truth, pred), "head_only": prf(truth, [bool(p >= head.threshold) for p in probs]),
            "groups": groups, "errors": errors}


def format_naver_report(report: dict[str, Any]) -> str:
    if "skipped" in report:
        return f"review detection · naver sample skipped: {report['skipped']}"
    lines = [f"review detection · {report['file']} · split {report['split']} · n={report['n']} "
             f"(negative {report['negatives']}) · text only, labels from the star rating",
             f"{'group':<24}{'n':>6}{'precision':>10}{'recall':>8}{'F1':>8}"]

    def row(name: str, m: dict[str, Any]) -> None:
        lines.append(f"{name:<24}{m['n']:>6}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['f1']:>8.3f}")

    row("all (head + rules)", report["overall"])
    row("all (head only)", report["head_only"])
    for g, m in report["groups"].items():
        row(f"  {g}", m)
    if report["split"] == "heldout":  # its misses are not listed: nothing is tuned on the held-out reviews
        lines.append(f"  {len(report['errors'])} misses (listed with --json; tune on --split train)")
        return "\n".join(lines)
    for e in report["errors"][:20]:
        lines.append(f"  miss {e['id']} [{e['group']}]: gold={'neg' if e['gold'] else 'ok'} score={e['score']:.2f} "
                     f"{e['text'][:80]}")
    return "\n".join(lines)
