"""`/api/v1/chat`: customer chat sessions (guest or verified), messages, attachments, own orders.

A session token is good for one conversation and, when verified, for that customer's orders only;
every route below compares the path's thread id with the token's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, File, Path, UploadFile, status
from fastapi.responses import StreamingResponse

from sajang.app import ratelimit
from sajang.app.api import queries
from sajang.app.attachments import AttachmentTooLarge, list_attachments, save_attachment, signed_url
from sajang.app.deps import (
    ClientIp,
    CustomerDep,
    EngineDep,
    SettingsDep,
    inquiry_service,
)
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
    ThreadId,
)
from sajang.config import Settings
from sajang.errors import Forbidden, NotFound, SajangError, Unauthorized
from sajang.security import CUSTOMER_TOKEN_TTL_S, CustomerClaims, issue_customer_token

router = APIRouter(prefix="/chat", tags=["chat"])

VERIFY_PER_MINUTE_PER_IP = 10
VERIFY_FAILURES_PER_ORDER = 5  # per 15 minutes: 4 digits cannot be guessed by trying
CUSTOMER_ROLES = ("customer", "ai", "agent")
HANDOFF_TEXT = {"ko": "상담원과 연결해 주세요.", "en": "I would like to talk to a person, please."}
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
def create_session(body: ChatSessionCreate, settings: SettingsDep, engine: EngineDep, ip: ClientIp) -> ChatSessionOut:
    ratelimit.check("chat_session_ip", ip, settings.rate_limit_per_minute, what="new chats")
    customer_id: str | None = None
    customer_name: str | None = None
    if body.order_id is not None or body.phone_last4 is not None:
        if not body.order_id or not body.phone_last4:
            raise SajangError("give both the order number and the last 4 digits of the phone",
                              code="validation_error", status_code=422)
        ratelimit.check("chat_verify_ip", ip, VERIFY_PER_MINUTE_PER_IP, what="verification attempts")
        found = queries.verify_order_owner(engine, body.order_id, body.phone_last4)
        if found is None:
            ratelimit.check("chat_verify_order", body.order_id, VERIFY_FAILURES_PER_ORDER, period_s=900,
                            what="failed verifications for this order")
            raise Unauthorized("the order number and phone digits do not match an order",
                               code="verification_failed")
        customer_id, customer_name = found
    thread_id = inquiry_service(settings).start_conversation(
        customer_id, guest_name=None if customer_id else body.name, channel="api", locale=body.locale)
    token = issue_customer_token(settings, CustomerClaims(thread_id, customer_id, customer_name or body.name,
                                                          body.locale))
    return ChatSessionOut(thread_id=thread_id, token=token, expires_in=CUSTOMER_TOKEN_TTL_S,
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


def _attachments_for(settings: Settings, engine: EngineDep, thread_id: str, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    own = {a.id: a for a in list_attachments(settings, engine, thread_id)}
    missing = [i for i in ids if i not in own]
    if missing:
        raise NotFound(f"no such attachment in this conversation: {missing[0]}")
    return [own[i].as_dict(settings) for i in dict.fromkeys(ids)]


@router.post("/sessions/{thread_id}/messages", response_model=AskOut, responses=_ERRORS,
             summary="Send a message; the bot's answer (or a handoff to a person)")
def send_message(thread_id: ThreadId, body: MessageIn, customer: CustomerDep, settings: SettingsDep,
                 engine: EngineDep, ip: ClientIp) -> AskOut:
    _own(customer, thread_id)
    _check_message(settings, customer, ip, body.text)
    attachments = _attachments_for(settings, engine, thread_id, body.attachment_ids)
    result = inquiry_service(settings).ask(body.text, customer_id=customer.customer_id, thread_id=thread_id,
                                           locale=body.locale or customer.claims.locale,
                                           attachments=attachments or None)
    return AskOut.model_validate(result)


@router.post("/sessions/{thread_id}/messages/stream", responses={200: {"content": {"text/event-stream": {}}},
                                                                  **_ERRORS},
             summary="Send a message; the answer streamed as server-sent events")
def stream_message(thread_id: ThreadId, body: MessageIn, customer: CustomerDep, settings: SettingsDep,
                   engine: EngineDep, ip: ClientIp) -> StreamingResponse:
    """Events: `delta` (`{"text": "..."}`, repeated), then `result` (the AskOut object) or `error`."""
    _own(customer, thread_id)
    _check_message(settings, customer, ip, body.text)
    attachments = _attachments_for(settings, engine, thread_id, body.attachment_ids)
    service = inquiry_service(settings)

    def events() -> Iterator[str]:
        try:
            for chunk in service.stream_ask(body.text, customer_id=customer.customer_id, thread_id=thread_id,
                                            locale=body.locale or customer.claims.locale,
                                            attachments=attachments or None):
                if isinstance(chunk, dict):
                    out = AskOut.model_validate(chunk).model_dump(mode="json")
                    yield f"event: result\ndata: {json.dumps(out, ensure_ascii=False)}\n\n"
                elif chunk:
                    yield f"event: delta\ndata: {json.dumps({'text': str(chunk)}, ensure_ascii=False)}\n\n"
        except SajangError as exc:
            err = {"code": exc.code, "message": str(exc)}
            yield f"event: error\ndata: {json.dumps(err, ensure_ascii=False)}\n\n"
        except Exception:  # the stream has started: report in-band, never a traceback
            import logging

            logging.getLogger(__name__).exception("stream_ask failed")
            err = {"code": "internal_error", "message": "the answer could not be completed"}
            yield f"event: error\ndata: {json.dumps(err)}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.post("/sessions/{thread_id}/handoff", response_model=AskOut, responses=_ERRORS,
             summary="상담원 연결: ask for a person")
def request_handoff(thread_id: ThreadId, customer: CustomerDep, settings: SettingsDep, ip: ClientIp) -> AskOut:
    _own(customer, thread_id)
    locale = customer.claims.locale
    text = HANDOFF_TEXT.get(locale, HANDOFF_TEXT["ko"])
    _check_message(settings, customer, ip, text)
    result = inquiry_service(settings).ask(text, customer_id=customer.customer_id, thread_id=thread_id,
                                           locale=locale)
    return AskOut.model_validate(result)


def customer_messages(settings: Settings, conversation: dict[str, Any], thread_id: str) -> list[MessageOut]:
    """The lines a customer may see (no drafts, summaries or internal notes), with signed image links."""
    out: list[MessageOut] = []
    for m in conversation.get("messages") or []:
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
def list_messages(thread_id: ThreadId, customer: CustomerDep, settings: SettingsDep, engine: EngineDep
                  ) -> MessagesOut:
    _own(customer, thread_id)
    conv = queries.conversation_summary(engine, thread_id)
    if conv is None:
        raise NotFound("no such conversation")
    conversation = inquiry_service(settings).get_conversation(thread_id) or {}
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
    from starlette.concurrency import run_in_threadpool

    stored = await run_in_threadpool(save_attachment, settings, engine, thread_id, file.filename, data, "customer")
    return AttachmentOut(**stored.as_dict(settings))  # type: ignore[arg-type]


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
