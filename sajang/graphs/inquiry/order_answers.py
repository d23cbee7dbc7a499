"""Answers about the verified customer's own orders, built from the database rows the graph loaded.

The manual answers (articles, units, sentences) live in `answering.py`; this module knows only orders:
which order a question is about, whether it is about an order of the customer's at all, and the
sentences that describe it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sajang.config import StorePolicy
from sajang.graphs.inquiry.prompts import ORDER_STATUS_T, T
from sajang.knowledge.text import morphemes

KST = ZoneInfo("Asia/Seoul")
ORDER_ID = re.compile(r"\b[A-Z]{1,3}-\d{6,}(?:-\d+)?\b|\b\d{10,20}\b", re.IGNORECASE)
# "my order" phrasing: the customer asks about *their* order, not the policy in general
PERSONAL_ORDER = re.compile(
    r"(제|내|저의|우리)\s*(주문|택배|물건|상품|배송|소포|환불|반품|교환)|주문(한|했|하신|했던)|시킨|산\s*(거|게|것)"
    r"|언제\s*(와|오|도착|받|들어)|어디(쯤|까지|에)|도착(했|하|안)|(발송|출고|배송)\s*(됐|되었|했|언제|안)|송장|운송장"
    r"|(환불|반품|교환|취소)\s*(됐|되었|처리|진행|언제|아직)|아직\s*(안|도)"
    r"|\bmy\s+(order|package|parcel|refund|return|delivery|purchase|item)s?\b|\bi\s+(ordered|bought)\b"
    r"|\bwhere\s+is\b|\bwhen\s+will\b|\btracking\b|\bhas\s+(it|my)\b",
    re.IGNORECASE)
HYPOTHETICAL_EN = re.compile(r"\bif\b|\bin case\b|\bwhat happens\b", re.IGNORECASE)
# the customer speaks of an order of theirs: "제 주문" (not "어제 주문"), "주문한", "시킨", "산 거", "my", "I ordered"
POSSESSIVE = re.compile(
    r"(?<![가-힣])(제|내|저의|우리)\s*(주문|택배|물건|상품|배송|소포|환불|반품|교환)|주문(한|했|하신|했던)|시킨"
    r"|산\s*(거|게|것)|\bmy\b|\bi\s+(ordered|bought)\b", re.IGNORECASE)
ORDER_CATEGORIES = {"delivery", "cancel", "return_refund", "exchange"}
OPEN = ("paid", "preparing", "shipping")


def _t(key: str, locale: str, **kw: Any) -> str:
    return T[key].get(locale, T[key]["ko"]).format(**kw)


def _when(iso: str | None, locale: str) -> str:
    if not iso:
        return ""
    dt = datetime.fromisoformat(iso).astimezone(KST)
    return f"{dt.month}월 {dt.day}일" if locale == "ko" else f"on {dt:%b} {dt.day}"


def _items(order: dict[str, Any], locale: str) -> str:
    items = order.get("items") or []
    if not items:
        return order["order_id"]
    first = items[0]["name"]
    if len(items) > 1:
        return f"{first} 외 {len(items) - 1}건" if locale == "ko" else f"{first} and {len(items) - 1} more"
    return first


def pick_order(text: str, orders: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, str | None]:
    """(the order the question is about, an order id mentioned that is not this customer's)."""
    mentioned = [m.group(0).upper() for m in ORDER_ID.finditer(text)]
    by_id = {o["order_id"].upper(): o for o in orders}
    for oid in mentioned:
        if oid in by_id:
            return by_id[oid], None
    if mentioned:
        return None, mentioned[0]
    if not orders:
        return None, None
    return next((o for o in orders if o["status"] in OPEN), orders[0]), None


def is_conditional(text: str) -> bool:
    """"…하면 / …으면 / 경우 / if": a question about what would happen, i.e. about the policy. Kiwi tells the
    conditional ending 면 from nouns that end in it (라면, 냉면)."""
    if HYPOTHETICAL_EN.search(text):
        return True
    return any((tag == "EC" and form in ("면", "으면")) or (form == "경우" and tag.startswith("NN"))
               for form, tag in morphemes(text))


def is_order_question(text: str, category: str) -> bool:
    if ORDER_ID.search(text):
        return True
    if is_conditional(text) and not POSSESSIVE.search(text):
        return False  # "카드 결제 취소하면 환불 언제 돼요?" asks the policy, not about the last order
    return category in ORDER_CATEGORIES and bool(PERSONAL_ORDER.search(text))


def order_sentence(order: dict[str, Any], locale: str, policy: StorePolicy) -> str:
    head = (f"주문하신 {_items(order, locale)}(주문번호 {order['order_id']}, {_when(order['ordered_at'], locale)} 주문)"
            f"의 현재 상태는 '{order['status_label']}'입니다." if locale == "ko" else
            f"Your order {order['order_id']} ({_items(order, locale)}, placed {_when(order['ordered_at'], locale)}) "
            f"is {order['status_label']}.")
    tmpl = ORDER_STATUS_T.get(order["status"], {}).get(locale, "")
    body = tmpl.format(cutoff=policy.dispatch_cutoff, shipped=_when(order.get("shipped_at"), locale),
                       courier=order.get("courier") or policy.courier, tracking=order.get("tracking_no") or "-",
                       delivered=_when(order.get("delivered_at"), locale)) if tmpl else ""
    claims = []
    for c in order.get("claims") or []:
        claims.append(f"{c['type_label']} 요청({_when(c['created_at'], locale)} 접수)은 현재 '{c['status_label']}' "
                      "상태입니다." if locale == "ko" else
                      f"Your {c['type_label']} request ({_when(c['created_at'], locale)}) is {c['status_label']}.")
    return " ".join(x for x in [head, body, *claims] if x)


def order_source(order: dict[str, Any], locale: str) -> dict[str, Any]:
    """The answer's source entry for an order."""
    return {"id": order["order_id"], "title": (f"주문 {order['order_id']}" if locale == "ko"
                                               else f"Order {order['order_id']}"),
            "score": 1.0, "kind": "order"}
