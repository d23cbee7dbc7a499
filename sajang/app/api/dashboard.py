"""`/api/v1/dashboard`: the owner's KPIs, risk alerts (with their items) and chart series (admin only)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from sajang.app.deps import EngineDep, SettingsDep, require_admin
from sajang.app.schemas import ErrorOut
from sajang.db import dashboard as dash
from sajang.services import dashboard as dashboard_service
from sajang.services.csat import ai_metrics
from sajang.services.dashboard import morning_briefing

router = APIRouter(prefix="/dashboard", tags=["dashboard"], dependencies=[Depends(require_admin)],
                   responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 422: {"model": ErrorOut}})

Days = Annotated[int, Query(ge=7, le=365, description="Days of history for the charts")]


class Settlement(BaseModel):
    settled_on: str
    amount: str


class KpisOut(BaseModel):
    unanswered_qna: int
    qna_overdue: int = Field(description="unanswered product questions past their marketplace's answer deadline")
    qna_due_soon: int = Field(description="unanswered product questions due within 6 hours")
    open_claims: dict[str, int]
    open_claims_total: int
    low_stock: int
    latest_settlement: Settlement | None
    inquiries_today: int
    waiting_for_agent: int
    bot_resolved_share: float | None
    bot_window_conversations: int
    median_first_response_minutes: float | None
    first_responses: int
    as_of: datetime


class AlertOut(BaseModel):
    """One risk alert; the fields beyond these depend on `kind` (low_stock, review_spike, claim_spike)."""

    model_config = ConfigDict(extra="allow")
    id: str
    kind: str
    severity: str
    product_id: str
    product_name: str
    items: list[dict[str, Any]]


class SalesPoint(BaseModel):
    day: str
    orders: int
    revenue: str


class ClaimsPoint(BaseModel):
    day: str
    type: str
    claims: int


class SegmentsOverview(BaseModel):
    model_config = ConfigDict(extra="allow")
    run_id: int | None
    segments: dict[str, int]
    previous: dict[str, int]
    moves: list[dict[str, Any]]


class DashboardOut(BaseModel):
    kpis: KpisOut
    alerts: list[AlertOut]
    sales: list[SalesPoint]
    claims: list[ClaimsPoint]
    segments: SegmentsOverview


def _money(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "revenue": str(r["revenue"])} for r in rows]


def _kpis(k: dict[str, Any]) -> dict[str, Any]:
    s = k["latest_settlement"]
    return {**k, "latest_settlement": {"settled_on": s["settled_on"], "amount": str(s["amount"])} if s else None}


@router.get("", response_model=DashboardOut, summary="Everything the /admin page shows")
def dashboard(settings: SettingsDep, days: Days = 30) -> dict[str, Any]:
    out = dashboard_service.overview(settings, days=days)
    return {**out, "kpis": _kpis(out["kpis"]), "sales": _money(out["sales"])}


@router.get("/kpis", response_model=KpisOut, summary="KPI cards")
def kpis(settings: SettingsDep) -> dict[str, Any]:
    return _kpis(dashboard_service.kpis(settings))


@router.get("/alerts", response_model=list[AlertOut], summary="Risk alerts, each with the items behind it")
def alerts(engine: EngineDep) -> list[dict[str, Any]]:
    return dash.risk_alerts(engine)


@router.get("/sales", response_model=list[SalesPoint], summary="Revenue and orders per KST day")
def sales(engine: EngineDep, days: Days = 30) -> list[dict[str, Any]]:
    return _money(dash.daily_sales(engine, days))


@router.get("/claims", response_model=list[ClaimsPoint], summary="Claims per KST day and type")
def claims(engine: EngineDep, days: Days = 30) -> list[dict[str, Any]]:
    return dash.daily_claims(engine, days)


@router.get("/segments", response_model=SegmentsOverview, summary="Latest segment distribution and its moves")
def segments(engine: EngineDep) -> dict[str, Any]:
    return dash.segment_overview(engine)


@router.get("/briefing", summary="What changed since yesterday: sales vs the same weekday last week, new alerts, "
                                 "queue and oldest waiting inquiry, negative reviews and claims of the last 24 h")
def briefing(settings: SettingsDep) -> dict[str, Any]:
    return jsonable_encoder(morning_briefing(settings), custom_encoder={Decimal: lambda d: int(d) if d == int(d) else str(d)})


@router.get("/ai-metrics", summary="AI resolution and involvement rates, median first response, CSAT, weekly trend")
def get_ai_metrics(settings: SettingsDep, days: Days = 30) -> dict[str, Any]:
    return jsonable_encoder(ai_metrics(settings, days=days))
