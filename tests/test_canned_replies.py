"""Canned replies (macros) and the queue search, through the service API on the test's real database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from sajang.config import Settings
from sajang.db.engine import session_scope
from sajang.db.models import AuditLog, Customer, Order
from sajang.errors import Conflict, Forbidden, NotFound, SajangError
from sajang.services import canned_replies as cr
from sajang.services.accounts import StaffMember

ADMIN = StaffMember(id=1, username="admin", name="사장님", role="admin", locale="ko")
AGENT = StaffMember(id=2, username="agent", name="김민지", role="agent", locale="ko")


def _shop(engine: Engine) -> None:
    with session_scope(engine) as s:
        s.add_all([Customer(id="C-A", name="김가나", phone="010-1234-5678"),
                   Customer(id="C-B", name="이다라", phone="010-9999-0001")])
        s.flush()
        s.add_all([Order(id="O-A1", customer_id="C-A", ordered_at=datetime(2026, 11, 1, tzinfo=UTC),
                         amount=Decimal(15000), status="delivered"),
                   Order(id="O-A2", customer_id="C-A", ordered_at=datetime(2026, 11, 20, tzinfo=UTC),
                         amount=Decimal(32000), status="shipping", courier="CJ대한통운", tracking_no="612345678901")])


def test_fill_keeps_unknown_variables_and_marks_missing_values() -> None:
    text, missing, unknown = cr.fill("{고객명}님, 주문 {주문번호}은 {쿠폰코드} {배송비} {주문번호}",
                                     {"고객명": "홍길동", "주문번호": None, "배송비": "3,000원"})
    assert text == "홍길동님, 주문 [주문번호 입력]은 {쿠폰코드} 3,000원 [주문번호 입력]"
    assert missing == ["주문번호"] and unknown == ["쿠폰코드"] and "None" not in text
    # a particle written both ways takes the form the filled-in word needs
    assert cr.fill("{상호}을(를) {고객명}이(가)", {"상호": "사장님네 식탁", "고객명": "이하나"})[0] == "사장님네 식탁을 이하나가"
    assert cr.fill("{고객명}이(가) 왔어요", {})[0] == "[고객명 입력]이(가) 왔어요"
    assert cr.fill("{없는것}을(를)", {})[0] == "{없는것}을(를)"
    assert cr.fill("중괄호 {} 와 { 공백 } 그대로", {})[0] == "중괄호 {} 와 { 공백 } 그대로"
    assert cr.fill("{고객명}님", {"고객명": "{상호}", "상호": "가게"}) == ("{상호}님", [], [])  # values stay as given


def test_render_for_a_customer_and_for_a_guest(settings: Settings, engine: Engine) -> None:
    from sajang.graphs.inquiry.service import get_inquiry_service
    from sajang.services.store_settings import update

    _shop(engine)
    update(settings, {"delivery_fee": 3500, "cs_hours": "평일 9시–18시"}, actor="admin")
    reply = cr.create_reply(settings, "배송 안내", "{고객명}님, {주문번호}({주문상태}) {송장번호} · 배송비 {배송비} · "
                                               "{상담시간} · {상담원} · {오타}", ADMIN)
    svc = get_inquiry_service(settings)
    member = svc.start_conversation("C-A")
    out = cr.render_reply(settings, reply.id, member, AGENT)
    assert out.text == ("김가나님, O-A2(배송 중) CJ대한통운 612345678901 · 배송비 3,500원 · 평일 9시–18시 · 김민지 · "
                        "{오타}")
    assert out.missing == [] and out.unknown == ["오타"]
    guest = svc.start_conversation(None, guest_name=None)
    out = cr.render_reply(settings, reply.id, guest)
    assert out.text.startswith("[고객명 입력]님, [주문번호 입력]([주문상태 입력]) [송장번호 입력] · 배송비 3,500원")
    assert out.missing == ["고객명", "주문번호", "주문상태", "송장번호", "상담원"] and "None" not in out.text
    named_guest = svc.start_conversation(None, guest_name="손님")
    assert cr.render_reply(settings, reply.id, named_guest).text.startswith("손님님, [주문번호 입력]")
    with pytest.raises(NotFound):
        cr.render_reply(settings, reply.id, "no-such-thread")
    with pytest.raises(NotFound):
        cr.render_reply(settings, 99_999, member)


def test_only_the_admin_edits_and_every_change_is_audited(settings: Settings, engine: Engine) -> None:
    with pytest.raises(Forbidden):
        cr.create_reply(settings, "인사", "안녕하세요", AGENT)
    first = cr.create_reply(settings, "  인사  말 ", "안녕하세요 {고객명}님\r\n", ADMIN)
    assert first.title == "인사 말" and first.body == "안녕하세요 {고객명}님" and first.updated_by == "admin"
    with pytest.raises(Conflict) as dup:
        cr.create_reply(settings, "인사 말", "다른 본문", ADMIN)
    assert dup.value.status_code == 409
    for title, body in (("", "x"), ("x", "  "), ("x" * 101, "x"), ("x", "y" * 2001)):
        with pytest.raises(SajangError) as bad:
            cr.create_reply(settings, title, body, ADMIN)
        assert bad.value.status_code == 422
    second = cr.create_reply(settings, "가나다", "본문", ADMIN)
    assert [r.title for r in cr.list_replies(settings)] == ["가나다", "인사 말"]
    with pytest.raises(Forbidden):
        cr.update_reply(settings, first.id, AGENT, body="바꿈")
    with pytest.raises(Conflict):
        cr.update_reply(settings, second.id, ADMIN, title="인사 말")
    changed = cr.update_reply(settings, first.id, ADMIN, body="반갑습니다 {고객명}님")
    assert changed.title == "인사 말" and changed.body == "반갑습니다 {고객명}님"
    with pytest.raises(Forbidden):
        cr.delete_reply(settings, first.id, AGENT)
    cr.delete_reply(settings, first.id, ADMIN)
    with pytest.raises(NotFound):
        cr.get_reply(settings, first.id)
    with pytest.raises(NotFound):
        cr.delete_reply(settings, first.id, ADMIN)
    with session_scope(engine) as s:
        actions = list(s.scalars(select(AuditLog.action).where(AuditLog.target_type == "canned_reply")
                                 .order_by(AuditLog.id)))
    assert actions == ["canned_reply.create", "canned_reply.create", "canned_reply.update", "canned_reply.delete"]
    assert cr.seed_demo_replies(settings) == len(cr.DEMO_REPLIES)
    assert cr.seed_demo_replies(settings) == 0  # once


def test_queue_search_by_name_phone_order_and_text(settings: Settings, engine: Engine) -> None:
    from sajang.services.inquiry import SEARCH_LIMIT, inquiries

    _shop(engine)
    api = inquiries(settings)
    svc = api.service
    a = svc.start_conversation("C-A")
    assert svc.ask("상담원 연결해 주세요. 갈비탕 국물이 샜어요.", thread_id=a)["handoff"]
    g = svc.start_conversation(None, guest_name="박손님")
    assert svc.ask("상담원 연결해 주세요. 100%_환불 되나요?", thread_id=g)["handoff"]
    svc.start_conversation("C-B")  # not handed off: never in the queue, never found

    def found(q: str, status: str = "all") -> list[str]:
        return [i.thread_id for i in api.queue(status, q=q)]  # type: ignore[arg-type]

    assert found("가나") == [a]  # customer name, Korean substring
    assert found("5678") == [a] and found("1234") == [] and found("0001") == []  # phone's last 4
    assert found("O-A2") == [a] and found("o-a1") == [a]  # any of the customer's order numbers, any case
    assert found("국물이 샜") == [a] and found("환불") == [g] and found("박손") == [g]
    assert found("100%_") == [g] and found("%") == [g] and found("_") == [g]  # wildcards are literal
    assert found("0%x") == [] and found("없는말") == []
    assert set(found("상담원 연결")) == {a, g} and found("상담원 연결", "resolved") == []
    assert found("  가나  ", "new") == [a] and found("") == [i.thread_id for i in api.queue("all")]
    assert len(api.queue("all", q="상담원", limit=1)) == 1 and SEARCH_LIMIT == 50


def test_cli_adds_lists_renders_and_removes(settings: Settings, engine: Engine, cli) -> None:  # type: ignore[no-untyped-def]
    import json

    from sajang.graphs.inquiry.service import get_inquiry_service

    _shop(engine)
    thread = get_inquiry_service(settings).start_conversation("C-A")
    added = cli("canned", "add", "주문 확인", "{고객명}님, 주문 {주문번호} 확인했어요. {없는변수}", "--actor", "owner", "--json")
    assert added.returncode == 0, added.stderr
    rid = json.loads(added.stdout)["id"]
    out = cli("canned", "render", str(rid), thread, "--json")
    assert json.loads(out.stdout)["text"] == "김가나님, 주문 O-A2 확인했어요. {없는변수}", out.stderr
    gone = cli("canned", "rm", str(rid))
    assert gone.returncode == 0 and cr.list_replies(settings) == [], gone.stderr
    with session_scope(engine) as s:
        assert s.scalar(select(AuditLog.actor).where(AuditLog.action == "canned_reply.create")) == "owner"
