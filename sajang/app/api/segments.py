"""`/api/v1/segments`: run the RFM segmentation, approve or cancel its proposals, export the outbox (admin only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from sajang.app.deps import AdminDep, EngineDep, SettingsDep, require_admin
from sajang.app.schemas import ErrorOut, RowId, SafeStr, SaneDate
from sajang.db import rfm
from sajang.graphs.segmentation import service as seg

router = APIRouter(prefix="/segments", tags=["segments"], dependencies=[Depends(require_admin)],
                   responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut},
                              422: {"model": ErrorOut}})

CustomerIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
SegmentId = Annotated[str, Field(pattern=r"^[a-z_]{1,32}$")]


class RunIn(BaseModel):
    as_of: SaneDate | None = Field(default=None, description="RFM reference date, YYYY-MM-DD (default: today, KST)")


class Approval(BaseModel):
    id: SegmentId = Field(description="Proposal id (= its segment id)")
    discount_value: float | None = Field(default=None, ge=0, le=1_000_000,
                                         description="Percent, won, or gift value, by the proposal's type")
    message: Annotated[SafeStr, Field(max_length=seg.MAX_MESSAGE_CHARS)] | None = None


class ApproveIn(BaseModel):
    approvals: list[Approval] = Field(min_length=1, max_length=len(rfm.SEGMENT_IDS))


class RunOut(BaseModel):
    """A segmentation run (`sajang segment --json` fields plus status, moves and issued coupons)."""

    model_config = ConfigDict(extra="allow")
    run_id: int
    as_of: str
    status: str
    method: str | None
    customers: int
    segments: dict[str, int]
    proposals: list[dict[str, Any]]
    moves: list[dict[str, Any]]


class PreviewItemOut(BaseModel):
    id: str
    segment: str
    label: str
    customers: int
    discount_type: str
    discount_value: float
    min_order_amount: int
    benefit: str
    valid_until: str
    per_customer: int = Field(description="Won off (or gift value) per customer at the minimum order")
    exposure: int = Field(description="per_customer × customers")
    open_ended: bool = Field(description="Percent coupons: more on an order above the minimum")


class PreviewOut(BaseModel):
    """What approving these proposals would issue (nothing is written)."""

    run_id: int
    items: list[PreviewItemOut]
    coupons: int
    exposure: int
    open_ended: bool


class RunListItem(BaseModel):
    model_config = ConfigDict(extra="allow")
    run_id: int
    as_of: str
    status: str
    customers: int


class CustomerRfm(BaseModel):
    customer_id: str
    recency_days: int
    frequency: int
    monetary: str
    r: int
    f: int
    m: int
    segment: str


class CustomerSegmentOut(BaseModel):
    customer_id: str
    segment: str | None
    label: str


@router.post("/runs", status_code=status.HTTP_201_CREATED, response_model=RunOut,
             summary="Compute segments and proposals; waits for approval")
def start(body: RunIn, settings: SettingsDep, admin: AdminDep) -> Mapping[str, Any]:
    return seg.start_run(settings, as_of=body.as_of, started_by=admin.user.username)


@router.get("/runs", response_model=list[RunListItem], summary="Recent runs")
def runs(settings: SettingsDep, limit: Annotated[int, Query(ge=1, le=200)] = 20) -> Sequence[Mapping[str, Any]]:
    return seg.list_runs(settings, limit)


@router.get("/runs/{run_id}", response_model=RunOut, summary="One run")
def run(run_id: RowId, settings: SettingsDep) -> Mapping[str, Any]:
    return seg.run_summary(settings, run_id)


@router.get("/runs/{run_id}/customers", response_model=list[CustomerRfm], summary="Scored customers of a run")
def run_customers(run_id: RowId, settings: SettingsDep, engine: EngineDep,
                  segment: Annotated[str | None, Query(pattern=r"^[a-z_]{1,32}$")] = None,
                  limit: Annotated[int, Query(ge=1, le=100_000)] = 1000) -> Sequence[Mapping[str, Any]]:
    seg.run_summary(settings, run_id)  # 404 for an unknown run
    return [{**c, "monetary": str(c["monetary"])} for c in rfm.run_customers(engine, run_id, segment=segment,
                                                                              limit=limit)]


@router.post("/runs/{run_id}/preview", response_model=PreviewOut, responses={409: {"model": ErrorOut}},
             summary="What approving these proposals would issue: customers, benefit, minimum order, exposure")
def preview(run_id: RowId, body: ApproveIn, settings: SettingsDep) -> Mapping[str, Any]:
    return seg.preview_approval(settings, run_id, [a.model_dump() for a in body.approvals])


@router.post("/runs/{run_id}/approve", response_model=RunOut, responses={409: {"model": ErrorOut}},
             summary="Approve proposals: issues coupons and queues messages exactly once")
def approve(run_id: RowId, body: ApproveIn, settings: SettingsDep, admin: AdminDep) -> Mapping[str, Any]:
    return seg.approve_run(settings, run_id, [a.model_dump() for a in body.approvals], admin.user.username)


@router.post("/runs/{run_id}/cancel", response_model=RunOut, responses={409: {"model": ErrorOut}},
             summary="Cancel a run waiting for approval")
def cancel(run_id: RowId, settings: SettingsDep, admin: AdminDep) -> Mapping[str, Any]:
    return seg.cancel_run(settings, run_id, admin.user.username)


@router.post("/outbox/export", summary="Pending outbox messages as CSV (marks them exported)",
             response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def export_outbox(engine: EngineDep, admin: AdminDep,
                  run_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None) -> Response:
    body, n = rfm.outbox_csv_text(engine, run_id=run_id, actor=admin.user.username)
    return Response("\ufeff" + body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="sajang-outbox.csv"',
                             "X-Messages": str(n)})


@router.get("/customers/{customer_id}", response_model=CustomerSegmentOut,
            summary="A customer's segment in the latest run")
def customer_segment(customer_id: CustomerIdPath, engine: EngineDep) -> Mapping[str, Any]:
    s = rfm.latest_segment(engine, customer_id)
    return {"customer_id": customer_id, "segment": s, "label": rfm.segment_label(s)}
