"""Score fusion of the dense and lexical retrievers, article-level aggregation and the confidence model.

Modes (all rank whole articles / learned answers):
- `lexical`: BM25 over Kiwi morphemes + adjacent-morpheme bigrams of the whole article.
- `dense`: e5 cosine (Chroma); an article scores by its best passage, mixed with its whole-article
  vector (`doc_view_weight`), then with its lead-sentence vector (`lead_weight`; a learned answer's
  question plays the lead).
- `rrf`: reciprocal-rank fusion (k = 60) of the two article rankings: the baseline.
- `hybrid` (default): weighted sum of z-normalised scores (z over each retriever's own candidates;
  an article a retriever did not return counts as its weakest candidate), plus a bonus when a
  learned answer's *question* matches the query almost verbatim.

`calibration.json` (beside this file) holds the tuned weights and the logistic confidence model
`confidence = sigmoid(b0 + Σ b_i · feature_i)` over FEATURES, fitted by
`sajang eval retrieval --fit-calibration` (how: see `sajang/knowledge/evaluation.py`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

CALIBRATION_PATH = Path(__file__).with_name("calibration.json")
# query_terms = log(1 + query content morphemes): e5 cosines run lower for short questions, and the FAQ
# questions the model is fitted on are twice as long as a customer's chat message.
# unknown = 1 when the query names a topic noun no document of the shop contains ("새벽 배송", "칼로리").
FEATURES = ("top_dense", "dense_margin", "coverage", "fused_margin", "agree", "query_terms", "unknown")
RRF_K = 60.0
CANDIDATES = 40  # articles taken from each retriever before fusion
DENSE_CHUNKS = 120  # nearest chunks asked from Chroma (an article has ~3: lead, whole-article, passages)


@dataclass
class FusionConfig:
    dense_weight: float = 0.5
    doc_view_weight: float = 0.5  # dense article score = mix of best passage and whole-article vector
    lead_weight: float = 0.2  # ... then mixed with the lead-sentence vector (a learned answer: its question)
    question_match_cos: float = 0.9
    question_bonus: float = 0.15
    bm25_k1: float = 1.5
    bm25_b: float = 0.75
    # Logistic confidence model (intercept first, then one coefficient per FEATURES entry).
    coef: list[float] = field(default_factory=lambda: [-20.0, 20.0, 10.0, 2.0, 2.0, 0.5, 0.0])
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
    """What fusion needs to know about the index (rebuilt whenever the index changes)."""

    doc_kinds: list[str]  # per document index
    chunk_doc: dict[str, int]  # chunk id → document index
    chunk_role: dict[str, str]  # chunk id → body | title | question | doc
    doc_langs: list[str] = field(default_factory=list)  # per document index: "ko" | "en" (text_language)

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


def _znorm(values: dict[int, float]) -> tuple[dict[int, float], float]:
    """z-scores of the candidates' scores (and the z of the weakest candidate, used for the others)."""
    if not values:
        return {}, 0.0
    arr = np.fromiter(values.values(), dtype=np.float64)
    mu, sd = float(arr.mean()), float(arr.std())
    if sd < 1e-9:
        return {d: 0.0 for d in values}, 0.0
    return {d: (v - mu) / sd for d, v in values.items()}, (float(arr.min()) - mu) / sd


def fuse(
    mode: str,
    lex: np.ndarray | None,
    dense: list[tuple[str, float]] | None,
    view: IndexView,
    cfg: FusionConfig,
    kinds: set[str] | None = None,
    exclude: int | None = None,
    language: str | None = None,
) -> tuple[list[tuple[int, float, str | None]], dict[str, float]]:
    """Rank articles from per-article BM25 scores (`lex`) and Chroma's nearest chunks (`dense`).

    Returns [(doc index, score in (0, 1), chunk to quote)] best first (the article's nearest body chunk,
    else its nearest chunk, else None) and the features of the confidence model. `exclude` drops one
    article (the evaluation's "gold absent" condition). `language` keeps the documents written in it, when
    the index has any (an English question against a Korean-only manual still searches the Korean text).
    """
    n_docs = view.n_docs
    allowed = np.ones(n_docs, dtype=bool)
    if kinds:
        allowed = np.array([k in kinds for k in view.doc_kinds], dtype=bool)
    if language and len(view.doc_langs) == n_docs:
        same = np.array([lang == language for lang in view.doc_langs], dtype=bool)
        if (same & allowed).any():
            allowed &= same
    if exclude is not None:
        allowed[exclude] = False

    # Lexical: the best CANDIDATES articles by BM25 (over the whole article: title + body).
    lex_c: dict[int, float] = {}
    if lex is not None and lex.size:
        scores = np.where(allowed, lex, 0.0)
        n = min(CANDIDATES, scores.size)
        best = np.argpartition(-scores, n - 1)[:n]
        for d in best[np.argsort(-scores[best], kind="stable")]:
            if scores[d] <= 0:
                break
            lex_c[int(d)] = float(scores[d])

    # Dense: per article the best passage (body/title/question chunk) and the whole-article view.
    chunk_best: dict[int, tuple[float, str]] = {}
    body_best: dict[int, tuple[float, str]] = {}  # the passage to quote: a title or question chunk has no answer
    doc_view: dict[int, float] = {}
    lead: dict[int, float] = {}
    question_hit: set[int] = set()
    if dense:
        for cid, cos in dense:
            d = view.chunk_doc.get(cid)
            if d is None or not allowed[d]:
                continue  # a vector of a document removed meanwhile, or filtered out
            role = view.chunk_role.get(cid, "body")
            if role == "doc":
                doc_view[d] = max(cos, doc_view.get(d, -1.0))
                continue
            if role in ("lead", "question"):
                lead[d] = max(cos, lead.get(d, -1.0))
                if role == "lead":
                    continue
            if d not in chunk_best or cos > chunk_best[d][0]:
                chunk_best[d] = (cos, cid)
            if role == "body" and (d not in body_best or cos > body_best[d][0]):
                body_best[d] = (cos, cid)
            if role == "question" and cos >= cfg.question_match_cos:
                question_hit.add(d)
    dense_c: dict[int, float] = {}
    a = cfg.doc_view_weight
    for d in set(chunk_best) | set(doc_view):
        cm = chunk_best[d][0] if d in chunk_best else None
        dv = doc_view.get(d)
        if cm is None:
            dense_c[d] = float(dv)  # type: ignore[arg-type]
        elif dv is None:
            dense_c[d] = cm
        else:
            dense_c[d] = (1 - a) * cm + a * dv
    if lead:
        # An article whose lead vector was not among the nearest chunks scores at most the weakest
        # lead that was: use that bound rather than dropping the term (which would favour it).
        lead_floor = min(lead.values())
        b = cfg.lead_weight
        for d in dense_c:
            dense_c[d] = (1 - b) * dense_c[d] + b * lead.get(d, lead_floor)
        for d, v in lead.items():
            if d not in dense_c:  # only its lead was near: its passages score at most the weakest chunk
                weakest = dense[-1][1] if dense else 0.0
                dense_c[d] = (1 - b) * weakest + b * v
    dense_rank = sorted(dense_c, key=lambda d: -dense_c[d])
    lex_rank = list(lex_c)  # already best first
    cands = list(dict.fromkeys(dense_rank + lex_rank))
    if not cands:
        return [], {name: 0.0 for name in FEATURES}

    if mode == "lexical":
        fused = {d: lex_c[d] for d in lex_rank}
    elif mode == "dense":
        fused = dict(dense_c)
    elif mode == "rrf":
        fused = {}
        for r, d in enumerate(dense_rank, 1):
            fused[d] = fused.get(d, 0.0) + 1.0 / (RRF_K + r)
        for r, d in enumerate(lex_rank, 1):
            fused[d] = fused.get(d, 0.0) + 1.0 / (RRF_K + r)
    else:  # hybrid: weighted sum of z-normalised scores; a missing score counts as the weakest one
        zd, zd_floor = _znorm(dense_c)
        zl, zl_floor = _znorm(lex_c)
        w = cfg.dense_weight
        if not dense_c:
            w = 0.0
        elif not lex_c:
            w = 1.0  # no query term occurs in the index (e.g. English against a Korean manual)
        fused = {}
        for d in cands:
            s = w * zd.get(d, zd_floor) + (1 - w) * zl.get(d, zl_floor)
            if d in question_hit:
                s += cfg.question_bonus
            fused[d] = s
    order = sorted(fused, key=lambda d: -fused[d])
    top = order[0]

    def display(v: float) -> float:
        if mode == "hybrid":
            return _sigmoid(v)
        if mode == "lexical":
            return v / (lex_c[lex_rank[0]] or 1.0)
        if mode == "rrf":
            return v * (RRF_K + 1) / 2
        return v

    ranked = [(d, display(fused[d]), (body_best.get(d) or chunk_best.get(d) or (0.0, None))[1]) for d in order]
    dense_sorted = sorted(dense_c.values(), reverse=True)
    floor = dense_sorted[-1] - 0.01 if dense_sorted else 0.0
    top_dense = dense_c.get(top, floor) if dense_c else 0.0
    others = [v for d, v in dense_c.items() if d != top]
    feats = {
        "top_dense": top_dense,
        "dense_margin": top_dense - (max(others) if others else floor) if dense_c else 0.0,
        "coverage": 0.0,  # filled in by the caller, which knows the tokens
        "fused_margin": fused[top] - (fused[order[1]] if len(order) > 1 else 0.0) if mode == "hybrid" else 0.0,
        "agree": float(bool(lex_rank) and bool(dense_rank) and lex_rank[0] == dense_rank[0] == top),
        "query_terms": 0.0,  # filled in by the caller
        "unknown": 0.0,  # filled in by the caller, which knows the shop's vocabulary
    }
    return ranked, feats
