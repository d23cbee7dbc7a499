"""The owner's dashboard reads: KPI cards, risk alerts, daily sales and claims, segment overview, the
latest segmentation run and the coupon-message outbox (the `/admin` page and `/api/v1/dashboard`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, TextIO

from sajang.config import Settings
from sajang.db import dashboard as dashboard_db
from sajang.db import owner_queries, rfm
from sajang.graphs.common.context import engine_for

SEGMENT_IDS = rfm.SEGMENT_IDS


def overview(settings: Settings, days: int = 30) -> dict[str, Any]:
    """Everything the dashboard shows at once: `kpis`, `alerts`, `sales`, `claims`, `segments`. The
    unanswered product questions are also counted against their marketplace's answer deadline
    (`qna_overdue`, `qna_due_soon`: the deadlines are a setting, so the count is made here)."""
    from sajang.services.qna import deadline_counts

    data = dashboard_db.dashboard(engine_for(settings), days=days)
    deadlines = deadline_counts(settings)
    data["kpis"].update(qna_overdue=deadlines["overdue"], qna_due_soon=deadlines["due_soon"])
    return data


def kpis(settings: Settings) -> dict[str, Any]:
    """The KPI cards alone, with the product questions counted against their deadlines (see `overview`)."""
    from sajang.services.qna import deadline_counts

    cards = dashboard_db.kpis(engine_for(settings))
    deadlines = deadline_counts(settings)
    return {**cards, "qna_overdue": deadlines["overdue"], "qna_due_soon": deadlines["due_soon"]}


def risk_alerts(settings: Settings) -> list[dict[str, Any]]:
    return dashboard_db.risk_alerts(engine_for(settings))


def latest_run_id(settings: Settings) -> int | None:
    """The newest segmentation run (any status), or None before the first one."""
    row = rfm.latest_run(engine_for(settings))
    return int(row["id"]) if row else None


def export_outbox(settings: Settings, out: TextIO, actor: str) -> int:
    """The queued coupon messages as CSV into `out` (marked exported, audited); how many rows."""
    return rfm.export_outbox_csv(engine_for(settings), out, actor=actor)


def shop_today() -> date:
    """Today on the shop's wall clock (Korea)."""
    return rfm.shop_today()


def segment_label(segment: str | None, locale: str = "ko") -> str:
    return rfm.segment_label(segment, locale)


def morning_briefing(settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """What changed since yesterday, for the five lines on top of the dashboard: yesterday's sales against the
    same weekday last week, risk alerts that were not there 24 h ago, the queue and its oldest inquiry,
    negative reviews and claims of the last 24 h. Numbers only; the UI words them."""
    engine = engine_for(settings)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    today = dashboard_db.local_today(now)
    yesterday = today - timedelta(days=1)
    sales = owner_queries.day_sales(engine, yesterday)
    last = owner_queries.day_sales(engine, yesterday - timedelta(days=7))
    alerts_now = dashboard_db.risk_alerts(engine, now)
    before = {a["id"] for a in dashboard_db.risk_alerts(engine, now - timedelta(days=1))}
    claims = owner_queries.claims_between(engine, now - timedelta(days=1), now)
    return {
        "as_of": now.isoformat(),
        "sales": {"day": sales["day"], "revenue": sales["revenue"], "orders": sales["orders"],
                  "last_week_day": last["day"], "last_week_revenue": last["revenue"], "last_week_orders": last["orders"],
                  "change_pct": float((sales["revenue"] - last["revenue"]) / last["revenue"] * 100)
                  if last["revenue"] else None},
        "alerts": {"total": len(alerts_now), "new": [{"id": a["id"], "kind": a["kind"], "product_name": a["product_name"],
                                                      "severity": a["severity"]}
                                                     for a in alerts_now if a["id"] not in before]},
        "queue": owner_queries.waiting_queue(engine),
        "negative_reviews": owner_queries.negative_reviews_between(engine, now - timedelta(days=1), now),
        "claims": {"count": len(claims), "by_type": {t: sum(1 for c in claims if c["type"] == t)
                                                     for t in dashboard_db.CLAIM_TYPES if any(c["type"] == t for c in claims)}},
    }
