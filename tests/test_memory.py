"""Allocator settings of a serving process (sajang/memory.py): they change how freed memory goes back to the
system, never what Kiwi reads. No database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sajang import memory
from sajang.knowledge.normalize import TYPO_COST_THRESHOLD, TYPO_MODEL
from sajang.knowledge.text import kiwi_analyser

REPO = Path(__file__).resolve().parent.parent
TEXTS = ["배송비 얼마예요?", "배송비얼마예요", "적립금 언재 들어와요", "김치 봉지 빵빵하게 왔는데 불량임??",
         "에어프라이어로 만두 몇 분 구워요?", "How long does a refund take?", "단순 변심 반품 돼요? ㅠㅠ"]
_ANALYSE = """
import json, sys
from sajang.knowledge.normalize import TYPO_COST_THRESHOLD, TYPO_MODEL
from sajang.knowledge.text import kiwi_analyser
kiwi, _ = kiwi_analyser()
out = [[[(t.form, t.tag, t.start, t.len) for t in kiwi.tokenize(x)],
        [(t.form, t.tag, t.start, t.len) for t in kiwi.tokenize(x, typos=TYPO_MODEL,
                                                                 typo_cost_threshold=TYPO_COST_THRESHOLD)],
        str(kiwi.space(x, reset_whitespace=False))] for x in json.loads(sys.argv[1])]
print(json.dumps(out, ensure_ascii=False))
"""


def test_kiwi_allocator_defaults_leave_an_operators_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MIMALLOC_ALLOW_LARGE_OS_PAGES", raising=False)
    monkeypatch.setenv("MIMALLOC_PURGE_DELAY", "25")
    memory.kiwi_allocator_defaults()
    assert os.environ["MIMALLOC_ALLOW_LARGE_OS_PAGES"] == "0"
    assert os.environ["MIMALLOC_PURGE_DELAY"] == "25"


def test_kiwi_reads_the_same_under_mimallocs_own_settings() -> None:
    kiwi, lock = kiwi_analyser()
    with lock:
        here = [[[(t.form, t.tag, t.start, t.len) for t in kiwi.tokenize(x)],
                 [(t.form, t.tag, t.start, t.len) for t in kiwi.tokenize(x, typos=TYPO_MODEL,
                                                                          typo_cost_threshold=TYPO_COST_THRESHOLD)],
                 str(kiwi.space(x, reset_whitespace=False))] for x in TEXTS]
    # a process whose operator chose otherwise: huge pages allowed, freed pages purged after 10 ms
    env = {**os.environ, "PYTHONPATH": str(REPO), "MIMALLOC_ALLOW_LARGE_OS_PAGES": "1", "MIMALLOC_PURGE_DELAY": "10"}
    done = subprocess.run([sys.executable, "-c", _ANALYSE, json.dumps(TEXTS)], env=env, capture_output=True,
                          text=True, check=True, timeout=300)
    assert json.loads(done.stdout) == json.loads(json.dumps(here, ensure_ascii=False))


def test_malloc_arenas_capped_on_glibc_unless_the_environment_says(monkeypatch: pytest.MonkeyPatch) -> None:
    if memory._glibc() is None:
        pytest.skip("not glibc")
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert memory.limit_malloc_arenas()
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert not memory.limit_malloc_arenas()
    memory.trim_malloc()
