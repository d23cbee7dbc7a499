"""The owner's dashboard reads: KPI cards, risk alerts, daily sales and claims, segment overview, the
latest segmentation run and the coupon-message outbox (the `/admin` page and `/api/v1/dashboard`)."""

from __future__ import annotations

from datetime import date
from typing import Any, TextIO

from sajang.config import Settings
from sajang.db import dashboard as dashboard_db
from sajang.db import rfm
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
