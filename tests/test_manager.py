"""The owner's AI manager on the demo shop: each everyday question answered with the numbers direct SQL gives,
offline (intent router) and with a chat model (LangGraph tool calling over `tests/openai_stub_server.py`);
what it cannot answer it says; the CLI prints `{"answer", "tools", "data"}`.

Run on both databases:
    pytest tests/test_manager.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_manager.py
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from openai_stub_server import OpenAIStub
from sqlalchemy import Engine, insert, text

from sajang.config import Settings
from sajang.db.demo import seed_demo_store
from sajang.db.models import Claim
from sajang.graphs.common.breaker import reset_breakers
from sajang.services.manager import ask

TODAY = date(2026, 11, 24)  # a Tuesday
NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # 15:00 KST
KST = timedelta(hours=9)


def _kst_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC) - KST


def _bind(engine: Engine, ts: datetime) -> object:
    """A timestamp as the column stores it (SQLite: naive UTC text)."""
    if engine.dialect.name == "sqlite":
        return ts.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return ts


def _row(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), {k: _bind(engine, v) if isinstance(v, datetime) else v
                                        for k, v in params.items()}).one()


def _sales(engine: Engine, start: datetime, end: datetime) -> tuple[int, int]:
    n, amount = _row(engine, "SELECT count(*), coalesce(sum(amount), 0) FROM orders WHERE ordered_at >= :a "
                             "AND ordered_at <= :b AND status NOT IN ('cancelled', 'returned')", a=start, b=end)
    return int(n), int(amount)


@pytest.fixture
def shop(settings: Settings, engine: Engine) -> Settings:
    seed_demo_store(engine, customers=300, seed=42, today=TODAY)
    # two claims yesterday (KST) and one today, so "어제 들어온 클레임" has something to count
    with engine.begin() as conn:
        order_id, customer_id, product_id = conn.execute(text(
            "SELECT o.id, o.customer_id, i.product_id FROM orders o JOIN order_items i ON i.order_id = o.id "
            "ORDER BY o.id LIMIT 1")).one()
        y = _kst_start(TODAY - timedelta(days=1))
        conn.execute(insert(Claim), [
            {"id": "CL-T1", "order_id": order_id, "customer_id": customer_id, "product_id": product_id, "type": "return", "status": "requested",
             "reason": "포장 파손", "created_at": y + timedelta(hours=10)},
            {"id": "CL-T2", "order_id": order_id, "customer_id": customer_id, "product_id": product_id, "type": "exchange", "status": "completed",
             "reason": "사이즈 교환", "created_at": y + timedelta(hours=23, minutes=59)},
            {"id": "CL-T3", "order_id": order_id, "customer_id": customer_id, "product_id": product_id, "type": "cancel", "status": "requested",
             "reason": None, "created_at": _kst_start(TODAY) + timedelta(minutes=1)},
        ])
    return settings


def _check_week(engine: Engine, data: dict[str, Any]) -> None:
    monday = TODAY - timedelta(days=TODAY.weekday())
    assert data["week_start"] == monday.isoformat()
    n, amount = _sales(engine, _kst_start(monday), NOW)
    assert (data["orders"], data["revenue"]) == (n, amount) and n > 0
    n, amount = _sales(engine, _kst_start(monday - timedelta(days=7)), NOW - timedelta(days=7))
    assert (data["last_week_orders"], data["last_week_revenue"]) == (n, amount) and n > 0
    _, full = _sales(engine, _kst_start(monday - timedelta(days=7)), _kst_start(monday) - timedelta(microseconds=1))
    assert data["last_week_full_revenue"] == full
    assert data["change_pct"] == pytest.approx((data["revenue"] - data["last_week_revenue"])
                                               / data["last_week_revenue"] * 100)


def test_everyday_questions_offline_match_direct_sql(shop: Settings, engine: Engine) -> None:
    week = ask(shop, "이번 주 매출 지난주랑 비교해줘", now=NOW)
    assert week.tools == ["sales_week_comparison"] and week.method == "offline"
    data = week.data["sales_week_comparison"]
    _check_week(engine, data)
    assert f"{data['revenue']:,}원" in week.answer and f"{data['last_week_revenue']:,}원" in week.answer

    yesterday = ask(shop, "어제 매출 얼마야?", now=NOW)
    d = yesterday.data["sales_day_comparison"]
    y = TODAY - timedelta(days=1)
    assert (d["orders"], d["revenue"]) == _sales(engine, _kst_start(y), _kst_start(TODAY) - timedelta(microseconds=1))
    assert (d["last_week_orders"], d["last_week_revenue"]) == _sales(
        engine, _kst_start(y - timedelta(days=7)), _kst_start(TODAY - timedelta(days=7)) - timedelta(microseconds=1))

    stock = ask(shop, "재고 부족한 거 뭐야?", now=NOW)
    products = stock.data["low_stock_products"]["products"]
    # the planted short products; each one's days of cover = stock ÷ (units sold in 30 days ÷ 30)
    assert {"고기 왕만두", "소불고기 밀키트", "무농약 들기름"} <= {p["product_name"].split(" (")[0] for p in products}
    for p in products:
        stock_now, units = _row(engine, "SELECT p.stock, coalesce(sum(i.quantity), 0) FROM products p "
                                        "JOIN order_items i ON i.product_id = p.id JOIN orders o ON o.id = i.order_id "
                                        "WHERE p.id = :p AND o.ordered_at >= :a AND o.ordered_at <= :b AND o.status "
                                        "NOT IN ('cancelled', 'returned') GROUP BY p.stock",
                                p=p["product_id"], a=NOW - timedelta(days=30), b=NOW)
        assert p["stock"] == stock_now
        assert p["days_of_cover"] == pytest.approx(max(stock_now, 0) / (units / 30), abs=0.051)  # 1 decimal
    assert f"{len(products)}개" in stock.answer

    claims = ask(shop, "어제 들어온 클레임", now=NOW)
    c = claims.data["claims_for_day"]
    (n,) = _row(engine, "SELECT count(*) FROM claims WHERE created_at >= :a AND created_at < :b",
                a=_kst_start(y), b=_kst_start(TODAY))
    assert c["count"] == n >= 2 and {"CL-T1", "CL-T2"} <= {x["claim_id"] for x in c["claims"]}
    assert "CL-T3" not in {x["claim_id"] for x in c["claims"]}
    assert f"{n}건" in claims.answer

    reviews = ask(shop, "갈비탕 리뷰 왜 나빠?", now=NOW)
    r = reviews.data["product_review_problems"]
    assert r["product_name"].startswith("순살 갈비탕")
    total, avg, negative = _row(engine, "SELECT count(*), avg(rating), sum(CASE WHEN rating <= 2 THEN 1 ELSE 0 END) "
                                        "FROM reviews WHERE product_id = :p AND created_at >= :a AND created_at <= :b",
                                p=r["product_id"], a=NOW - timedelta(days=90), b=NOW)
    assert (r["reviews"], r["negative"]) == (total, negative) and negative >= 5
    assert r["average_rating"] == pytest.approx(float(avg), abs=0.005)
    assert next(iter(r["aspects"])) == "packaging"  # the planted «포장이 터져서» burst
    assert "포장" in reviews.answer and "갈비탕 (800g" in reviews.answer


def test_churn_risk_count_from_the_latest_segmentation(shop: Settings, engine: Engine) -> None:
    before = ask(shop, "이탈 위험 고객 몇 명이야?", now=NOW)
    assert before.data["churn_risk_customers"]["run_id"] is None and "세그먼트" in before.answer
    from sajang.graphs.segmentation.service import start_run

    run = start_run(shop, as_of=TODAY, started_by="admin")
    after = ask(shop, "이탈 위험 고객 몇 명이야?", now=NOW)
    d = after.data["churn_risk_customers"]
    (n,) = _row(engine, "SELECT count(*) FROM customer_segments WHERE run_id = :r AND segment IN "
                        "('at_risk', 'cant_lose')", r=run["run_id"])
    assert d["run_id"] == run["run_id"] and d["total"] == n > 0
    assert f"{n:,}명" in after.answer


def test_what_it_cannot_answer_it_says(shop: Settings) -> None:
    out = ask(shop, "내일 날씨 어때?", now=NOW)
    assert out.tools == [] and out.data == {} and "답할 수 없어요" in out.answer and "매출" in out.answer
    out = ask(shop, "What's the weather tomorrow?", now=NOW)
    assert out.tools == [] and "can't answer" in out.answer
    out = ask(shop, "김치찌개 리뷰 어때?", now=NOW)  # no such product
    assert out.data["product_review_problems"]["found"] is False and "찾지 못했어요" in out.answer


def test_chat_model_calls_the_tools_and_answers_from_them(shop: Settings, engine: Engine) -> None:
    reset_breakers()
    with OpenAIStub() as stub:
        llm = shop.model_copy(update={"chat_model": "manager-model", "openai_base_url": stub.base_url,
                                      "openai_api_key": "test"})
        out = ask(llm, "이번 주 매출 지난주랑 비교해줘", now=NOW)
        assert out.method == "llm" and out.tools == ["sales_week_comparison"]
        _check_week(engine, out.data["sales_week_comparison"])
        # the model saw the tool result: its answer quotes the numbers the tool returned
        assert f'"revenue": {out.data["sales_week_comparison"]["revenue"]}' in out.answer
        first, second = stub.chat_requests()[:2]
        offered = {t["function"]["name"] for t in first["tools"]}
        assert offered == {"sales_week_comparison", "sales_day_comparison", "low_stock_products",
                           "churn_risk_customers", "claims_for_day", "product_review_problems"}
        assert any(m.get("role") == "tool" for m in second["messages"])
        assert "사장님네 식탁" in first["messages"][0]["content"]

        # the model down (HTTP 500): the same question is answered offline from the same tools
        stub.server.fail_status = 500
        down = ask(llm, "재고 부족한 거 뭐야?", now=NOW)
        assert down.method == "offline" and down.tools == ["low_stock_products"]
        assert down.data["low_stock_products"]["count"] >= 3
    reset_breakers()


def test_cli_manager_ask_json(shop: Settings, cli: Any) -> None:
    r = cli("manager", "ask", "이번 주 매출 지난주랑 비교해줘", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) >= {"answer", "tools", "data"} and out["tools"] == ["sales_week_comparison"]
    assert out["data"]["sales_week_comparison"]["revenue"] >= 0 and "매출" in out["answer"]
    r = cli("manager", "ask", "  ", "--json")
    assert r.returncode == 1 and "ask a question" in r.stderr


def test_rest_manager_is_admin_only(shop: Settings, engine: Engine) -> None:
    from fastapi.testclient import TestClient

    from sajang.app.main import create_app
    from sajang.db.users import get_user_by_username
    from sajang.security import issue_staff_token
    from sajang.services.accounts import claims_for, ensure_demo_users

    ensure_demo_users(engine)

    def headers(username: str) -> dict[str, str]:
        user = get_user_by_username(engine, username)
        assert user is not None
        return {"Authorization": f"Bearer {issue_staff_token(shop, claims_for(user))}"}

    with TestClient(create_app(shop, mount_ui=False), raise_server_exceptions=False) as client:
        r = client.post("/api/v1/admin/manager", headers=headers("agent"), json={"text": "재고 부족한 거 뭐야?"})
        assert r.status_code == 403
        r = client.post("/api/v1/admin/manager", headers=headers("admin"), json={"text": "재고 부족한 거 뭐야?"})
        assert r.status_code == 200 and r.json()["tools"] == ["low_stock_products"]
        assert r.json()["data"]["low_stock_products"]["count"] == len(r.json()["data"]["low_stock_products"]["products"])
        assert client.post("/api/v1/admin/manager", headers=headers("admin"), json={"text": ""}).status_code == 422
        assert client.post("/api/v1/admin/manager", headers=headers("admin"),
                           json={"text": "가" * 501}).status_code == 422


def test_the_graph_is_declared_for_langgraph_server_and_admin_only() -> None:
    from pathlib import Path

    from sajang.graphs.auth import ADMIN_GRAPHS
    from sajang.graphs.manager import graph as manager_graph
    from sajang.graphs.manager import nodes

    spec = json.loads((Path(__file__).resolve().parent.parent / "langgraph.json").read_text())
    assert spec["graphs"]["manager"] == "./sajang/graphs/manager/graph.py:graph"
    assert {"start", "agent", "run_tools", "finish"} <= set(manager_graph.graph.get_graph().nodes)
    assert all(getattr(nodes, n).__doc__ for n in ("start", "agent", "run_tools", "finish"))
    assert "manager" in ADMIN_GRAPHS  # the shop's sales and customers: not for agents or customers
