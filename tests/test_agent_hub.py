"""Agent hub without a browser: HTML rendering of queue / profile / articles, the learned-answers page
against the real knowledge base, and the Blocks building on the real settings."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import gradio as gr
from sqlalchemy import Engine

from sajang.config import Settings
from sajang.db.engine import session_scope
from sajang.db.models import Claim, Customer, Order, OrderItem, Product, Review
from sajang.db.profile import get_customer_profile
from sajang.services.accounts import StaffMember
from sajang.ui.agent_learned import learned_html
from sajang.ui.agent_render import chat_messages, render_articles, render_profile, render_queue

NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # 15:00 KST


def _item(thread: str, urgency: str, minutes: int, **kw: object) -> dict[str, object]:
    return {"thread_id": thread, "status": "new", "category": "damage_defect", "urgency": urgency,
            "subject": kw.pop("subject", "포장이 터져서 왔어요\n둘째 줄"), "customer_id": kw.pop("customer_id", None),
            "handed_off_at": NOW - timedelta(minutes=minutes), **kw}


def test_queue_tabs_counts_badges_and_escaping() -> None:
    tabs = {
        "new": [_item("t1", "urgent", 6, customer_id="C-1"),
                _item("t2", "normal", 2, guest_name="<b>손님</b>", subject="<script>x</script>")],
        "mine": [_item("t3", "high", 30, status="assigned", assignee_name="김민지")],
        "done": [],
    }
    html = render_queue(tabs, "new", "t2", {"C-1": "홍길동"}, "ko", NOW)
    assert '새로 들어온 문의 <span class="sj-count">2</span>' in html
    assert '내가 처리 중인 문의 <span class="sj-count">1</span>' in html
    assert '처리 완료 <span class="sj-count">0</span>' in html
    assert "홍길동" in html and "파손/불량" in html and "긴급" in html and "6분" in html
    assert "포장이 터져서 왔어요" in html and "둘째 줄" not in html  # first line only
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;손님&lt;/b&gt; (비회원)" in html
    assert 'class="sj-qitem sj-selected sj-st-new" data-thread="t2"' in html
    assert 'aria-label="AI"' in html and "상담원 대기" in html and "김민지" not in html  # mine tab hidden
    mine = render_queue(tabs, "mine", None, {}, "en", NOW)
    assert "</svg>김민지" in mine
    assert "Urgent" not in mine and "High" in mine and "waiting" not in mine
    alerting = render_queue(tabs, "done", None, {}, "ko", NOW, urgent=["t1", "t<9>"])
    assert 'data-urgent="t1 t&lt;9&gt;" data-alert-title="긴급 문의가 들어왔어요"' in alerting
    empty = render_queue(tabs, "done", None, {}, "ko", NOW)
    assert "아직 처리 완료된 문의가 없어요" in empty


def test_chat_messages_roles_times_and_images(tmp_path: Path) -> None:
    img = tmp_path / "photo.png"
    img.write_bytes(b"\x89PNG\r\n\x1a\n")
    msgs = [
        {"role": "customer", "text": "국물이 샜어요", "time": NOW - timedelta(minutes=3),
         "attachments": [{"path": str(img), "filename": "photo.png", "content_type": "image/png"},
                         {"path": str(tmp_path / "missing.png"), "filename": "missing.png"}]},
        {"role": "ai", "text": "상담원을 연결해 드릴게요.", "time": NOW - timedelta(minutes=3)},
        {"role": "agent", "text": "불편을 드려 죄송합니다.", "author_name": "김민지", "time": NOW},
    ]
    out = chat_messages(msgs, "ko", NOW, lambda a: "/api/v1/attachments/7" if a["filename"] == "photo.png" else None)
    assert [m["role"] for m in out] == ["user", "user", "assistant", "assistant"]
    assert "고객 · 14:57" in out[0]["content"] and "국물이 샜어요" in out[0]["content"]
    # the staff-only attachment route, never a local file for Gradio's file route
    assert out[1]["content"] == "[![photo.png](/api/v1/attachments/7)](/api/v1/attachments/7)"
    assert "AI · 14:57" in out[2]["content"]
    assert "김민지 (상담원) · 15:00" in out[3]["content"]


def _customer(engine: Engine) -> None:
    with session_scope(engine) as s:
        s.add_all([Customer(id="C-7", name="이영희"), Product(id="P-9", name="무농약 들기름")])
        s.flush()
        s.add(Order(id="O-7", customer_id="C-7", ordered_at=NOW - timedelta(days=2), amount=Decimal("25800"),
                    status="shipping", courier="CJ대한통운", tracking_no="555566667777"))
        s.flush()
        s.add(OrderItem(order_id="O-7", product_id="P-9", product_name="무농약 들기름", quantity=2,
                        unit_price=Decimal("12900"), amount=Decimal("25800")))
        s.add(Claim(id="CL-7", order_id="O-7", customer_id="C-7", product_id="P-9", type="exchange",
                    status="in_progress", reason="병뚜껑이 깨져 있었어요", created_at=NOW - timedelta(days=1)))
        s.add(Review(id="R-7", product_id="P-9", customer_id="C-7", rating=2, text="향은 좋은데 <포장>이 아쉬워요",
                     created_at=NOW - timedelta(days=1)))


def test_profile_panel_shows_real_rows(engine: Engine) -> None:
    _customer(engine)
    profile = get_customer_profile(engine, "C-7")
    html = render_profile(profile, "이탈 위험", "ko", NOW)
    for text in ("이탈 위험", "이영희", "C-7", "누적 결제 25,800원", "주문 1건", "O-7", "배송 중",
                 "CJ대한통운 555566667777", "무농약 들기름 ×2", "교환", "처리 중", "병뚜껑이 깨져 있었어요",
                 "★★☆☆☆", "&lt;포장&gt;"):
        assert text in html, text
    assert "비회원" in render_profile(None, "", "ko", NOW, guest_name="손님")
    assert "C-404" in render_profile(None, "", "ko", NOW, customer_id="C-404")


def test_articles_are_openable_details() -> None:
    from sajang.knowledge.service import Hit

    hits = [Hit(id="packaging-damage", title="포장 파손 처리", score=0.82, kind="manual", text="사진을 받아",
                body="## 처리 순서\n사진을 받아 재발송합니다.")]
    html = render_articles(hits, "ko")
    assert '<details class="sj-article" data-article="packaging-damage">' in html
    assert "포장 파손 처리" in html and "재발송합니다" in html
    assert "찾지 못했어요" in render_articles([], "ko")


def test_learned_page_lists_author_source_and_undo(settings: Settings, engine: Engine) -> None:
    from sajang.knowledge.service import get_knowledge

    kb = get_knowledge(settings)
    first = kb.add_learned("냉동 만두 해동 후 재냉동해도 되나요?", "해동한 만두는 다시 얼리지 말고 바로 드세요.",
                           author_name="김민지", author_id=None, source_thread_id="thread-abc", category="product")
    second = kb.add_learned("아이스팩은 어떻게 버리나요?", "내용물은 일반쓰레기로, 비닐은 분리배출해 주세요.",
                            author_name="이서연")
    me = {"id": 1, "username": "agent", "name": "김민지", "role": "agent", "locale": "ko"}
    html = learned_html(settings, me, "", False)
    assert "2개 (활성 2개)" in html
    assert f'data-undo="{first}"' in html and f'data-undo="{second}"' in html
    assert "김민지" in html and "대화 thread-a…" in html and "상품문의" in html
    assert "되돌릴까요" in html  # the confirm text travels with the button
    assert "아이스팩" not in learned_html(settings, me, "만두", False)

    kb.deactivate_learned(first, actor="agent")
    active_only = learned_html(settings, me, "", False)
    assert "만두" not in active_only and "아이스팩" in active_only
    everything = learned_html(settings, me, "", True)
    assert "되돌림 (agent" in everything and f'data-undo="{first}"' not in everything
    english = learned_html(settings, {**me, "locale": "en"}, "", True)
    assert "Undone (agent" in english and "2 (1 active)" in english


def test_build_agent_hub_returns_blocks(settings: Settings) -> None:
    from sajang.ui.agent_hub import build_agent_hub

    demo = build_agent_hub(settings)
    assert isinstance(demo, gr.Blocks)
    ids = {getattr(b, "elem_id", None) for b in demo.blocks.values()}
    assert {"sj-queue", "sj-chat", "sj-profile", "sj-send", "sj-use-ai", "sj-fb", "sj-attach",
            "sj-resolve", "sj-learned-list"} <= ids


def test_feedback_targets_the_bots_answer_not_the_handoff_notice() -> None:
    from sajang.services.inquiry import feedback_target
    from sajang.ui.agent_hub import article_lines

    msgs = [
        {"id": 1, "role": "customer", "text": "해동한 갈비탕 다시 얼려도 되나요?"},
        {"id": 2, "role": "ai", "text": "조리 방법 안내…", "category": "product", "handoff": False},
        {"id": 3, "role": "customer", "text": "상담원과 연결해 주세요."},
        {"id": 4, "role": "ai", "text": "상담원에게 연결해 드릴게요.", "category": "human", "handoff": True},
    ]
    assert feedback_target(msgs) == 2
    assert article_lines({"messages": msgs}) == ["해동한 갈비탕 다시 얼려도 되나요?"]
    # the question itself was handed off (urgent): its notice is the answer being corrected
    urgent = [msgs[0], {"id": 5, "role": "ai", "text": "바로 연결해 드렸어요.", "category": "damage_defect",
                        "handoff": True}]
    assert feedback_target(urgent) == 5
    assert feedback_target(msgs[2:]) is None  # only "a person, please": the service decides


def test_handlers_with_the_real_service(settings: Settings, engine: Engine) -> None:
    """The hub's handlers without a browser: queue, regenerate, claim race message, send, resolve."""
    from sajang.app.demo import MANUAL_DIR
    from sajang.db.users import get_user_by_username
    from sajang.graphs.inquiry.service import get_inquiry_service
    from sajang.knowledge.service import get_knowledge
    from sajang.services.accounts import ensure_demo_users
    from sajang.ui.agent_hub import AgentHub

    ensure_demo_users(engine)
    get_knowledge(settings).import_manual_file(MANUAL_DIR / "delivery-delay.md")
    svc = get_inquiry_service(settings)
    thread = svc.start_conversation(None, guest_name="손님")
    assert svc.ask("상담원 연결해 주세요. 보낸 상품이 아직 안 왔어요.", thread_id=thread)["handoff"]
    hub = AgentHub(settings)
    hub.build()
    c = hub.c
    users = {u: get_user_by_username(engine, u) for u in ("agent", "agent2")}
    me, other = ({"id": users[u].id, "username": u, "name": users[u].display_name, "role": "agent",  # type: ignore[union-attr]
                  "locale": "ko"} for u in ("agent", "agent2"))

    assert f'data-thread="{thread}"' in hub.queue_html(me, "new", None)
    # the queue's search: the guest's name, a word of the message; nothing for a stranger's name
    assert f'data-thread="{thread}"' in hub.on_search(me, "new", None, "손님")
    assert f'data-thread="{thread}"' in hub.on_search(me, "new", None, "안 왔어")
    nothing = hub.on_search(me, "new", None, "홍길동")
    assert "data-thread=" not in nothing and "검색어와 맞는 문의가 없어요" in nothing and "「홍길동」 검색 결과 0건" in nothing
    # a canned reply goes into the reply box, after what was typed, filled in; a guest has no order
    from sajang.services.canned_replies import create_reply

    admin = StaffMember(id=0, username="admin", name="사장님", role="admin", locale="ko")
    macro = create_reply(settings, "배송 확인", "{고객명}님, 주문 {주문번호} 확인 중입니다. 상담원 {상담원}", admin)
    assert ("배송 확인", macro.id) in hub.on_canned_focus(me)["choices"]
    put = hub.on_canned(me, thread, macro.id, "안녕하세요.")
    assert put[c["input"]] == "안녕하세요.\n\n손님님, 주문 [주문번호 입력] 확인 중입니다. 상담원 김민지"
    assert "주문번호" in put[c["canned_note"]] and put[c["canned"]]["value"] == 0
    assert "먼저 대기열에서" in hub.on_canned(me, None, macro.id, "")[c["canned_note"]]
    assert "배송" in hub.on_regen(me, thread)  # a fresh draft from the manual
    won = hub.on_claim(me, "new", thread, "")
    assert "맡았습니다" in won[c["header"]] and won[c["qtab"]] == "mine"
    lost = hub.on_claim(other, "new", thread, "")
    assert f"이미 다른 상담원({me['name']})" in lost[c["header"]]
    # a timer tick that started before the claim redraws the header: the notices survive it
    assert "맡았습니다" in hub.on_tick(me, "mine", thread, "", "stale")[c["header"]]
    assert "이미 다른 상담원" in hub.on_tick(other, "new", thread, "", "stale")[c["header"]]
    assert "맡았습니다" not in hub.open_view(me, "mine", thread)[c["header"]]  # reopening clears it
    assert "맡았습니다" not in hub.on_tick(me, "mine", thread, "", "stale")[c["header"]]
    refused = hub.on_send(other, "new", thread, "", "제가 답할게요")
    assert "처리하지 못했습니다" in refused[c["header"]]
    sent = hub.on_send(me, "mine", thread, "", "확인해 보니 오늘 도착 예정입니다.")
    assert "답변을 보냈습니다" in sent[c["header"]] and sent[c["input"]] == ""
    assert any("오늘 도착 예정" in str(m["content"]) for m in sent[c["chat"]])
    done = hub.on_resolve(me, "mine", thread, "")
    assert "처리 완료" in done[c["header"]]
    assert f'data-thread="{thread}"' in hub.queue_html(me, "done", None)
    assert f'data-thread="{thread}"' not in hub.queue_html(me, "mine", None)


def test_the_uis_import_neither_the_web_app_nor_the_database() -> None:
    """sajang/ui reaches data only through the service API (`sajang.services`, the graphs' services)."""
    import ast

    import sajang.ui

    offending = []
    for path in sorted(Path(sajang.ui.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offending += [f"{path.name}: {n}" for n in names if n.split(".")[:2] in (["sajang", "app"], ["sajang", "db"])]
    assert offending == []


def test_chat_bubbles_escape_markdown_so_text_reads_as_written() -> None:
    from sajang.ui.literal import literal

    msgs = [{"role": "ai", "text": "냉동은 2~5일, 선물세트는 5~10일\n1. *주의* a_b | <b>굵게</b> $$x$$", "time": NOW}]
    content = chat_messages(msgs, "ko", NOW)[0]["content"]
    assert r"2\~5일" in content and r"5\~10일" in content and "~" not in content.replace(r"\~", "")
    assert r"1\. \*주의\* a\_b \| \<b\>굵게\</b\> \$\$x\$\$" in content
    # every escape is a backslash before the character itself: removing them gives the text back
    text = "주방용품 7~10일 · 4~5인분 #1 - [링크](x) ![img](y) `code` ~~취소~~ &amp;"
    assert re.sub(r"\\(.)", r"\1", literal(text)) == text


def test_a_thumbs_down_corrects_the_answer_the_agent_picks(settings: Settings, engine: Engine) -> None:
    """Two questions, two bot answers: the hub's picker lists them newest first with their first words and
    defaults to the service's pick (the newest real answer); the agent picks the older one, and that is the
    message the feedback row points at and the question learned — the same through the service, and a
    customer's line is refused as a target."""
    import pytest
    from sqlalchemy import select

    from sajang.app.demo import MANUAL_DIR
    from sajang.db.models import Feedback
    from sajang.db.users import get_user_by_username
    from sajang.errors import NotFound
    from sajang.knowledge.service import get_knowledge
    from sajang.services.accounts import ensure_demo_users
    from sajang.services.inquiry import answer_gist, feedback_target, inquiries
    from sajang.ui.agent_hub import AgentHub

    ensure_demo_users(engine)
    kb = get_knowledge(settings)
    for name in ("delivery-fee", "gift-wrapping"):
        kb.import_manual_file(MANUAL_DIR / f"{name}.md")
    api = inquiries(settings)
    first_q, second_q = "배송비는 얼마인가요?", "선물 포장도 해 주시나요?"
    thread = api.ask(first_q).thread_id
    api.ask(second_q, thread_id=thread)
    messages = api.conversation(thread).messages
    answers = [m for m in messages if m.role == "ai"]
    assert len(answers) == 2 and feedback_target(messages) == answers[1].id
    older, newer = answers

    hub = AgentHub(settings)
    hub.build()
    c = hub.c
    user = get_user_by_username(engine, "agent")
    assert user is not None
    me = {"id": user.id, "username": "agent", "name": user.display_name, "role": "agent", "locale": "ko"}
    opened = hub.on_fb_open(me, thread)
    picker = opened[c["fb_target"]]
    assert [v for _, v in picker["choices"]] == [newer.id, older.id] and picker["value"] == newer.id
    label = dict((v, k) for k, v in picker["choices"])[older.id]
    # its first words after the bot's greeting (which every first answer opens with)
    assert older.text.startswith("안녕하세요") and "안녕하세요" not in label, (older.text, label)
    assert re.fullmatch(r"\d\d:\d\d · .+", label) and answer_gist(older.text)[:10] in label, label
    assert opened[c["fb_box"]]["visible"] is True

    correct = "배송비는 3,000원이고 5만 원 이상 주문하면 무료예요. 제주·도서 지역은 추가 요금이 있어요."
    done = hub.on_feedback(me, thread, correct, older.id)
    assert "학습했습니다" in done[c["fb_note"]] and first_q in done[c["fb_note"]]
    with engine.connect() as conn:
        rows = conn.execute(select(Feedback.message_id, Feedback.correct_answer)).all()
    assert [tuple(r) for r in rows] == [(older.id, correct)]
    learned = [x for x in kb.list_learned() if x["id"] == done[c["learned_refresh"]]]
    assert learned and learned[0]["question"] == first_q and learned[0]["answer"] == correct

    # through the service (what REST's `message_id` calls): the older answer again; a customer line refused
    agent = StaffMember(id=user.id, username="agent", name=user.display_name, role="agent", locale="ko")
    again = api.feedback(thread, "선물 포장은 상품마다 달라요.", agent, message_id=older.id)
    assert again.message_id == older.id and again.question == first_q
    customer_line = next(m for m in messages if m.role == "customer")
    with pytest.raises(NotFound, match="not an AI answer"):
        api.feedback(thread, "무엇이든", agent, message_id=customer_line.id)
    # without a pick, the service's default: the newest answer and its question
    default = api.feedback(thread, "선물 포장은 2,000원이에요.", agent)
    assert default.message_id == newer.id and default.question == second_q
