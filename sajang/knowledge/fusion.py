"""Score fusion of the dense and lexical retrievers, article-level aggregation and the confidence model.

Modes:
- `lexical`: BM25 over Kiwi morphemes; article score = best chunk.
- `dense`: cosine of e5 vectors (Chroma); article score = best chunk.
- `rrf`: reciprocal-rank fusion of the two article rankings (k = 60), the baseline.
- `hybrid`: weighted fusion of per-query normalised scores (dense min–max over the candidates,
  BM25 divided by its best score), plus a bonus when a learned answer's *question* matches.

`calibration.json` (beside this file) holds the tuned weights and the logistic confidence model:
`confidence = sigmoid(b0 + Σ b_i · feature_i)`, fitted on the FAQ dev split by `sajang eval retrieval
--fit-calibration` (features in FEATURES; how it was fitted is written into the file).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

CALIBRATION_PATH = Path(__file__).with_name("calibration.json")
FEATURES = ("top_dense", "dense_margin", "coverage", "fused_margin", "agree")
RRF_K = 60.0
CANDIDATES = 40


@dataclass
class FusionConfig:
    dense_weight: float = 0.6
    question_match_cos: float = 0.9
    question_bonus: float = 0.15
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    # Logistic confidence model (intercept first, then one coefficient per FEATURES entry).
    coef: list[float] = field(default_factory=lambda: [-20.0, 20.0, 10.0, 2.0, 2.0, 0.5])
    fitted_on: str = "hand-set prior (not fitted)"

    @classmethod
    def load(cls, path: Path = CALIBRATION_PATH) -> FusionConfig:
        if not path.exists():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def save(self, path: Path = CALIBRATION_PATH, **extra: Any) -> None:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        data["features"] = list(FEATURES)
        data.update(extra)
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


@dataclass
class IndexView:
    """The static arrays of an index that fusion needs (rebuilt whenever the index changes)."""

    row_doc: np.ndarray  # chunk row → doc index
    row_is_question: np.ndarray  # chunk row is a learned answer's question
    row_index: dict[str, int]  # chunk id → row
    doc_kinds: list[str]

    @property
    def n_docs(self) -> int:
        return len(self.doc_kinds)


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def calibrated_confidence(feats: dict[str, float], cfg: FusionConfig) -> float:
    z = cfg.coef[0] + sum(c * float(feats.get(name, 0.0)) for c, name in zip(cfg.coef[1:], FEATURES, strict=False))
    return _sigmoid(z)


def fuse(
    mode: str,
    lex: tuple[np.ndarray, list[str]] | None,
    dense: list[tuple[str, float]] | None,
    view: IndexView,
    cfg: FusionConfig,
    kinds: set[str] | None = None,
    exclude: int | None = None,
) -> tuple[list[tuple[int, float, int]], dict[str, float]]:
    """Rank articles. Returns [(doc index, score, best chunk row)] best first, and confidence features.
    `exclude` drops one article (the evaluation's "gold absent" condition)."""
    n_docs = view.n_docs
    allowed: np.ndarray | None = None
    if kinds:
        allowed = np.array([k in kinds for k in view.doc_kinds], dtype=bool)
    if exclude is not None:
        if allowed is None:
            allowed = np.ones(n_docs, dtype=bool)
        allowed[exclude] = False

    # Lexical: best chunk per article over every chunk; candidates from the top chunks.
    doc_lex = np.zeros(n_docs, dtype=np.float32)
    lex_best_row = np.full(n_docs, -1, dtype=np.int64)
    lex_cands: list[int] = []
    if lex is not None:
        scores = lex[0]
        if scores.size:
            n = min(CANDIDATES * 2, scores.size)
            top = np.argpartition(-scores, n - 1)[:n]
            top = top[np.argsort(-scores[top], kind="stable")]
            for row in top:
                s = float(scores[row])
                if s <= 0:
                    break
                d = int(view.row_doc[row])
                if allowed is not None and not allowed[d]:
                    continue
                if lex_best_row[d] < 0:
                    lex_best_row[d] = row
                    doc_lex[d] = s
                    lex_cands.append(d)
                    if len(lex_cands) >= CANDIDATES:
                        break

    # Dense: Chroma's nearest chunks; best chunk per article.
    doc_dense: dict[int, float] = {}
    dense_best_row: dict[int, int] = {}
    dense_cands: list[int] = []
    question_hit: set[int] = set()
    floor = 0.0
    if dense:
        for cid, cos in dense:
            row = view.row_index.get(cid)
            if row is None:
                continue  # a vector of a document removed meanwhile
            d = int(view.row_doc[row])
            if allowed is not None and not allowed[d]:
                continue
            if d not in doc_dense:
                doc_dense[d] = cos
                dense_best_row[d] = row
                dense_cands.append(d)
            if view.row_is_question[row] and cos >= cfg.question_match_cos:
                question_hit.add(d)
        if doc_dense:
            floor = min(doc_dense.values()) - 0.01

    cands = list(dict.fromkeys(dense_cands + lex_cands))
    if not cands:
        return [], {name: 0.0 for name in FEATURES}

    lex_max = float(doc_lex.max()) if lex_cands else 0.0
    dmax = max(doc_dense.values()) if doc_dense else 0.0

    def dense_of(d: int) -> float:
        return doc_dense.get(d, floor)

    scored: list[tuple[int, float]] = []
    if mode == "lexical":
        scored = [(d, float(doc_lex[d]) / lex_max if lex_max else 0.0) for d in lex_cands]
    elif mode == "dense":
        scored = [(d, doc_dense[d]) for d in dense_cands]
    elif mode == "rrf":
        rank_l = {d: r for r, d in enumerate(lex_cands, 1)}
        rank_d = {d: r for r, d in enumerate(dense_cands, 1)}
        for d in cands:
            s = 0.0
            if d in rank_l:
                s += 1.0 / (RRF_K + rank_l[d])
            if d in rank_d:
                s += 1.0 / (RRF_K + rank_d[d])
            scored.append((d, s))
    else:  # hybrid
        w = cfg.dense_weight if dense is not None else 0.0
        if lex is None or not lex_max:
            w = 1.0  # no query term occurs in the index (e.g. English against a Korean manual)
        span = (dmax - floor) or 1.0
        for d in cands:
            dn = (dense_of(d) - floor) / span if doc_dense else 0.0
            ln = float(doc_lex[d]) / lex_max if lex_max else 0.0
            s = w * dn + (1 - w) * ln
            if d in question_hit:
                s += cfg.question_bonus
            scored.append((d, s))
    scored.sort(key=lambda x: -x[1])

    ranked: list[tuple[int, float, int]] = []
    for d, s in scored:
        row = dense_best_row.get(d, int(lex_best_row[d]))
        if row < 0:
            row = int(lex_best_row[d])
        ranked.append((d, s, row))

    top = scored[0][0]
    dense_sorted = sorted(doc_dense.values(), reverse=True)
    feats = {
        "top_dense": dense_of(top) if doc_dense else 0.0,
        "dense_margin": (dense_of(top) - (dense_sorted[1] if len(dense_sorted) > 1 else floor))
        if doc_dense else 0.0,
        "coverage": 0.0,  # filled in by the caller, which knows the tokens
        "fused_margin": scored[0][1] - (scored[1][1] if len(scored) > 1 else 0.0),
        "agree": float(bool(lex_cands) and bool(dense_cands) and lex_cands[0] == dense_cands[0] == top),
    }
    return ranked, feats
