"""`/api/v1/reviews`: the negative-review queue, approve / reject drafts, a product's recent reviews,
backlog runs, text triage and the CSV export of published replies (agents and the admin)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from sajang.app.deps import AgentDep, SettingsDep, require_agent
from sajang.app.schemas import ErrorOut, IdText, MessageText, SafeStr, _clean_text
from sajang.graphs.review import service as svc
from sajang.graphs.review.service import MAX_REPLY_CHARS

router = APIRouter(prefix="/reviews", tags=["reviews"], dependencies=[Depends(require_agent)],
                   responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut},
                              422: {"model": ErrorOut}})

ReviewIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
TRIAGE_MAX = 50  # texts per request: each is embedded; bigger batches belong to the CLI


class ReviewOut(BaseModel):
    review_id: str
    product_id: str | None
    product_name: str | None
    customer_id: str | None
    customer_name: str | None
    order_id: str | None
    rating: int | None
    text: str
    created_at: str | None
    negative: bool | None = Field(description="null until the review graph analysed it")
    score: float | None = Field(description="p(negative) of the text alone")
    aspects: list[str]
    severity: str | None
    draft: str | None
    reply: str | None
    reply_status: str = Field(description="none, draft, published, rejected")
    published_at: str | None
    replied_by: str | None


class DecisionOut(ReviewOut):
    published_now: bool | None = None
    already_published: bool | None = None
    already_rejected: bool | None = None


class UndoOut(ReviewOut):
    undone_now: bool = Field(description="The published reply is a draft waiting for approval again")


ReplyText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REPLY_CHARS),
                      AfterValidator(_clean_text)]


class ApproveIn(BaseModel):
    text: ReplyText | None = Field(default=None, description="The reply to publish; omitted = the AI draft as it is")


class RejectIn(BaseModel):
    reason: Annotated[SafeStr, StringConstraints(max_length=300)] | None = None


class BacklogIn(BaseModel):
    limit: int = Field(default=200, ge=1, le=2000, description="At most this many never-analysed reviews")


class BacklogOut(BaseModel):
    processed: int
    negative: int
    queue: int


class TriageItem(BaseModel):
    review_id: IdText | None = None
    text: MessageText
    rating: int | None = Field(default=None, ge=1, le=5)


class TriageIn(BaseModel):
    reviews: list[TriageItem] = Field(min_length=1, max_length=TRIAGE_MAX)


class TriageOut(BaseModel):
    """One line of `sajang reviews triage --json`."""

    review_id: str
    negative: bool
    score: float
    aspects: list[str]
    draft: str | None


@router.get("/queue", response_model=list[ReviewOut], summary="Negative reviews whose draft waits for approval")
def queue(settings: SettingsDep, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Sequence[Mapping[str, Any]]:
    return svc.queue(settings, limit=limit)


@router.post("/backlog", response_model=BacklogOut, summary="Analyse and draft every review not analysed yet")
def backlog(body: BacklogIn, settings: SettingsDep) -> Mapping[str, Any]:
    items = list(svc.process_backlog(settings, limit=body.limit))
    return {"processed": len(items), "negative": sum(1 for i in items if i["negative"]),
            "queue": svc.queue_count(settings)}


@router.post("/triage", response_model=list[TriageOut], summary="Judge review texts without storing anything")
def triage(body: TriageIn, settings: SettingsDep) -> Sequence[Mapping[str, Any]]:
    rows = [{"review_id": r.review_id or str(i + 1), "text": r.text, "rating": r.rating}
            for i, r in enumerate(body.reviews)]
    return svc.triage_rows(settings, rows)


@router.get("/export", summary="Published replies as CSV (for marketplaces without a review API)",
            response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def export(settings: SettingsDep) -> Response:
    import io

    buf = io.StringIO()
    n = svc.export_csv(settings, buf)
    return Response("\ufeff" + buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="sajang-review-replies.csv"',
                             "X-Replies": str(n)})


@router.get("/products/{product_id}", response_model=list[ReviewOut], summary="A product's recent reviews")
def product_reviews(product_id: ReviewIdPath, settings: SettingsDep,
                    limit: Annotated[int, Query(ge=1, le=100)] = 10) -> Sequence[Mapping[str, Any]]:
    return svc.product_reviews(settings, product_id, limit=limit)


@router.get("/{review_id}", response_model=ReviewOut, summary="One review with its analysis and draft")
def get_review(review_id: ReviewIdPath, settings: SettingsDep) -> Mapping[str, Any]:
    return svc.get_review(settings, review_id)


@router.post("/{review_id}/analyse", response_model=ReviewOut, summary="Run the review graph for one review")
def analyse(review_id: ReviewIdPath, settings: SettingsDep,
            force: Annotated[bool, Query(description="Re-analyse and re-draft a waiting review")] = False) -> Mapping[str, Any]:
    return svc.process_review(settings, review_id, force=force)


@router.post("/{review_id}/approve", response_model=DecisionOut, responses={409: {"model": ErrorOut}},
             summary="Publish the reply (the draft or the edited text); publishing twice publishes once")
def approve(review_id: ReviewIdPath, body: ApproveIn, settings: SettingsDep, agent: AgentDep) -> Mapping[str, Any]:
    return svc.approve(settings, review_id, body.text, user=agent.user.username, user_id=agent.user.id)


@router.post("/{review_id}/reject", response_model=DecisionOut, responses={409: {"model": ErrorOut}},
             summary="Reject the draft: nothing is published")
def reject(review_id: ReviewIdPath, body: RejectIn, settings: SettingsDep, agent: AgentDep) -> Mapping[str, Any]:
    return svc.reject(settings, review_id, user=agent.user.username, user_id=agent.user.id, reason=body.reason)


@router.post("/{review_id}/undo", response_model=UndoOut, responses={409: {"model": ErrorOut}},
             summary="Take a reply published moments ago back to a draft (within review_undo_seconds)")
def undo(review_id: ReviewIdPath, settings: SettingsDep, agent: AgentDep) -> Mapping[str, Any]:
    return svc.undo_publish(settings, review_id, user=agent.user.username, user_id=agent.user.id)
