"""Prompts and answer templates of the inquiry graph (Korean by default, English for English speakers).

The LLM prompts carry the facts the model may use (manual passages, learned answers, store policy,
the customer's own orders); the offline templates wrap extracted manual sentences and order data.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from sajang.config import StorePolicy

# Category labels for summaries the agents read (the UI has its own table in sajang.ui.i18n).
CATEGORY_KO: dict[str, str] = {
    "delivery": "배송", "exchange": "교환", "return_refund": "반품/환불", "cancel": "취소",
    "damage_defect": "파손/불량", "stock": "재고", "product": "상품", "payment": "결제",
    "coupon_points": "쿠폰/적립금", "human": "상담원 요청", "other": "기타",
}

CATEGORY_GUIDE = """- delivery: 배송 조회·지연·배송비·배송지 변경·주소 설정
- exchange: 교환, 오배송(다른 상품 수령), 옵션·사이즈 변경
- return_refund: 반품, 환불 규정·환불 진행 상황
- cancel: 주문 취소, 취소 수수료, 정기배송 해지
- damage_defect: 파손, 불량, 변질, 이물질, 누락, 식품 안전
- stock: 품절, 재입고, 재고 수량
- product: 상품 정보(양, 성분, 알레르기, 원산지, 보관, 조리법)
- payment: 결제 오류, 결제 수단, 영수증, 세금계산서, 이중 결제
- coupon_points: 쿠폰, 할인 코드, 적립금, 포인트
- human: 상담원·사람·전화 상담 요청, 고객센터 연락처
- other: 회원 계정, 비밀번호, 뉴스레터, 인사, 범위 밖 질문"""

CLASSIFY_SYSTEM = f"""당신은 한국 온라인 식품 쇼핑몰의 고객 문의 분류기입니다.
고객 메시지 하나를 읽고 카테고리, 긴급도, 상담원 요청 여부를 JSON으로만 답하세요.

카테고리 id:
{CATEGORY_GUIDE}

긴급도: low(일반 정보 문의), normal(보통), high(파손·불량·오배송·강한 불만),
urgent(식품 안전 위험, 반복된 불만, 법적 대응 언급).
wants_human: 고객이 사람(상담원)과 이야기하고 싶다고 분명히 말했을 때만 true."""


def classify_messages(text: str) -> list[BaseMessage]:
    return [SystemMessage(CLASSIFY_SYSTEM), HumanMessage(text)]


ANSWER_SYSTEM = """당신은 「{shop_name}」의 고객상담 AI입니다. 아래에 주어진 정보만 근거로 고객에게 답하세요.

규칙
- 고객이 쓴 언어로 답하세요(한국어 메시지에는 정중한 존댓말, 영어 메시지에는 영어).
- 매뉴얼·학습된 답변·스토어 정책·이 고객의 주문 정보에 없는 내용은 추측하지 마세요.
  근거가 부족하면 confidence를 낮게 주고 needs_human을 true로 하세요.
- 주문·배송·클레임 상태가 필요하면 도구(get_my_orders, get_delivery_status, get_order_status,
  get_claim_status)를 부르세요. 도구는 로그인한 고객 본인의 주문만 돌려줍니다.
  다른 사람의 주문이나 개인정보는 절대 언급하지 마세요.
- 상담원이 가르친 '학습된 답변'이 질문과 맞으면 그 내용을 우선하세요.
- 고객이 사람을 원하거나, 파손·식품 안전·법적 문제처럼 사람이 판단해야 하면 needs_human=true.
- 최종 답은 JSON: answer(고객에게 보낼 문장), confidence(0~1), needs_human(true/false).

스토어 정책
{policy}

고객
{customer}

이 고객의 최근 주문
{orders}

매뉴얼 발췌
{passages}

학습된 답변(상담원이 교정한 답)
{learned}"""


def policy_text(policy: StorePolicy) -> str:
    p = policy
    return (f"- 상호: {p.shop_name}\n- 배송비 {p.delivery_fee:,}원, {p.free_shipping_threshold:,}원 이상 무료배송\n"
            f"- 평일 {p.dispatch_cutoff} 이전 결제 시 당일 출고, 택배사 {p.courier}\n"
            f"- 반품 배송비 {p.return_fee:,}원(편도), 교환 배송비 {p.exchange_fee:,}원(왕복), "
            f"수령 후 {p.return_window_days}일 이내 반품·교환\n- 고객센터 {p.cs_phone}, {p.cs_hours}")


def _passages(hits: list[dict[str, Any]], kind: str) -> str:
    rows = [h for h in hits if h.get("kind") == kind]
    if not rows:
        return "(없음)"
    return "\n\n".join(f"[{h['id']}] {h['title']}\n{h.get('text') or h.get('body') or ''}" for h in rows)


def answer_messages(text: str, *, policy: StorePolicy, customer: dict[str, Any] | None,
                    orders: list[dict[str, Any]], hits: list[dict[str, Any]],
                    history: list[dict[str, Any]]) -> list[BaseMessage]:
    system = ANSWER_SYSTEM.format(
        shop_name=policy.shop_name, policy=policy_text(policy),
        customer=(f"{customer.get('name') or ''} ({customer['id']})" if customer else "비회원(본인 확인 전)"),
        orders=json.dumps(orders, ensure_ascii=False) if orders else "(없음)",
        passages=_passages(hits, "manual"), learned=_passages(hits, "learned"))
    msgs: list[BaseMessage] = [SystemMessage(system)]
    for turn in history[-6:]:  # a little of the conversation so follow-ups make sense
        role = turn.get("role")
        if role in ("ai", "agent"):
            from langchain_core.messages import AIMessage

            msgs.append(AIMessage(str(turn.get("text") or "")))
        elif role == "customer":
            msgs.append(HumanMessage(str(turn.get("text") or "")))
    msgs.append(HumanMessage(text))
    return msgs


# --- offline templates ----------------------------------------------------------------------------

T: dict[str, dict[str, str]] = {
    "greet": {"ko": "안녕하세요, {shop}입니다.", "en": "Hello, this is {shop}."},
    "manual_intro": {"ko": "문의하신 내용 안내해 드립니다.", "en": "Here is what our customer guide says "
                                                             "(the guide is written in Korean):"},
    "manual_ref": {"ko": "자세한 내용은 「{title}」 안내를 참고해 주세요.", "en": "Source: “{title}”."},
    "closing": {"ko": "더 궁금하신 점이 있으면 편하게 말씀해 주세요.",
                "en": "If anything is still unclear, just write back and a person will help."},
    "handoff_notice": {
        "ko": "상담원에게 연결해 드릴게요. 상담 시간은 {hours}이며, 순서대로 답변드립니다. 기다리시는 동안 "
              "남겨 주신 메시지도 상담원이 함께 확인합니다.",
        "en": "I'm connecting you with a member of our team. We answer in order during our service hours: "
              "{hours}. Anything you add meanwhile will be seen by the agent."},
    "handoff_urgent": {
        "ko": "불편을 드려 정말 죄송합니다. 바로 확인이 필요한 문의라 상담원에게 우선 연결해 드렸어요. "
              "상품 상태 사진을 보내 주시면 더 빠르게 처리해 드릴 수 있습니다.",
        "en": "We're very sorry about this. Because it needs a person to look at it, we've put you at the "
              "front of the queue. A photo of the product helps us handle it faster."},
    "handoff_urgent_photo": {
        "ko": "불편을 드려 정말 죄송합니다. 바로 확인이 필요한 문의라 상담원에게 우선 연결해 드렸어요. "
              "보내 주신 사진도 상담원이 함께 확인합니다.",
        "en": "We're very sorry about this. Because it needs a person to look at it, we've put you at the "
              "front of the queue. The agent will see the photo you sent."},
    "order_not_found": {
        "ko": "말씀하신 주문번호 {order_id}는 고객님 계정에서 확인되지 않습니다. 주문번호를 다시 한번 확인해 주세요.",
        "en": "We couldn't find order {order_id} in your account. Please check the order number."},
    "draft_apology": {"ko": "불편을 드려 죄송합니다.", "en": "We're sorry for the trouble."},
    "draft_fallback": {"ko": "문의 주셔서 감사합니다. 내용 확인 후 바로 안내드리겠습니다.",
                       "en": "Thank you for your message. We'll check and get back to you right away."},
}

ORDER_STATUS_T: dict[str, dict[str, str]] = {
    "paid": {"ko": "결제가 완료되어 곧 상품 준비가 시작됩니다. 평일 {cutoff} 이전 결제 건은 당일 출고됩니다.",
             "en": "Payment is complete and we will start preparing it shortly (orders paid before {cutoff} on "
                   "weekdays ship the same day)."},
    "preparing": {"ko": "현재 상품을 준비하고 있습니다. 출고되면 송장 번호를 문자로 보내 드립니다.",
                  "en": "We are preparing it now; you'll get the tracking number by text once it ships."},
    "shipping": {"ko": "{shipped} {courier}로 출고되어 배송 중입니다. 운송장 번호는 {tracking}입니다.",
                 "en": "It left our warehouse {shipped} with {courier} and is on its way. Tracking number: "
                       "{tracking}."},
    "delivered": {"ko": "{delivered} 배송 완료되었습니다. 혹시 받지 못하셨다면 현관 앞·경비실·무인 택배함을 "
                        "확인해 주시고, 그래도 없으면 말씀해 주세요.",
                  "en": "It was delivered {delivered}. If you can't find it, please check your door, the "
                        "building's parcel room or lockers, and tell us if it is still missing."},
    "cancelled": {"ko": "이 주문은 취소 처리되었습니다.", "en": "This order has been cancelled."},
    "returned": {"ko": "이 주문은 반품 처리가 완료되었습니다.", "en": "This order has been returned."},
    "exchanged": {"ko": "이 주문은 교환 처리가 완료되었습니다.", "en": "This order has been exchanged."},
}
