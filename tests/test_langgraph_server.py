"""The three graphs as LangGraph Server, Studio and Agent Inbox see them.

- Studio: every compiled graph produces an input JSON schema (its input form).
- Agent Inbox, in process: interrupts carry `HumanInterrupt` (action_request, config, description) and
  the graphs take `HumanResponse` resumes: accept publishes a review draft, ignore rejects it, edit
  publishes the edited text; a response to a handoff is the agent's text, two replies are two messages;
  accept on a segmentation approval approves the recommended proposals.
- The custom auth of langgraph.json: tokens verify, anything else does not.
- `langgraph dev` on a free loopback port (slow): the same round trips through `langgraph_sdk` with
  customer and staff bearer tokens, and a caller who names another customer in the context or the
  config gets nothing of theirs.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from httpx import HTTPStatusError
from langgraph.types import Command
from langgraph_sdk import get_client
from serving import stop_process
from sqlalchemy import Engine, select
from test_inquiry_support import A_ORDER, A_TRACK, B_ORDER, B_TRACK, A, B, seed_store
from test_reviews import LEAK, seed_reviews
from test_segmentation import build_store

from sajang.config import Settings
from sajang.db.engine import session_scope
from sajang.db.models import Conversation, CouponIssue, Message, SegmentationRun, User
from sajang.graphs.auth import graph_assistant_id, verified_user
from sajang.graphs.inquiry.context import InquiryContext
from sajang.graphs.review import service as reviews
from sajang.graphs.segmentation import service as segmentation
from sajang.security import (
    CustomerClaims,
    StaffClaims,
    hash_password,
    issue_customer_token,
    issue_staff_token,
    password_fingerprint,
)

REPO = Path(__file__).resolve().parent.parent
GRAPH_FILES = {"inquiry": "sajang.graphs.inquiry.graph", "review": "sajang.graphs.review.graph",
               "segmentation": "sajang.graphs.segmentation.graph", "manager": "sajang.graphs.manager.graph"}


def _is_human_interrupt(value: dict[str, Any], action: str) -> None:
    assert value["action_request"]["action"] == action and isinstance(value["action_request"]["args"], dict)
    assert set(value["config"]) == {"allow_ignore", "allow_respond", "allow_edit", "allow_accept"}
    assert isinstance(value["description"], str) and value["description"]


# --- Studio ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GRAPH_FILES))
def test_every_graph_has_an_input_form(name: str) -> None:
    compiled = importlib.import_module(GRAPH_FILES[name]).graph
    schema = compiled.get_input_jsonschema()
    assert schema["type"] == "object" and schema["properties"]
    json.dumps(schema)  # what Studio receives
    expected = {"inquiry": "text", "review": "review_id", "segmentation": "as_of", "manager": "question"}[name]
    assert expected in schema["properties"]
    # the server filters a run's context through this schema: it must build too, without the settings
    # becoming something a caller fills in
    context = compiled.get_context_jsonschema()
    assert context is None or context["type"] == "object"


def test_langgraph_json_declares_the_graphs_and_auth() -> None:
    spec = json.loads((REPO / "langgraph.json").read_text())
    assert spec["auth"]["path"] == "./sajang/graphs/auth.py:auth"
    for name, module in GRAPH_FILES.items():
        assert spec["graphs"][name] == "./" + module.replace(".", "/") + ".py:graph"


# --- Agent Inbox in process --------------------------------------------------------------------------


def _review_waiting(store: Settings, review_id: str) -> tuple[Any, Any]:
    reviews.process_review(store, review_id)
    compiled = reviews.service_graph(store)
    config = reviews.run_config(review_id)
    (pending,) = compiled.get_state(config).interrupts
    _is_human_interrupt(pending.value, "publish_review_reply")
    assert pending.value["review_id"] == pending.value["action_request"]["args"]["review_id"] == review_id
    assert pending.value["draft"] and pending.value["config"]["allow_accept"]
    return compiled, config


def test_agent_inbox_accept_publishes_the_review_draft(settings: Settings, engine: Engine) -> None:
    seed_reviews(engine)
    compiled, config = _review_waiting(settings, "R-1")
    draft = reviews.get_review(settings, "R-1")["draft"]
    compiled.invoke(Command(resume=[{"type": "accept", "args": None}]), config, context=reviews.run_context(settings))
    row = reviews.get_review(settings, "R-1")
    assert row["reply_status"] == "published" and row["reply"] == draft.strip()


def test_agent_inbox_edit_publishes_the_edit_and_ignore_rejects(settings: Settings, engine: Engine) -> None:
    seed_reviews(engine)
    compiled, config = _review_waiting(settings, "R-1")
    edited = "포장이 터진 채 도착해 죄송합니다. 새 상품으로 다시 보내 드릴게요."
    compiled.invoke(Command(resume={"type": "edit", "args": {"action": "publish_review_reply",
                                                             "args": {"draft": edited}}}),
                    config, context=reviews.run_context(settings))
    assert reviews.get_review(settings, "R-1")["reply"] == edited
    compiled, config = _review_waiting(settings, "R-3")
    compiled.invoke(Command(resume=[{"type": "ignore", "args": None}]), config, context=reviews.run_context(settings))
    row = reviews.get_review(settings, "R-3")
    assert row["reply_status"] == "rejected" and row["reply"] is None


def test_agent_inbox_accept_approves_the_recommended_proposals(settings: Settings, engine: Engine) -> None:
    build_store(engine, customers=60)
    run = segmentation.start_run(settings, started_by="admin")
    with engine.connect() as conn:
        thread = conn.scalar(select(SegmentationRun.thread_id).where(SegmentationRun.id == run["run_id"]))
    compiled = segmentation.service_graph(settings)
    config = segmentation.run_config(thread)
    (pending,) = compiled.get_state(config).interrupts
    _is_human_interrupt(pending.value, "approve_segment_campaign")
    assert pending.value["proposals"] == run["proposals"]
    compiled.invoke(Command(resume=[{"type": "accept", "args": None}]), config,
                    context=segmentation.run_context(settings))
    done = segmentation.run_summary(settings, run["run_id"])
    recommended = [p for p in run["proposals"] if p["recommended"]]
    assert done["status"] == "executed" and recommended
    assert {c["segment"] for c in done["coupons"]} == {p["segment"] for p in recommended}
    with engine.connect() as conn:
        issued = len(conn.scalars(select(CouponIssue.id).where(CouponIssue.run_id == run["run_id"])).all())
    assert issued == sum(p["customers"] for p in recommended)


def _agent_messages(engine: Engine, thread_id: str) -> list[str]:
    with session_scope(engine) as s:
        conv_id = s.scalar(select(Conversation.id).where(Conversation.thread_id == thread_id))
        return list(s.scalars(select(Message.text).where(Message.conversation_id == conv_id, Message.role == "agent")
                              .order_by(Message.id)))


def test_agent_inbox_response_to_a_handoff_is_the_agents_text(settings: Settings, engine: Engine,
                                                              tmp_path: Path) -> None:
    from sajang.graphs.inquiry.service import get_inquiry_service

    store = seed_store(settings, engine, tmp_path)
    svc = get_inquiry_service(store)
    thread = svc.ask("상담원 연결해 주세요", customer_id=A)["thread_id"]
    pending = svc.pending(thread)
    assert pending is not None
    _is_human_interrupt(pending[1], "reply_to_customer")
    assert pending[1]["summary"] and pending[1]["action_request"]["args"]["summary"] == pending[1]["summary"]
    config = {"configurable": {"thread_id": thread}}
    context = InquiryContext(settings=store, customer_id=A)
    svc.graph.invoke(Command(resume=[{"type": "response", "args": "네, 확인해 보고 바로 알려 드릴게요."}]), config,
                     context=context)
    # two plain replies on one thread are two messages (each answers its own interrupt)
    svc.graph.invoke(Command(resume="배송 기사님과 통화했어요."), config, context=context)
    svc.graph.invoke(Command(resume="배송 기사님과 통화했어요."), config, context=context)
    assert _agent_messages(engine, thread) == ["네, 확인해 보고 바로 알려 드릴게요.", "배송 기사님과 통화했어요.",
                                               "배송 기사님과 통화했어요."]
    # ignore leaves the conversation waiting and writes nothing
    svc.graph.invoke(Command(resume={"type": "ignore", "args": None}), config, context=context)
    assert svc.pending(thread) is not None and len(_agent_messages(engine, thread)) == 3
    assert svc.get_conversation(thread)["waiting"] is True


# --- auth --------------------------------------------------------------------------------------------


def _staff(engine: Engine, username: str, role: str) -> StaffClaims:
    password_hash = hash_password("correct horse battery")
    with session_scope(engine) as s:
        user = User(username=username, display_name=f"{username} 님", role=role, password_hash=password_hash)
        s.add(user)
        s.flush()
        return StaffClaims(user.id, username, role, password_fingerprint(password_hash))


def test_auth_trusts_only_signed_tokens(settings: Settings, engine: Engine) -> None:
    claims = _staff(engine, "boss", "admin")
    staff = verified_user(issue_staff_token(settings, claims))
    assert staff is not None and staff["kind"] == "staff" and staff["role"] == "admin" and "customer_id" not in staff
    customer = verified_user(issue_customer_token(settings, CustomerClaims("t-1", A, "김하나", "ko")))
    assert customer == {"identity": f"customer:{A}", "kind": "customer", "customer_id": A, "display_name": "김하나",
                        "permissions": ["customer"]}
    guest = verified_user(issue_customer_token(settings, CustomerClaims("t-2", None, None, "ko")))
    assert guest is not None and guest["customer_id"] is None and guest["identity"] == "guest:t-2"
    assert verified_user("not-a-token") is None
    # a staff token signed for another password (or role) no longer verifies
    assert verified_user(issue_staff_token(settings, StaffClaims(claims.user_id, "boss", "admin", "0" * 16))) is None
    assert verified_user(issue_staff_token(settings, StaffClaims(claims.user_id, "boss", "agent",
                                                                 claims.fingerprint))) is None


# --- langgraph dev -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_env(tmp_path: Path) -> dict[str, str]:
    """The test's settings (inherited: DATABASE_URL, SAJANG_DATA_DIR) and nothing that phones home."""
    return {**os.environ, "LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGSMITH_TRACING": "false",
            "LANGCHAIN_TRACING_V2": "false", "LANGSMITH_API_KEY": "", "DO_NOT_TRACK": "1",
            "LANGGRAPH_NO_VERSION_CHECK": "true", "HOME": str(tmp_path)}


async def _drive_server(base: str, staff_token: str, agent_token: str, customer_token: str,
                        other_customer_token: str, engine: Engine) -> None:
    anonymous = get_client(url=base, api_key=None)
    admin = get_client(url=base, api_key=None, headers={"Authorization": f"Bearer {staff_token}"})
    agent = get_client(url=base, api_key=None, headers={"Authorization": f"Bearer {agent_token}"})
    customer = get_client(url=base, api_key=None, headers={"Authorization": f"Bearer {customer_token}"})
    other_customer = get_client(url=base, api_key=None, headers={"Authorization": f"Bearer {other_customer_token}"})

    assistants = await admin.assistants.search(limit=50)
    assert {a["graph_id"]: a["assistant_id"] for a in assistants} == {g: graph_assistant_id(g) for g in GRAPH_FILES}

    # anonymous callers get nothing, whatever customer they name
    with pytest.raises(HTTPStatusError) as denied:
        await anonymous.threads.create()
    assert denied.value.response.status_code == 401
    with pytest.raises(HTTPStatusError) as denied:
        await anonymous.runs.wait(None, "inquiry", input={"text": f"{A_ORDER} 배송 어디쯤인가요?"},
                                  context={"customer_id": A})
    assert denied.value.response.status_code == 401

    # customer A names customer B in the context and in the config: the answer is about A's order only
    for extra in ({"context": {"customer_id": B}}, {"config": {"configurable": {"customer_id": B}}}):
        thread = await customer.threads.create()
        out = await customer.runs.wait(thread["thread_id"], "inquiry", input={"text": "제 택배 어디쯤 왔나요?"},
                                       **extra)
        assert out["customer_id"] == A and [o["order_id"] for o in out["orders"]] == [A_ORDER]
        assert B_TRACK not in json.dumps(out, ensure_ascii=False) and B_ORDER not in json.dumps(out)
        assert A_TRACK in out["answer"] or out.get("handoff")
    # a customer may not run the staff graphs, nor resume a handoff
    with pytest.raises(HTTPStatusError) as denied:
        await customer.runs.wait(None, "review", input={"review_id": "R-1"})
    assert denied.value.response.status_code == 403

    # inquiry → handoff interrupt (HumanInterrupt) → Agent Inbox response by an agent → the text is stored
    thread = await customer.threads.create()
    out = await customer.runs.wait(thread["thread_id"], "inquiry", input={"text": "상담원 연결해 주세요"})
    assert out["waiting"] is True
    state = await agent.threads.get_state(thread["thread_id"])
    (pending,) = state["interrupts"]
    _is_human_interrupt(pending["value"], "reply_to_customer")
    with pytest.raises(HTTPStatusError) as denied:
        await customer.runs.wait(thread["thread_id"], "inquiry", command={"resume": [{"type": "response",
                                                                                     "args": "가짜 상담원"}]})
    assert denied.value.response.status_code == 403
    reply = "주문하신 갈비탕은 오늘 도착 예정입니다."
    await agent.runs.wait(thread["thread_id"], "inquiry", command={"resume": [{"type": "response", "args": reply}]})
    with session_scope(engine) as s:
        conv_id = s.scalar(select(Conversation.id).where(Conversation.thread_id == thread["thread_id"]))
        rows = s.execute(select(Message.text, Message.author_id).where(Message.conversation_id == conv_id,
                                                                       Message.role == "agent")).all()
        agent_id = s.scalar(select(User.id).where(User.username == "inbox-agent"))
    assert [(r.text, r.author_id) for r in rows] == [(reply, agent_id)]
    # the customer finds their conversation; another customer neither finds nor reads it
    assert thread["thread_id"] in {t["thread_id"] for t in await customer.threads.search(limit=50)}
    assert thread["thread_id"] not in {t["thread_id"] for t in await other_customer.threads.search(limit=50)}
    with pytest.raises(HTTPStatusError) as denied:
        await other_customer.threads.get_state(thread["thread_id"])
    assert denied.value.response.status_code in (403, 404)

    # review → approval interrupt → accept publishes the draft
    thread = await agent.threads.create()
    await agent.runs.wait(thread["thread_id"], "review", input={"review_id": "R-1"})
    state = await agent.threads.get_state(thread["thread_id"])
    (pending,) = state["interrupts"]
    _is_human_interrupt(pending["value"], "publish_review_reply")
    assert LEAK[:10] in pending["value"]["description"]
    out = await agent.runs.wait(thread["thread_id"], "review", command={"resume": [{"type": "accept", "args": None}]})
    assert out["result"]["status"] == "published"

    # segmentation → approval interrupt → accept approves the recommended proposals (admins only)
    with pytest.raises(HTTPStatusError) as denied:
        await agent.runs.wait(None, "segmentation", input={})
    assert denied.value.response.status_code == 403
    thread = await admin.threads.create()
    out = await admin.runs.wait(thread["thread_id"], "segmentation", input={"started_by": "admin"})
    state = await admin.threads.get_state(thread["thread_id"])
    (pending,) = state["interrupts"]
    _is_human_interrupt(pending["value"], "approve_segment_campaign")
    out = await admin.runs.wait(thread["thread_id"], "segmentation",
                                command={"resume": [{"type": "accept", "args": None}]})
    assert out["result"]["status"] == "executed" and out["result"]["issued_now"] > 0
    with engine.connect() as conn:
        run = conn.execute(select(SegmentationRun.status, SegmentationRun.approved_by)
                           .where(SegmentationRun.id == out["run_id"])).one()
    assert run.status == "executed" and run.approved_by == "boss"


@pytest.mark.slow
def test_langgraph_dev_agent_inbox_round_trips(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    exe = shutil.which("langgraph")
    if exe is None:
        pytest.skip("langgraph CLI (langgraph-cli[inmem]) is not installed")
    seed_store(settings, engine, tmp_path)
    seed_reviews(engine)
    build_store(engine, customers=40)
    staff_token = issue_staff_token(settings, _staff(engine, "boss", "admin"))
    agent_token = issue_staff_token(settings, _staff(engine, "inbox-agent", "agent"))
    customer_token = issue_customer_token(settings, CustomerClaims("t-a", A, "김하나", "ko"))
    other_customer_token = issue_customer_token(settings, CustomerClaims("t-b", B, "박두리", "ko"))
    port = _free_port()
    log_path = tmp_path / "langgraph.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([exe, "dev", "--port", str(port), "--host", "127.0.0.1", "--no-browser",
                                 "--no-reload", "--config", str(REPO / "langgraph.json")],
                                cwd=REPO, env=_server_env(tmp_path), stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base, proc, log_path)
            asyncio.run(_drive_server(base, staff_token, agent_token, customer_token, other_customer_token,
                                      engine))
        finally:
            stop_process(proc, grace_s=20)


def _wait_until_up(base: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 240
    while True:
        try:
            with urllib.request.urlopen(f"{base}/ok", timeout=5) as resp:
                if json.loads(resp.read()).get("ok") is True:
                    return
        except OSError:
            pass
        assert proc.poll() is None, log_path.read_text()[-3000:]
        assert time.monotonic() < deadline, "langgraph dev did not answer /ok in time: " + log_path.read_text()[-3000:]
        time.sleep(1)
