"""The dashboard's morning briefing (five lines: yesterday's sales vs the same weekday last week, new risk alerts,
queue and oldest waiting inquiry, negative reviews and claims of the last 24 h) against direct SQL on the demo
shop, and its Korean wording.

Run on both databases:
    pytest tests/test_briefing.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_briefing.py
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, text

from sajang.config import Settings
from sajang.db.demo import seed_demo_store
from sajang.db.models import Conversation
from sajang.services.dashboard import morning_briefing
from sajang.ui.admin_briefing import briefing_lines, render_briefing

TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # 15:00 KST
KST = timedelta(hours=9)


def _bind(engine: Engine, ts: datetime) -> object:
    if engine.dialect.name == "sqlite":
        return ts.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return ts


def _one(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), {k: _bind(engine, v) if isinstance(v, datetime) else v
                                        for k, v in params.items()}).one()


def _day_sales(engine: Engine, d: date) -> tuple[int, int]:
    start = datetime(d.year, d.month, d.day, tzinfo=UTC) - KST
    n, a = _one(engine, "SELECT count(*), coalesce(sum(amount), 0) FROM orders WHERE ordered_at >= :a AND "
                        "ordered_at < :b AND status NOT IN ('cancelled', 'returned')", a=start, b=start + timedelta(days=1))
    return int(n), int(a)


def test_briefing_numbers_equal_direct_sql(settings: Settings, engine: Engine) -> None:
    seed_demo_store(engine, customers=300, seed=42, today=TODAY)
    with engine.begin() as conn:  # three handed-off conversations, the oldest waiting 3 h 20 min
        conn.execute(insert(Conversation), [
            {"thread_id": "w-1", "status": "new", "subject": "냄비가 깨져서 왔어요", "urgency": "high", "handed_off": True,
             "created_at": NOW - timedelta(hours=4), "updated_at": NOW, "handed_off_at": NOW - timedelta(hours=3, minutes=20)},
            {"thread_id": "w-2", "status": "assigned", "subject": "교환 문의", "urgency": "normal", "handed_off": True,
             "created_at": NOW - timedelta(hours=1), "updated_at": NOW, "handed_off_at": NOW - timedelta(minutes=50)},
            {"thread_id": "w-3", "status": "resolved", "subject": "끝난 문의", "urgency": "normal", "handed_off": True,
             "created_at": NOW - timedelta(days=1), "updated_at": NOW, "handed_off_at": NOW - timedelta(days=1)},
        ])
    b = morning_briefing(settings, now=NOW)

    y = TODAY - timedelta(days=1)
    assert (b["sales"]["orders"], int(b["sales"]["revenue"])) == _day_sales(engine, y)
    assert (b["sales"]["last_week_orders"], int(b["sales"]["last_week_revenue"])) == _day_sales(engine, y - timedelta(days=7))

    assert b["queue"]["waiting"] == 2 and b["queue"]["oldest"]["thread_id"] == "w-1"
    (negative,) = _one(engine, "SELECT count(*) FROM reviews WHERE created_at >= :a AND created_at < :b AND "
                               "(rating <= 2 OR (rating IS NULL AND negative))", a=NOW - timedelta(days=1), b=NOW)
    assert b["negative_reviews"]["count"] == negative
    (claims,) = _one(engine, "SELECT count(*) FROM claims WHERE created_at >= :a AND created_at < :b",
                     a=NOW - timedelta(days=1), b=NOW)
    assert b["claims"]["count"] == claims == sum(b["claims"]["by_type"].values())
    # the planted review spike is among today's alerts; "new" ones are those not raised 24 h earlier
    assert b["alerts"]["total"] >= 1
    assert all(a["id"].split(":")[0] in ("review_spike", "claim_spike", "low_stock") for a in b["alerts"]["new"])

    lines = briefing_lines(b, "ko")
    assert len(lines) == 5
    assert lines[0][1].startswith(f"어제 {int(b['sales']['revenue']):,}원 (주문 {b['sales']['orders']}건)")
    assert lines[2][1] == "2건 기다리는 중 — 가장 오래된 문의 «냄비가 깨져서 왔어요» 3시간 20분째"
    assert "Queue" in render_briefing(b, "en") and "2 waiting" in render_briefing(b, "en")


def test_briefing_of_an_empty_shop_says_so(settings: Settings) -> None:
    b = morning_briefing(settings, now=NOW)
    lines = dict((label, line) for label, line, _ in briefing_lines(b, "ko"))
    assert lines["상담 대기"] == "기다리는 문의가 없어요"
    assert lines["부정 리뷰"] == "지난 24시간 동안 없어요"
    assert "비교할 매출이 없어요" in lines["매출"]
