"""`/api/v1/chat`: customer chat sessions (guest or verified), messages, attachments, own orders.

A session token is good for one conversation and, when verified, for that customer's orders only;
every route below compares the path's thread id with the token's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, File, Path, UploadFile, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from sajang.app.api import queries
from sajang.app.deps import ClientIp, CustomerDep, EngineDep, IdempotencyKey, InquiriesDep, SettingsDep
from sajang.app.schemas import (
    AskOut,
    AttachmentOut,
    ChatSessionCreate,
    ChatSessionInfo,
    ChatSessionOut,
    ErrorOut,
    MessageIn,
    MessageOut,
    MessagesOut,
    OrderOut,
    SafeStr,
    ThreadId,
)
from sajang.config import Settings
from sajang.errors import Forbidden, NotFound, SajangError
from sajang.security import CUSTOMER_TOKEN_TTL_S, VERIFIED_TOKEN_TTL_S, CustomerClaims, issue_customer_token
from sajang.services import ratelimit
from sajang.services.attachments import AttachmentTooLarge, save_attachment, signed_url
from sajang.services.csat import record_csat
from sajang.services.customers import verify_customer, verify_member
from sajang.services.inquiry import AskResult, ConversationView, handoff_request_text
from sajang.services.notify import set_contact

router = APIRouter(prefix="/chat", tags=["chat"])
log = logging.getLogger(__name__)

CUSTOMER_ROLES = ("customer", "ai", "agent")
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 413: {"model": ErrorOut},
    422: {"model": ErrorOut}, 429: {"model": ErrorOut},
}

OrderIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


def _own(customer: CustomerDep, thread_id: str) -> None:
    if customer.thread_id != thread_id:
        # The same answer as for a thread that does not exist: ids of others' chats are not confirmed.
        raise NotFound("no such conversation")


@router.post("/sessions", status_code=status.HTTP_201_CREATED, response_model=ChatSessionOut, responses=_ERRORS,
             summary="Start a chat: as a guest, or verified with order number + last 4 phone digits")
def create_session(body: ChatSessionCreate, settings: SettingsDep, api: InquiriesDep, ip: ClientIp
                   ) -> ChatSessionOut:
    ratelimit.check("chat_session_ip", ip, settings.rate_limit_per_minute, what="new chats")
    customer_id: str | None = None
    customer_name: str | None = None
    if body.member_id is not None or body.member_hash is not None:  # a logged-in member of the shop's site
        found = verify_member(settings, body.member_id or "", body.member_hash or "", ip)
        customer_id, customer_name = found.customer_id, found.name
    elif body.order_id is not None or body.phone_last4 is not None:
        found = verify_customer(settings, body.order_id or "", body.phone_last4 or "", ip)
        customer_id, customer_name = found.customer_id, found.name
    thread_id = api.start(customer_id, guest_name=None if customer_id else body.name, channel=body.channel,
                          locale=body.locale)
    token = issue_customer_token(settings, CustomerClaims(thread_id, customer_id, customer_name or body.name,
                                                          body.locale))
    return ChatSessionOut(thread_id=thread_id, token=token,
                          expires_in=VERIFIED_TOKEN_TTL_S if customer_id else CUSTOMER_TOKEN_TTL_S,
                          verified=customer_id is not None, customer_id=customer_id, customer_name=customer_name,
                          locale=body.locale)


@router.get("/sessions/{thread_id}", response_model=ChatSessionInfo, responses=_ERRORS, summary="This chat")
def get_session(thread_id: ThreadId, customer: CustomerDep, engine: EngineDep) -> ChatSessionInfo:
    _own(customer, thread_id)
    conv = queries.conversation_summary(engine, thread_id)
    if conv is None:
        raise NotFound("no such conversation")
    return ChatSessionInfo(thread_id=thread_id, verified=customer.customer_id is not None,
                           customer_id=customer.customer_id, status=conv["status"], locale=conv["locale"])


def _check_message(settings: Settings, customer: CustomerDep, ip: str, text: str) -> None:
    if len(text) > settings.max_message_chars:
        raise SajangError(f"message too long: {len(text)} characters (limit {settings.max_message_chars})",
                          code="message_too_long", status_code=413)
    ratelimit.check("chat_msg_session", customer.thread_id, settings.rate_limit_per_minute, what="messages")
    ratelimit.check("chat_msg_ip", ip, settings.rate_limit_per_minute, what="messages")


@router.post("/sessions/{thread_id}/messages", response_model=AskOut, responses=_ERRORS,
             summary="Send a message; the bot's answer (or a handoff to a person)")
def send_message(thread_id: ThreadId, body: MessageIn, customer: CustomerDep, settings: SettingsDep,
                 api: InquiriesDep, ip: ClientIp, idempotency_key: IdempotencyKey = None) -> AskOut:
    """With an `Idempotency-Key`, a retry (after a timeout or a dropped connection) returns the first
    answer and the message is stored once."""
    _own(customer, thread_id)
    _check_message(settings, customer, ip, body.text)
    result = api.ask(body.text, customer_id=customer.customer_id, thread_id=thread_id,
                     locale=body.locale or customer.claims.locale, attachment_ids=body.attachment_ids,
                     client_key=idempotency_key)
    return AskOut.model_validate(result.as_dict())


@router.post("/sessions/{thread_id}/messages/stream", responses={200: {"content": {"text/event-stream": {}}},
                                                                  **_ERRORS},
             summary="Send a message; the answer streamed as server-sent events")
def stream_message(thread_id: ThreadId, body: MessageIn, customer: CustomerDep, settings: SettingsDep,
                   api: InquiriesDep, ip: ClientIp, idempotency_key: IdempotencyKey = None) -> StreamingResponse:
    """Events: `delta` (`{"text": "..."}`, repeated), then `result` (the AskOut object) or `error`."""
    _own(customer, thread_id)
    _check_message(settings, customer, ip, body.text)
    # the attachment ids are checked before the stream starts: a wrong id is a 404, not an event
    chunks = api.stream(body.text, customer_id=customer.customer_id, thread_id=thread_id,
                        locale=body.locale or customer.claims.locale, attachment_ids=body.attachment_ids,
                        client_key=idempotency_key)

    def events() -> Iterator[str]:
        try:
            for chunk in chunks:
                if isinstance(chunk, AskResult):
                    out = AskOut.model_validate(chunk.as_dict()).model_dump(mode="json")
                    yield f"event: result\ndata: {json.dumps(out, ensure_ascii=False)}\n\n"
                elif chunk:
                    yield f"event: delta\ndata: {json.dumps({'text': str(chunk)}, ensure_ascii=False)}\n\n"
        except SajangError as exc:
            err = {"code": exc.code, "message": str(exc)}
            yield f"event: error\ndata: {json.dumps(err, ensure_ascii=False)}\n\n"
        except Exception:  # the stream has started: report in-band, never a traceback
            log.exception("stream_ask failed")
            err = {"code": "internal_error", "message": "the answer could not be completed"}
            yield f"event: error\ndata: {json.dumps(err)}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.post("/sessions/{thread_id}/handoff", response_model=AskOut, responses=_ERRORS,
             summary="상담원 연결: ask for a person")
def request_handoff(thread_id: ThreadId, customer: CustomerDep, settings: SettingsDep, api: InquiriesDep,
                    ip: ClientIp, idempotency_key: IdempotencyKey = None) -> AskOut:
    _own(customer, thread_id)
    locale = customer.claims.locale
    _check_message(settings, customer, ip, handoff_request_text(locale))
    result = api.ask_for_a_person(thread_id, customer.customer_id, locale, client_key=idempotency_key)
    return AskOut.model_validate(result.as_dict())


def customer_messages(settings: Settings, conversation: ConversationView, thread_id: str) -> list[MessageOut]:
    """The lines a customer may see (no drafts, summaries or internal notes), with signed image links."""
    out: list[MessageOut] = []
    for m in conversation.as_dict()["messages"]:
        role = m.get("role")
        if role not in CUSTOMER_ROLES:
            continue
        atts = []
        for a in m.get("attachments") or []:
            if isinstance(a, dict) and isinstance(a.get("id"), int):
                atts.append(AttachmentOut(id=a["id"], filename=str(a.get("filename") or "image"),
                                          content_type=str(a.get("content_type") or ""),
                                          size=int(a.get("size") or 0),
                                          uploaded_by=str(a.get("uploaded_by") or role),
                                          url=signed_url(settings, a["id"], thread_id)))
        sources = [s for s in (m.get("sources") or []) if isinstance(s, dict) and "id" in s and "title" in s]
        out.append(MessageOut(id=m.get("id") or m.get("message_id"), role=role, text=str(m.get("text") or ""),
                              time=m.get("time") or m.get("created_at"),
                              author=m.get("author") or m.get("author_name") if role == "agent" else None,
                              sources=sources if role == "ai" else [], attachments=atts))
    return out


@router.get("/sessions/{thread_id}/messages", response_model=MessagesOut, responses=_ERRORS,
            summary="The conversation so far (agent replies appear here)")
def list_messages(thread_id: ThreadId, customer: CustomerDep, settings: SettingsDep, engine: EngineDep,
                  api: InquiriesDep) -> MessagesOut:
    _own(customer, thread_id)
    conv = queries.conversation_summary(engine, thread_id)
    if conv is None:
        raise NotFound("no such conversation")
    conversation = api.conversation(thread_id)
    return MessagesOut(thread_id=thread_id, status=conv["status"],
                       messages=customer_messages(settings, conversation, thread_id))


@router.post("/sessions/{thread_id}/attachments", status_code=status.HTTP_201_CREATED, response_model=AttachmentOut,
             responses={415: {"model": ErrorOut}, **_ERRORS},
             summary="Attach an image (JPEG, PNG, GIF, WebP); send its id with the next message")
async def upload_attachment(thread_id: ThreadId, customer: CustomerDep, settings: SettingsDep,
                            engine: EngineDep, ip: ClientIp, file: Annotated[UploadFile, File()]) -> AttachmentOut:
    _own(customer, thread_id)
    ratelimit.check("chat_upload_session", customer.thread_id, settings.rate_limit_per_minute, what="uploads")
    ratelimit.check("chat_upload_ip", ip, settings.rate_limit_per_minute, what="uploads")
    data = await read_limited(file, settings.max_attachment_bytes)
    stored = await run_in_threadpool(save_attachment, settings, thread_id, file.filename, data, "customer")
    return AttachmentOut(**stored.as_dict(settings))


async def read_limited(file: UploadFile, limit: int) -> bytes:
    """The upload's bytes, refusing (413) as soon as it passes `limit`."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await file.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise AttachmentTooLarge(f"attachment too large (limit {limit} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


@router.get("/orders", response_model=list[OrderOut], responses=_ERRORS, summary="My orders (verified chats)")
def my_orders(customer: CustomerDep, engine: EngineDep) -> list[OrderOut]:
    if customer.customer_id is None:
        raise Forbidden("verify with an order number and phone digits to see orders", code="not_verified")
    return [OrderOut.model_validate(o) for o in queries.customer_orders(engine, customer.customer_id)]


@router.get("/orders/{order_id}", response_model=OrderOut, responses=_ERRORS, summary="One of my orders")
def my_order(order_id: OrderIdPath, customer: CustomerDep, engine: EngineDep) -> OrderOut:
    if customer.customer_id is None:
        raise Forbidden("verify with an order number and phone digits to see orders", code="not_verified")
    found = queries.customer_orders(engine, customer.customer_id, limit=1, order_id=order_id)
    if not found:
        raise NotFound("no such order")
    return OrderOut.model_validate(found[0])


class CsatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    score: int = Field(ge=1, le=5, description="1 (bad) … 5 (great)")
    comment: SafeStr | None = Field(None, max_length=1000)


class CsatOut(BaseModel):
    """The conversation's rating; `stored` is false when it had one already (the first one stays)."""

    stored: bool
    score: int
    comment: str | None


@router.post("/sessions/{thread_id}/csat", response_model=CsatOut, responses=_ERRORS,
             summary="Rate this conversation 1–5 (once; a second rating changes nothing)")
def rate_conversation(thread_id: ThreadId, body: CsatIn, customer: CustomerDep, settings: SettingsDep) -> CsatOut:
    _own(customer, thread_id)
    return CsatOut(**record_csat(settings, thread_id, body.score, body.comment))


class NotifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact: str = Field(min_length=1, max_length=254,
                         description="a Korean mobile number (010-1234-5678) or an e-mail address")


class NotifyOut(BaseModel):
    """Where the customer will be told a person answered (`kind`: sms or email; `contact` normalised)."""

    kind: str
    contact: str


@router.post("/sessions/{thread_id}/notify", response_model=NotifyOut, responses=_ERRORS,
             summary="답변 알림 받기: be told by SMS or e-mail when a person answers")
def leave_contact(thread_id: ThreadId, body: NotifyIn, customer: CustomerDep, settings: SettingsDep,
                  ip: ClientIp) -> NotifyOut:
    _own(customer, thread_id)
    ratelimit.check("chat_notify_ip", ip, settings.rate_limit_per_minute, what="contacts")
    return NotifyOut(**set_contact(settings, thread_id, body.contact).as_dict())
