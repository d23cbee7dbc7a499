"""`sajang eval conversation`: the grader on hand-made replies, the expectations read from a seeded demo
shop, a small evaluation end to end through the real inquiry service, and the two commands it relies on
(`sajang seed-demo --today`, `sajang ask --queries`).

Run on both databases:
    pytest tests/test_conversation_eval.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_conversation_eval.py
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from sqlalchemy import Engine, select

from sajang import PACKAGE_DATA
from sajang.config import Settings
from sajang.db.demo import KST, seed_demo_store
from sajang.db.engine import get_engine
from sajang.db.models import Order
from sajang.graphs.inquiry.conversation_eval import (
    CASES_PATH,
    CLAIM_STATUS_WORDS,
    CLAIM_TYPE_WORDS,
    GROUPS,
    HELDOUT_PATH,
    STATUS_WORDS,
    STORY_CUSTOMER,
    VERIFY_WORDS,
    Privacy,
    evaluate,
    format_report,
    grade,
    load_orders,
    order_facts,
    read_cases,
    resolve_customer,
    select_orders,
    states,
    summarise,
)

TODAY = date(2026, 11, 20)  # a Friday


def _reply(answer: str | None, handoff: bool = False, urgency: str = "normal",
           sources: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"answer": answer, "handoff": handoff, "handoff_reason": "low_confidence" if handoff else None,
            "urgency": urgency, "sources": sources or []}


FEE = {"facts": [["re:3,?000\\s*원"]]}


# --- the grader on hand-made replies ---------------------------------------------------------------------


def test_right_answer_missing_fact_and_unnecessary_handoff() -> None:
    assert grade(FEE, _reply("배송비는 3,000원이에요. 5만 원 넘으면 무료예요."), FEE["facts"], []) == \
        ("right", "facts_stated", [])
    outcome, reason, missing = grade(FEE, _reply("배송비는 주문마다 달라요."), FEE["facts"], [])
    assert (outcome, reason, missing) == ("wrong", "missing_fact", FEE["facts"])
    two = [["re:3,?000\\s*원"], ["re:50,?000\\s*원|5\\s*만\\s*원"]]
    assert grade({"facts": two}, _reply("3,000원입니다."), two, [])[0] == "wrong"  # one of two questions
    assert grade({"facts": two}, _reply("3,000원, 5만 원 이상 무료."), two, [])[0] == "right"
    assert grade(FEE, _reply("상담원에게 연결해 드릴게요.", handoff=True), FEE["facts"], [])[:2] == \
        ("unnecessary_handoff", "low_confidence")


def test_expected_handoff_and_urgency() -> None:
    unanswerable = {"handoff": True}
    assert grade(unanswerable, _reply("상담원에게 연결해 드릴게요.", handoff=True), None, [])[0] == "right"
    assert grade(unanswerable, _reply("배송비는 3,000원입니다."), None, [])[:2] == \
        ("wrong", "answered_not_handed_off")
    incident = {"handoff": True, "urgent": True}
    assert grade(incident, _reply("연결해 드릴게요.", handoff=True, urgency="urgent"), None, [])[0] == "right"
    assert grade(incident, _reply("연결해 드릴게요.", handoff=True, urgency="normal"), None, [])[:2] == \
        ("wrong", "not_urgent")


def test_guest_asked_to_verify() -> None:
    verify = {"verify": True}
    asks = _reply("주문 정보를 보려면 주문번호와 휴대폰 번호 뒤 4자리를 알려 주세요.")
    assert grade(verify, asks, None, []) == ("right", "facts_stated", [])
    outcome, _reason, missing = grade(verify, _reply("오후 2시까지 결제하시면 당일 출고됩니다."), None, [])
    assert outcome == "wrong" and missing == VERIFY_WORDS


def test_leaks_to_a_guest_and_to_another_customer() -> None:
    privacy = Privacy(order_owner={"O-20261120-00005": "C-00001", "O-20261101-00001": "C-00002"},
                      tracking_numbers={"374104818811"}, names={"홍길동"}, addresses={"서울특별시 강남구 테헤란로 1"})
    shown = _reply("홍길동 고객님, 주문 O-20261120-00005는 배송 중이에요 (CJ대한통운 374104818811).",
                   sources=[{"kind": "order", "id": "O-20261120-00005"}])
    leaks = privacy.leaks(shown, None)
    assert {leak.split()[0] for leak in leaks} == {"order", "source", "tracking", "name"}
    assert grade({"verify": True}, shown, None, leaks)[:2] == ("wrong", "leak")
    # the owner may see it; another customer's order number is a leak even to a verified customer
    assert privacy.leaks(shown, "C-00001") == []
    assert privacy.leaks(shown, "C-00002") == ["order O-20261120-00005"]
    # a guest's own typed order number may be repeated back; an example number that is no order is no leak
    echo = _reply("O-20261120-00005 주문을 확인하려면 휴대폰 번호 뒤 4자리를 알려 주세요. (예: O-20261120-00012 1234)")
    assert privacy.leaks(echo, None, asked="O-20261120-00005 어디까지 왔어요") == []
    assert privacy.leaks(echo, None, asked="제 주문 어디까지 왔어요") == ["order O-20261120-00005"]


def test_states_ignores_spacing_and_reads_regexes() -> None:
    assert states("반품 배송비는 3,000 원입니다", ["3,000원"])
    assert states("오후 2시까지", ["re:14\\s*시|오후\\s*2시"])
    assert not states("2,000원", ["3,000원", "re:3천\\s*원"])


def test_wrong_answer_names_another_order() -> None:
    expect = {"order": "latest_with_product:만두", "fact": "status"}
    reply = _reply("주문 O-20261120-00005의 상태는 '상품 준비 중'입니다.")
    assert grade(expect, reply, [STATUS_WORDS["preparing"]], [], {"O-20261120-00002"})[:2] == ("wrong", "other_order")
    assert grade(expect, reply, [STATUS_WORDS["preparing"]], [], {"O-20261120-00005"})[0] == "right"


def test_summary_shares_per_group() -> None:
    def row(group: str, outcome: str, expects: str = "answer", leaks: list[str] | None = None) -> dict[str, Any]:
        return {"group": group, "outcome": outcome, "expects": expects, "tags": ["nospace"], "leaks": leaks or [],
                "latency_ms": 10.0, "reason": ""}

    rows = [row("manual", "right"), row("manual", "wrong"), row("manual", "unnecessary_handoff"),
            row("manual", "right"), row("unanswerable", "right", "handoff"),
            row("unanswerable", "wrong", "handoff"), row("guest", "wrong", "verify", ["order O-1"]),
            row("urgency", "right", "handoff"), row("urgency", "unnecessary_handoff"),
            {"group": "own_order", "outcome": "skipped", "expects": "answer", "tags": [], "leaks": []}]
    report = summarise(rows)
    assert report["groups"]["manual"] == {"n": 4, "right": 0.5, "wrong": 0.25, "unnecessary_handoff": 0.25,
                                          "leaks": 0}
    assert report["overall"]["wrong_of_answerable"] == 0.333  # 2 of the 6 answerable (manual, guest, everyday)
    assert report["urgency"]["incidents"]["right"] == 1.0 and report["urgency"]["everyday"]["right"] == 0.0
    assert report["overall"]["unanswerable_handed_off"] == 0.5
    assert report["overall"]["leaks"] == 1 and report["overall"]["skipped"] == 1
    assert report["targets"]["met"]["leaks_max"] is False
    assert list(report["groups"]) == list(GROUPS)


def test_case_files_are_well_formed() -> None:
    dev, held = read_cases(CASES_PATH), read_cases(HELDOUT_PATH)
    assert len(dev) >= 200 and len(held) >= len(dev) // 4
    # the later held-out sets, each written blind by someone who had not seen the bot or the other sets
    for n in (2, 3, 4, 5):
        later = read_cases(PACKAGE_DATA / f"conversation_eval_heldout{n}.jsonl")
        assert len(later) >= 100 and all(c["group"] in GROUPS for c in later), n
        assert len({c["id"] for c in later}) == len(later), n
    ids = [c["id"] for c in dev + held]
    assert len(ids) == len(set(ids))
    assert not {c["turns"][-1] for c in dev} & {c["turns"][-1] for c in held}  # held out: other wordings
    for case in dev + held:
        assert case["group"] in GROUPS and case["turns"] and all(t.strip() for t in case["turns"])
        assert (case["group"] == "follow_up") == (len(case["turns"]) > 1) or case["group"] == "guest"
        expect = case["expect"]
        assert sum(k in expect for k in ("facts", "handoff", "verify", "order")) == 1, case["id"]
        if case["group"] == "guest":
            assert case["customer"] is None and expect == {"verify": True}


# --- expectations read from the demo shop -------------------------------------------------------------


def test_order_expectations_follow_the_database(engine: Engine) -> None:
    seed_demo_store(engine, customers=15, seed=42, today=TODAY)
    orders = load_orders(engine, STORY_CUSTOMER)
    assert [o.day for o in orders] == sorted((o.day for o in orders), reverse=True)

    (mandu,) = select_orders(orders, "latest_with_product:만두", TODAY)
    assert mandu.day == TODAY and mandu.status == "preparing" and ("고기 왕만두 (1.4kg)", 2) in mandu.items
    assert order_facts(mandu, "status") == [STATUS_WORDS["preparing"]]
    assert order_facts(mandu, "items") == [["고기 왕만두"], ["멸치볶음"]]
    assert order_facts(mandu, "amount")[0][0] == f"{mandu.amount:,}원"

    (parcel,) = select_orders(orders, "latest_with_status:shipping", TODAY)
    assert parcel.tracking_no and order_facts(parcel, "tracking") == [[parcel.tracking_no]]
    assert select_orders(orders, "on_day:-2", TODAY) == [parcel]
    assert order_facts(parcel, "shipping_fee")[0][-1] == "free"  # 58,600원 of goods: no fee

    (claimed,) = select_orders(orders, "open_claim:exchange", TODAY)
    assert order_facts(claimed, "claim") == [CLAIM_TYPE_WORDS["exchange"], CLAIM_STATUS_WORDS["requested"]]
    (cancelled,) = select_orders(orders, "with_status:cancelled", TODAY)
    assert cancelled.items == [("LA갈비 (1kg)", 1)]
    assert len(select_orders(orders, "recent:3", TODAY)) == 3
    assert all(o.day.month == 11 for o in select_orders(orders, "in_month:11", TODAY))
    monday = TODAY - timedelta(days=TODAY.weekday() + 7)
    assert all(monday <= o.day < monday + timedelta(days=7) for o in select_orders(orders, "last_week", TODAY))

    assert resolve_customer(engine, None) is None and resolve_customer(engine, "C-00003") == "C-00003"
    other = resolve_customer(engine, "with_status:delivered")
    assert other and other != STORY_CUSTOMER
    assert any(o.status == "delivered" for o in load_orders(engine, other))


# --- a small evaluation end to end ---------------------------------------------------------------------


def _small_shop(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    from sajang.knowledge.service import get_knowledge

    seed_demo_store(engine, customers=15, seed=42, today=TODAY)
    manual = tmp_path / "manual"
    manual.mkdir()
    for name in ("delivery-fee", "delivery-remote-area", "delivery-dispatch", "privacy"):
        shutil.copy(PACKAGE_DATA / "manual" / f"{name}.md", manual / f"{name}.md")
    get_knowledge(settings).import_manual_dir(manual)


def test_small_evaluation_end_to_end(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    _small_shop(settings, engine, tmp_path)
    cases = [
        {"id": "t-1", "group": "manual", "tags": ["clean"], "customer": None, "turns": ["배송비 얼마예요?"],
         "expect": FEE},
        {"id": "t-2", "group": "follow_up", "tags": ["slang"], "customer": None,
         "turns": ["배송비 얼마예요?", "제주도는요?"], "expect": FEE},
        {"id": "t-3", "group": "own_order", "tags": ["slang"], "customer": STORY_CUSTOMER,
         "turns": ["만두 주문한거 어디까지 왔어요?"], "expect": {"order": "latest_with_product:만두", "fact": "status"}},
        {"id": "t-4", "group": "guest", "tags": ["slang"], "customer": None, "turns": ["제 주문 언제와요?"],
         "expect": {"verify": True}},
        {"id": "t-5", "group": "unanswerable", "tags": ["clean"], "customer": None,
         "turns": ["오프라인 매장은 어디에 있나요?"], "expect": {"handoff": True}},
        {"id": "t-6", "group": "own_order", "tags": [], "customer": "with_claim:exchange:nonexistent",
         "turns": ["교환 어떻게 됐어요?"], "expect": {"order": "open_claim:exchange", "fact": "claim"}},
        # "그저께" is two days before the seeded day (TODAY, weeks ago), not before the day the test runs
        {"id": "t-7", "group": "own_order", "tags": ["date_word"], "customer": STORY_CUSTOMER,
         "turns": ["그저께 주문한 거 송장번호 알려주세요"], "expect": {"order": "on_day:-2", "fact": "tracking"}},
    ]
    report = evaluate(settings, cases, TODAY)
    rows = {r["id"]: r for r in report["rows"]}
    assert report["cases"] == 7 and report["today"] == TODAY.isoformat() and report["seed"] == 42
    assert rows["t-6"]["outcome"] == "skipped" and report["overall"]["skipped"] == 1
    assert all(r["outcome"] in ("right", "wrong", "unnecessary_handoff") for r in report["rows"][:5])
    assert rows["t-1"]["outcome"] == "right"  # a clean manual question on its article
    assert rows["t-3"]["customer"] == STORY_CUSTOMER and rows["t-2"]["turns"] == 2
    # nothing of the shop's customers to a guest, whatever the bot answered
    assert rows["t-4"]["leaks"] == [] and report["overall"]["leaks"] == 0, rows["t-4"]
    # the parcel itself, not "그저께 주문은 없어요" and the recent ones (that list carries the number too)
    assert rows["t-7"]["outcome"] == "right" and "없어요" not in rows["t-7"]["answer"], rows["t-7"]
    assert report["groups"]["own_order"]["n"] == 2 and report["groups"]["urgency"]["n"] == 0
    json.loads(json.dumps(report, ensure_ascii=False))  # the --json output
    assert "own_order" in format_report(report)


# --- the commands -------------------------------------------------------------------------------------


def _kst_day(value: datetime) -> date:
    """The Korean date of a stored time (SQLite keeps UTC without a zone)."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(KST).date()


def _orders(url: str) -> list[tuple[Any, ...]]:
    with get_engine(url).connect() as conn:
        return [tuple(r) for r in conn.execute(select(Order.id, Order.customer_id, Order.ordered_at, Order.status,
                                                      Order.amount, Order.tracking_no).order_by(Order.id))]


def test_seed_demo_today_makes_the_same_shop(settings: Settings) -> None:
    args = ("seed-demo", "--data-only", "--customers", "12", "--json")
    first = run_cli(*args, "--today", "2026-11-20")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["today"] == "2026-11-20"
    url = settings.resolved_database_url
    rows = _orders(url)
    newest = max(_kst_day(r[2]) for r in rows if r[1] == STORY_CUSTOMER)
    assert newest == date(2026, 11, 20)  # the planted customer ordered "today"

    again = run_cli(*args, "--reset", "--today", "2026-11-20")
    assert again.returncode == 0, again.stderr
    assert _orders(url) == rows  # same seed + same date = same shop
    later = run_cli(*args, "--reset", "--today", "2026-12-01")
    assert later.returncode == 0, later.stderr
    assert json.loads(later.stdout)["today"] == "2026-12-01" and _orders(url) != rows
    bad = run_cli("seed-demo", "--today", "20.11.2026")
    assert bad.returncode != 0


def test_ask_queries_json_lines(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    seed_demo_store(engine, customers=12, seed=42, today=TODAY)
    batch = tmp_path / "queries.jsonl"
    batch.write_text("\n".join([
        json.dumps({"text": "배송비 얼마예요?", "thread": "a"}, ensure_ascii=False),
        json.dumps({"text": "제주도는요?", "thread": "a"}, ensure_ascii=False),
        "교환 어떻게 해요",
        "",
        json.dumps({"text": "만두 언제 와요", "customer_id": STORY_CUSTOMER, "locale": "ko"}, ensure_ascii=False),
    ]) + "\n", encoding="utf-8")
    out = run_cli("ask", "--queries", str(batch), "--json")
    assert out.returncode == 0, out.stderr
    results = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(results) == 4
    single = run_cli("ask", "배송비 얼마예요?", "--json")
    assert single.returncode == 0, single.stderr
    keys = set(json.loads(single.stdout))
    assert all(set(r) == keys for r in results)  # the object `sajang ask --json` prints
    assert results[0]["thread_id"] == results[1]["thread_id"] != results[2]["thread_id"]
    assert len({r["thread_id"] for r in results}) == 3

    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(json.dumps({"text": "안녕하세요", "thread": "b"}) + "\n"
                     + json.dumps({"text": "제 주문은요?", "thread": "b", "customer_id": STORY_CUSTOMER}) + "\n",
                     encoding="utf-8")
    refused = run_cli("ask", "--queries", str(mixed), "--json")
    assert refused.returncode != 0 and "line 2" in refused.stderr
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "배송비"\n', encoding="utf-8")
    bad = run_cli("ask", "--queries", str(broken), "--json")
    assert bad.returncode != 0 and "line 1" in bad.stderr and bad.stdout == ""
    assert run_cli("ask", "--json").returncode != 0  # neither TEXT nor --queries


@pytest.mark.parametrize("path", [CASES_PATH, HELDOUT_PATH])
def test_every_selector_and_fact_in_the_sets_is_known(path: Path) -> None:
    from sajang.graphs.inquiry.conversation_eval import OrderRow

    probe = OrderRow("O-20261120-00001", STORY_CUSTOMER, datetime(2026, 11, 20, 3, tzinfo=UTC),
                     "shipping", 10000, 3000, "CJ대한통운", "123456789012", None, [("고기 왕만두 (1.4kg)", 1)],
                     [("exchange", "requested")])
    for case in read_cases(path):
        expect = case["expect"]
        if "order" in expect:
            select_orders([probe], expect["order"], TODAY)  # raises on an unknown selector
            for fact in expect["fact"] if isinstance(expect["fact"], list) else [expect["fact"]]:
                assert order_facts(probe, fact)


def test_unknown_group_is_refused_before_any_work(settings: Settings) -> None:
    from sajang.errors import SajangError
    from sajang.graphs.inquiry.conversation_eval import run_conversation_eval

    with pytest.raises(SajangError, match="unknown group own_orders"):
        run_conversation_eval(settings, groups=["manual", "own_orders"])
