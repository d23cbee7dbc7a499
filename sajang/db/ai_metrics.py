"""How well the AI does, measured as Intercom Fin and Channel Talk ALF report it, and the one-tap CSAT.

Over conversations started in the window that are at least `SETTLE_HOURS` old (younger ones may still be
handed off or reopened):

- involvement rate = conversations the AI answered at least once (a message with role `ai`) ÷ all;
- AI resolution rate = AI-involved conversations that were *not handed off within 24 h* of their start and
  *not reopened* (the same verified customer did not start another conversation within 24 h) ÷ all;
- median first response = from the conversation's start to the first AI or agent message, in seconds;
- CSAT = mean of the 1–5 ratings given in the window, with how many rated; `weeks` repeats the rates and
  CSAT per KST week (Monday) for the trend.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select

from .dashboard import _now, local_today
from .engine import session_scope
from .models import Conversation, CsatRating, Message

SETTLE_HOURS = 24


def _week(ts: datetime) -> str:
    d = local_today(ts)
    return (d - timedelta(days=d.weekday())).isoformat()


def ai_metrics(engine: Engine, days: int = 30, now: datetime | None = None) -> dict[str, Any]:
    now = _now(now)
    start, settled = now - timedelta(days=days), now - timedelta(hours=SETTLE_HOURS)
    c = Conversation.__table__.c
    first_reply = (select(Message.conversation_id, func.min(Message.created_at).label("at"))
                   .where(Message.role.in_(("ai", "agent"))).group_by(Message.conversation_id).subquery())
    ai_answered = select(Message.conversation_id).where(Message.role == "ai").distinct().subquery()
    with engine.connect() as conn:
        rows = conn.execute(
            select(c.id, c.customer_id, c.created_at, c.handed_off_at, first_reply.c.at,
                   ai_answered.c.conversation_id.is_not(None).label("ai"))
            .outerjoin(first_reply, first_reply.c.conversation_id == c.id)
            .outerjoin(ai_answered, ai_answered.c.conversation_id == c.id)
            .where(c.created_at >= start, c.created_at <= settled)).all()
        # later conversations of the same customers: a return within 24 h reopens the question
        customers = {r.customer_id for r in rows if r.customer_id}
        starts: dict[str, list[datetime]] = defaultdict(list)
        if customers:
            for cid, at in conn.execute(select(c.customer_id, c.created_at).where(
                    c.customer_id.in_(customers), c.created_at >= start, c.created_at <= now)).all():
                starts[cid].append(at)
        ratings = conn.execute(select(CsatRating.score, CsatRating.created_at)
                               .where(CsatRating.created_at >= start, CsatRating.created_at <= now)).all()

    def resolved(r: Any) -> bool:
        if not r.ai:
            return False
        if r.handed_off_at is not None and r.handed_off_at < r.created_at + timedelta(hours=24):
            return False
        window_end = r.created_at + timedelta(hours=24)
        return not any(r.created_at < at <= window_end for at in starts.get(r.customer_id, ()))

    def summary(group: list[Any], scores: list[int]) -> dict[str, Any]:
        n = len(group)
        waits = [(r.at - r.created_at).total_seconds() for r in group if r.at is not None and r.at >= r.created_at]
        return {"conversations": n,
                "involvement_rate": sum(1 for r in group if r.ai) / n if n else None,
                "resolution_rate": sum(1 for r in group if resolved(r)) / n if n else None,
                "resolved": sum(1 for r in group if resolved(r)),
                "median_first_response_s": statistics.median(waits) if waits else None,
                "csat": sum(scores) / len(scores) if scores else None, "csat_ratings": len(scores)}

    by_week: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_week[_week(r.created_at)].append(r)
    scores_by_week: dict[str, list[int]] = defaultdict(list)
    for score, at in ratings:
        scores_by_week[_week(at)].append(int(score))
    weeks = sorted(set(by_week) | set(scores_by_week))
    return {"days": days, "as_of": now.isoformat(), **summary(list(rows), [int(s) for s, _ in ratings]),
            "weeks": [{"week": w, **summary(by_week.get(w, []), scores_by_week.get(w, []))} for w in weeks]}


def record_csat(engine: Engine, thread_id: str, score: int, comment: str | None) -> dict[str, Any]:
    """Store the conversation's rating once; a second one changes nothing. Returns the stored rating and
    whether this call stored it."""
    with session_scope(engine) as s:
        conv_id = s.scalar(select(Conversation.id).where(Conversation.thread_id == thread_id))
        if conv_id is None:
            return {"found": False}
        existing = s.execute(select(CsatRating.score, CsatRating.comment).where(
            CsatRating.conversation_id == conv_id)).first()
        if existing is None:
            # insert-if-absent: two taps at once meet the unique constraint, the loser stores nothing
            stmt = insert(CsatRating).values(conversation_id=conv_id, score=score, comment=comment)
            if engine.dialect.name == "postgresql":
                from sqlalchemy.dialects.postgresql import insert as pg_insert

                stmt = pg_insert(CsatRating).values(conversation_id=conv_id, score=score, comment=comment) \
                    .on_conflict_do_nothing(index_elements=["conversation_id"])
            else:
                stmt = stmt.prefix_with("OR IGNORE")
            # RETURNING (both databases): a row back means this call stored it (rowcount is not reliable here)
            stored = s.execute(stmt.returning(CsatRating.id)).scalar() is not None
            if stored:
                return {"found": True, "stored": True, "score": score, "comment": comment}
            existing = s.execute(select(CsatRating.score, CsatRating.comment).where(
                CsatRating.conversation_id == conv_id)).first()
        assert existing is not None
        return {"found": True, "stored": False, "score": int(existing.score), "comment": existing.comment}


def csat_of(engine: Engine, thread_id: str) -> dict[str, Any] | None:
    """The conversation's rating (score and comment), None when it has none (or there is no such conversation)."""
    with engine.connect() as conn:
        row = conn.execute(select(CsatRating.score, CsatRating.comment)
                           .join(Conversation, Conversation.id == CsatRating.conversation_id)
                           .where(Conversation.thread_id == thread_id)).first()
    return None if row is None else {"score": int(row.score), "comment": row.comment}
