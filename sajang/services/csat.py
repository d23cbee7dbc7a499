"""The customer's one-tap satisfaction rating of a conversation (1–5 and an optional comment), stored once
per conversation, and the AI metrics the dashboard shows with it (`sajang.db.ai_metrics`).

A conversation is offered the rating once it has ended (`conversation_ended`): a person resolved it, or the
bot answered and nothing waits — no handoff pending, the customer's last line answered — which is the shape
`sajang.db.ai_metrics` counts as an AI resolution. The chat page (`/chat`) asks only then."""

from __future__ import annotations

from typing import Any

from sajang.config import Settings
from sajang.db import ai_metrics as metrics_db
from sajang.errors import NotFound, SajangError
from sajang.graphs.common.context import engine_for
from sajang.services.inquiry import ConversationView

MAX_COMMENT_CHARS = 1000


def record_csat(settings: Settings, thread_id: str, score: int, comment: str | None = None) -> dict[str, Any]:
    """Store the rating unless the conversation already has one; `stored` says whether this call did."""
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise SajangError("score must be a whole number from 1 to 5", code="invalid_score", status_code=422)
    text = " ".join((comment or "").split()) or None
    if text and len(text) > MAX_COMMENT_CHARS:
        raise SajangError(f"the comment is longer than {MAX_COMMENT_CHARS} characters", code="too_long",
                          status_code=413)
    out = metrics_db.record_csat(engine_for(settings), thread_id, score, text)
    if not out["found"]:
        raise NotFound("no such conversation")
    return {k: v for k, v in out.items() if k != "found"}


def conversation_ended(conversation: ConversationView) -> bool:
    """Whether the customer may be asked to rate the conversation now: resolved by a person, or a bot
    conversation whose last line the customer sees is the bot's answer (none waiting for a person)."""
    if conversation.status == "resolved":
        return True
    if conversation.status != "bot" or conversation.waiting:
        return False
    shown = [m for m in conversation.messages if m.role in ("customer", "ai", "agent")]
    return bool(shown) and shown[-1].role == "ai" and not shown[-1].handoff


def rating_of(settings: Settings, thread_id: str) -> dict[str, Any] | None:
    """The conversation's stored rating (`score`, `comment`), None before it is rated."""
    return metrics_db.csat_of(engine_for(settings), thread_id)


def ai_metrics(settings: Settings, days: int = 30) -> dict[str, Any]:
    """AI resolution and involvement rates, median first response, CSAT, and their weekly trend."""
    return metrics_db.ai_metrics(engine_for(settings), days=days)
