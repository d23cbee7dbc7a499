"""Where Kiwi runs: every call of a process's Kiwi on one thread of its own (Kiwi keeps working memory for each
thread that ever analysed), and, for a cold `sajang ask`, Kiwi in a child process that answers as the one here
would. No database."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from sajang.knowledge.kiwi_process import KiwiInChild
from sajang.knowledge.normalize import TYPO_COST_THRESHOLD, TYPO_MODEL
from sajang.knowledge.text import KiwiOnOneThread, kiwi_analyser

TEXTS = ["배송비 얼마예요?", "배송비얼마예요", "적립금 언재 들어와요", "김치 봉지 빵빵하게 왔는데 불량임??",
         "에어프라이어로 만두 몇 분 구워요?", "How long does a refund take?", "단순 변심 반품 돼요? ㅠㅠ", "ㅋㅋ"]


def _fields(tokens: Any) -> list[tuple[Any, ...]]:
    return [(t.form, t.tag, t.start, t.len, t.end, t.typo_cost, t.word_position, t.sent_position, t.score)
            for t in tokens]


def test_kiwi_in_a_child_analyses_as_the_kiwi_of_this_process() -> None:
    here, lock = kiwi_analyser()
    child = KiwiInChild()
    try:
        for text in TEXTS:
            with lock:
                expected = _fields(here.tokenize(text))
                expected_typos = here.tokenize(text, typos=TYPO_MODEL, typo_cost_threshold=TYPO_COST_THRESHOLD)
                expected_space = str(here.space(text, reset_whitespace=False))
                expected_join = str(here.join([(t.form, t.tag) for t in expected_typos]))
            assert _fields(child.tokenize(text)) == expected
            typos = child.tokenize(text, typos=TYPO_MODEL, typo_cost_threshold=TYPO_COST_THRESHOLD)
            assert _fields(typos) == _fields(expected_typos)
            assert child.space(text, reset_whitespace=False) == expected_space
            assert child.join([(t.form, t.tag) for t in typos]) == expected_join
        assert any(t.typo_cost > 0 for t in child.tokenize("적립금 언재 들어와요", typos=TYPO_MODEL,
                                                            typo_cost_threshold=TYPO_COST_THRESHOLD))
    finally:
        child.close()


def test_an_error_in_the_child_is_raised_here_and_closing_ends_the_child() -> None:
    child = KiwiInChild()
    with pytest.raises(ValueError, match="typos"):
        child.tokenize("배송비", typos="no-such-model")
    assert child.tokenize("배송비")[0].form == "배송비"  # the child goes on after an error
    child.close()
    assert child._process.poll() == 0
    with pytest.raises(RuntimeError, match="Kiwi's process ended"):
        child.tokenize("배송비")


class _Recorder:
    """Stands in for Kiwi: notes the thread of every call."""

    def __init__(self) -> None:
        self.threads: list[int] = []

    def tokenize(self, text: str, **options: Any) -> list[str]:
        self.threads.append(threading.get_ident())
        return [text, *options]

    def space(self, text: str, **options: Any) -> str:
        self.threads.append(threading.get_ident())
        return text

    def join(self, morphs: Any, **options: Any) -> str:
        self.threads.append(threading.get_ident())
        return "".join(form for form, _tag in morphs)


def test_calls_from_many_threads_run_on_the_one_kiwi_thread() -> None:
    recorder = _Recorder()
    kiwi = KiwiOnOneThread(recorder)
    callers: list[int] = []
    all_called = threading.Barrier(8)  # the callers live until every one has called: 8 distinct thread ids

    def call(i: int) -> None:
        callers.append(threading.get_ident())
        assert kiwi.tokenize(f"말 {i}", typos="basic") == [f"말 {i}", "typos"]
        assert kiwi.space("띄어쓰기") == "띄어쓰기"
        assert kiwi.join([("배송", "NNG"), ("비", "XSN")]) == "배송비"
        all_called.wait(timeout=60)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(recorder.threads) == 24 and len(set(recorder.threads)) == 1
    assert recorder.threads[0] not in callers and len(set(callers)) == 8
    with pytest.raises(TypeError):
        kiwi.tokenize(["두", "문장"])  # type: ignore[arg-type]
