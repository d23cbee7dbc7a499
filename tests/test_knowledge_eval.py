"""`sajang eval retrieval` on a small subset of the SmartStore FAQ (skips without ../shared/data)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import shared_data


def test_eval_retrieval_on_faq_subset(settings, cli, tmp_path: Path) -> None:
    faq = shared_data("faq/smartstore_faq_dev.jsonl")
    out = cli("eval", "retrieval", "--corpus", str(faq), "--id-field", "id", "--body-field", "answer",
              "--query-field", "question_no_prefix", "--limit", "12", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["documents"] == 12 and report["queries"] == 12
    assert set(report["modes"]) == {"lexical", "dense", "rrf", "hybrid"}
    for metrics in report["modes"].values():
        assert 0.0 <= metrics["hit@1"] <= metrics["hit@5"] <= 1.0
        assert metrics["hit@1"] <= metrics["mrr@10"] <= 1.0
        assert metrics["p50_ms"] <= metrics["p95_ms"]
    # On 12 articles the hybrid ranking finds most answers (the full split is in bench/README.md).
    hybrid = report["modes"]["hybrid"]
    assert hybrid["hit@5"] >= 0.8 and hybrid["hit@1"] >= 0.5
    assert "calibration" in report and report["calibration"]["bins"]

    # The shop's own knowledge base is untouched by an evaluation.
    out = cli("kb", "stats", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["documents"] == 0

    # A malformed corpus is refused with the line number.
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "answer": "답"}\n{"id": 2}\n', encoding="utf-8")
    out = cli("eval", "retrieval", "--corpus", str(bad), "--json")
    assert out.returncode != 0 and "line 1: missing field `question_no_prefix`" in out.stderr
