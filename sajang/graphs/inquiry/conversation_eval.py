"""How well the bot handles real customer chat (`sajang eval conversation`).

The cases of `sajang/data/conversation_eval.jsonl` (written for the project, in the way shoppers type on a
phone) run through the real inquiry service on a demo shop seeded for the run (fixed seed and date, so its
customers' orders are known). One case is one conversation: its `turns` are asked in order and the last
one is graded. A case says who asks (`customer`: null for a guest, a customer id, or a selector such as
`with_status:shipping`) and what a right answer is (`expect`):

- `{"facts": [[alternatives…], …]}`: answered (no handoff) and every fact stated — one alternative of each
  list; an alternative `re:…` is a regular expression. `"urgent": false` marks the everyday questions
  that must not be taken for incidents.
- `{"handoff": true}`: a person must take it (the manual has no answer); with `"urgent": true` an incident,
  handed off as high or urgent.
- `{"verify": true}`: a guest asking about "my order" is asked for the order number and the phone's last
  four digits, and shown nothing.
- `{"order": SELECTOR, "fact": FACT or [FACT, …]}`: the customer's own data; the facts a right answer
  states are read from the database at run time (`select_orders`, `order_facts`), so they follow the seed
  and the date. No order matching the selector: the answer must say there is none.

Outcomes: right; unnecessary handoff (a person was called for something the bot should answer); wrong
(answered without the facts, another order's data, an answer where a person was needed). A leak — any
customer data shown to an unverified guest, or another customer's data to a customer — is wrong and is
also counted on its own.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from sajang import PACKAGE_DATA
from sajang.config import Settings
from sajang.db.models import Claim, Customer, Order, OrderItem
from sajang.db.types import clock_at
from sajang.errors import SajangError
from sajang.graphs.inquiry.learning_eval import manual_store, read_cases

CASES_PATH = PACKAGE_DATA / "conversation_eval.jsonl"
HELDOUT_PATH = PACKAGE_DATA / "conversation_eval_heldout.jsonl"
DEMO_SEED = 42
DEMO_CUSTOMERS = 300
STORY_CUSTOMER = "C-00001"  # the demo's planted customer: an order in every live status, an open claim
KST = timezone(timedelta(hours=9), "KST")
GROUPS = ("manual", "own_order", "follow_up", "guest", "unanswerable", "urgency", "smalltalk")
STYLE_TAGS = ("clean", "nospace", "typo", "slang", "emoticon", "two_questions", "english", "polite", "angry")
TARGETS = {"manual_right": 0.80, "own_order_right": 0.90, "follow_up_right": 0.80,
           "wrong_of_answerable_max": 0.03, "unanswerable_handed_off": 0.90, "leaks_max": 0}
HIGH_URGENCY = ("high", "urgent")

# How a right answer may name an order's or a claim's state (the labels of sajang.labels and their
# everyday spellings: the bot may word it either way).
STATUS_WORDS: dict[str, list[str]] = {
    "paid": ["결제 완료", "결제완료", "결제가 완료", "주문 접수", "입금 확인", "paid"],
    "preparing": ["상품 준비", "준비 중", "준비중", "출고 준비", "preparing", "being prepared"],
    "shipping": ["배송 중", "배송중", "배송이 시작", "배송 출발", "출고되어", "on its way", "shipping", "shipped"],
    "delivered": ["배송 완료", "배송완료", "배송이 완료", "re:도착(했|하였|완료)|받으셨", "delivered"],
    "cancelled": ["취소", "cancel"],
    "returned": ["반품", "return"],
    "exchanged": ["교환 완료", "교환이 완료", "exchanged"],
}
CLAIM_TYPE_WORDS: dict[str, list[str]] = {
    "cancel": ["취소", "cancel"], "return": ["반품", "return"], "exchange": ["교환", "exchange"],
    "refund": ["환불", "refund"]}
CLAIM_STATUS_WORDS: dict[str, list[str]] = {
    "requested": ["접수", "신청", "요청", "검토", "received", "requested"],
    "in_progress": ["처리 중", "처리중", "진행 중", "진행중", "in progress"],
    "completed": ["완료", "completed"],
    "rejected": ["반려", "거절", "declined", "rejected"],
}
OPEN_CLAIM = ("requested", "in_progress")
VERIFY_WORDS = [["주문번호", "주문 번호", "order number"],
                ["4자리", "네 자리", "네자리", "뒷자리", "뒷번호", "끝자리", "last 4", "last four"]]
NONE_WORDS = ["없", "no ", "none", "not find", "couldn't find"]
ORDER_ID = re.compile(r"O-\d{8}-\d{5}")
TRACKING_NO = re.compile(r"(?<!\d)\d{10,14}(?!\d)")
PHONE = re.compile(r"01[016789]-?\d{3,4}-?\d{4}")


# --- cases and expectations ---------------------------------------------------------------------------


@dataclass
class OrderRow:
    id: str
    customer_id: str
    ordered_at: datetime
    status: str
    amount: int
    shipping_fee: int
    courier: str | None
    tracking_no: str | None
    delivered_at: datetime | None
    items: list[tuple[str, int]]
    claims: list[tuple[str, str]]  # (type, status)

    @property
    def day(self) -> date:
        return _kst(self.ordered_at).date()


def _kst(value: datetime) -> datetime:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(KST)


def short_name(product_name: str) -> str:
    """«고기 왕만두 (1.4kg)» → «고기 왕만두»: how an answer names a product."""
    return product_name.split(" (")[0].strip()


def won(amount: int) -> list[str]:
    return [f"{amount:,}원", f"{amount}원", f"₩{amount:,}", f"KRW {amount:,}", f"{amount:,} KRW", f"{amount:,} won"]


def day_words(day: date) -> list[str]:
    return [f"{day.month}월 {day.day}일", f"{day.month}/{day.day}", f"{day:%m-%d}", f"{day.month}.{day.day}",
            day.isoformat(), f"{day:%b} {day.day}", f"{day:%B} {day.day}"]  # "Nov 27" in an English answer


def load_orders(engine: Engine, customer_id: str) -> list[OrderRow]:
    """The customer's orders, newest first, with their items and claims."""
    with engine.connect() as conn:
        orders = conn.execute(select(Order).where(Order.customer_id == customer_id)
                              .order_by(Order.ordered_at.desc(), Order.id.desc())).all()
        ids = [o.id for o in orders]
        items: dict[str, list[tuple[str, int]]] = {i: [] for i in ids}
        claims: dict[str, list[tuple[str, str]]] = {i: [] for i in ids}
        if ids:
            for it in conn.execute(select(OrderItem.order_id, OrderItem.product_name, OrderItem.quantity)
                                   .where(OrderItem.order_id.in_(ids)).order_by(OrderItem.id)):
                items[it.order_id].append((it.product_name, int(it.quantity)))
            for cl in conn.execute(select(Claim.order_id, Claim.type, Claim.status)
                                   .where(Claim.order_id.in_(ids)).order_by(Claim.created_at)):
                claims[cl.order_id].append((cl.type, cl.status))
    return [OrderRow(o.id, o.customer_id, o.ordered_at, o.status, int(o.amount), int(o.shipping_fee), o.courier,
                     o.tracking_no, o.delivered_at, items[o.id], claims[o.id]) for o in orders]


def resolve_customer(engine: Engine, selector: str | None) -> str | None:
    """A case's asker: None (guest), a customer id, or `with_status:S` / `with_claim:TYPE:STATUS` — the
    first other customer (by id) with such an order or claim, so a case survives a change of seed."""
    if not selector or not selector.startswith("with_"):
        return selector
    kind, _, arg = selector.partition(":")
    if kind == "with_status":
        stmt = select(Order.customer_id).where(Order.status == arg, Order.customer_id != STORY_CUSTOMER)
    elif kind == "with_claim":
        claim_type, _, claim_status = arg.partition(":")
        stmt = select(Claim.customer_id).where(Claim.type == claim_type, Claim.status == claim_status,
                                               Claim.customer_id != STORY_CUSTOMER)
    else:
        raise ValueError(f"unknown customer selector {selector!r}")
    with engine.connect() as conn:
        found = conn.execute(stmt.order_by(stmt.selected_columns[0]).limit(1)).scalar()
    return str(found) if found else None


def select_orders(orders: list[OrderRow], selector: str, today: date) -> list[OrderRow]:
    """The orders a question is about (newest first). `latest…` selectors give at most one."""
    name, _, arg = selector.partition(":")
    if name == "latest":
        return orders[:1]
    if name == "recent":
        return orders[:int(arg or 3)]
    if name in ("latest_with_product", "with_product"):
        hit = [o for o in orders if any(arg in p for p, _q in o.items)]
    elif name in ("latest_with_status", "with_status"):
        hit = [o for o in orders if o.status == arg]
    elif name == "on_day":
        hit = [o for o in orders if o.day == today + timedelta(days=int(arg))]
    elif name == "last_week":  # the previous calendar week, Monday to Sunday
        monday = today - timedelta(days=today.weekday() + 7)
        hit = [o for o in orders if monday <= o.day < monday + timedelta(days=7)]
    elif name == "in_month":
        month = int(arg)
        year = today.year if month <= today.month else today.year - 1
        hit = [o for o in orders if (o.day.year, o.day.month) == (year, month)]
    elif name == "open_claim":
        hit = [o for o in orders if any(t == arg and s in OPEN_CLAIM for t, s in o.claims)]
    elif name == "with_claim":
        hit = [o for o in orders if any(t == arg for t, _s in o.claims)]
    else:
        raise ValueError(f"unknown order selector {selector!r}")
    return hit[:1] if name.startswith("latest") else hit


def order_facts(order: OrderRow, fact: str) -> list[list[str]]:
    """What a right answer about `order` states for `fact`: a list of facts, each a list of alternatives."""
    if fact == "status":
        return [STATUS_WORDS[order.status]]
    if fact == "courier":
        return [[order.courier]] if order.courier else [STATUS_WORDS[order.status]]
    if fact == "tracking":
        return [[order.tracking_no]] if order.tracking_no else [["송장", "운송장", "tracking"]]
    if fact in ("amount", "paid"):
        return [won(order.amount)]
    if fact == "shipping_fee":
        return [won(order.shipping_fee) + (["무료", "free"] if order.shipping_fee == 0 else [])]
    if fact == "items":
        return [[short_name(p)] for p, _q in order.items]
    if fact == "delivered":
        return [day_words(_kst(order.delivered_at).date())] if order.delivered_at else [STATUS_WORDS[order.status]]
    if fact == "claim":
        open_claims = [(t, s) for t, s in order.claims if s in OPEN_CLAIM] or order.claims[-1:]
        return [f for t, s in open_claims for f in (CLAIM_TYPE_WORDS[t], CLAIM_STATUS_WORDS[s])]
    if fact == "list":  # one line of a list of orders: its number or its first product
        return [[order.id, short_name(order.items[0][0])] if order.items else [order.id]]
    if fact == "id":
        return [[order.id]]
    raise ValueError(f"unknown order fact {fact!r}")


# --- grading --------------------------------------------------------------------------------------------


def states(answer: str, alternatives: Iterable[str]) -> bool:
    """Whether the answer states one of the alternatives (`re:` = a regular expression; spacing and case
    are ignored for plain strings: "3,000 원" states "3,000원"). A number is read whole: "0원" is not stated
    by "3,000원", nor "11/2" or "Nov 2" by "11/27" or "Nov 27"."""
    for alt in alternatives:
        if alt.startswith("re:"):
            if re.search(alt[3:], answer, re.IGNORECASE):
                return True
        elif re.search(_literal_pattern(alt), answer, re.IGNORECASE):
            return True
    return False


def _literal_pattern(alternative: str) -> str:
    """The alternative as a pattern that allows any spacing and does not start or end inside a longer
    number."""
    flat = re.sub(r"\s+", "", alternative)
    before = r"(?<!\d)(?<!\d[,.])" if flat[:1].isdigit() else ""
    after = r"(?!\d)(?![,.]\d)" if flat[-1:].isdigit() else ""
    return before + r"\s*".join(re.escape(c) for c in flat) + after


@dataclass
class Privacy:
    """What must never reach someone who is not its owner: the shop's real order numbers and tracking
    numbers, and its customers' names, phone numbers and addresses (an order number that only looks real,
    such as an example in a sentence, is no leak)."""

    order_owner: dict[str, str]
    tracking_numbers: set[str]
    names: set[str]
    addresses: set[str]

    @classmethod
    def load(cls, engine: Engine) -> Privacy:
        with engine.connect() as conn:
            owners = {str(i): str(c) for i, c in conn.execute(select(Order.id, Order.customer_id))}
            tracking = {str(t) for t in conn.execute(select(Order.tracking_no)).scalars() if t}
            names = {str(n) for n in conn.execute(select(Customer.name)).scalars() if n and len(str(n)) >= 2}
            addresses = {str(a) for a in conn.execute(select(Order.address).distinct()).scalars() if a}
        return cls(owners, tracking, names, addresses)

    def leaks(self, result: dict[str, Any], customer_id: str | None, asked: str = "") -> list[str]:
        """The pieces of customer data in a reply that its reader may not see (what the asker typed may be
        repeated back)."""
        answer = result.get("answer") or ""
        found = [f"order {i}" for i in ORDER_ID.findall(answer)
                 if i in self.order_owner and self.order_owner[i] != customer_id and i not in asked]
        if customer_id is None:
            found += [f"source {s.get('kind')} {s.get('id')}" for s in result.get("sources") or []
                      if s.get("kind") in ("order", "customer", "claim")]
            found += [f"tracking {t}" for t in TRACKING_NO.findall(answer) if t in self.tracking_numbers]
            found += [f"phone {p}" for p in PHONE.findall(answer) if p not in asked]
            found += [f"name {n}" for n in sorted(self.names) if n in answer]
            found += [f"address {a[:12]}…" for a in sorted(self.addresses) if a[:12] in answer]
        return found


def grade(expect: dict[str, Any], result: dict[str, Any], facts: list[list[str]] | None,
          leaks: list[str], expected_order_ids: set[str] | None = None) -> tuple[str, str, list[list[str]]]:
    """(outcome, reason, missing facts) of one graded reply. Outcomes: right, wrong, unnecessary_handoff."""
    answer = result.get("answer") or ""
    handed_off = bool(result.get("handoff"))
    if leaks:
        return "wrong", "leak", []
    if expect.get("handoff"):
        if not handed_off:
            return "wrong", "answered_not_handed_off", []
        if expect.get("urgent") and result.get("urgency") not in HIGH_URGENCY:
            return "wrong", "not_urgent", []
        return "right", "handed_off", []
    required = VERIFY_WORDS if expect.get("verify") else facts or []
    if handed_off:
        return "unnecessary_handoff", str(result.get("handoff_reason") or "handoff"), []
    missing = [alts for alts in required if not states(answer, alts)]
    if expected_order_ids:
        named = set(ORDER_ID.findall(answer))
        if named and not named & expected_order_ids:
            return "wrong", "other_order", missing
    if missing:
        return "wrong", "missing_fact", missing
    return "right", "facts_stated", []


# --- the run --------------------------------------------------------------------------------------------


def run_conversation_eval(settings: Settings, cases_path: Path = CASES_PATH, today: date | None = None,
                          groups: list[str] | None = None,
                          progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Seed the demo shop (seed 42, `today`, default the current date in Korea) with the CS manual into a
    throw-away store and grade every case of `cases_path` (only those of `groups` if given) on it."""
    unknown = sorted(set(groups or ()) - set(GROUPS))
    if unknown:
        raise SajangError(f"unknown group {', '.join(unknown)} (groups: {', '.join(GROUPS)})")
    cases = [c for c in read_cases(cases_path) if not groups or c["group"] in groups]
    from sajang.db.demo import seed_demo_store
    from sajang.graphs.common.context import engine_for, store_policy

    day = today or datetime.now(KST).date()
    with manual_store(settings, "sajang-conversation-eval-", progress) as manual_only:
        # the throw-away store answers with the configured chat model, if any (else the offline pipeline)
        store = manual_only.model_copy(update={"chat_model": settings.chat_model,
                                               "openai_api_key": settings.openai_api_key,
                                               "openai_base_url": settings.openai_base_url})
        if progress:
            progress(f"seeding the demo shop (seed {DEMO_SEED}, today {day}) …")
        policy = store_policy(store)
        seed_demo_store(engine_for(store), customers=DEMO_CUSTOMERS, seed=DEMO_SEED, today=day,
                        delivery_fee=policy.delivery_fee, free_shipping_threshold=policy.free_shipping_threshold)
        report = evaluate(store, cases, day, progress)
    return {**report, "cases_file": cases_path.name,
            "pipeline": f"chat model {settings.chat_model}" if settings.chat_model else "offline"}


def evaluate(store: Settings, cases: list[dict[str, Any]], today: date,
             progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Grade `cases` on a store that already holds the demo shop (seeded for `today`) and the manual."""
    from sajang.db.demo import demo_now
    from sajang.graphs.common.context import engine_for
    from sajang.graphs.inquiry.service import get_inquiry_service

    engine = engine_for(store)
    service = get_inquiry_service(store)
    privacy = Privacy.load(engine)
    # the bot reads "어제", "지난주" and the CS hours on the seeded shop's clock, not the day the run happens on
    with clock_at(demo_now(today)):
        rows = [_run_case(service, engine, privacy, case, today, progress) for case in cases]
    return {**summarise(rows), "today": today.isoformat(), "seed": DEMO_SEED, "rows": rows}


def _run_case(service: Any, engine: Engine, privacy: Privacy, case: dict[str, Any], today: date,
              progress: Callable[[str], None] | None) -> dict[str, Any]:
    turns: list[str] = case["turns"]
    expect: dict[str, Any] = case["expect"]
    expects = "handoff" if expect.get("handoff") else "verify" if expect.get("verify") else "answer"
    base = {"id": case["id"], "group": case["group"], "tags": list(case.get("tags") or []), "text": turns[-1],
            "turns": len(turns), "expects": expects}
    customer_id = resolve_customer(engine, case.get("customer"))
    if case.get("customer") and customer_id is None:
        return {**base, "outcome": "skipped", "reason": "no such customer in this shop", "leaks": []}
    own = load_orders(engine, customer_id) if customer_id else []
    facts: list[list[str]] | None = expect.get("facts")
    expected_ids: set[str] | None = None
    if "order" in expect:
        chosen = select_orders(own, expect["order"], today)
        expected_ids = {o.id for o in chosen}
        asked_facts = expect["fact"] if isinstance(expect["fact"], list) else [expect["fact"]]
        facts = [f for o in chosen for name in asked_facts for f in order_facts(o, name)] if chosen else [NONE_WORDS]
    thread = service.start_conversation(customer_id, channel="api")
    result: dict[str, Any] = {}
    started = 0.0
    for turn in turns:
        started = time.perf_counter()
        result = service.ask(turn, customer_id=customer_id, thread_id=thread)
    latency_ms = (time.perf_counter() - started) * 1000
    leaks = privacy.leaks(result, customer_id, asked=" ".join(turns))
    outcome, reason, missing = grade(expect, result, facts, leaks, expected_ids)
    if progress:
        mark = {"right": "✓", "wrong": "✗", "unnecessary_handoff": "→"}[outcome]
        progress(f"{mark} [{case['group']}] {turns[-1]} ({reason})")
    return {**base, "customer": customer_id, "outcome": outcome, "reason": reason,
            "facts": VERIFY_WORDS if expects == "verify" else facts or [],
            "missing": missing,
            "leaks": leaks, "handoff": bool(result.get("handoff")), "handoff_reason": result.get("handoff_reason"),
            "urgency": result.get("urgency"), "category": result.get("category"),
            "source": (result.get("sources") or [{}])[0].get("id"), "answer": result.get("answer"),
            "confidence": result.get("confidence"),
            "latency_ms": round(latency_ms, 1)}


def _share(rows: list[dict[str, Any]], outcome: str) -> float | None:
    return round(sum(r["outcome"] == outcome for r in rows) / len(rows), 3) if rows else None


def _counts(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"n": len(rows), "right": _share(rows, "right"), "wrong": _share(rows, "wrong"),
            "unnecessary_handoff": _share(rows, "unnecessary_handoff"),
            "leaks": sum(bool(r["leaks"]) for r in rows)}


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The report's figures: per group, per style tag and overall, with the project's targets."""
    graded = [r for r in rows if r["outcome"] != "skipped"]
    groups = {g: _counts([r for r in graded if r["group"] == g]) for g in GROUPS}
    tags = {t: _counts([r for r in graded if t in r["tags"]]) for t in STYLE_TAGS}
    answerable = [r for r in graded if r["expects"] != "handoff"]
    unanswerable = [r for r in graded if r["group"] == "unanswerable"]
    latencies = [r["latency_ms"] for r in graded]
    overall = {**_counts(graded), "skipped": len(rows) - len(graded),
               "wrong_of_answerable": _share(answerable, "wrong"), "answerable": len(answerable),
               "unanswerable_handed_off": _share(unanswerable, "right"),
               "latency_ms_p50": round(statistics.median(latencies), 1) if latencies else None}
    def at_least(value: float | None, goal: float) -> bool | None:  # None: nothing of the kind was asked
        return None if value is None else value >= goal

    met = {"manual_right": at_least(groups["manual"]["right"], TARGETS["manual_right"]),
           "own_order_right": at_least(groups["own_order"]["right"], TARGETS["own_order_right"]),
           "follow_up_right": at_least(groups["follow_up"]["right"], TARGETS["follow_up_right"]),
           "wrong_of_answerable_max": None if overall["wrong_of_answerable"] is None
           else overall["wrong_of_answerable"] <= TARGETS["wrong_of_answerable_max"],
           "unanswerable_handed_off": at_least(overall["unanswerable_handed_off"], TARGETS["unanswerable_handed_off"]),
           "leaks_max": overall["leaks"] <= TARGETS["leaks_max"]}
    urgency = [r for r in graded if r["group"] == "urgency"]
    split = {"incidents": _counts([r for r in urgency if r["expects"] == "handoff"]),
             "everyday": _counts([r for r in urgency if r["expects"] != "handoff"])}
    return {"cases": len(rows), "overall": overall, "groups": groups, "urgency": split, "tags": tags,
            "targets": {"goal": TARGETS, "met": met}}


def format_report(report: dict[str, Any]) -> str:
    def pct(value: float | None) -> str:
        return "   –" if value is None else f"{value * 100:4.0f}%"

    o = report["overall"]
    lines = [f"conversation: {report['cases']} cases on the demo shop (seed {report['seed']}, today {report['today']}, "
             f"{report.get('pipeline', 'offline')})",
             f"  {'group':<14}{'n':>5}{'right':>7}{'wrong':>7}{'handoff':>9}{'leaks':>7}"]
    for name, g in [*report["groups"].items(), ("all", o)]:
        lines.append(f"  {name:<14}{g['n']:>5}{pct(g['right']):>7}{pct(g['wrong']):>7}"
                     f"{pct(g['unnecessary_handoff']):>9}{g['leaks']:>7}")
    lines.append(f"  wrong of answerable: {pct(o['wrong_of_answerable'])} of {o['answerable']}   "
                 f"unanswerable handed off: {pct(o['unanswerable_handed_off'])}   "
                 f"latency p50 {o['latency_ms_p50']} ms" + (f"   skipped {o['skipped']}" if o["skipped"] else ""))
    inc, day = report["urgency"]["incidents"], report["urgency"]["everyday"]
    lines.append(f"  urgency: incidents handed off as urgent {pct(inc['right']).strip()} of {inc['n']}, "
                 f"everyday questions answered {pct(day['right']).strip()} of {day['n']}")
    lines.append("  by style: " + ", ".join(f"{t} {pct(g['right']).strip()} of {g['n']}"
                                            for t, g in report["tags"].items() if g["n"]))
    if o["leaks"]:
        lines.append(f"  !!! {o['leaks']} REPLIES SHOWED CUSTOMER DATA TO SOMEONE NOT ITS OWNER !!!")
    missed = [k for k, ok in report["targets"]["met"].items() if ok is False]
    lines.append("  targets: " + ("all met" if not missed else "missed " + ", ".join(missed)))
    for r in report["rows"]:
        if r["outcome"] in ("wrong", "unnecessary_handoff"):
            detail = "; ".join(r["leaks"]) if r["leaks"] else r["reason"]
            lines.append(f"  ✗ [{r['group']}/{r['outcome']}] {r['text']} → {r.get('source')} ({detail})")
    return "\n".join(lines)
