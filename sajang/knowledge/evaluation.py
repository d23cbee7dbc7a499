"""Retrieval evaluation: hit@1, hit@5, MRR@10 and latency per mode on a JSONL corpus.

The corpus is indexed into a throw-away database + Chroma dir (the shop's own data is untouched);
vectors go through the shop DB's embedding cache, so a second run embeds nothing. Each row gives one
document (`--body-field`, optional `--title-field`) and one query (`--query-field`) whose correct
answer is that row's document.

With `fit_calibration` the hybrid dense weight is chosen on the corpus (grid) and the logistic
confidence model is fitted on two conditions per query: the normal index (label: hit 1 is right) and
the index *without* the gold document (label 0: the manual has no answer, the gate must hand off).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sajang.config import Settings
from sajang.db.errors import DataError

from .embeddings import get_embeddings
from .fusion import FEATURES, FusionConfig

MODES = ("lexical", "dense", "rrf", "hybrid")


def load_corpus(path: Path, id_field: str, body_field: str, query_field: str, title_field: str | None,
                limit: int | None) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}: line {n}: invalid JSON ({exc.msg})") from None
            for f in (id_field, body_field, query_field):
                if obj.get(f) in (None, ""):
                    raise DataError(f"{path}: line {n}: missing field `{f}`")
            rows.append({"id": str(obj[id_field]), "body": str(obj[body_field]), "query": str(obj[query_field]),
                         "title": str(obj.get(title_field) or "") if title_field else ""})
            if limit and len(rows) >= limit:
                break
    if not rows:
        raise DataError(f"{path}: empty corpus")
    return rows


def _metrics(ranks: list[int | None], latencies: list[float]) -> dict[str, float]:
    n = len(ranks)
    lat = sorted(latencies)
    return {
        "hit@1": round(sum(1 for r in ranks if r == 1) / n, 4),
        "hit@5": round(sum(1 for r in ranks if r is not None and r <= 5) / n, 4),
        "mrr@10": round(sum(1.0 / r for r in ranks if r is not None and r <= 10) / n, 4),
        "p50_ms": round(1000 * statistics.median(lat), 2),
        "p95_ms": round(1000 * lat[min(len(lat) - 1, int(0.95 * len(lat)))], 2),
    }


def _rank_of(hit_ids: list[str], gold: str) -> int | None:
    for i, hid in enumerate(hit_ids, 1):
        if hid == gold:
            return i
    return None


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, iters: int = 50) -> np.ndarray:
    """Newton/IRLS logistic regression with an intercept (first coefficient) and a small L2 penalty."""
    xb = np.hstack([np.ones((x.shape[0], 1)), x])
    w = np.zeros(xb.shape[1])
    reg = l2 * np.eye(xb.shape[1])
    reg[0, 0] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (p - y) + reg @ w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + reg
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def _calibration_report(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> dict[str, Any]:
    p = 1.0 / (1.0 + np.exp(-(np.hstack([np.ones((x.shape[0], 1)), x]) @ w)))
    bins = []
    for lo in np.arange(0.0, 1.0, 0.2):
        m = (p >= lo) & (p < lo + 0.2 + (1e-9 if lo >= 0.8 else 0))
        if m.any():
            bins.append({"range": f"{lo:.1f}-{lo + 0.2:.1f}", "n": int(m.sum()),
                         "mean_conf": round(float(p[m].mean()), 3), "accuracy": round(float(y[m].mean()), 3)})
    brier = float(np.mean((p - y) ** 2))
    return {"brier": round(brier, 4), "bins": bins}


def run_retrieval_eval(settings: Settings, corpus: Path, *, id_field: str = "id", body_field: str = "answer",
                       query_field: str = "question_no_prefix", title_field: str | None = None,
                       limit: int | None = None, modes: list[str] | None = None, fit_calibration: bool = False,
                       progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    from .service import KnowledgeBase

    say = progress or (lambda _m: None)
    modes = [m for m in (modes or list(MODES)) if m in MODES]
    if not modes:
        raise DataError(f"no known mode (choose from {', '.join(MODES)})")
    rows = load_corpus(corpus, id_field, body_field, query_field, title_field, limit)
    emb = get_embeddings(settings)  # the shop DB's cache: reruns embed nothing
    with tempfile.TemporaryDirectory(prefix="sajang-eval-") as tmp:
        tmp_settings = settings.model_copy(update={
            "data_dir": Path(tmp), "database_url": f"sqlite:///{Path(tmp) / 'eval.db'}", "chroma_url": None})
        kb = KnowledgeBase(tmp_settings, embeddings=emb)
        seen: set[str] = set()
        articles = []
        for r in rows:
            if r["id"] in seen:
                continue
            seen.add(r["id"])
            articles.append({"id": r["id"], "title": r["title"], "body": r["body"], "category": None})
        say(f"indexing {len(articles)} documents (cached vectors are reused) …")
        t0 = time.perf_counter()
        before = emb.stats.texts_embedded
        kb.sync_articles(articles)
        index_s = time.perf_counter() - t0
        say(f"indexed {kb.stats()['chunks']} chunks in {index_s:.1f}s ({emb.stats.texts_embedded - before} embedded)")
        queries = [r["query"] for r in rows]
        gold = [r["id"] for r in rows]
        t0 = time.perf_counter()
        emb.embed(queries, "query")
        say(f"queries embedded in {time.perf_counter() - t0:.1f}s")

        tuning: dict[str, Any] = {}
        if fit_calibration and "hybrid" in modes:
            tuning = _tune(kb, queries, gold, say)

        results = kb.search_many(queries, k=10, modes=modes)
        report: dict[str, Any] = {"corpus": str(corpus), "documents": len(articles), "queries": len(rows),
                                  "chunks": kb.stats()["chunks"], "embedding_model": emb.model_name,
                                  "modes": {}}
        for mode in modes:
            ranks = [_rank_of([h.id for h in res.hits], g) for (res, _t), g in zip(results[mode], gold, strict=True)]
            report["modes"][mode] = _metrics(ranks, [t for _r, t in results[mode]])
        report["query_embedding_ms_p50"] = _query_embed_latency(emb, queries[:10])
        if fit_calibration and "hybrid" in modes:
            report["calibration"] = _fit_calibration(kb, queries, gold, results["hybrid"], say)
            report["tuning"] = tuning
        elif "hybrid" in modes:
            report["calibration"] = _check_calibration(kb, results["hybrid"], gold)
        kb._store._client.delete_collection(kb.collection_name)
    return report


def _query_embed_latency(emb: Any, queries: list[str]) -> float:
    """p50 of embedding one new query with the model (the cache is bypassed on purpose)."""
    times = []
    for q in queries:
        t0 = time.perf_counter()
        emb.backend.embed([q + " "], "query")
        times.append(time.perf_counter() - t0)
    return round(1000 * statistics.median(times), 2) if times else 0.0


def _tune(kb: Any, queries: list[str], gold: list[str], say: Callable[[str], None]) -> dict[str, Any]:
    """Grid over the dense weight of the hybrid fusion (hit@1 + hit@5 + MRR on this corpus)."""
    grid = [0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8]
    scores: dict[str, dict[str, float]] = {}
    best = (kb.fusion.dense_weight, -1.0)
    original = kb.fusion.dense_weight
    for w in grid:
        kb.fusion.dense_weight = w
        res = kb.search_many(queries, k=10, modes=["hybrid"])["hybrid"]
        ranks = [_rank_of([h.id for h in r.hits], g) for (r, _t), g in zip(res, gold, strict=True)]
        m = _metrics(ranks, [t for _r, t in res])
        scores[str(w)] = {"hit@1": m["hit@1"], "hit@5": m["hit@5"], "mrr@10": m["mrr@10"]}
        objective = m["hit@1"] + m["hit@5"] + m["mrr@10"]
        say(f"dense_weight {w}: hit@1 {m['hit@1']} hit@5 {m['hit@5']} mrr {m['mrr@10']}")
        if objective > best[1]:
            best = (w, objective)
    kb.fusion.dense_weight = best[0] if best[1] >= 0 else original
    return {"dense_weight": kb.fusion.dense_weight, "grid": scores}


def _features(res: Any) -> list[float]:
    return [float(res.features.get(f, 0.0)) for f in FEATURES]


def _fit_calibration(kb: Any, queries: list[str], gold: list[str], hybrid: list[tuple[Any, float]],
                     say: Callable[[str], None]) -> dict[str, Any]:
    x_pos = [_features(r) for r, _t in hybrid]
    y_pos = [1.0 if r.hits and r.hits[0].id == g else 0.0 for (r, _t), g in zip(hybrid, gold, strict=True)]
    # The same queries against the index without their gold article: the right answer is "none".
    absent = kb.search_many(queries, k=10, modes=["hybrid"], exclude=gold)["hybrid"]
    x_neg = [_features(r) for r, _t in absent]
    x = np.array(x_pos + x_neg, dtype=np.float64)
    y = np.array(y_pos + [0.0] * len(x_neg))
    w = fit_logistic(x, y)
    cfg: FusionConfig = kb.fusion
    cfg.coef = [round(float(v), 4) for v in w]
    cfg.fitted_on = (f"logistic regression (IRLS, L2 0.01) of 'hit 1 is the gold article' on the {len(y_pos)} "
                     f"queries of the corpus "
                     "plus the same queries with their gold article removed from the ranking (label 0: "
                     "the manual has no answer, the gate must hand off)")
    report = _calibration_report(x, y, w)
    cfg.save(calibration=report, fitted_at=time.strftime("%Y-%m-%d"))
    say(f"confidence model: coef {cfg.coef}, brier {report['brier']}")
    return {"coef": cfg.coef, **report}


def _check_calibration(kb: Any, hybrid: list[tuple[Any, float]], gold: list[str]) -> dict[str, Any]:
    x = np.array([_features(r) for r, _t in hybrid], dtype=np.float64)
    y = np.array([1.0 if r.hits and r.hits[0].id == g else 0.0 for (r, _t), g in zip(hybrid, gold, strict=True)])
    return _calibration_report(x, y, np.array(kb.fusion.coef))


def format_table(report: dict[str, Any]) -> str:
    lines = [f"corpus {report['corpus']}: {report['documents']} documents, {report['chunks']} chunks, "
             f"{report['queries']} queries, {report['embedding_model']}",
             "| mode | hit@1 | hit@5 | MRR@10 | p50 ms | p95 ms |", "|---|---|---|---|---|---|"]
    for mode, m in report["modes"].items():
        lines.append(f"| {mode} | {m['hit@1']:.3f} | {m['hit@5']:.3f} | {m['mrr@10']:.3f} | {m['p50_ms']} | "
                     f"{m['p95_ms']} |")
    lines.append(f"query embedding p50 {report['query_embedding_ms_p50']} ms (not included above)")
    return "\n".join(lines)
