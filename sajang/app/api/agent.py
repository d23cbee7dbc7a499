"""`/api/v1/agent`: the inquiry queue for agents (and the admin): claim, reply, resolve, teach, profile."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Path, Query, Response, UploadFile, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from sajang.app.api import queries
from sajang.app.api.chat import read_limited
from sajang.app.deps import (
    AdminDep,
    AgentDep,
    EngineDep,
    IdempotencyKey,
    InquiriesDep,
    SettingsDep,
    require_agent,
)
from sajang.app.schemas import (
    AttachmentOut,
    ClaimOut,
    ConversationOut,
    CustomerProfileOut,
    ErrorOut,
    FeedbackIn,
    InquiryOut,
    QueueStatus,
    ReplyIn,
    ResultOut,
    RowId,
    SafeStr,
    ThreadId,
)
from sajang.config import Settings
from sajang.errors import Conflict, NotFound, SajangError
from sajang.services import canned_replies, ratelimit
from sajang.services.attachments import save_attachment
from sajang.services.customers import customer_profile as load_customer_profile
from sajang.services.inquiry import SEARCH_LIMIT

router = APIRouter(prefix="/agent", tags=["agent"], dependencies=[Depends(require_agent)],
                   responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut},
                              422: {"model": ErrorOut}})

CustomerIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


def _existing(engine: EngineDep, thread_id: str) -> dict[str, Any]:
    conv = queries.conversation_summary(engine, thread_id)
    if conv is None:
        raise NotFound("no such conversation")
    return conv


def _check_text(settings: Settings, text: str) -> None:
    if len(text) > settings.max_message_chars:
        raise SajangError(f"message too long: {len(text)} characters (limit {settings.max_message_chars})",
                          code="message_too_long", status_code=413)


@router.get("/inquiries", response_model=list[InquiryOut], summary="The queue, by status")
def queue(api: InquiriesDep, agent: AgentDep,
          status_: Annotated[QueueStatus, Query(alias="status")] = "new",
          q: Annotated[SafeStr | None, Query(max_length=100, description=(
              "search: customer name, phone's last 4 digits, order number or message text (substring)"))] = None,
          limit: Annotated[int, Query(ge=1, le=SEARCH_LIMIT)] = SEARCH_LIMIT) -> list[dict[str, Any]]:
    """`new` (waiting for a person), `pending` (new + assigned), `mine` (assigned to me), `assigned`,
    `resolved`, `all` (every handed-off conversation). With `q`, only the matching ones (at most `limit`,
    the latest active first)."""
    return [item.as_dict() for item in api.queue(status_, agent.member, q=q, limit=limit if q else None)]


@router.get("/inquiries/{thread_id}", response_model=ConversationOut, summary="One conversation with its handoff")
def conversation(thread_id: ThreadId, api: InquiriesDep, engine: EngineDep) -> dict[str, Any]:
    _existing(engine, thread_id)
    return api.conversation(thread_id).as_dict()


@router.post("/inquiries/{thread_id}/claim", response_model=ClaimOut,
             responses={409: {"model": ErrorOut}}, summary="Take an inquiry (atomic: one agent wins)")
def claim(thread_id: ThreadId, api: InquiriesDep, engine: EngineDep, agent: AgentDep) -> ClaimOut:
    _existing(engine, thread_id)
    if not api.claim(thread_id, agent.member):
        raise Conflict("another agent already took this inquiry", code="already_claimed")
    return ClaimOut(thread_id=thread_id, claimed=True, assignee=agent.user.username)


@router.post("/inquiries/{thread_id}/reply", response_model=ResultOut,
             responses={409: {"model": ErrorOut}, 413: {"model": ErrorOut}},
             summary="Answer the customer (resumes the waiting conversation); images by their attachment ids")
def reply(thread_id: ThreadId, body: ReplyIn, settings: SettingsDep, api: InquiriesDep, engine: EngineDep,
          agent: AgentDep, idempotency_key: IdempotencyKey = None) -> dict[str, Any]:
    """Upload images first (`POST …/attachments`), then send their ids with the text. An inquiry still
    in the queue is taken by the replying agent (409 `already_claimed` when another agent has it). With
    an `Idempotency-Key`, a retry returns the first reply (`duplicate: true`) and sends nothing twice."""
    _existing(engine, thread_id)
    _check_text(settings, body.text)
    ratelimit.check("agent_reply", str(agent.user.id), max(60, settings.rate_limit_per_minute * 4), what="replies")
    result = api.reply(thread_id, body.text, agent.member, attachment_ids=body.attachment_ids, resolve=body.resolve,
                       client_key=idempotency_key)
    return {"ok": True, **result.as_dict()}


@router.post("/inquiries/{thread_id}/resolve", response_model=ResultOut, summary="Mark resolved")
def resolve(thread_id: ThreadId, api: InquiriesDep, engine: EngineDep, agent: AgentDep) -> dict[str, Any]:
    _existing(engine, thread_id)
    return {"ok": True, **api.resolve(thread_id, agent.member)}


@router.post("/inquiries/{thread_id}/feedback", response_model=ResultOut, responses={413: {"model": ErrorOut}},
             summary="👎: the correct answer, learned at once")
def feedback(thread_id: ThreadId, body: FeedbackIn, settings: SettingsDep, api: InquiriesDep, engine: EngineDep,
             agent: AgentDep) -> dict[str, Any]:
    """`message_id`: the bot answer corrected (404 for a message that is not one of this conversation's AI
    answers); without it the bot's last real answer (not its "connecting you" notice) — the agent hub's
    picker offers the same choice, with that default."""
    _existing(engine, thread_id)
    _check_text(settings, body.correct_text)
    result = api.feedback(thread_id, body.correct_text, agent.member, message_id=body.message_id)
    return {"ok": True, **result.as_dict()}


@router.get("/inquiries/{thread_id}/suggestion", response_model=ResultOut, summary="An AI draft for the next reply")
def suggestion(thread_id: ThreadId, api: InquiriesDep, engine: EngineDep) -> dict[str, Any]:
    _existing(engine, thread_id)
    return {"ok": True, **api.suggest(thread_id).as_dict()}


@router.post("/inquiries/{thread_id}/attachments", status_code=status.HTTP_201_CREATED, response_model=AttachmentOut,
             responses={413: {"model": ErrorOut}, 415: {"model": ErrorOut}}, summary="Attach an image as the agent")
async def upload(thread_id: ThreadId, settings: SettingsDep, engine: EngineDep, agent: AgentDep,
                 file: Annotated[UploadFile, File()]) -> AttachmentOut:
    _existing(engine, thread_id)
    ratelimit.check("agent_upload", str(agent.user.id), max(60, settings.rate_limit_per_minute * 4), what="uploads")
    data = await read_limited(file, settings.max_attachment_bytes)
    stored = await run_in_threadpool(save_attachment, settings, thread_id, file.filename, data, "agent")
    out = stored.as_dict()
    out["url"] = f"/api/v1/attachments/{stored.id}"
    return AttachmentOut(**out)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


@router.get("/customers/{customer_id}", response_model=CustomerProfileOut, summary="Customer profile")
def customer_profile(customer_id: CustomerIdPath, settings: SettingsDep) -> dict[str, Any]:
    profile = load_customer_profile(settings, customer_id)
    if profile is None:
        raise NotFound("no such customer")
    return _jsonable(profile)


# --- canned replies ---------------------------------------------------------------------------------


class CannedReplyOut(BaseModel):
    id: int
    title: str
    body: str
    updated_at: str | None = None
    updated_by: str | None = None


class CannedReplyIn(BaseModel):
    """`body` may use the variables {고객명} {주문번호} {주문상태} {송장번호} {배송비} {무료배송기준} {상담시간}
    {고객센터} {상호} {택배사} {상담원}."""

    model_config = ConfigDict(extra="forbid")
    title: SafeStr = Field(min_length=1, max_length=canned_replies.MAX_TITLE_CHARS, examples=["배송비 안내"])
    body: SafeStr = Field(min_length=1, max_length=canned_replies.MAX_BODY_CHARS,
                          examples=["{고객명}님, 배송비는 {배송비}입니다."])


class CannedReplyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: SafeStr | None = Field(default=None, min_length=1, max_length=canned_replies.MAX_TITLE_CHARS)
    body: SafeStr | None = Field(default=None, min_length=1, max_length=canned_replies.MAX_BODY_CHARS)


class RenderedReplyOut(BaseModel):
    """The text for the reply box (nothing is sent): `missing` variables became «[이름 입력]» placeholders,
    `unknown` ones stay as written."""

    id: int
    title: str
    text: str
    missing: list[str]
    unknown: list[str]


@router.get("/canned-replies", response_model=list[CannedReplyOut], summary="Saved replies (macros)")
def list_canned_replies(settings: SettingsDep) -> list[dict[str, Any]]:
    return [r.as_dict() for r in canned_replies.list_replies(settings)]


@router.post("/canned-replies", status_code=status.HTTP_201_CREATED, response_model=CannedReplyOut,
             responses={409: {"model": ErrorOut}}, summary="Add a saved reply (admin)")
def create_canned_reply(body: CannedReplyIn, settings: SettingsDep, admin: AdminDep) -> dict[str, Any]:
    return canned_replies.create_reply(settings, body.title, body.body, admin.member).as_dict()


@router.get("/canned-replies/{reply_id}", response_model=CannedReplyOut, summary="One saved reply")
def get_canned_reply(reply_id: RowId, settings: SettingsDep) -> dict[str, Any]:
    return canned_replies.get_reply(settings, reply_id).as_dict()


@router.patch("/canned-replies/{reply_id}", response_model=CannedReplyOut, responses={409: {"model": ErrorOut}},
              summary="Change a saved reply (admin)")
def update_canned_reply(reply_id: RowId, body: CannedReplyPatch, settings: SettingsDep,
                        admin: AdminDep) -> dict[str, Any]:
    return canned_replies.update_reply(settings, reply_id, admin.member, title=body.title, body=body.body).as_dict()


@router.delete("/canned-replies/{reply_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
               summary="Delete a saved reply (admin)")
def delete_canned_reply(reply_id: RowId, settings: SettingsDep, admin: AdminDep) -> Response:
    canned_replies.delete_reply(settings, reply_id, admin.member)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/inquiries/{thread_id}/canned-replies/{reply_id}", response_model=RenderedReplyOut,
            summary="A saved reply filled in for this conversation (for the reply box; nothing is sent)")
def render_canned_reply(thread_id: ThreadId, reply_id: RowId, settings: SettingsDep, engine: EngineDep,
                        agent: AgentDep) -> dict[str, Any]:
    _existing(engine, thread_id)
    return canned_replies.render_reply(settings, reply_id, thread_id, agent.member).as_dict()
