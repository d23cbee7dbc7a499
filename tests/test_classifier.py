"""The offline inquiry classifier: shipped data, keyword rules, accuracy floors, `sajang classify`,
`sajang eval classification`."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from sajang.config import Settings
from sajang.graphs.inquiry.classifier import (
    EVAL_KO_FILE,
    TRAIN_FILE,
    VECTORS_FILE,
    _examples_key,
    get_classifier,
    load_examples,
    rule_urgency,
    wants_human,
)
from sajang.graphs.inquiry.classifier_eval import BITEXT_MAP, bitext_sample, score
from sajang.graphs.inquiry.state import CATEGORIES


def test_examples_cover_every_category_in_both_languages() -> None:
    examples = load_examples(TRAIN_FILE)
    for cat in CATEGORIES:
        texts = [t for c, t in examples if c == cat]
        assert any(any("\uac00" <= ch <= "\ud7a3" for ch in t) for t in texts), cat
        assert any(t.isascii() for t in texts), cat
    held_out = {t for _, t in load_examples(EVAL_KO_FILE)}
    assert not held_out & {t for _, t in examples}, "held-out sentences must not be training examples"
    assert set(BITEXT_MAP.values()) <= set(CATEGORIES)


def test_shipped_vectors_match_the_examples(settings: Settings) -> None:
    clf = get_classifier(settings)
    with np.load(VECTORS_FILE) as data:
        assert str(data["key"]) == _examples_key(clf.embeddings.model_name, [t for _, t in clf.examples]), \
            "examples changed: run `python -m sajang.graphs.inquiry.classifier` to rebuild intents_vectors.npz"
    fresh = clf.embeddings.embed([t for _, t in clf.examples[:50]], "query")
    # the same model's vectors, stored as float16, computed on another CPU: components differ by up to ~3e-3
    # (the 4-bit engine's float sums), the direction does not (cosine >= 0.9999 measured; a neighbouring
    # example's vector is at most 0.95, another model's far less)
    stored = clf.matrix[:50] / np.linalg.norm(clf.matrix[:50], axis=1, keepdims=True)
    assert float(((fresh / np.linalg.norm(fresh, axis=1, keepdims=True)) * stored).sum(axis=1).min()) >= 0.999


@pytest.mark.parametrize(("text", "category", "urgency", "human"), [
    ("택배가 아직도 안 왔어요 언제 오나요", "delivery", "normal", False),
    ("김치에서 곰팡이가 나왔어요", "damage_defect", "urgent", False),
    ("유리병이 깨져서 왔어요", "damage_defect", "high", False),
    ("상담원이랑 통화하고 싶어요", "human", "normal", True),
    ("원산지가 어디인가요", "product", "low", False),
    ("I want to cancel my order", "cancel", "normal", False),
    ("Can I talk to a real person?", "human", "normal", True),
    ("세 번째 문의인데 아직도 환불이 안 됐어요 소비자원에 신고할게요", "return_refund", "urgent", False),
])
def test_classify_examples(settings: Settings, text: str, category: str, urgency: str, human: bool) -> None:
    c = get_classifier(settings).classify(text)
    assert (c.category, c.urgency, c.wants_human) == (category, urgency, human)
    assert 0 < c.confidence <= 1 and c.method == "embedding"


def test_rules_alone() -> None:
    assert rule_urgency("먹고 나서 배탈이 났어요", "product") == "urgent"
    assert rule_urgency("변호사랑 상의해 보겠습니다", "other") == "urgent"
    assert rule_urgency("오늘 꼭 받아야 해요", "delivery") == "high"
    assert rule_urgency("보관 방법이 궁금해요", "product") == "low"
    assert wants_human("챗봇 말고 사람 불러주세요") and wants_human("let me speak to a representative")
    assert not wants_human("배송 언제 와요?") and not wants_human("사람 수에 맞게 몇 인분 사야 하나요")


def test_korean_held_out_accuracy(settings: Settings) -> None:
    pairs = load_examples(EVAL_KO_FILE)
    report = score(pairs, get_classifier(settings).classify_many([t for _, t in pairs]))
    assert report["accuracy"] >= 0.90, report["errors"]


def test_bitext_accuracy_on_held_out_split(settings: Settings) -> None:
    from conftest import shared_data

    path = shared_data("cs_intents/bitext_customer_service_8k.csv")
    pairs = bitext_sample(path, per_intent=8, split="test", seed=11)
    assert len(pairs) == 8 * len(BITEXT_MAP)
    report = score(pairs, get_classifier(settings).classify_many([t for _, t in pairs]))
    assert report["accuracy"] >= 0.88, report["confusion_pairs"]


def test_classify_cli(cli: Any) -> None:
    p = cli("classify", "포장이 터져서 왔어요", "--json")
    assert p.returncode == 0, p.stderr
    row = json.loads(p.stdout)
    assert row["category"] == "damage_defect" and row["urgency"] == "high"
    p = cli("classify", "--queries", "-", "--json", input="쿠폰이 적용이 안 돼요\nWhere is my parcel?\n")
    rows = [json.loads(x) for x in p.stdout.splitlines()]
    assert [r["category"] for r in rows] == ["coupon_points", "delivery"]
    p = cli("classify", "--json")
    assert p.returncode != 0 and p.stderr.startswith("error:")


def test_eval_classification_cli(cli: Any) -> None:
    p = cli("eval", "classification", "--per-intent", "2", "--json")
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    assert report["ko"]["n"] == len(load_examples(EVAL_KO_FILE)) and 0.9 <= report["ko"]["accuracy"] <= 1
    assert "confusion_pairs" in report["ko"]
    if "skipped" not in report["bitext"]:
        assert report["bitext"]["n"] == 2 * len(BITEXT_MAP)
