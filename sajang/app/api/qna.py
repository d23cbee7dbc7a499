"""`/api/v1/qna`: product Q&A through the inbox — the queue (nearest deadline first), one question, approve
(the draft or an edited answer), sync (fetch from the configured marketplaces, post approved answers, draft),
export of the approved answers (CSV, xlsx, JSON). Agents and the admin; `sajang.services.qna` does the work."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from sajang.app.deps import AgentDep, SettingsDep, require_agent
from sajang.app.schemas import ErrorOut, _clean_text
from sajang.services import qna as svc

router = APIRouter(prefix="/qna", tags=["qna"], dependencies=[Depends(require_agent)],
                   responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut},
                              422: {"model": ErrorOut}})

QuestionIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
AnswerText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=svc.MAX_ANSWER_CHARS),
                       AfterValidator(_clean_text)]
MEDIA = {"csv": "text/csv; charset=utf-8", "json": "application/json",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class ProductOut(BaseModel):
    id: str
    name: str
    status: str | None
    stock: int | None
    restock_on: str | None
    options: str | None
    ingredients: str | None
    size: str | None
    origin: str | None
    price: str | None


class QnaOut(BaseModel):
    question_id: str
    marketplace: str | None
    text: str
    asked_at: str
    deadline_at: str = Field(description="asked_at + the marketplace's answer deadline (SAJANG_QNA_DEADLINE_HOURS)")
    hours_left: float = Field(description="hours until the deadline; negative = overdue")
    overdue: bool
    product: ProductOut | None
    customer_id: str | None
    draft_status: str = Field(description="none (not drafted yet), ready (a confident draft), handoff (a person writes it)")
    draft: str | None
    draft_confidence: float | None
    draft_sources: list[dict[str, Any]]
    handoff_reason: str | None
    category: str | None
    answered: bool
    answer: str | None
    answered_at: str | None
    answered_by: str | None
    exported_at: str | None
    posted_at: str | None


class ApproveIn(BaseModel):
    text: AnswerText | None = Field(default=None, description="The answer to give; omitted = the AI draft as it is")


class ApproveOut(QnaOut):
    answered_now: bool = Field(description="false: it was answered already (approving twice answers once)")
    learned_id: int | None = Field(description="the correction learned from an edited draft")
    learn_skipped: str | None


class SyncOut(BaseModel):
    fetched: dict[str, int]
    posted: dict[str, int]
    post_errors: list[str]
    drafted: int
    ready: int
    handoff: int


def _out(item: svc.QnaItem) -> Mapping[str, Any]:
    return item.as_dict()


@router.get("/queue", response_model=list[QnaOut], summary="Unanswered product questions, the nearest deadline first")
def queue(settings: SettingsDep) -> Sequence[Mapping[str, Any]]:
    return [_out(it) for it in svc.queue(settings)]


@router.post("/sync", response_model=SyncOut,
             summary="Fetch from the configured marketplaces, post approved answers, draft new questions")
def sync(settings: SettingsDep) -> Mapping[str, Any]:
    from sajang.channels.marketplace import clients_from_settings

    result = svc.sync(settings, clients=clients_from_settings(settings))
    return {"fetched": result.fetched, "posted": result.posted, "post_errors": result.post_errors,
            "drafted": result.drafted.drafted, "ready": result.drafted.ready, "handoff": result.drafted.handoff}


@router.get("/export", summary="Approved answers in one file (CSV, xlsx or JSON) for the marketplace",
            response_class=Response,
            responses={200: {"content": {MEDIA["csv"]: {}, MEDIA["json"]: {}, MEDIA["xlsx"]: {}}}})
def export(settings: SettingsDep, agent: AgentDep,
           format: Annotated[Literal["csv", "xlsx", "json"], Query()] = "csv",
           marketplace: Annotated[Literal["smartstore", "coupang", "cafe24", "own"] | None, Query()] = None,
           only_new: Annotated[bool, Query(description="only answers not exported before")] = False) -> Response:
    with tempfile.TemporaryDirectory() as tmp:
        path = FilePath(tmp) / f"sajang-qna-answers.{format}"
        result = svc.export(settings, path, fmt=format, marketplace=marketplace, only_new=only_new,
                            actor=agent.user.username)
        content = path.read_bytes()
    return Response(content, media_type=MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="sajang-qna-answers.{format}"',
                             "X-Answers": str(result.rows)})


@router.get("/{question_id}", response_model=QnaOut, summary="One question with its product, draft and deadline")
def get_question(question_id: QuestionIdPath, settings: SettingsDep) -> Mapping[str, Any]:
    return _out(svc.get(settings, question_id))


@router.post("/{question_id}/approve", response_model=ApproveOut, responses={409: {"model": ErrorOut}},
             summary="Answer with the draft or the edited text; approving twice answers once")
def approve(question_id: QuestionIdPath, body: ApproveIn, settings: SettingsDep, agent: AgentDep) -> Mapping[str, Any]:
    out = svc.approve(settings, question_id, body.text, user_id=agent.user.id,
                      user_name=agent.user.display_name or agent.user.username)
    return out.as_dict()
