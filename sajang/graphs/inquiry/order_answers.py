"""Answers about the verified customer's own orders, built from the database rows the graph loaded.

The manual answers (articles, units, sentences) live in `answering.py`; this module knows only orders:
which order a question is about, whether it is about an order of the customer's at all, and the
sentences that describe it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from sajang.config import StorePolicy
from sajang.db.types import utcnow
from sajang.graphs.inquiry.classifier import WRONG_ITEM_REPORT
from sajang.graphs.inquiry.fee_math import read_fee_case
from sajang.graphs.inquiry.intents import (
    CLAIM_IN_THEIR_WORDS,
    COUNTED_ORDERS,
    ORDER_ID,
    OwnDataQuery,
    elliptic_action,
    elliptic_fragment,
    merge_followup,
    parse_own_query,
    respell,
)
from sajang.graphs.inquiry.prompts import ORDER_STATUS_T, ORDER_T, T, josa
from sajang.knowledge.normalize import RIEUL_FINAL, without_emoticons
from sajang.knowledge.text import morphemes, topic_nouns
from sajang.tools.orders import (
    SHORTENED_MIN,
    catalogue_spelling_in,
    catalogue_words_in,
    customer_brief_in,
    customer_context_in,
    customer_coupons_in,
    matching_orders_in,
)

KST = ZoneInfo("Asia/Seoul")
# "my order" phrasing: the customer asks about *their* order, not the policy in general
PERSONAL_ORDER = re.compile(
    r"(제|내|저의|우리)\s*(주문|택배|물건|상품|배송|소포|환불|반품|교환)|주문(한|했|하신|했던)|시킨|산\s*(거|게|것)"
    r"|언제\s*(와|오|옴|도착|받|들어)|(?<![가-힣])(오늘|내일|낼|다음\s*날)\s*(안에|중에|까지)?\s*(와|오|옴|도착|받)|어디(쯤|까지|에)|도착(했|하|안)|(발송|출고|배송)\s*(됐|되었|했|언제|안)|송장|운송장"
    r"|(환불|반품|교환|취소)\s*(됐|되었|처리|진행|언제|아직)|아직\s*(안|도)"
    r"|\bmy\s+(order|package|parcel|refund|return|delivery|purchase|item)s?\b|\bi\s+(ordered|bought)\b"
    r"|\bwhere\s+is\b|\bwhen\s+will\b|\btracking\b|\bhas\s+(it|my)\b",
    re.IGNORECASE)
HYPOTHETICAL_EN = re.compile(r"\bif\b|\bin case\b|\bwhat happens\b", re.IGNORECASE)
HYPOTHETICAL_START = re.compile(r"^\s*(?:(?:and|so|but|ok(?:ay)?)[,\s]+)?(?:(?:if|what\s+if|in\s+case)\b|(?:혹시\s*)?(?:만약|만일))",
                                re.IGNORECASE)
# the customer speaks of an order of theirs: "제 주문" (not "어제 주문"), "주문한", "시킨", "산 거", "my", "I ordered"
# "my mom lives in LA", "my son bit into …": a person of theirs, not an order
# («my mom's order» is theirs all the same)
PEOPLE_EN = ("mom", "mother", "mum", "dad", "father", "parents?", "son", "daughter", "kids?", "child(?:ren)?",
             "sister", "brother", "wife", "husband", "family", "friends?", "grand(?:ma|pa|mother|father)",
             "baby", "partner", "girlfriend", "boyfriend")
# «제 동생 택배», «제 지인 주문»: a person of theirs (their own order is «제 주문», «제 만두 주문»)
PEOPLE_KO = ("동생|친구|엄마|아빠|어머니|아버지|부모|남편|아내|와이프|신랑|아들|딸|가족|지인|언니|오빠|누나|형|"
             "할머니|할아버지|동료|이웃|시어머니|장모")
# «딸이 주문해 준 김치»: an order someone placed for a guest, theirs to prove (not «결제해 준다는데», not yet placed)
# «딸이 주문해 준 김치», «딸이 제 앞으로 김치를 주문해 줬다는데» (not «주문해 준다는데», an order to come)
ORDERED_FOR_THEM = re.compile(r"(?<![가-힣])(?:" + PEOPLE_KO + r")(?:(?:이|가|은|는|도|께서|님이|님께서|님)\s*|\s+)"
                              r"(?:[^.?!？\s]+\s+){0,3}?(?:주문|시켜|구매|결제)\s*(?:해\s*)?(?:준(?!다)|줬|주신(?!다)|주셨)")
POSSESSIVE = re.compile(
    r"(?<![가-힣])(제|내|저의|우리)\s*(주문|택배|물건|상품|배송|소포|환불|반품|교환)|주문(한|했|하신|했던)|시킨"
    # «제 만두 주문», «제가 주문할 때 주소를 …»: their order with the product between, or their ordering
    r"|(?<![가-힣])(제|내|저의)\s+(?!생각|말|경우|기억|" + PEOPLE_KO + r")[가-힣]{1,8}\s*(주문|택배|소포)"
    r"(?!\s*(하려|할까|하면|할\s*건데|하고\s*싶|할\s*(게|래|예정)|예정))"
    r"|(?<![가-힣])(제가|내가)\s*(주문|결제|구매)\s*(했을|한|하던)\s*때"
    r"|(?<![가-힣])(제가|내가)\s*(주문|결제|구매)\s*할\s*때[^.?!？]{0,24}(했는지|었는지|았는지|됐는지)"
    r"|산\s*(거|게|것)|(?:방금|아까|어제|오늘|지난번에?|저번에?)\s*(?:결제|구매)\s*(?:한|했던)\s*(?:거|게|것|건)|\bmy\b(?!\s+(?:mind|own|fault|opinion|password|account|login|id|e-?mail|phone|mobile|membership|"
    r"points?|coupons?|tier|level|cart|wishlist|card|name|birthday)\b)"
    r"(?!\s+(?:" + "|".join(PEOPLE_EN) + r")\b(?!'s?\s+(?:orders?|package|parcel|refund|delivery|return)))"
    r"|" + COUNTED_ORDERS.pattern + r"|\bi\s+(ordered|bought)\b", re.IGNORECASE)
ORDER_CATEGORIES = {"delivery", "cancel", "return_refund", "exchange"}
OPEN = ("paid", "preparing", "shipping")


def _t(key: str, locale: str, **kw: Any) -> str:
    return T[key].get(locale, T[key]["ko"]).format(**kw)


def _when(iso: str | None, locale: str) -> str:
    if not iso:
        return ""
    dt = datetime.fromisoformat(iso).astimezone(KST)
    return f"{dt.month}월 {dt.day}일" if locale == "ko" else f"on {dt:%b} {dt.day}"


def _items(order: dict[str, Any], locale: str, named: tuple[str, ...] = ()) -> str:
    """The order's items said short: the first (or the one the customer named: «떡볶이» asked of an order that
    starts with 부대찌개) and how many more."""
    items = order.get("items") or []
    if not items:
        return order["order_id"]
    asked = next((i for i in items if named and any(_compact(w) in _compact(i.get("name") or "") for w in named)),
                 None)
    if asked is None:
        first = items[0]["name"]
    else:  # (the one named with how many: «이번에 떡볶이 2개 시킨 거 맞죠?» → «매콤 떡볶이 (2인분) 2개 외 1건»)
        count = asked.get("quantity") or 1
        first = f"{asked['name']} {count}개" if locale == "ko" else f"{count} × {asked['name']}"
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


_SENTENCE_END = re.compile(r"(?<=[.!?？~])\s+")


def sentences(text: str) -> list[str]:
    """The message's sentences (a chat sentence may end in «~» too)."""
    return [p.strip() for p in _SENTENCE_END.split(text.strip()) if p.strip()]


# «…빼고 싶은데요 », «…시켰는데 »: where a story told in one clause gives way to the question
_AFTER_STORY = re.compile(r"(?<=[는은]데요)\s+|(?<=[는은]데)\s+")
_SUM_WORDS = re.compile(r"\d\s*만\s*원|\d[\d,]*\s*원|배송비|택배비")


def last_sentence(text: str) -> str:
    """The message's last sentence (where a story told first ends in the question)."""
    return (sentences(text) or [text])[-1]


# «주문하믄», «되믄»: the condition in dialect, which Kiwi reads as one unknown noun
DIALECT_CONDITION = re.compile(r"[가-힣](?:하|되|으|이)믄(?![가-힣])")


def is_conditional(text: str) -> bool:
    """"…하면 / …으면 / 경우 / if": a question about what would happen, i.e. about the policy. Kiwi tells the
    conditional ending 면 from nouns that end in it (라면, 냉면)."""
    if HYPOTHETICAL_EN.search(text) or DIALECT_CONDITION.search(text):
        return True
    found = morphemes(text)
    # «불량이면요?»: Kiwi reads 이면요 as 이 (VCP) + 면요 (EF); «에어프라이어로 하면요?» (하 + 면요) asks another
    # way, not a condition
    return any((tag == "EC" and form in ("면", "으면")) or (form == "경우" and tag.startswith("NN"))
               or (tag == "EF" and form == "면요" and i > 0 and found[i - 1][1] == "VCP")
               for i, (form, tag) in enumerate(found))


def is_order_question(text: str, category: str) -> bool:
    if ORDER_ID.search(text):
        return True
    if is_conditional(text) and not POSSESSIVE.search(text):
        return False  # "카드 결제 취소하면 환불 언제 돼요?" asks the policy
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


# --- questions with slots ---------------------------------------------------------------------------

LIST_LIMIT = 5
EACH_LIMIT = 3  # «각각 …»: orders answered in full one after another
RECENT_ORDERS = 5  # loaded for every message of a verified customer
OPEN_CLAIMS = ("requested", "in_progress")
# an action that a person of the shop must carry out (the bot answers, then hands the request over)
PERSON_ACTS = {("cancel", "preparing"), ("exchange", "delivered"), ("return", "delivered")}


def _o(key: str, locale: str, **kw: Any) -> str:
    return ORDER_T[key].get(locale, ORDER_T[key]["ko"]).format(**kw)


def _won(value: Any) -> str:
    try:
        return f"{int(Decimal(str(value))):,}"
    except (InvalidOperation, ValueError):
        return str(value)


def _dt(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso else None


@dataclass
class Selection:
    """The orders a question is about and why others were left out."""

    orders: list[dict[str, Any]]
    foreign_id: str | None = None  # an order number named that is not this customer's
    unmatched_products: tuple[str, ...] = ()  # product words no order of theirs contains
    filtered: bool = False  # the question named which orders (a list answers it, never a guess)


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def matches_product(order: dict[str, Any], word: str) -> bool:
    """A loosely named product: "만두" in «고기 왕만두», "삼겹살" in «한돈 삼겹살 (500g)», and a name said short
    with its syllables in order, a word of the name left out: "고기만두" for «고기 왕만두»."""
    w = _compact(word)
    if not w:
        return False
    names = [_compact(item.get("name") or "") for item in order.get("items") or []]
    if any(w in name for name in names):
        return True
    if len(w) < SHORTENED_MIN:
        return False
    shortened = re.compile(".*?".join(map(re.escape, w)))  # as `tools.orders` finds them in the database
    return any(shortened.search(name) for name in names)


def _in_span(order: dict[str, Any], query: OwnDataQuery) -> bool:
    at = _dt(order.get("ordered_at"))
    if at is None:
        return False
    since, until = _dt(query.since), _dt(query.until)
    return (since is None or at >= since) and (until is None or at < until)


def _by_courier(order: dict[str, Any], query: OwnDataQuery) -> bool:
    return not query.couriers or any(c in (order.get("courier") or "") for c in query.couriers)


def _in_state(order: dict[str, Any], query: OwnDataQuery) -> bool:
    if not (query.statuses or query.claim_types):
        return True
    return order["status"] in query.statuses or any(c["type"] in query.claim_types for c in order.get("claims") or [])


def select_orders(query: OwnDataQuery, orders: list[dict[str, Any]],
                  previous_ids: list[str] | None = None) -> Selection:
    """The customer's orders the question names (newest first), or the order it most likely means."""
    by_id = {o["order_id"].upper(): o for o in orders}
    ids = list(query.order_ids) or ([i.upper() for i in previous_ids or []] if query.same_order else [])
    if ids:
        found = [by_id[i] for i in ids if i in by_id]
        if found:
            return Selection(found, filtered=len(found) > 1)
        if query.order_ids:
            return Selection([], foreign_id=query.order_ids[0])
    chosen = [o for o in orders if _in_span(o, query) and _in_state(o, query) and _by_courier(o, query)]
    unmatched: tuple[str, ...] = ()
    if query.products:
        named = [w for w in query.products if any(matches_product(o, w) for o in orders)]
        unmatched = tuple(w for w in query.products if w not in named)
        if named:
            # "소불고기 밀키트": the orders that match most of the words, not every 밀키트
            score = {o["order_id"]: sum(matches_product(o, w) for w in named) for o in chosen}
            best = max(score.values(), default=0)
            chosen = [o for o in chosen if best and score[o["order_id"]] == best]
        else:
            # a product of the shop none of these orders has (words that are no product were dropped when
            # the orders were loaded): say so rather than list the other orders
            return Selection([], unmatched_products=unmatched, filtered=True)
    named_something = bool(query.since or query.statuses or query.claim_types or query.couriers or
                           (query.products and len(unmatched) < len(query.products)))
    if named_something and "claims" in query.facts and not query.claim_types:
        # «만두 잘못 온 거 교환 처리 언제 돼요?» with three 만두 orders: the one with a request, an open one first
        claimed = [o for o in chosen if o.get("claims")]
        open_ = [o for o in claimed if any(c["status"] in OPEN_CLAIMS for c in o["claims"])]
        chosen = open_[:1] or claimed[:1] or chosen
    if named_something:
        if query.latest:  # "배송완료된 거 중에 제일 최근 거"
            return Selection(chosen[:1], unmatched_products=unmatched)
        return Selection(chosen, unmatched_products=unmatched, filtered=True)
    if query.latest:
        return Selection(orders[:1])
    if query.total and "amount" in query.facts:
        return Selection(orders, filtered=True)  # «취소된 거 빼고 총 얼마 썼어요?»: every order of theirs, summed
    if query.all_recent or "list" in query.facts:
        return Selection(orders[:LIST_LIMIT], filtered=True)
    if "claims" in query.facts:
        with_claims = [o for o in orders if o.get("claims")]
        open_ = [o for o in with_claims if any(c["status"] in OPEN_CLAIMS for c in o["claims"])]
        if open_ or with_claims:
            return Selection((open_ or with_claims)[:1])
    if not orders:
        return Selection([])
    live = [o for o in orders if o["status"] in OPEN]
    if query.each and len(live) > 1:
        # «두 개 시킨 거 각각 언제 와요?»: the orders on their way to them, as many as they said
        return Selection(live[:query.orders_counted or EACH_LIMIT], filtered=True)
    if "tracking" in query.facts or ("delivery_date" in query.facts and query.parcel_awaited):
        # the parcel on its way is the one with a tracking number to give, and the one «택배 언제 와요?» waits for
        on_way = next((o for o in orders if o["status"] == "shipping" and o.get("tracking_no")), None)
        if on_way is not None:
            return Selection([on_way])
    return Selection([next((o for o in orders if o["status"] in OPEN), orders[0])])


def _expected(shipped: datetime) -> datetime:
    """The next day the courier delivers (no deliveries on Sundays)."""
    day = shipped.astimezone(KST) + timedelta(days=1)
    return day + timedelta(days=1) if day.weekday() == 6 else day


def _item_lines(order: dict[str, Any], locale: str) -> str:
    unit = "개" if locale == "ko" else ""
    parts = [f"{i['name']} {i['quantity']}{unit}" if locale == "ko" else f"{i['quantity']} × {i['name']}"
             for i in order.get("items") or []]
    return ", ".join(parts) or order["order_id"]


def _claim_sentences(order: dict[str, Any], locale: str, only_open: bool = False) -> list[str]:
    out = []
    for c in order.get("claims") or []:
        if only_open and c["status"] not in OPEN_CLAIMS:
            continue
        when = _when(c.get("created_at"), locale)
        if c["status"] in OPEN_CLAIMS:
            out.append(_o("claim", locale, when=when, type=c["type_label"], status=c["status_label"]))
        else:
            resolved = _when(c.get("resolved_at"), locale)
            tail = (f"({resolved})" if locale == "ko" else f" ({resolved})") if resolved else ""
            out.append(_o("claim_done", locale, when=when, type=c["type_label"], status=c["status_label"],
                          resolved=tail))
    return out


def delivery_sentences(order: dict[str, Any], locale: str, policy: StorePolicy, *, tracking: bool,
                       when: bool, now: datetime | None = None) -> list[str]:
    """Where the parcel is: courier and tracking number, shipped / expected / delivered dates (a parcel still on
    its way after the day it was expected, `now` in shop time, is said to be late)."""
    out: list[str] = []
    status = order["status"]
    if status in ("paid", "preparing"):
        if tracking:
            out.append(_o("no_tracking", locale))
        if when or not tracking:
            out.append(_o("dispatch_plan", locale, cutoff=policy.dispatch_cutoff))
    elif status == "shipping":
        shipped = _dt(order.get("shipped_at"))
        if shipped is not None and (when or not tracking):
            expected = _expected(shipped)
            late = now is not None and expected.date() < now.astimezone(KST).date()
            out.append(_o("shipped_late" if late else "shipped_on", locale,
                          shipped=_when(order.get("shipped_at"), locale), expected=_when(expected.isoformat(), locale)))
        if order.get("tracking_no"):
            out.append(_o("tracking", locale, courier=order.get("courier") or policy.courier,
                          tracking=order["tracking_no"]))
    elif status == "delivered":
        out.append(_o("delivered_on", locale, delivered=_when(order.get("delivered_at"), locale)))
        if tracking and order.get("tracking_no"):
            out.append(_o("tracking", locale, courier=order.get("courier") or policy.courier,
                          tracking=order["tracking_no"]))
    return out


def order_detail(order: dict[str, Any], query: OwnDataQuery, locale: str, policy: StorePolicy,
                 now: datetime | None = None) -> list[str]:
    """Sentences about one order: its head line, then the facts asked (all the usual ones when none is)."""
    facts = set(query.facts) - {"list", "coupons", "points"}
    head = _o("head", locale, items=_items(order, locale, query.products), order_id=order["order_id"],
              when=_when(order["ordered_at"], locale), status=order["status_label"])
    out = [head]
    asked_delivery = bool(facts & {"tracking", "delivery_date", "status"}) or not facts
    if asked_delivery:
        out += delivery_sentences(order, locale, policy, tracking="tracking" in facts or not facts,
                                  when="delivery_date" in facts or not facts, now=now)
    # («취소 처리된 거 맞나요?»: a closed order's outcome said in words, also when its claim is what was asked)
    if (asked_delivery or "claims" in facts) and order["status"] in ("cancelled", "returned", "exchanged") \
            and not facts & {"tracking", "delivery_date"}:
        out.append(ORDER_STATUS_T[order["status"]].get(locale, ""))
    if "items" in facts:
        out.append(_o("items", locale, lines=_item_lines(order, locale)))
    if "ship_to" in facts and order.get("address"):
        address = str(order["address"])
        out.append(_o("ship_to", locale, address=josa(address, "으로/로") if locale == "ko" else address,
                      recipient=order.get("recipient") or "-"))
    elif "ship_to" in facts:
        out.append(_o("ship_to_missing", locale))
    if "amount" in facts:
        out.append(_o("amount", locale, amount=_won(order["amount"]), fee=_fee_paid(order, locale)))
    if "claims" in facts:
        out += _claim_sentences(order, locale) or [_o("no_claims", locale)]
    else:
        out += _claim_sentences(order, locale, only_open=True)  # an open claim is always worth a line
    return [s for s in out if s]


def _fee_paid(order: dict[str, Any], locale: str) -> str:
    """The delivery fee the order paid, as its amount's note says it: «3,000원», «무료»."""
    fee = Decimal(str(order.get("shipping_fee") or 0))
    return _o("free_shipping", locale) if fee == 0 else f"{_won(fee)}원" if locale == "ko" else f"KRW {_won(fee)}"


def _list_extra(order: dict[str, Any], query: OwnDataQuery, locale: str) -> str:
    """The fact asked, shortly, on a list line (tracking, amount with its delivery fee, a claim's state)."""
    bits: list[str] = []
    if "tracking" in query.facts and order.get("tracking_no"):
        bits.append(f"{order.get('courier') or ''} {order['tracking_no']}".strip())
    if "amount" in query.facts:
        # («오늘 주문 배송비 붙었어요? 총 얼마 나왔어요?»: each order's fee beside what it cost)
        bits.append(_o("list_amount", locale, amount=_won(order["amount"]), fee=_fee_paid(order, locale)))
    for c in order.get("claims") or []:
        if "claims" in query.facts or query.claim_types or c["status"] in OPEN_CLAIMS:
            bits.append(f"{c['type_label']} {c['status_label']}")
    return f" · {' · '.join(bits)}" if bits else ""


def order_list(orders: list[dict[str, Any]], query: OwnDataQuery, locale: str) -> list[str]:
    # «… 주문 안에 뭐뭐 들어있는지»: every item of each order, not its first and a count
    # («떡볶이 시킨 거»: each order said by the item named, not by its first one)
    def named(o: dict[str, Any]) -> str:
        return _item_lines(o, locale) if "items" in query.facts else _items(o, locale, query.products)

    return [_o("list_line", locale, order_id=o["order_id"], when=_when(o["ordered_at"], locale),
               items=named(o), status=o["status_label"], extra=_list_extra(o, query, locale))
            for o in orders[:LIST_LIMIT]]


_RELATIVE_EN = {"올해": "from this year", "작년": "from last year", "재작년": "from two years ago",
                "오늘": "placed today", "어제": "placed yesterday", "그저께": "placed the day before yesterday",
                "엊그제": "placed a few days ago", "이번 주": "from this week", "지난주": "from last week",
                "이번 달": "from this month", "지난달": "from last month"}
_MONTH_LABEL = re.compile(r"(\d{1,2})월(?:\s*(\d{1,2})일)?")


def _when_en(query: OwnDataQuery, locale: str) -> str:
    """The date word of the question as English says it after "orders": «지난주» → " from last week", «11월» →
    " from November", «11월 20일» → " from Nov 20" ("" in Korean, where `_what` says it before 주문)."""
    label = (query.date_label or "").strip()
    if locale == "ko" or not label:
        return ""
    if label in _RELATIVE_EN:
        return f" {_RELATIVE_EN[label]}"
    m = _MONTH_LABEL.fullmatch(label)
    if not m:
        return ""  # «3일 전» and the like: the list says the dates anyway
    month = date(2000, int(m.group(1)), 1)
    return f" from {month:%b} {int(m.group(2))}" if m.group(2) else f" from {month:%B}"


def _what(query: OwnDataQuery, locale: str, unmatched: tuple[str, ...] = ()) -> str:
    """How the question named the orders: "지난주 만두", "취소된" …"""
    words: list[str] = []
    if query.date_label and locale == "ko":  # in English the date follows "orders" (`_when_en`)
        words.append(query.date_label)
    named = [p for p in query.products if p not in unmatched] or list(unmatched)
    words += named
    if query.statuses or query.claim_types:
        label = {"shipping": "배송 중인", "delivered": "배송 완료된", "cancelled": "취소된", "returned": "반품된",
                 "exchanged": "교환한", "paid": "출고 전인"}
        key = (query.claim_types[0] if query.claim_types else "") or query.statuses[0]
        ko = {"cancel": "취소된", "return": "반품된", "refund": "환불된", "exchange": "교환 신청한"}.get(key) or \
            label.get(key, "")
        if set(query.statuses) >= set(OPEN) and not query.claim_types:  # «아직 안 온 거»: every order not delivered
            ko, key = "아직 받지 않으신", "undelivered"
        words.append(ko if locale == "ko" else key)
    if query.couriers:  # «한진으로 온», «우체국으로 온»
        couriers = "·".join(query.couriers)
        words.append(f"{josa(couriers, '으로/로')} 온" if locale == "ko" else "/".join(query.couriers))
    text = " ".join(w for w in words if w)
    return text if locale == "ko" else (text + " " if text else "")


def action_answer(order: dict[str, Any], action: str, locale: str, policy: StorePolicy,
                  now: datetime) -> tuple[str, bool]:
    """(what the customer can do about THIS order, whether a person of the shop must act)."""
    status = order["status"]
    open_same = [c for c in order.get("claims") or [] if c["status"] in OPEN_CLAIMS and
                 (c["type"] == action or (action == "return" and c["type"] == "refund"))]
    if open_same:
        c = open_same[0]
        return _o("claim_open", locale, when=_when(c.get("created_at"), locale), type=c["type_label"],
                  status=c["status_label"]), False
    if status in ("cancelled", "returned", "exchanged"):
        return _o(f"already_{status}", locale), False
    kw = {"return_fee": _won(policy.return_fee), "window": policy.return_window_days,
          "courier": order.get("courier") or policy.courier, "tracking": order.get("tracking_no") or "-",
          "status": order.get("status_label") or status}
    if action == "cancel":
        return _o(f"cancel_{status}", locale, **kw), (action, status) in PERSON_ACTS
    if action == "address":
        key = "address_before" if status in ("paid", "preparing") else f"address_{status}"
        return _o(key, locale, **kw), False
    # exchange / return
    if status in ("paid", "preparing"):
        return _o(f"{action}_before", locale, status=kw["status"]), False
    if status == "shipping":
        return _o(f"{action}_shipping", locale), False
    delivered = _dt(order.get("delivered_at"))
    days = max(0, (now.astimezone(KST).date() - delivered.astimezone(KST).date()).days) if delivered else 0
    if days > policy.return_window_days:
        return _o("window_over", locale, days=days, window=policy.return_window_days), True
    fee = policy.exchange_fee if action == "exchange" else policy.return_fee
    return _o(f"{action}_window", locale, days=days, window=policy.return_window_days, fee=_won(fee)), True


REFUNDED = ("cancelled", "returned")
TOTAL_LIMIT = 500  # orders summed at most (a customer's year of orders)  # orders whose payment went back: not part of what was spent


def _total_reply(orders: list[dict[str, Any]], query: OwnDataQuery, locale: str,
                 unmatched: tuple[str, ...] = ()) -> str:
    """«11월에 총 얼마 썼어요?»: the sum of the orders meant (refunded ones left out, and said so), then each."""
    kept = [o for o in orders if o["status"] not in REFUNDED]
    left_out = [o for o in orders if o["status"] in REFUNDED]
    total = sum(Decimal(str(o.get("amount") or 0)) for o in kept)
    excluded = _o("total_excluded", locale, k=len(left_out),
                  amount=_won(sum(Decimal(str(o.get("amount") or 0)) for o in left_out))) if left_out else ""
    what = _what(query, locale, unmatched)
    head = _o("total", locale, what=what, n=len(orders), total=_won(total), excluded=excluded,
              when=_when_en(query, locale)) if what or query.date_label else \
        _o("total_recent", locale, n=len(orders), total=_won(total), excluded=excluded)
    return "\n".join([head, *order_list(orders, replace(query, facts=("amount",)), locale)])


@dataclass
class OrderReply:
    """An answer about the customer's own data."""

    text: str
    order_ids: list[str] = field(default_factory=list)
    needs_person: bool = False  # an action a person must carry out
    action: str | None = None
    focused: bool = False  # the first order was answered in full, the others only named


LISTING_FACTS = frozenset({"status", "claims", "list"})  # facts a status word answers with the list of such orders


def own_data_reply(query: OwnDataQuery, orders: list[dict[str, Any]], locale: str, policy: StorePolicy,
                   now: datetime, *, previous_ids: list[str] | None = None,
                   coupons: list[dict[str, Any]] | None = None) -> OrderReply:
    """The answer body (without greeting and closing) for a verified customer's question about their data."""
    if "coupons" in query.facts and not query.selects and coupons is not None:
        if not coupons:
            return OrderReply(_o("no_coupons", locale))
        lines = ", ".join(f"{c['name']}" + (f"(~{c['valid_until']})" if c.get("valid_until") else "")
                          for c in coupons if not c.get("used_at")) if any(not c.get("used_at") for c in coupons) else ""
        return OrderReply(_o("coupons", locale, lines=lines) if lines else _o("no_coupons", locale))
    if "points" in query.facts and not query.selects and not query.action:
        return OrderReply(_o("no_points", locale))
    if not orders:
        return OrderReply(_o("none_at_all", locale))
    sel = select_orders(query, orders, previous_ids)
    if sel.foreign_id is not None:
        return OrderReply(_t("order_not_found", locale, order_id=sel.foreign_id))
    if not sel.orders:
        recent = order_list(orders, query, locale)
        return OrderReply("\n".join([_o("none_matching", locale, what=_what(query, locale, sel.unmatched_products),
                                         when=_when_en(query, locale)),
                                     _o("recent_instead", locale), *recent[:3]]),
                          order_ids=[o["order_id"] for o in orders[:3]])
    if query.action and len(sel.orders) > 1 and not (query.statuses or query.claim_types):
        # "불고기 밀키트 그거 배송지 바꿀 수 있어요?" with one such order open and two long closed: the open one
        live = [o for o in sel.orders if o["status"] in ACTION_STATUSES.get(query.action, ())]
        if len(live) == 1:
            sel = replace(sel, orders=live)
    ids = [o["order_id"] for o in sel.orders]
    if len(sel.orders) == 1:
        order = sel.orders[0]
        if query.action:
            text, person = action_answer(order, query.action, locale, policy, now)
            head = _o("head_about", locale, items=_items(order, locale, query.products), order_id=order["order_id"],
                      when=_when(order["ordered_at"], locale))
            return OrderReply(f"{head} {text}", ids, needs_person=person, action=query.action)
        return OrderReply(" ".join(order_detail(order, query, locale, policy, now)), ids)
    if "amount" in query.facts and query.total and not query.action:
        return OrderReply(_total_reply(sel.orders, query, locale, sel.unmatched_products), ids)
    # a status word lists those orders ("취소된 주문"), unless a product or a date already says which
    # ("포기김치 배송완료 됐었죠": that order's delivery)
    # («배송완료 떴던데 언제 도착한거에요?», «배송중인거 송장번호 알려주세요»: a status told with a fact of its own
    # asks that fact of the newest such order)
    asks_list = bool(query.all_recent or query.exists_question or "list" in query.facts or
                     ((query.claim_types or query.statuses) and not (query.products or query.since)
                      and not set(query.facts) - LISTING_FACTS))
    # «오늘 두 번 주문했는데 각각 얼마예요?», or «그 주문에는 뭐 들어 있어요?» right after a list of two: the
    # fact of each (the list itself was the previous answer)
    each = query.each or (query.same_order and bool(set(query.facts) - LISTING_FACTS)) \
        or ("items" in query.facts and query.since is not None)  # «지난주에 뭐뭐 시켰었는지»: every order's items
    if each and not query.action and len(sel.orders) <= EACH_LIMIT and set(query.facts) - {"claims"}:
        return OrderReply("\n\n".join(" ".join(order_detail(o, query, locale, policy, now)) for o in sel.orders), ids)
    if not asks_list and not query.action and set(query.facts) - {"claims"}:
        # a fact of "the 만두 order" while there are several: the newest in full, the others named
        newest, others = sel.orders[0], sel.orders[1:]
        what = _what(query, locale, sel.unmatched_products)
        intro = _o("others_intro", locale, what=what, n=len(others), when=_when_en(query, locale)) if what else \
            _o("others_intro_plain", locale, n=len(others))
        # (the others' items too when items were asked: «지난주에 뭐뭐 시켰었는지»)
        named_only = OwnDataQuery(facts=("items",)) if "items" in query.facts else OwnDataQuery(products=query.products)
        more = [intro, *order_list(others, named_only, locale)]
        return OrderReply(" ".join(order_detail(newest, query, locale, policy, now)) + "\n\n" + "\n".join(more),
                          ids, focused=True)
    listed = order_list(sel.orders, query, locale)
    what = _what(query, locale, sel.unmatched_products)
    intro = _o("list_intro", locale, what=what, n=len(sel.orders), when=_when_en(query, locale)) \
        if what or query.date_label else \
        _o("list_intro_all", locale, n=len(listed))
    parts = [intro, *listed]
    if query.action or not (asks_list or "claims" in query.facts):
        parts.append(_o("list_pick", locale))
    return OrderReply("\n".join(parts), ids, action=query.action)


# «주문한 거랑 다른 상품이 오면», «시킨 게 녹아서 오면»: an order of theirs in a delivery imagined, nothing reported
# between («주문한 거 안 왔는데 취소하면» tells what happened: that order is theirs to look at)
ORDER_IN_CONDITION = re.compile(r"(?:주문한|시킨|산|구매한)\s*(?:거|것|게|상품|물건)(?P<between>[^.?!？,]{0,16}?)"
                                r"(?:오면|도착하면|배송되면)(?:요|여)?(?![가-힣])")
_TOLD_BETWEEN = re.compile(r"는데|었|았|였|했|왔|옴|됐")


def order_in_condition(text: str) -> bool:
    m = ORDER_IN_CONDITION.search(text)
    return m is not None and not _TOLD_BETWEEN.search(m.group("between"))


def names_theirs(text: str) -> bool:
    """The message's own words put it on something of theirs: «주문한 거», «제 …», «교환 신청한 거»."""
    return bool(OWN_PHRASE.search(text) or POSSESSIVE.search(text) or CLAIM_MINE.search(text))


# «처리 끝났어요?», «교환 어케 돼 가요», «신청한 거 어떻게 됐어요», «처리 언제 돼요»: how a request stands
REQUEST_PROGRESS = re.compile(r"(어떻게|어케|어캐)\s*(됐|되었|되고|돼\s*가|되가|돼가|되어\s*가|진행)|처리\s*(끝|완료|됐|다\s*됐|언제|중|는)"
                              r"|취소\s*완료\s*(가|는)?\s*(됐|되었|됬|된\s*(거|건)|맞)"
                              r"|진행\s*(상황|중|됐|돼|되고|은|는)|(신청|요청|접수)\s*(을|를)?\s*(한|했|하신|된|됐|드린)|아직\s*(도\s*)?(처리|연락|답|소식)")
# «출발했어요?», «벌써 나갔나요?», «보내셨어요?»: whether it left (said of something sent, not of the rule)
# («오늘 출고돼요?», «내일 발송되나요?»: whether it leaves, asked of theirs by a verified customer)
DISPATCHED_ASKED = re.compile(r"출발\s*(했|됐|하셨)|(출고|발송)\s*(됐|되었|했)|나갔(나|어|죠|는지)|보내셨"
                              r"|(출고|발송|출발)\s*(돼요|되요|되나요|될까요|되죠|되는지|돼여|되여|하나요|해요)")
# «주문번호 뭐였죠», «주문 번호 좀 알려 주세요», "what was my order number"
ORDER_NUMBER_ASKED = re.compile(r"주문\s*번호\s*(가|는|이|좀)?\s*(뭐|뭔|몇\s*번|알려\s*(주|줘)|확인\s*(해\s*)?(주|줘)|어떻게\s*(되|돼))"
                                r"|\b(what|which)\s+(was|is|'s)\s+my\s+order\s+(number|no)", re.IGNORECASE)
# «주문 어케 되가요», «시킨 거 어떻게 됐어요»: how their order stands — the order itself, right before it (not «주문
# 마감 시간이 어떻게 되었죠», «주문할 때 쿠폰 적용 어떻게 됐는지»: a rule)
ORDER_PROGRESS_ASKED = re.compile(
    r"(?:주문|(?:시킨|주문한|산|구매한)\s*(?:거|것|게|건|상품|물건))\s*(?:은|는|이|가)?\s*(?:지금\s*)?(?:어떻게|어케|어캐|어떡)\s*"
    r"(?:됐|되었|됬|되고\s*있|돼\s*가|되\s*가|되어\s*가)")
_LOOKED_UP_FACTS = frozenset({"items", "amount", "status", "tracking", "delivery_date", "list", "shipping_fee"})
_DEADLINE = re.compile(r"마감|까지|전에|이전|deadline|cut-?off|before", re.IGNORECASE)
_PLACED = re.compile(r"주문|시킨|시켰|샀|구매|결제|(?<![가-힣])산\s+(?=[가-힣])|\border", re.IGNORECASE)


def is_own_data_question(text: str, category: str, query: OwnDataQuery, orders: list[dict[str, Any]] | None = None,
                         guest: bool = False) -> bool:
    """Does the message ask about the customer's OWN data (not the shop's policy)? A guest's must say so
    plainly ("제 주문", "주문한 거", a tracking number asked): asking them to verify for "환불 언제 돼요?" would
    hold back the policy answer; a verified customer's may say it loosely ("불고기밀키트 언제 받아요" names a
    product of theirs)."""
    text = respell(text)
    if query.order_ids or query.same_order:
        return True
    if read_fee_case(text) is not None:
        return False  # «6만원 주문해서 무배로 받았는데 2만원짜리 반품하면 얼마?»: a sum with their figures, the shop's rule
    if purchase_told(text):
        # «지난달에 참기름이랑 곰탕 샀었는데», «어제 만두 시켰는데요»: the start of a question about that order, told
        # alone — which orders those are (or, for a guest, the verification to see them), not a recipe
        return True
    if WRONG_ITEM_REPORT.search(text):
        # «만두 잘못 온 거 교환 처리 언제 돼요?»: the progress of the request they made, when an order of the product
        # named has an open one; else «부대찌개 시켰는데 된장찌개가 왔어요, 교환 어떻게 해요?» asks the manual's
        # wrong-item steps, not that order's status
        return not guest and bool(REQUEST_PROGRESS.search(text)) and any(
            any(c["status"] in OPEN_CLAIMS for c in o.get("claims") or [])
            and (not query.products or any(matches_product(o, w) for w in query.products)) for o in orders or [])
    if not guest and ORDER_NUMBER_ASKED.search(text):
        return True  # «주문번호 뭐였죠 최근꺼»: theirs (a guest is told where to find it: the verification needs it)
    if KEPT_HOW_LONG.search(text):
        return False  # «주문 내역 몇 년 보관해요?», "how long do you keep my order history?": the shop's rule

    if guest and HOW_TO_LOOK.search(text) and not LOOK_FOR_ME.search(text) and not PARCEL_NUMBER.search(text):
        return False  # «환불 들어갔는지 어떻게 알아요?», «얼마 썼는지 어디서 봐요?»: where one looks, the manual says
    if HOW_TO_LOOK.search(text) and PAPERS.search(text) and not LOOK_FOR_ME.search(text) and not query.action:
        return False  # «결제한 거 영수증 어디서 봐요»: where to find a paper their orders do not hold
    if guest and ORDERED_FOR_THEM.search(text) and looks_up(text) and not is_conditional(text):
        return True  # «딸이 주문해 준 김치 언제 오는지 알 수 있나요»: the order is theirs to prove
    if guest and GUEST_ASKS_HOW.search(text) and not looks_up(text) \
            and not set(query.facts) & {"tracking", "list"}:
        # "주문한 거 수량 늘려 주실 수 있을까요?", "배송중인데 수취거부 하면 되죠?", "can I pick up my order?":
        # what can be done is the shop's rule, which the manual says without their order; only a request to
        # look something of theirs up ("확인돼요?", "어떻게 됐어요?") waits for the chat verification
        return False
    if guest and HYPOTHETICAL_START.match(text) and not looks_up(text):
        return False  # "If I refuse the parcel, how much comes off my refund?": "my" is in the case imagined
    if guest and not looks_up(text) and order_in_condition(text):
        return False  # «주문한 거랑 다른 상품이 오면 배송비는 누가 내요?»: their order is part of the case imagined
    last = last_sentence(text)
    if last == text and _SUM_WORDS.search(text):
        # «세 개 시킨 거에서 하나만 빼고 싶은데요 그거 빼면 5만원 안되는데 …»: the story told in a clause, then a question
        # of what the rule makes of an amount (not «어제 시킨 거 아직 안 왔는데 오늘 안 오면 어떻게 돼요?», about their parcel)
        last = _AFTER_STORY.split(text, maxsplit=1)[-1]
    if guest and last != text and is_conditional(last) and not POSSESSIVE.search(last) and not looks_up(last):
        # «6만 원어치 주문했는데 … 아직 출고 전이에요. 부분 취소하면 배송비 붙나요?»: the story is theirs, the
        # question asks what the rule does in that case
        return False
    if guest and PURCHASED_NAMED.search(text) and set(query.facts) & _LOOKED_UP_FACTS and not is_conditional(text):
        return True  # «저번에 산 갈비탕 배송완료로 뜨는데 언제 도착한 걸로 돼 있어요?»: a fact of a purchase of theirs
    if guest and SENT_BY_THEM.search(text) and not is_conditional(text) \
            and (looks_up(text) or set(query.facts) & _LOOKED_UP_FACTS):
        return True  # «엄마 선물로 보낸 거 도착했는지 알려주세요»: a parcel they sent someone
    if guest and not names_theirs(text):
        # a guest asking what is possible ("반품 되나요?", "송장번호 어디서 봐요?", "적립금 유효기간 있어요?")
        # asks the shop's policy: the manual answers at once; only words naming an order of theirs ask them
        # to verify
        if GUEST_POLICY_QUESTION.search(text) or (SHOP_COURIER.search(text) and not PARCEL_NUMBER.search(text)):
            return False
        if query.facts and set(query.facts) <= {"coupons", "points"}:
            return bool(GUEST_HOLDING.search(text))
        if (query.statuses or query.claim_types) and not query.action and not GUEST_ORDER_EXISTS.search(text):
            return False  # "배송완료라고 뜨는데 물건이 없어요": the manual's missing-parcel steps
    if is_conditional(text) and not POSSESSIVE.search(text):
        return False  # "카드 결제 취소하면 환불 언제 돼요?" asks the policy
    if query.facts and set(query.facts) <= {"coupons", "points"}:
        return bool(OWN_HOLDING.search(text))  # "쿠폰 있어요?" is theirs, "쿠폰 어떻게 써요?" the policy
    if guest and COUNTS_TOWARD.search(text):
        return False  # «반품한 주문도 등급 금액에 들어가요?»: whether orders of a kind count is the shop's rule
    if OWN_PHRASE.search(text) or POSSESSIVE.search(text) or query.action:
        return True  # a request to cancel / change / exchange is always about an order of theirs
    if (query.statuses or query.claim_types) and (query.exists_question or STATUS_THING.search(text)):
        return True  # "배송중인 거 있어요?", "준비중인 주문 뭐예요?"
    if CLAIM_MINE.search(text) or CLAIM_IN_THEIR_WORDS.search(text):
        return True  # "교환 접수 됐는지 봐 주세요"
    if not guest and orders and "status" in query.facts and LOOK_FOR_ME.search(text) and not HOW_TO_LOOK.search(text):
        return True  # «결제 해놨는데 아직 출발 안 했죠? 상태 좀 봐주세요»: a verified customer asks us to look
    if not guest and orders and "ship_to" in query.facts and not query.action and not is_conditional(text):
        return True  # «배송지 어디로 돼 있어요?»: where their order goes (the rule for changing it is another question)
    if not guest and orders and "tracking" in query.facts and SENT_TO_THEM.search(text):
        return True  # «택배 어느 택배사로 보내셨어요?»: the parcel sent to them (not «보내세요?», the shop's courier)
    if ORDER_PROGRESS_ASKED.search(text) and not is_conditional(text):
        return True  # «주문 어케 되가요?», «시킨 거 어떻게 돼 가요»: how their order stands (a guest verifies first)
    if query.since and _PLACED.search(text) and set(query.facts) & _LOOKED_UP_FACTS \
            and not _DEADLINE.search(text):
        return True  # «11월 26일 주문 뭐 들어있었죠»: the order of a day named (not «12월 24일 주문 마감»)
    if guest:
        # «쿠폰 썼더니 48000원 됐는데 배송비 붙어요?», «구성품 빠진 거 다시 보내주실 때 배송비는요?»: what the rule
        # charges or does, not what they paid or got (that is looked up: «얼마 결제됐는지», «뭐 들었는지 확인»)
        asked = set(query.facts) & {"tracking", "list", "items", "amount"}
        if not looks_up(text):
            asked -= {"amount", "items"}
        return bool(asked) and bool(ORDER_WORD.search(text))
    # a product of theirs with an order word, or where it is ("불고기밀키트는 아직 안 나갔죠?"); a restock
    # question names a product they once bought too ("불고기 밀키트 언제 다시 들어와요?")
    if not guest and orders and query.products and REQUEST_PROGRESS.search(text) \
            and any(matches_product(o, w) for o in orders for w in query.products):
        # «저번에 반품한 갈비탕 처리 끝났어요?», «포기김치 교환 어케 돼 가요»: how a request on a product of theirs
        # stands (not «삼겹살 교환 어케 해요?», «김치 교환은 안 되죠?»: the shop's rule)
        return True
    if not guest and query.claim_types and REQUEST_PROGRESS.search(text) and any(
            c.get("type") in query.claim_types for o in orders or [] for c in o.get("claims") or []):
        return True  # «교환 신청 진행상황 알려주세요»: how their request of that kind stands
    if not guest and query.couriers:
        return True  # «한진으로 온 거 뭐였죠?»: a parcel that came to them
    if not guest and orders and "delivery_date" in query.facts and DISPATCHED_ASKED.search(text) \
            and not is_conditional(text):
        return True  # «출발했어요?», «벌써 나갔나요?»: whether something of theirs left
    if orders and query.products and not RESTOCK_WORDS.search(text) and \
            (ORDER_WORD.search(text) or set(query.facts) & {"delivery_date", "tracking"}) and \
            any(matches_product(o, w) for o in orders for w in query.products):
        return True
    return is_order_question(text, category)


# the orders an action can still concern (an address change is for an order not yet delivered)
ACTION_STATUSES: dict[str, tuple[str, ...]] = {
    "address": ("paid", "preparing", "shipping"), "cancel": ("paid", "preparing", "shipping"),
    "exchange": ("shipping", "delivered"), "return": ("shipping", "delivered"),
}
RESTOCK_WORDS = re.compile(r"재입고|입고|다시\s*(들어|나와|판매)|품절|restock|back in stock")


WRONG_ITEM_QUERY = "주문한 것과 다른 상품이 왔어요"  # what such a report is searched as, besides its own words


# a purchase of theirs told and nothing asked after it (the message ends there)
PURCHASE_TOLD = re.compile(r"(?:시켰|주문했|샀|구매했|구입했|결제했)(?:었)?(?:는데|거든)\s*(?:요|여|용)?\s*[.~!ㅠㅜㅎ]*$")
_ASKED_BEFORE = re.compile(r"[?？]|언제|얼마|어떻게|어케|어캐|왜|뭐|몇|어디|무슨|어떤")
# «쿠팡에서 샀는데요», «친구가 샀는데요»: bought elsewhere or by someone else; «반품하고 싶은데 어제 샀거든요»: a wish told
_NOT_THEIRS_HERE = re.compile(r"(?:에서|(?<![제내])가|(?<![가-힣])[가-힣]+이)\s*(?:샀|시켰|주문했|구매했|구입했)|반품|교환|취소|환불")


def purchase_told(text: str) -> bool:
    """«지난달에 참기름이랑 곰탕 샀었는데», «어제 만두 시켰는데요»: a purchase of theirs told, and nothing asked in the
    message (not «등급은 언제 바뀌어요? 이번달에 좀 많이 샀는데», a question with its reason after it)."""
    return bool(PURCHASE_TOLD.search(text)) and not _ASKED_BEFORE.search(text) and not _NOT_THEIRS_HERE.search(text)


# phrases that only make sense about one's own orders, whatever the category (not one named as an example of a kind:
# «주문 내역 같은 개인정보는 몇 년 보관해요?»)
OWN_PHRASE = re.compile(
    r"(주문|구매|결제)\s*(내역|목록|이력)(?!\s*(?:같은|처럼|등(?:의|은|과)?\s))|(최근|지난번|저번|요전|전번)\s*(에\s*)?(주문|시킨|산|구매)|얼마\s*(결제|냈|나왔|였|나?\s*썼|나?\s*썻)|"
    # «우체국으로 온다는 거», «오고 있는 택배»: the parcel on its way to them
    r"(온다는|온다던|오고\s*있는)\s*(거|것|게|택배|상품|물건)|결제\s*(된|됐|한)\s*(금액|거)?"
    r"|(취소|반품|환불|교환)\s*(된|한|됐|했던|됐던)\s*(주문|거|것|건)"
    r"|(시킨|시켰던|주문한|주문했던|산|샀던|구매한|구입한)\s*(거|것|게|건|주문|상품|물건)|(주문|배송)\s*(상태|건)"
    r"|(뭐|뭘)\s*(시켰|주문했|샀)|(교환|반품|환불|취소)\s*(신청|요청|접수)\s*(한|했|하신|해\s*(둔|놓은|놨|뒀))"
    # "방금 결제했는데 주문 제대로 들어간 거 맞죠?": whether their order went through
    r"|(주문|결제)\s*(이|은|가|도)?\s*(제대로|잘|정상적으로|무사히)\s*(들어|접수|완료|됐|된|되었)"
    # «환불 들어왔는지 확인 좀요»: whether their refund has come
    r"|(환불|환불금|입금)\S{0,2}\s*(들어\s*왔|들어\s*갔|처리\s*됐|완료\s*됐|됐)\S{0,2}\s*(는지|나요|나\b)"
    # «방금 왕만두 결제했는데 제대로 들어간 거 맞죠?»: whether their payment went through
    r"|(결제|주문)\S{0,4}\s*(제대로|잘|정상적으로|무사히)\s*(들어\s*(간|갔)|접수\s*(된|됐)|된|됐)\s*(거|것|게)?\s*(맞|죠|나요|인가|지)"
    r"|\bmy\s+(orders?|package|parcel|refund|return|exchange|coupons?)\b|order\s+history|\bi\s+(ordered|bought|paid)\b"
    r"|\bmy\s+(last|recent|latest)\s+(\d{1,2}\s+)?orders?\b|\bdo\s+i\s+have\s+(any|anything)\b"
    r"|\bdid\s+i\s+(pay|order|buy|get|spend)\b|\bhave\s+i\s+spent\b|\bi(\s+have|'ve)?\s+spent\b|\b(order|stuff|things?)\s+i\s+(placed|made|ordered|bought)\b"
    # "which orders did i place in November?"
    r"|\b(orders?|purchases?)\s+(did|have)\s+i\s+(place|placed|make|made)\b",
    re.IGNORECASE)
YEO_ENDING = re.compile(r"면\s*(?:여|용|염|욤)(?=[\s?？.!~]*$)")
# a condition added to the previous question: "…넘으면요?", "불량이면요?", "묵은지로 하려면요?"
CONTINUATION = re.compile(r"(으?면|라면|이면)\s*(요|여|용|욤)?\s*[?？.!~ㅠㅜ]*$")
# a line that asks only for a figure, naming nothing: «몇만원부터여», «얼마까지요?», «며칠이요?», «최소 몇 개부터?»
VALUE_ONLY = re.compile(r"^\s*(?:최소|최대|보통|대략|대충|그럼|그러면)?\s*(?:몇\s*[가-힣]{0,3}|얼마|며칠|언제)\s*"
                        r"(?:부터|까지|정도|쯤|이상|이하|만)?\s*(?:이|예|에|이에|인가|인데)?\s*(?:요|여|용|염)?\s*[?？.!~ㅠㅜ]*\s*$")
# «몇만원 이상 사야 쓸수있어요» after the birthday coupon's value: a figure of the same thing, naming nothing else
FIGURE_FIRST = re.compile(r"^\s*(?:그럼|그러면)?\s*(?:몇|얼마|최소|최대)")
FIGURE_NOUNS = frozenset({"이상", "이하", "미만", "초과", "정도", "글자", "개수"})
BARE_QUESTION_MAX = 20  # characters of a line asking only by when or how to do what was just answered
# «언제까지 말하면 돼요?», «어떻게 하면 돼요?», «며칠까지요?»: the deadline or the way of the step just answered
# (not «어디서 사요?», a question of its own, nor «먹다가 뭐가 씹혔어요 어떡하죠?», which tells something)
WHAT_TO_DO = re.compile(r"^(?:그럼|그러면)?\s*(?:언제까지|며칠\s*까지|몇\s*일\s*까지|어떻게|어케|어디로|누구한테)\s*"
                        r"\S*(?:하면|해야|말하면|보내면|연락하면|신청하면|요청하면|말씀드리면)\s*(?:돼요|되나요|되죠|될까요|되요|하나요)"
                        r"\s*[?？.~ㅠㅜ]*\s*$")
# "and if it turns out to be defective?", "what if I opened it?": the same topic under another condition
CONTINUATION_EN = re.compile(r"^(?:and|but|ok(?:ay)?|so)?[,\s]*(?:what\s+)?if\b[^?]*\??$", re.IGNORECASE)
# "배송완료된 거", "준비중인 주문", "취소한 건": orders in a state
# how long the shop keeps what it holds (order history, personal data): its privacy rule, whoever asks
KEPT_HOW_LONG = re.compile(r"(?:얼마나|얼마|언제까지|몇\s*(?:년|개월|달|일))\s*(?:동안\s*)?(?:보관|저장|보존|남아|갖고|가지고)|(?:보관|보존)\s*기간"
                           r"|how\s+long\s+(?:do|will|does|would)\s+(?:you|the\s+shop|your\s+shop)\s+(?:keep|store|retain|hold)"
                           r"|\bretention\b|\bretain\b", re.IGNORECASE)
STATUS_THING = re.compile(r"(된|인|한|중인|됐던|(?:이)?라는|(?:이)?라고\s*(?:뜨는|나오는|된|돼\s*있는))\s*(거|것|게|주문|건|박스|상자|택배)"
                          # «상품준비중으로 떠 있는 주문»: the order the status shows on
                          r"|(으로|로)\s*(떠\s*있는|떠있는|뜨는|나와\s*있는|되어\s*있는|돼\s*있는)\s*(거|것|게|주문|건)")
# «엄마 선물로 보낸 거»: what they sent someone (not «보내신 거», the shop's parcel, nor «보낼 거», a plan)
SENT_BY_THEM = re.compile(r"(?<![가-힣])(?:선물로\s*)?(?:보낸|보내\s*드린|선물한|부친)\s*(?:거|것|게|선물|택배|상품)")
# «저번에 산 갈비탕», «주문한 곰탕»: a product named after the purchase (not «산 지 일주일», «주문한 후»)
PURCHASED_NAMED = re.compile(r"(?<![가-힣])(?:시킨|시켰던|주문한|주문했던|산|샀던|구매한|구입한|선물한|보낸)\s+"
                             r"(?!거|것|게|건|적|지|후|뒤|다음|날|때|만큼|김에)[가-힣]{2,}")
# a claim of theirs: "교환 접수 됐는지", "환불 신청했는데"
CLAIM_MINE = re.compile(r"(교환|반품|환불|취소)\s*(신청|요청|접수)\s*(이|은|는|가|을|를)?\s*(됐|되었|했|한|된|하신|들어|드렸|드린|넣은|넣었|넣어\s*(?:둔|놓|뒀|놨))"
                        # «저번에 넣은 교환 요청 아직 처리중인가요?»: the deed before the request
                        r"|(?<![가-힣])(?:넣은|넣었던|드린|드렸던|한|했던|하신)\s*(교환|반품|환불|취소)\s*(신청|요청|접수)\s*(?:건|거)?\s*(?:은|는|이|가)?\s*(?!해|하려)")
# words that put a question on an order or a parcel (with a product of theirs named: about that order)
ORDER_WORD = re.compile(r"주문|시킨|시켰|샀|구매|배송|택배|송장|도착|발송|출고|받|와요|오나요|오나|왔|(같이|함께)\s*온|order|parcel|package|deliver"
                        r"|tracking|ship", re.IGNORECASE)
OWN_HOLDING = re.compile(r"(있|남아|보유|받은|받을\s*수)", re.IGNORECASE)
# what a guest asks when the question is about the policy, not one of their orders: can it be done, where is
# it shown, how long is it valid, "…이면요?"
GUEST_POLICY_QUESTION = re.compile(
    # «옮길 수 있나요», «맡길수있어요»: whether a thing can be done, on any verb (not «알 수 있나요», «알려 주실 수
    # 있나요»: a look, a favour asked of us)
    r"(되|돼)\s*(나|요|여|냐|는지)|될\s*까|가능|ㄱㄴ|[" + RIEUL_FINAL.replace("알", "").replace("실", "")
    + r"]\s*수\s*(있|없)|어디서|어떻게\s*(봐|보|하|해)"
    r"|조회\s*(가|이)?\s*안\s*(되|돼)|유효\s*기간|얼마\s*부터|(이)?면\s*(요|여)\s*\??\s*$|\bcan\s+i\b|\bis\s+it\s+possible\b",
    re.IGNORECASE)
COUNTS_TOWARD = re.compile(r"(주문|구매|금액|거|것|건)\s*(도|은|는)\s*[^?？.]{0,20}?"
                           r"(들어가|포함\s*되|합산\s*되|반영\s*되|인정\s*되|계산\s*되|산정\s*되|포함|합산|반영|인정)"
                           r"\s*(나요|나|요|여|는지|돼요|돼|되나요|되요|됨|해요|하나요)?\s*[?？]*\s*$")
# «어느 택배사로 보내셨어요?»: the parcel the shop sent them (honorific past), not the courier it uses
SENT_TO_THEM = re.compile(r"(?:보내|발송하|부치)(?:셨|주셨)|보내\s*주셨|발송\s*(?:하셨|해\s*주셨)"
                          # «어느 택배사로 보낸 거임», «보냈다던데»: said by a customer with a parcel on its way
                          r"|보냈(?:어|나|다|는지|죠|네|던)|보낸\s*(?:거|건|것)")
# «택배사 어디 써요?», «무슨 택배로 보내요?», "which courier do you use?": the courier the shop uses
SHOP_COURIER = re.compile(
    r"(어느|어떤|무슨)\s*택배|택배\s*(사|회사)\s*(는|가)?\s*(어디|뭐|무슨|어느\s*곳)\s*(써|쓰|이용|에요|예요|인가요|야|죠|꺼|거)"
    r"|택배\s*(는|가)?\s*(어디|뭐|무슨)\s*(거\s*)?(써|쓰|이용)"
    r"|\b(which|what)\s+(courier|carrier|delivery\s+company|shipping\s+company)\b", re.IGNORECASE)
PARCEL_NUMBER = re.compile(r"송장|운송장|tracking", re.IGNORECASE)
# a question of what can be done or how: "…해 주실 수 있을까요?", "…하면 되죠?", "가능한가요", "can I …", "how long …"
GUEST_ASKS_HOW = re.compile(
    r"(주실|줄|드릴|할|해도|하면|바꿀|받을|쓸|뺄|고칠|늘릴|줄일|보낼|살)\s*수\s*(있|없)|(되|돼)\s*(나요|죠|는\s*거|는지)|될까|가능|ㄱㄴ"
    r"|(해도|하면|해야)\s*(되|돼)|어떻게\s*(해야|하면|하나|해요|되나요)"
    r"|\b(can|could|may)\s+i\b|\bis\s+it\s+possible\b|\bhow\s+(long|do|can|does)\b|\bwhat\s+happens\b"
    # how long the rule says it takes: «환불 며칠 걸려요?», "how many days until I get my money back?"
    r"|며칠\s*(정도\s*)?(걸|만에|안에|이내)|\bhow\s+many\s+(days|weeks|hours)\b|\bhow\s+soon\b"
    # what the rule charges: «교환하려는데 배송비 얼마 내요» (not «얼마 냈어요», what they paid)
    r"|얼마\s*나?\s*(정도\s*)?(내요|내야|예요|에요|이에요|인가요|들어요|붙어요)|(누가|제가|내가)\s*(내|부담)"
    # «부분취소하면 배송비 다시 붙음??»: whether the rule charges again
    r"|(?:배송비|택배비|수수료|비용)\S{0,2}\s*(?:다시|또|추가로?|따로)?\s*(?:붙|생기|나오|들)(?:음|나요|어요|나|는지|죠|을까)",
    re.IGNORECASE)
# a coupon's «최소 주문금액» is a rule of the shop, not an amount of theirs to look up
# a rule's amount, not what they paid: «최소 주문 금액», «무배 금액», «무료배송 기준 금액»
MINIMUM_AMOUNT = re.compile(r"(?:최소|무배|무료\s*배송|기준)\s*(?:주문|결제|구매)?\s*금액")


def looks_up(text: str) -> bool:
    """The guest asks to look up something of theirs (`GUEST_LOOKUP`), not a rule's amount."""
    return bool(GUEST_LOOKUP.search(MINIMUM_AMOUNT.sub(" ", text)))


# …unless it asks to look up something of theirs: "확인돼요?", "알 수 있나요", "어떻게 됐어요?", "얼마 결제했는지"
GUEST_LOOKUP = re.compile(
    r"확인|조회|알려\s*(주세요|줘요|주실|줄래|주시겠|달라)|봐\s*(주|줘|줄)|보여|알\s*수\s*있|어떻게\s*(됐|된|되었|돼\s*가|되고)"
    r"|어디\s*(쯤|까지)|언제\s*(와|오|도착|받|(배송|출고|발송)\s*(되|돼|해|하))|진행\s*(되고|됐|되었|상황|중인지|돼\s*가)|(됐|됬|되었)\s*(나|는지|어요|나요)|얼마\s*(결제|냈|였|나왔)|(?<!남는)(?<!남은)(?<!남는\s)(?<!남은\s)금액|(?:남는|남은)\s*금액(?![^?？.]{0,16}면)"
    r"|\bwhere\s+is\b|\bwhere'?s\b|\bstatus\b|\bcheck\b|\btrack|\bhow\s+much\s+did\b",
    re.IGNORECASE)
# «배송 상태 확인하는 방법», «조회하는 법», «어디서 조회해요?»: how one looks, not a look asked of us
# the papers of a purchase: the manual says where each is issued, an order record holds none
PAPERS = re.compile(r"영수증|전표|세금\s*계산서|거래\s*명세서|receipt|invoice", re.IGNORECASE)
HOW_TO_LOOK = re.compile(r"방법|하는\s*법|어디서|어떻게\s*(확인|보|조회|알)")
# «상태 좀 봐주세요», «확인해 주세요»: a look asked of us
LOOK_FOR_ME = re.compile(r"(?:봐|확인해|조회해|알아봐)\s*(?:주세요|줘|주실|줄래|주시겠|주시면)")
# "배송중인 주문 있어요?" (not "물건이 없어요", which reports a parcel)
GUEST_ORDER_EXISTS = re.compile(r"(주문|거|것)\s*(이|은|도)?\s*(있|없)")
# a guest's points/coupons question is about their own balance only when it says so
GUEST_HOLDING = re.compile(r"(제|내|저의)\s*(적립금|포인트|쿠폰)|(적립금|포인트|쿠폰)\s*(이|가)?\s*(얼마|몇\s*장)?\s*(남|보유|있는지)")


# --- the graph's use: read a message in context, load what it names, answer it ----------------------

@dataclass
class Reading:
    """A customer message read with the conversation's memory."""

    question: str  # what is answered: the message, a follow-up spelled out, or the question verification held
    base: str  # the question a later follow-up is read against ("배송비 얼마예요?" for "제주도는요?")
    query: OwnDataQuery
    # "order" | "manual": this message continues the previous turn's topic; "policy": it follows an order answer
    # but asks the shop's rule (when a process step comes)
    followup: str | None = None
    verified_now: bool = False  # the guest just verified and their held question is being answered


PICK_LINE_MAX = 20  # characters: a longer line asks a question of its own
# «만두 시킨 거요», «지난주에 주문한 건요»: one of the orders listed, pointed at (not «갈비탕 데우는법», «참기름도 팔아요?»)
PICKED = re.compile(r"(?:시킨|시켰던|주문한|주문했던|산|샀던|구매한|결제한|한)\s*(?:거|것|게|건|걸|주문)\s*(?:이요|요|여|은요|는요)?"
                    r"\s*[.?!~ㅎ]*$")


def read_in_context(text: str, memory: dict[str, Any] | None, pending_question: str | None,
                    verification: str | None, now: datetime) -> Reading:
    """The question a message asks given the previous turn (`memory`) and a question held for verification."""
    if verification == "verified" and pending_question:
        held = parse_own_query(pending_question, now)
        proved = [m.group(0).upper() for m in ORDER_ID.finditer(text)]
        if proved and not held.selects:
            # «내 택배 언제 와요?», then «O-… 1234»: the order they proved is the one they meant
            held = replace(held, order_ids=(proved[0],))
        return Reading(pending_question, pending_question, held, verified_now=True)
    query = parse_own_query(text, now)
    # «VIP는요?ㅎㅎ», «불량이면여 ㅠㅠ»: the laughter is mood, not words; «…이면여», «…면용» are «…면요»
    plain = YEO_ENDING.sub("면요", without_emoticons(text) or text)
    fragment = elliptic_fragment(plain) if memory else None
    # «젤 최근에 한거요», «만두 시킨 거요» after a list of their orders: which of them, the question kept
    picks_one = memory is not None and memory.get("kind") == "order" and len(memory.get("order_ids") or []) > 1 \
        and len(plain) <= PICK_LINE_MAX and not query.facts and not query.action \
        and (query.latest or bool(PICKED.search(plain)))
    if memory and (fragment or query.same_order or picks_one):
        # "삼겹살은요?", "그 주문은 얼마 결제됐어요?": the previous question with what this one names on top
        previous = OwnDataQuery.from_dict(memory.get("query"))
        base = str(memory.get("base") or "")
        frag_query = parse_own_query(fragment, now) if fragment else query
        action = elliptic_action(fragment) if fragment else None
        if action and memory.get("kind") == "order":
            # «그럼 그거 취소는요?» asks what can be done about that order, not for its cancel claims
            frag_query = replace(frag_query, action=action, claim_types=(), statuses=(), same_order=True)
        if memory.get("kind") != "order" and not (frag_query.order_ids or NAMES_AN_ORDER.search(text)):
            # "그거 최소 얼마 사야 써요?" after an answer about the birthday coupon: "그거" is that coupon, not an
            # order (only "그 주문", "that order" point at one after a manual answer)
            frag_query = replace(frag_query, same_order=False)
            query = replace(query, same_order=False)
            if not fragment and base:
                return Reading(f"{base} {text}", base, query, followup="manual")
        if memory.get("kind") == "order" or frag_query.order_ids or frag_query.same_order:
            if memory.get("kind") != "order":  # "그 주문은요?" after a manual answer: that topic, my order
                previous = parse_own_query(base, now)
            return Reading(text, base or text, merge_followup(previous, frag_query), followup="order")
        if base and fragment:
            return Reading(f"{fragment} {base}", base, query, followup="manual")
    also = thing_also_asked(plain) if memory and memory.get("kind") == "manual" and memory.get("base") else None
    if memory and also is not None:
        # «냉동식품도 돼요?» after «교환 신청 기간 얼마나 돼요?»: whether the thing just asked of may be done with
        # this one too — the previous question's topic asked of it («냉동식품도 교환 돼요?»), not its period again
        # (the action the previous question asked of: «카카오페이도 돼요?» after «카드 결제 되나요?» names a sibling of
        # its topic — `topic_swap`'s — and no action is inserted)
        base = str(memory["base"])
        action = next((n for n in topic_nouns(base) if n in RULE_ACTIONS), "")
        # (the action goes before the predicate; what follows stays: «카드도 되나요? 그리고 배송비 얼마에요?»)
        if action and action not in also[0]:
            return Reading(f"{also[0]}도 {action} {also[1]}", base, query, followup="manual")
    if memory and memory.get("kind") == "manual" and memory.get("base") and (
            (CONTINUATION.search(plain) and len(plain) <= 25 and is_conditional(plain))
            or (CONTINUATION_EN.match(plain) and len(plain) <= 60)):
        # "5만원 넘으면요?", "불량이면요?": the same topic under another condition
        base = str(memory["base"])
        return Reading(with_previous_question(plain, base), base, query, followup="manual")
    if memory and memory.get("kind") == "manual" and memory.get("base") and (
            VALUE_ONLY.match(plain) or (len(plain) <= BARE_QUESTION_MAX and WHAT_TO_DO.search(plain)
                                        and not topic_nouns(plain) and not query.facts and not query.action)
            ):
        # «몇만원부터여?» after «카드 할부 돼요?»: the figure of the same topic; «언제까지 말하면 돼요?» after the
        # cash-receipt answer: a question naming nothing, of the same topic
        base = str(memory["base"])
        return Reading(with_previous_question(plain, base), base, query, followup="manual")
    if memory and memory.get("kind") == "manual" and memory.get("base") and len(plain) <= BARE_QUESTION_MAX \
            and FIGURE_FIRST.match(plain) and not set(topic_nouns(plain)) - FIGURE_NOUNS \
            and not query.facts and not query.action:
        # «몇만원 이상 사야 쓸수있어요» after «생일쿠폰 얼마짜리에요?»: a figure of the thing just asked about, asked
        # of it by name (the previous question's own figure would be quoted again)
        base = str(memory["base"])
        named = " ".join(topic_nouns(base))
        return Reading(f"{named} {plain}" if named else with_previous_question(plain, base), base, query,
                       followup="manual")
    if memory and memory.get("kind") == "order" and PROCESS_TIMING.search(text) and not query.order_ids \
            and not names_theirs(text):
        # «그럼 환불은 언제 들어오나요?», «회수는 언제 와요?» right after an order answer: when the shop's process
        # takes that step (the manual's timing), not that order's status again
        return Reading(text, text, query, followup="policy")
    if memory and memory.get("kind") == "order" and memory.get("order_ids") and not query.selects \
            and not query.latest and (query.facts or query.action):
        # "언제 도착해요?" right after the answer about one order: that order
        return Reading(text, text, replace(query, same_order=True), followup="order")
    return Reading(text, text, query)


DONE_NOUNS = frozenset({"해동", "세척", "조리", "보관", "냉동", "냉장", "사용", "주문", "변경", "결제", "설치", "시즈닝"})
RULE_ACTIONS = frozenset({"교환", "반품", "환불", "취소", "선물포장", "포장", "합포장", "적립", "할인", "배송", "출고", "예약"})
# «냉동식품도 돼요?», «김치도 되나요? 입맛에 안 맞아서요»: a noun with «도» and a bare «may it be done»
_ALSO_ALLOWED = re.compile(r"^\s*(?:그럼\s*|그러면\s*|혹시\s*)?(?P<thing>[가-힣A-Za-z][가-힣A-Za-z ]{0,11}?)도\s*"
                           r"(?P<predicate>돼요|되나요|되죠|될까요|가능해요|가능한가요|가능할까요|되요|돼여|되여)\s*[?？]*")


def thing_also_asked(text: str) -> tuple[str, str] | None:
    """(the thing, the rest of the line from its predicate) of a line asking whether a thing may be done too
    («냉동식품도 돼요?» → («냉동식품», «돼요?»)), when what stands before «도» is a noun («뜯어봤는데도», «둬도»,
    «같이도» are no things)."""
    found = _ALSO_ALLOWED.match(text)
    if found is None:
        return None
    thing = found.group("thing").strip()
    nouns = topic_nouns(thing)
    # (not a thing done, «김치 해동도 돼요?», nor a place whose name ends in 도, «제주도 돼요?»)
    if not nouns or not thing.endswith(nouns[-1]) or nouns[-1] in RULE_ACTIONS | DONE_NOUNS \
            or f"{nouns[-1]}도" in topic_nouns(f"{thing}도 가요"):
        return None
    return thing, text[found.start("predicate"):].strip()


def with_previous_question(text: str, base: str) -> str:
    """A follow-up line read with the question it continues, as one question («불량이면요?» + «교환하면 배송비
    얼마예요?» → «불량이면요 교환하면 배송비 얼마예요?»): its own question mark would split it into two
    questions, the second answered again. A state the line names replaces the one the question opened with
    («상품준비중이면요?» + «결제완료 상태면 취소 어케해요?» → «상품준비중이면요 취소 어케해요?»: both states
    would tie on what is quoted)."""
    line = text.strip().rstrip("?？!~. ")
    words = base.split()
    if _names_a_state(line):
        for i, word in enumerate(words[:3]):
            if _names_a_state(word) and i + 1 < len(words):
                # the state's word, with the word before it when it is «… 상태면» («결제완료 상태면»)
                start = i - 1 if i > 0 and word.startswith("상태") else i
                base = " ".join(words[:start] + words[i + 1:])
                break
    return f"{line} {base}"


def _names_a_state(text: str) -> bool:
    """«불량이면», «결제완료 상태면», «배송중이면요»: a noun made a condition (이 + 면), not an action («교환하면»)."""
    found = morphemes(text)
    return any(tag == "VCP" and i + 1 < len(found) and found[i + 1][0] in ("면", "면요", "으면")
               for i, (_form, tag) in enumerate(found))


# «그럼 회수는 언제 와요?», «환불은 언제 들어오나요?» after an order answer: when the shop's process takes its
# step (the manual's timing), not where that order is
PROCESS_TIMING = re.compile(r"(회수|환불|적립금?|포인트|재발송|교환\s*(상품|품))\s*(은|는|이|가|도)?\s*(보통\s*)?"
                            r"(언제|며칠|얼마나|몇\s*일)")
# "그 주문", "저 택배", "that order": a pointer at an order, not at whatever the previous answer was about
NAMES_AN_ORDER = re.compile(r"^(그|저|이)\s*(주문|택배)|that\s+order|\bmy\s+order", re.IGNORECASE)
# «그 주문들», «둘 다», «각각», «전부»: every order the previous answer named
BOTH_ORDERS = re.compile(r"(?:주문|택배)들|(?:거|것)들(?=\s|$|은|이|도|의)|(?:둘|셋|(?:두|세|2|3)\s*개)\s*다|각각|모두|"
                         r"전부|다\s*(?:얼마|뭐|언제)|\b(?:both|each|all)\b", re.IGNORECASE)
ASKS_ABOUT_ORDERS = {"tracking", "delivery_date", "items", "amount", "claims", "list", "status"}


def speaks_of_orders(query: OwnDataQuery, question: str) -> bool:
    """Could the message be about orders of theirs at all (worth a filtered look-up)?"""
    return bool(query.order_ids or query.same_order or query.action or query.statuses or query.claim_types
                or set(query.facts) & ASKS_ABOUT_ORDERS or OWN_PHRASE.search(question)
                or POSSESSIVE.search(question))


def load_own_data(conn: Connection, customer_id: str | None, query: OwnDataQuery, locale: str,
                  previous_ids: list[str] | None = None, question: str = "",
                  ) -> tuple[dict[str, Any] | None, list[dict[str, Any]], list[dict[str, Any]] | None, OwnDataQuery]:
    """(customer, orders, coupons, query) for the message: the 5 most recent orders, or, when the question
    names orders (a date, a status, a product, an order number), the matching ones (one query; the recent
    ones when nothing matches, so the answer can say so and show them). Words taken for a product that
    neither their orders nor the shop's catalogue contain ("결과", "get") are dropped from the query."""
    if not query.selects or not speaks_of_orders(query, question):
        # a policy question ("제주도 배송비는요?") names no order of theirs: the recent ones, one cached statement
        customer, orders = customer_context_in(conn, customer_id, RECENT_ORDERS, locale)
        if query.products and customer_id:
            # «택배 언제 와요 ㅠㅠ 목 빠지게 기다리는 중»: a noun neither their orders nor the catalogue has names no product
            theirs = {w for w in query.products if any(matches_product(o, w) for o in orders)}
            known = catalogue_words_in(conn, [w for w in query.products if w not in theirs])
            query = replace(query, products=tuple(w for w in query.products if w in theirs or w in known))
        return customer, orders, _coupons_for(conn, customer_id, query), query
    customer, orders = customer_brief_in(conn, customer_id), []
    if customer_id:
        ids = list(query.order_ids) or (list(previous_ids or []) if query.same_order else [])
        criteria: dict[str, Any] = {
            "since": datetime.fromisoformat(query.since) if query.since else None,
            "until": datetime.fromisoformat(query.until) if query.until else None,
            "statuses": list(query.statuses), "claim_types": list(query.claim_types), "couriers": list(query.couriers),
            # a sum («올해 총 얼마 썼어요?») is of every order of the span, not of the first 20
            "limit": TOTAL_LIMIT if query.total else 20}
        if ids:
            orders = matching_orders_in(conn, customer_id, order_ids=ids, locale=locale)
        elif query.products:
            orders = matching_orders_in(conn, customer_id, name_terms=list(query.products), **criteria,
                                        locale=locale)
            sold = catalogue_words_in(conn, list(query.products)) if not orders else set(query.products)
            spelt = catalogue_spelling_in(conn, [w for w in query.products if w not in sold])
            if spelt:  # «삽겹살 배송조회»: their orders of the product spelt as the shop spells it
                query = replace(query, products=tuple(spelt.get(w, w) for w in query.products))
                sold |= set(spelt.values())
                orders = matching_orders_in(conn, customer_id, name_terms=list(query.products), **criteria,
                                            locale=locale)
            if not orders:  # the nouns named no product of theirs: the other criteria alone
                if len(sold) < len(query.products):
                    query = replace(query, products=tuple(w for w in query.products if w in sold))
                orders = matching_orders_in(conn, customer_id, **criteria, locale=locale) \
                    if query.selects else customer_context_in(conn, customer_id, RECENT_ORDERS, locale)[1]
        elif query.since or query.statuses or query.claim_types or query.couriers:
            orders = matching_orders_in(conn, customer_id, **criteria, locale=locale)
        if not orders:
            orders = customer_context_in(conn, customer_id, RECENT_ORDERS, locale)[1]
    return customer, orders, _coupons_for(conn, customer_id, query), query


def _coupons_for(conn: Connection, customer_id: str | None, query: OwnDataQuery) -> list[dict[str, Any]] | None:
    return customer_coupons_in(conn, customer_id) if customer_id and "coupons" in query.facts else None


def _reply(parts: list[str], *, kind: str, confidence: float, sources: list[dict[str, Any]] | None = None,
           **extra: Any) -> dict[str, Any]:
    return {"answer": "\n\n".join(p for p in parts if p), "confidence": confidence, "sources": sources or [],
            "answer_kind": kind, **extra}


def own_data_turn(*, reading: Reading, category: str, customer_id: str | None, customer: dict[str, Any] | None,
                  orders: list[dict[str, Any]], coupons: list[dict[str, Any]] | None, verification: str | None,
                  memory: dict[str, Any] | None, locale: str, policy: StorePolicy,
                  now: datetime, pending_question: str | None = None,
                  first_turn: bool = True) -> dict[str, Any] | None:
    """The answer when the message is about the customer's own data or the chat verification (None
    otherwise: the manual answers); it greets only on the conversation's `first_turn`. Keys: answer,
    confidence, sources, answer_kind, and `order_action` (an action and whether a person must act),
    `pending_question` (held until the guest verifies), `memory` (what a follow-up continues)."""
    greet = _t("greet", locale, shop=policy.shop_name)
    if verification in ("failed", "locked"):
        return _reply([_o("verify_failed" if verification == "failed" else "verify_locked", locale)],
                      kind="verify", confidence=1.0, order_action=None)
    query = reading.query
    own = reading.followup != "policy" and (reading.followup == "order" or reading.verified_now or
                                  is_own_data_question(reading.question, category, query, orders, guest=not customer_id))
    if verification == "verified" and not reading.verified_now:
        name = (customer or {}).get("name") or customer_id or ""
        return _reply([_o("verified", locale, name=name), _o("verified_no_question", locale)],
                      kind="verify", confidence=1.0, order_action=None)
    if not own:
        return None
    if not customer_id:
        # a guest: never anything about an order before the chat verification; the question waits for it
        if pending_question and query.order_ids and not (set(query.facts) - {"status"} or query.action
                                                         or query.products):
            # "주문번호는 O-… 이에요": half of the verification; the question asked first still waits
            return _reply([_o("verify_digits", locale)], kind="verify", confidence=1.0,
                          order_action={"action": None, "needs_person": False})
        return _reply([_o("verify_ask", locale)], kind="verify", confidence=1.0, pending_question=reading.question,
                      order_action={"action": query.action, "needs_person": False},
                      memory={"kind": "verify", "base": reading.base, "query": query.as_dict()})
    previous_ids = list((memory or {}).get("order_ids") or [])
    if (memory or {}).get("focused") and not BOTH_ORDERS.search(reading.question):
        previous_ids = previous_ids[:1]  # «그 주문은 얼마예요?»: the one answered in full, not the ones named after it
    reply = own_data_reply(query, orders, locale, policy, now, previous_ids=previous_ids, coupons=coupons)
    by_id = {o["order_id"]: o for o in orders}
    sources = [order_source(by_id[i], locale) for i in reply.order_ids if i in by_id][:LIST_LIMIT]
    opening = greet if first_turn else ""  # a person greets once, not on every answer of the chat
    if reading.verified_now:
        verified = _o("verified", locale, name=(customer or {}).get("name") or customer_id)
        opening = f"{opening} {verified}".strip()
    parts = [opening, reply.text, _t("closing", locale)]
    # set on every own-data answer: the gate then goes by this order, not by request words alone
    action = {"action": reply.action, "needs_person": reply.needs_person}
    return _reply(parts, kind="order", confidence=0.9, sources=sources, order_action=action,
                  pending_question=None,
                  memory={"kind": "order", "base": reading.base, "query": query.as_dict(),
                          "order_ids": reply.order_ids, "focused": reply.focused})


def manual_memory(reading: Reading, out: dict[str, Any]) -> dict[str, Any]:
    """What a follow-up to a manual answer continues: the question's topic and the article it was answered from."""
    source = next((s for s in out.get("sources") or [] if s.get("kind") in ("manual", "learned")), None)
    return {"kind": "manual", "base": reading.base, "query": reading.query.as_dict(),
            "article_id": source.get("id") if source else None}


def order_reply(text: str, category: str, orders: list[dict[str, Any]], locale: str, policy: StorePolicy,
                now: datetime | None = None) -> dict[str, Any] | None:
    """A verified customer's own-data question answered from `orders` alone (the agent's suggestion, the
    replies while a person is on the way): {answer, confidence, sources, answer_kind}, or None."""
    now = now or utcnow().astimezone(KST)
    query = parse_own_query(text, now)
    if not orders or not is_own_data_question(text, category, query, orders):
        return None
    reply = own_data_reply(query, orders, locale, policy, now)
    by_id = {o["order_id"]: o for o in orders}
    return {"answer": "\n\n".join([_t("greet", locale, shop=policy.shop_name), reply.text, _t("closing", locale)]),
            "confidence": 0.9, "sources": [order_source(by_id[i], locale) for i in reply.order_ids if i in by_id],
            "answer_kind": "order"}
