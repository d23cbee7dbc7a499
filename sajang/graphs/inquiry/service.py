"""`InquiryService`: what the CLI, the REST API, the chat UI and the agent hub call.

It owns the `conversations` / `messages` rows (with the graph nodes), runs one graph run per customer
message on the conversation's thread, and resumes the waiting handoff node for agent replies,
customer lines sent while waiting, and resolution. Checkpoints live in SQLite or PostgreSQL
(`sajang.graphs.common.checkpoint`), so any process can resume a conversation another process interrupted.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command
from sqlalchemy import and_, func, or_, select, update

from sajang.config import Settings
from sajang.db.engine import named_mutex, session_scope
from sajang.db.models import Attachment, Conversation, Customer, Feedback, Message, Order, User
from sajang.db.queries import audit
from sajang.db.types import utcnow
from sajang.errors import Conflict, NotFound, SajangError
from sajang.graphs.common.checkpoint import get_checkpointer
from sajang.graphs.common.context import engine_for, store_policy
from sajang.graphs.inquiry import conversations as conv_store
from sajang.graphs.inquiry.answering import detect_locale, look_up, offline_answer, reply_while_waiting
from sajang.graphs.inquiry.chat_verification import verify_in_chat
from sajang.graphs.inquiry.classifier import HUMAN_REQUEST, Classification, classify_text, get_classifier
from sajang.graphs.inquiry.context import InquiryContext
from sajang.graphs.inquiry.graph import build_graph
from sajang.graphs.inquiry.llm_answer import answer_with_model, new_mask, turn_budget, with_deadline
from sajang.graphs.inquiry.order_answers import read_in_context
from sajang.graphs.inquiry.privacy import find_personal_data, generalise
from sajang.knowledge.embeddings import serving_request
from sajang.tools.orders import customer_brief, customer_exists, recent_orders

WAITING_STATUSES = ("new", "assigned")
DOUBLE_SUBMIT_WINDOW = timedelta(seconds=30)
DURABILITY = "exit"


@dataclass
class _Turn:
    """A customer message stored and its conversation locked: what the graph run needs."""

    thread_id: str
    waiting: dict[str, Any] | None  # set when a person has the conversation: no bot run
    graph_input: dict[str, Any]
    config: RunnableConfig
    context: InquiryContext
    replay: dict[str, Any] | None = None  # a keyed retry: the first attempt's result, nothing to run


class PersonalDataError(SajangError):
    code = "personal_data"
    status_code = 422


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


# --- which lines a rule reads (the hub, REST and the CLI all go through these) -------------------------

# What the «상담원 연결» button of the chat page (and `POST /chat/sessions/{id}/handoff`) sends for the customer.
HANDOFF_REQUEST_TEXT = {"ko": "상담원과 연결해 주세요.", "en": "I would like to talk to a person, please."}
QUESTION_MIN_CHARS = 6  # letters left once the request for a person is taken out of a line


def handoff_request_text(locale: str | None) -> str:
    return HANDOFF_REQUEST_TEXT.get(locale or "ko", HANDOFF_REQUEST_TEXT["ko"])


def _field(message: Any, key: str) -> Any:
    return message.get(key) if isinstance(message, Mapping) else getattr(message, key, None)


def _reply_to(messages: Sequence[Any], index: int) -> Any:
    """The bot's answer to the customer line at `index` (the next AI message), or None."""
    return next((m for m in messages[index + 1:] if _field(m, "role") == "ai"), None)


def asks_only_for_a_person(text: str, bot_reply: Any = None) -> bool:
    """A customer line that says nothing but "a person, please": the button's text, or a line the bot
    read as a request for a person with fewer than QUESTION_MIN_CHARS letters besides the request."""
    line = (text or "").strip()
    if line in HANDOFF_REQUEST_TEXT.values():
        return True
    if bot_reply is None or _field(bot_reply, "category") != "human":
        return False
    return len(re.findall(r"\w", HUMAN_REQUEST.sub(" ", line))) < QUESTION_MIN_CHARS


def question_lines(messages: Sequence[Any]) -> list[Any]:
    """The customer's lines that carry a question, oldest first (messages as dicts or rows with `role`,
    `text`, `category`): what the article search, the AI draft and a 👎's learned question read."""
    return [m for i, m in enumerate(messages)
            if _field(m, "role") == "customer" and str(_field(m, "text") or "").strip()
            and not asks_only_for_a_person(str(_field(m, "text")), _reply_to(messages, i))]


def correctable_answers(messages: Sequence[Any]) -> list[Any]:
    """The bot's answers a 👎 may correct, newest first: its AI messages but the "connecting you to a
    person" notices after a plain request for a person (see `feedback_target`, the default pick)."""
    return [m for m in reversed(messages) if _field(m, "role") == "ai" and _field(m, "id") is not None
            and _field(m, "category") != "human"]


def feedback_target(messages: Sequence[Any]) -> int | None:
    """The AI message a 👎 corrects: the bot's last real answer, not its "connecting you to a person"
    notice after a plain request for a person (learning "상담원 연결해 주세요 → <answer>" would be wrong);
    when the question itself was handed off, that notice. None when the bot only ever connected."""
    answers = correctable_answers(messages)
    picked = next((m for m in answers if not _field(m, "handoff")), answers[0] if answers else None)
    return None if picked is None else int(_field(picked, "id"))


def learned_question(messages: Sequence[Any], target_id: int | None) -> Any:
    """The customer line a correction of `target_id` answers: the newest question line before it (before
    the end when None); else the newest customer line before it, whatever it says; None without one."""
    upto = next((i for i, m in enumerate(messages) if target_id is not None and _field(m, "id") == target_id),
                len(messages))
    earlier = messages[:upto]
    asked = question_lines(earlier)
    if asked:
        return asked[-1]
    return next((m for m in reversed(earlier) if _field(m, "role") == "customer"), None)


SEARCH_LIMIT = 50  # the queue's search shows at most this many conversations
SEARCH_MAX_CHARS = 100


def _search_condition(c: Any, needle: str) -> Any:
    """The queue search over one conversations table `c` (see `list_handoffs`): `%`, `_` in the needle are
    taken literally (`autoescape`), case ignored."""
    in_messages = (select(Message.id).where(Message.conversation_id == c.c.id,
                                            Message.text.icontains(needle, autoescape=True)).exists())
    in_orders = (select(Order.id).where(Order.customer_id == c.c.customer_id,
                                        Order.id.icontains(needle, autoescape=True)).exists())
    terms = [Customer.name.icontains(needle, autoescape=True), c.c.guest_name.icontains(needle, autoescape=True),
             c.c.subject.icontains(needle, autoescape=True), c.c.thread_id == needle, in_messages, in_orders]
    digits = re.sub(r"[\s-]", "", needle)
    if digits.isdigit() and len(digits) == 4:  # «phone last 4»
        terms.append(Customer.phone.like("%" + digits))
    return or_(*terms)


class InquiryService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = engine_for(settings)
        # resumes by people, reads of the state: checkpoints that wait for the disk; customer messages:
        # the same graph on the relaxed checkpointer (the same saver unless PostgreSQL with async_commit)
        durable, relaxed = get_checkpointer(settings), get_checkpointer(settings, relaxed=settings.async_commit)
        self.graph = build_graph(durable)
        self.chat_graph = self.graph if relaxed is durable else build_graph(relaxed)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    # -- helpers --------------------------------------------------------------------------------------
    def _lock(self, thread_id: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(thread_id, threading.Lock())

    @contextmanager
    def _resuming(self, thread_id: str) -> Iterator[None]:
        """Held while a waiting handoff is read and resumed: against every process on the database (two
        replicas resuming one interrupt at once would both run from the same checkpoint, and one's
        turn would vanish from the thread). The caller holds the thread's in-process lock already."""
        with named_mutex(self.engine, f"conversation:{thread_id}"):
            yield

    @staticmethod
    def _config(thread_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": thread_id}}

    def _context(self, customer_id: str | None) -> InquiryContext:
        """Who asks, verified by the caller (login or order number + phone digits), and our settings."""
        return InquiryContext(settings=self.settings, customer_id=customer_id or None)

    def _conversation(self, thread_id: str) -> dict[str, Any]:
        row = conv_store.conversation_row(self.engine, thread_id)
        if row is None:
            raise NotFound(f"conversation {thread_id} not found", code="conversation_not_found")
        return row

    def pending(self, thread_id: str) -> tuple[str, dict[str, Any]] | None:
        """(interrupt id, payload) of the handoff waiting on this thread, or None."""
        snap = self.graph.get_state({"configurable": {"thread_id": thread_id}})
        for intr in snap.interrupts or ():
            return str(intr.id), dict(intr.value or {})
        return None

    def _check_text(self, text: str) -> str:
        text = (text or "").strip()
        if not text:
            raise SajangError("the message is empty", code="empty_message", status_code=422)
        if len(text) > self.settings.max_message_chars:
            raise SajangError(f"message too long: {len(text)} characters (limit {self.settings.max_message_chars})",
                              code="message_too_long", status_code=413)
        return text

    # -- conversations ----------------------------------------------------------------------------------
    def start_conversation(self, customer_id: str | None, guest_name: str | None = None, channel: str = "chat",
                           locale: str = "ko") -> str:
        """A new conversation row and its LangGraph thread id."""
        if customer_id and not customer_exists(self.engine, customer_id):
            raise NotFound(f"customer {customer_id} not found", code="customer_not_found")
        thread_id = str(uuid.uuid4())
        with conv_store.chat_write(self.engine, durable=not self.settings.async_commit) as s:
            s.add(Conversation(thread_id=thread_id, customer_id=customer_id or None,
                               guest_name=(guest_name or None) if not customer_id else None,
                               channel=channel, status="bot", locale=locale if locale in ("ko", "en") else "ko"))
        return thread_id

    def _thread_for(self, text: str, customer_id: str | None, thread_id: str | None, locale: str | None) -> str:
        """The conversation the message goes to (a new one when none is given)."""
        if thread_id is None:
            thread_id = self.start_conversation(customer_id, locale=locale or detect_locale(text, self.settings.locale))
        return thread_id

    def _prepare(self, text: str, customer_id: str | None, thread_id: str, locale: str | None,
                 attachments: list[dict[str, Any]] | None, turn_id: str) -> tuple[dict[str, Any], str, str, int]:
        """Store the customer's message: (conversation row, locale, turn id, message id). The caller holds
        the thread's lock, so the conversation's status read here is still true when the graph runs (a
        handoff another message of this conversation just made is seen)."""
        meta = {"attachments": attachments} if attachments else None
        attachment_ids = [int(a["id"]) for a in attachments or [] if isinstance(a, dict) and isinstance(a.get("id"), int)]
        try:
            # one conversation belongs to one customer: never run it with someone else's identity
            row, mid = conv_store.open_customer_turn(self.engine, thread_id, customer_id, text,
                                                     dedup_key=f"{thread_id}:{turn_id}:customer", meta=meta,
                                                     attachment_ids=attachment_ids,
                                                     durable=not self.settings.async_commit)
        except LookupError:
            raise NotFound(f"conversation {thread_id} not found", code="conversation_not_found") from None
        row = dict(row)
        row["verification"] = self._verify_in_chat(thread_id, row, text, mid)
        effective_locale = locale or row.get("locale") or self.settings.locale
        return row, effective_locale, turn_id, mid

    def _verify_in_chat(self, thread_id: str, row: dict[str, Any], text: str, mid: int) -> str | None:
        """A guest who types an order number and the phone's last 4 digits (the /chat page's rule and
        limits, `chat_verification`): verified | failed | locked, or None when the message gives none. On
        success the conversation row names the customer, so this very run answers as them (the question
        the bot held for the verification first)."""
        if row.get("customer_id") or row.get("status") in WAITING_STATUSES:
            return None
        result = verify_in_chat(self.engine, int(row["id"]), thread_id, mid, text)
        if result is None:
            return None
        if result.customer_id:
            row["customer_id"] = result.customer_id
        return result.outcome

    def _waiting_result(self, thread_id: str, row: dict[str, Any]) -> dict[str, Any]:
        return {"thread_id": thread_id, "category": row.get("category"), "urgency": row.get("urgency"),
                "answer": None, "sources": [], "confidence": None, "handoff": True,
                "handoff_reason": row.get("handoff_reason") or "requested"}

    def _append_while_waiting(self, thread_id: str, row: dict[str, Any], text: str, mid: int,
                              files: list[dict[str, Any]]) -> dict[str, Any] | None:
        """If a person has this conversation, the line goes to them; the bot still answers what it can and
        says when the person will reply (`reply_while_waiting`), a turn of the thread the agent reads too.

        Only a conversation in the queue (new / assigned) can have a handoff waiting: `escalate` puts it
        there before the graph interrupts, and resuming to the end resolves it. Other messages skip the
        checkpoint read."""
        if row["status"] not in WAITING_STATUSES:
            return None
        with session_scope(self.engine) as s:  # the line went to a person: a keyed retry must not re-run it
            sent = s.get(Message, mid)
            if sent is not None:
                sent.meta = {**(sent.meta or {}), "to_person": True}
        # «제주도는요?» while a person is coming: read with the question before the handoff, as the chat reads it
        values = self.graph.get_state({"configurable": {"thread_id": thread_id}}).values or {}
        memory = values.get("memory")
        line = read_in_context(text, memory, None, None, utcnow()).question if memory else text
        earlier = [str(t.get("text") or "") for t in values.get("history") or [] if t.get("role") == "customer"]
        bot = reply_while_waiting(self.settings, self.engine, text=line, customer_id=row["customer_id"],
                                  locale=detect_locale(text, row.get("locale") or self.settings.locale),
                                  earlier=earlier)
        answer, sources, confidence = bot["answer"], bot["sources"], round(float(bot["confidence"]), 4)
        with self._resuming(thread_id):
            waiting = self.pending(thread_id) is not None
            if waiting:
                self.chat_graph.invoke(Command(resume={"type": "customer", "text": text, "message_id": mid,
                                                       "event_id": f"customer:{mid}", "attachments": files,
                                                       "bot_answer": answer, "bot_sources": sources,
                                                       "bot_confidence": confidence}),
                                       self._config(thread_id), context=self._context(row["customer_id"]))
        if not waiting and answer:  # queued for a person (claimed by an agent) without a handoff waiting in the graph
            conv_store.add_message(self.engine, thread_id, "ai", answer, dedup_key=f"{thread_id}:customer:{mid}:ai",
                                   confidence=confidence, sources=sources, meta={"while_waiting": True})
        result = self._waiting_result(thread_id, row)
        if answer:
            result.update(answer=answer, sources=sources, confidence=confidence)
        return result

    @staticmethod
    def _files(attachments: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        """What the graph keeps of the files sent with a message (the agent opens them by id)."""
        return [{"id": a.get("id"), "filename": a.get("filename"), "content_type": a.get("content_type")}
                for a in attachments or [] if isinstance(a, dict)]

    @staticmethod
    def _result(thread_id: str, values: dict[str, Any]) -> dict[str, Any]:
        reason = values.get("handoff_reason")
        return {"thread_id": thread_id, "category": values.get("category"), "urgency": values.get("urgency"),
                "answer": values.get("answer") or None, "sources": list(values.get("sources") or []),
                "confidence": round(float(values.get("confidence") or 0.0), 4),
                "handoff": bool(reason), "handoff_reason": reason}

    def ask(self, text: str, customer_id: str | None = None, thread_id: str | None = None, locale: str | None = None,
            attachments: list[dict[str, Any]] | None = None, deadline_s: float | None = None,
            client_key: str | None = None) -> dict[str, Any]:
        """One customer message through the graph: the `sajang ask --json` object. `deadline_s`: the chat
        model's budget for this turn (default `llm_turn_deadline_s`; a channel that needs an answer fast
        passes `llm_fast_deadline_s`); past it the offline pipeline answers. `client_key` (the REST
        `Idempotency-Key`, needs `thread_id`): a retry of a message already answered returns that answer
        and stores nothing; one whose first attempt died midway finishes it (its rows are keyed on it)."""
        deadline = turn_budget(self.settings, deadline_s)
        with serving_request(), self._turn(text, customer_id, thread_id, locale, attachments, client_key) as turn:
            if turn.replay is not None:
                return turn.replay
            if turn.waiting is not None:
                return turn.waiting
            # durability="exit": one checkpoint write per message (at the end or at the handoff interrupt)
            # instead of one per node; a run that dies midway is simply re-asked, its rows are deduplicated
            values = self.chat_graph.invoke(turn.graph_input, with_deadline(turn.config, deadline,
                                                                            new_mask(self.settings)),
                                            context=turn.context, durability=DURABILITY)
        return self._result(turn.thread_id, values)

    @staticmethod
    def _turn_id(client_key: str | None) -> str:
        """The turn's id: random, or derived from the client's idempotency key (so a retry's rows are the
        first attempt's rows)."""
        if client_key is None:
            return uuid.uuid4().hex
        return "key-" + hashlib.blake2b(client_key.encode(), digest_size=12).hexdigest()

    def _answered(self, thread_id: str, text: str, client_key: str) -> dict[str, Any] | None:
        """The result the first attempt of this keyed message gave, rebuilt from its rows; None when the
        message is not stored yet or was not answered (its first attempt died midway: run it again).
        The same key with another text is refused."""
        prefix = f"{thread_id}:{self._turn_id(client_key)}"
        with self.engine.connect() as conn:
            sent = conn.execute(select(Message.id, Message.text, Message.meta).where(
                Message.dedup_key == f"{prefix}:customer")).first()
            if sent is None:
                return None
            if sent.text != (text or "").strip():
                raise Conflict("this Idempotency-Key was already used for another message",
                               code="idempotency_key_reused")
            answer = conn.execute(select(Message.text, Message.meta, Message.sources, Message.confidence,
                                         Message.category).where(Message.dedup_key.in_(
                (f"{prefix}:ai", f"{prefix}:handoff", f"{thread_id}:customer:{sent.id}:ai")))).first()
        row = self._conversation(thread_id)
        if answer is None:
            # a line that went to a waiting person, the bot having nothing to add, is answered by its own row
            return self._waiting_result(thread_id, row) if (sent.meta or {}).get("to_person") else None
        meta = answer.meta or {}
        if meta.get("while_waiting"):
            result = self._waiting_result(thread_id, row)
            result.update(answer=answer.text, sources=list(answer.sources or []), confidence=answer.confidence)
            return result
        reason = meta.get("reason") if meta.get("handoff") else None
        return {"thread_id": thread_id, "category": answer.category, "urgency": meta.get("urgency"),
                "answer": answer.text or None, "sources": list(answer.sources or meta.get("sources") or []),
                "confidence": round(float(answer.confidence or 0.0), 4),
                "handoff": bool(reason), "handoff_reason": reason}

    @contextmanager
    def _turn(self, text: str, customer_id: str | None, thread_id: str | None, locale: str | None,
              attachments: list[dict[str, Any]] | None, client_key: str | None = None) -> Iterator[_Turn]:
        """Store a customer message and hold its conversation's lock while the caller runs the graph.
        `waiting` is set instead when a person has the conversation (the line went to them); `replay`
        when a keyed message's retry finds its first attempt answered (under the lock: a retry sent
        while the first attempt still runs in this process waits for it)."""
        text = self._check_text(text)
        thread_id = self._thread_for(text, customer_id, thread_id, locale)
        files = self._files(attachments)
        with self._lock(thread_id):
            replay = self._answered(thread_id, text, client_key) if client_key is not None else None
            if replay is not None:
                yield _Turn(thread_id=thread_id, waiting=None, graph_input={}, config=self._config(thread_id),
                            context=self._context(customer_id), replay=replay)
                return
            row, loc, turn_id, mid = self._prepare(text, customer_id, thread_id, locale, attachments,
                                                   self._turn_id(client_key))
            yield _Turn(thread_id=thread_id,
                        waiting=self._append_while_waiting(thread_id, row, text, mid, files),
                        graph_input={"text": text, "locale": loc, "turn_id": turn_id, "message_id": mid,
                                     "attachments": files, "verification": row.get("verification")},
                        config=self._config(thread_id), context=self._context(row["customer_id"]))

    def stream_ask(self, text: str, customer_id: str | None = None, thread_id: str | None = None,
                   locale: str | None = None, attachments: list[dict[str, Any]] | None = None,
                   deadline_s: float | None = None, client_key: str | None = None) -> Iterator[str | dict[str, Any]]:
        """Text chunks of the answer as they are produced (tokens of the chat model), then the final dict
        (`deadline_s` and `client_key` as in `ask`). With `llm_mask_pii` the model streams placeholders: each
        chunk carries the real values, a placeholder cut at a chunk's end waits for the next."""
        deadline = turn_budget(self.settings, deadline_s)
        mask = new_mask(self.settings)
        with serving_request():
            with self._turn(text, customer_id, thread_id, locale, attachments, client_key) as turn:
                if turn.replay is not None:
                    if turn.replay.get("answer"):
                        yield str(turn.replay["answer"])
                    yield turn.replay
                    return
                if turn.waiting is not None:
                    yield turn.waiting
                    return
                values: dict[str, Any] = {}
                buffer, sent = "", ""
                for mode, data in self.chat_graph.stream(
                        turn.graph_input, with_deadline(turn.config, deadline, mask), context=turn.context,
                        stream_mode=["messages", "values"],
                        durability=DURABILITY):
                    if mode == "values":
                        values = data
                        continue
                    chunk, meta = data
                    if "final_answer" not in (meta.get("tags") or []):
                        continue
                    buffer += chunk.content if isinstance(chunk.content, str) else ""
                    decoded = partial_json_string(buffer, "answer")
                    if mask is not None:
                        decoded = mask.unmask_prefix(decoded)
                    if len(decoded) > len(sent):
                        yield decoded[len(sent):]
                        sent = decoded
            result = self._result(turn.thread_id, values)
            answer = result.get("answer") or ""
            if answer and not answer.startswith(sent):
                sent = ""  # the model's text was post-processed: send the final text whole
            if answer and len(answer) > len(sent):
                for piece in re.split(r"(?<=\n\n)", answer[len(sent):]):
                    if piece:
                        yield piece
            yield result

    # -- queue ------------------------------------------------------------------------------------------
    def list_handoffs(self, status: str | None = None, q: str | None = None,
                      limit: int | None = None, assignee_id: int | None = None) -> list[dict[str, Any]]:
        """Handed-off conversations (None = all; `pending` = new + assigned; or one status), most urgent first.

        `q` narrows them to those whose customer name, guest name, subject, any message's text or an
        order number of the customer contains it (any case; `%` and `_` are plain characters), or whose
        customer's phone ends with it (four digits: «phone last 4»); then at most `limit` (default
        SEARCH_LIMIT), the latest active first."""
        c = Conversation.__table__
        last_customer = (select(Message.text).where(Message.conversation_id == c.c.id, Message.role == "customer")
                         .order_by(Message.created_at.desc(), Message.id.desc()).limit(1).scalar_subquery())
        count = select(func.count(Message.id)).where(Message.conversation_id == c.c.id).scalar_subquery()
        stmt = (select(c, Customer.name.label("customer_name"), User.display_name.label("assignee_name"),
                       last_customer.label("last_message"), count.label("message_count"))
                .select_from(c.outerjoin(Customer, Customer.id == c.c.customer_id)
                             .outerjoin(User, User.id == c.c.assignee_id))
                .where(c.c.handed_off.is_(True)))
        if status in (None, "all"):
            pass
        elif status == "pending":
            stmt = stmt.where(c.c.status.in_(WAITING_STATUSES))
        elif status in ("new", "assigned", "resolved"):
            stmt = stmt.where(c.c.status == status)
        else:
            raise SajangError(f"unknown status {status!r} (pending, new, assigned, resolved)", code="bad_status")
        if assignee_id is not None:
            stmt = stmt.where(c.c.assignee_id == assignee_id)
        needle = " ".join((q or "").split())[:SEARCH_MAX_CHARS]
        if needle:
            stmt = stmt.where(_search_condition(c, needle)).order_by(c.c.updated_at.desc(), c.c.id.desc()).limit(
                max(1, min(limit or SEARCH_LIMIT, SEARCH_LIMIT)))
        else:
            stmt = stmt.order_by(c.c.handed_off_at.asc(), c.c.id.asc())
            if limit is not None:
                stmt = stmt.limit(max(1, limit))
        urgency_rank = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(stmt).mappings()]
        out = []
        for r in rows:
            out.append({
                "thread_id": r["thread_id"], "conversation_id": r["id"], "status": r["status"],
                "category": r["category"], "urgency": r["urgency"], "handoff_reason": r["handoff_reason"],
                "customer_id": r["customer_id"], "customer_name": r["customer_name"], "guest_name": r["guest_name"],
                "subject": r["subject"], "last_message": r["last_message"], "message_count": r["message_count"],
                "assignee_id": r["assignee_id"], "assignee_name": r["assignee_name"], "channel": r["channel"],
                "locale": r["locale"], "created_at": _iso(r["created_at"]), "updated_at": _iso(r["updated_at"]),
                "handed_off_at": _iso(r["handed_off_at"]), "assigned_at": _iso(r["assigned_at"]),
                "first_response_at": _iso(r["first_response_at"]), "resolved_at": _iso(r["resolved_at"]),
            })
        out.sort(key=lambda x: (x["status"] == "resolved", urgency_rank.get(x["urgency"] or "normal", 2)))
        return out

    def get_conversation(self, thread_id: str) -> dict[str, Any]:
        """The conversation with its messages and the pending handoff payload (`pending`, None if none)."""
        row = self._conversation(thread_id)
        with session_scope(self.engine) as s:
            msgs = list(s.scalars(select(Message).where(Message.conversation_id == row["id"])
                                  .order_by(Message.created_at, Message.id)))
            atts: dict[int, list[dict[str, Any]]] = {}
            for a in s.scalars(select(Attachment).where(Attachment.conversation_id == row["id"])):
                if a.message_id is not None:
                    atts.setdefault(a.message_id, []).append(
                        {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size,
                         "uploaded_by": a.uploaded_by})
            authors = {u.id: u.display_name for u in s.scalars(select(User).where(
                User.id.in_({m.author_id for m in msgs if m.author_id is not None})))} if msgs else {}
            customer_name = s.scalar(select(Customer.name).where(Customer.id == row["customer_id"])) \
                if row["customer_id"] else None
            assignee_name = s.scalar(select(User.display_name).where(User.id == row["assignee_id"])) \
                if row["assignee_id"] else None
        messages = []
        for m in msgs:
            meta = m.meta or {}
            messages.append({
                "id": m.id, "role": m.role, "text": m.text, "time": _iso(m.created_at), "created_at": _iso(m.created_at),
                "attachments": atts.get(m.id) or list(meta.get("attachments") or []),
                "sources": m.sources or [], "category": m.category, "confidence": m.confidence,
                "author_id": m.author_id,
                "author_name": authors.get(m.author_id) if m.author_id else (meta.get("author_name") or None),
                "handoff": bool(meta.get("handoff")),
            })
        pend = self.pending(thread_id)
        if not self._consistent(row, pend is not None) and self.reconcile(thread_id):  # a crash left it so
            return self.get_conversation(thread_id)
        out = {k: (_iso(v) if k.endswith("_at") else v) for k, v in row.items() if k != "id"}
        out.update(conversation_id=row["id"], customer_name=customer_name, assignee_name=assignee_name,
                   messages=messages, pending=pend[1] if pend else None, waiting=pend is not None,
                   ai_draft=(pend[1].get("ai_draft") if pend else None))
        return out

    # -- consistency after a crash -----------------------------------------------------------------------
    def _consistent(self, row: Mapping[str, Any], waiting: bool) -> bool:
        """A conversation in the queue (new / assigned) has a handoff waiting in its thread, and one out
        of it (bot / resolved) has none. A crash between a node's row write and the checkpoint write
        (`durability="exit"`) can leave either side behind."""
        return waiting == (row["status"] in WAITING_STATUSES) or not row.get("handed_off")

    def reconcile(self, thread_id: str) -> str | None:
        """Make the thread agree with the conversation row (the row is what agents and customers were
        told): a queued conversation whose thread does not wait gets its handoff back (the agent's card,
        from the rows); a finished one whose thread still waits has that wait closed, writing no rows.
        Returns what was done (`restored_handoff` | `closed_wait`) or None. Holds the thread's locks."""
        with self._lock(thread_id), self._resuming(thread_id):
            row = self._conversation(thread_id)
            config = self._config(thread_id)
            waiting = self.pending(thread_id) is not None
            if self._consistent(row, waiting):
                return None
            if waiting:  # resolved (or back with the bot) while the graph still waits for a person
                self.graph.update_state(config, {"resolved": True, "waiting": False}, as_node="handoff")
                action = "closed_wait"
            else:
                self.graph.update_state(config, {"handoff": self._handoff_from_rows(thread_id, row),
                                                 "waiting": True}, as_node="escalate")
                self.graph.invoke(None, config, context=self._context(row["customer_id"]))
                action = "restored_handoff"
        with session_scope(self.engine) as s:
            audit(s, "system", "conversation.reconcile", "conversation", thread_id, done=action,
                  status=row["status"])
        return action

    def _handoff_from_rows(self, thread_id: str, row: Mapping[str, Any]) -> dict[str, Any]:
        """The agent's card rebuilt from the conversation's rows (what `escalate` would have put there)."""
        with self.engine.connect() as conn:
            lines = list(conn.scalars(select(Message.text).where(
                Message.conversation_id == row["id"], Message.role == "customer")
                .order_by(Message.created_at.desc(), Message.id.desc()).limit(3)))[::-1]
        reason = row.get("handoff_reason") or "requested"
        return {"reason": reason, "summary": " / ".join(x[:120] for x in lines) or "상담원 연결",
                "category": row.get("category"), "urgency": row.get("urgency"), "ai_draft": "", "sources": [],
                "customer_id": row.get("customer_id"), "thread_id": thread_id, "customer_lines": lines[-1:],
                "attachments": [], "unknown_terms": []}

    def reconcile_all(self, limit: int = 2000, recent: timedelta = timedelta(days=3)) -> dict[str, int]:
        """At start-up: `reconcile` the handed-off conversations a crash may have left inconsistent — those
        in the queue, and those that left it in the last `recent` (newest first, at most `limit`)."""
        since = utcnow() - recent
        with self.engine.connect() as conn:
            threads = list(conn.scalars(
                select(Conversation.thread_id).where(Conversation.handed_off.is_(True), (
                    Conversation.status.in_(WAITING_STATUSES) | (Conversation.updated_at >= since)))
                .order_by(Conversation.updated_at.desc()).limit(limit)))
        counts = {"checked": len(threads), "restored_handoff": 0, "closed_wait": 0}
        for thread_id in threads:
            action = self.reconcile(thread_id)
            if action:
                counts[action] += 1
        return counts

    def claim(self, thread_id: str, user_id: int) -> bool:
        """Take a conversation (atomic: of two agents claiming at once, exactly one wins)."""
        row = self._conversation(thread_id)
        now = utcnow()
        with session_scope(self.engine) as s:
            res = s.execute(update(Conversation)
                            .where(Conversation.id == row["id"], Conversation.assignee_id.is_(None),
                                   Conversation.status.in_(("new", "bot")))
                            .values(status="assigned", assignee_id=user_id, assigned_at=now, updated_at=now,
                                    handed_off=True, handed_off_at=func.coalesce(Conversation.handed_off_at, now)))
            won = getattr(res, "rowcount", 0) == 1  # an UPDATE's CursorResult
            if won:
                audit(s, str(user_id), "conversation.claim", "conversation", thread_id)
        if won:
            return True
        return self._conversation(thread_id)["assignee_id"] == user_id

    def reply(self, thread_id: str, text: str, agent_user_id: int | None = None, agent_name: str = "상담원",
              resolve: bool = False, client_key: str | None = None,
              attachments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """An agent's message to the customer; resumes the waiting handoff. `attachments` (the
        conversation's own uploads) are written with the message, so a poll never sees it without them.

        Every reply is its own event (a random id, or the client's idempotency key): two replies at once
        on one conversation, through two replicas, are two messages, and a reply after a crash that left
        the checkpoint on an interrupt already answered is stored too. The same `client_key` again
        returns the first reply (`duplicate`); without a key an identical reply by the same agent within
        a few seconds (a double click) is one. The handoff is read and resumed under a lock all processes
        share."""
        text = (text or "").strip()
        if not text and not resolve:
            raise SajangError("the reply is empty", code="empty_message", status_code=422)
        if len(text) > self.settings.max_message_chars * 5:
            raise SajangError("reply too long", code="message_too_long", status_code=413)
        row = self._conversation(thread_id)
        if row["assignee_id"] is not None and agent_user_id is not None and row["assignee_id"] != agent_user_id:
            raise Conflict("another agent is handling this conversation", code="already_claimed")
        event = "reply:" + (self._turn_id(client_key) if client_key is not None else uuid.uuid4().hex)
        key = f"{thread_id}:{event}:agent"
        with self._lock(thread_id), self._resuming(thread_id):
            dup = self._keyed_reply(key, text) if client_key is not None else \
                self._recent_duplicate(row["id"], text, agent_user_id)
            if dup is not None:
                status = self._conversation(thread_id)["status"]
                return {"thread_id": thread_id, "status": status, "message_id": dup, "resolved": status == "resolved",
                        "duplicate": True}
            if self.pending(thread_id) is not None:
                self.graph.invoke(Command(resume={"type": "agent", "event_id": event, "text": text,
                                                  "agent_user_id": agent_user_id, "agent_name": agent_name,
                                                  "resolve": resolve, "attachments": attachments or []}),
                                  self._config(thread_id), context=self._context(row["customer_id"]))
                with self.engine.connect() as conn:
                    mid = conn.execute(select(Message.id).where(Message.dedup_key == key)).scalar()
            else:
                mid = None
                if text:
                    mid, _ = conv_store.add_message(self.engine, thread_id, "agent", text, dedup_key=key,
                                                    author_id=agent_user_id,
                                                    meta=conv_store.agent_message_meta(agent_name, attachments))
                conv_store.update_conversation(self.engine, thread_id, handed_off=True,
                                               handed_off_at=row["handed_off_at"] or utcnow())
                conv_store.mark_agent_reply(self.engine, thread_id, agent_user_id, resolve)
        with session_scope(self.engine) as s:
            audit(s, agent_name, "conversation.reply", "conversation", thread_id, resolve=resolve, message_id=mid)
        status = self._conversation(thread_id)["status"]
        return {"thread_id": thread_id, "status": status, "message_id": mid, "resolved": status == "resolved",
                "duplicate": False}

    def _keyed_reply(self, dedup_key: str, text: str) -> int | None:
        """The message a reply with this idempotency key already wrote (None: not sent yet)."""
        with self.engine.connect() as conn:
            sent = conn.execute(select(Message.id, Message.text).where(Message.dedup_key == dedup_key)).first()
        if sent is None:
            return None
        if sent.text != text:
            raise Conflict("this Idempotency-Key was already used for another reply", code="idempotency_key_reused")
        return int(sent.id)

    def _recent_duplicate(self, conversation_id: int, text: str, agent_user_id: int | None) -> int | None:
        if not text:
            return None
        with self.engine.connect() as conn:
            last = conn.execute(select(Message.id, Message.role, Message.text, Message.author_id, Message.created_at)
                                .where(Message.conversation_id == conversation_id)
                                .order_by(Message.created_at.desc(), Message.id.desc()).limit(1)).first()
        if last and last.role == "agent" and last.text == text and last.author_id == agent_user_id and \
                utcnow() - last.created_at < DOUBLE_SUBMIT_WINDOW:
            return int(last.id)
        return None

    def resolve(self, thread_id: str, user_id: int | None = None) -> dict[str, Any]:
        row = self._conversation(thread_id)
        with self._lock(thread_id), self._resuming(thread_id):
            if self.pending(thread_id) is not None:
                self.graph.invoke(Command(resume={"type": "resolve", "event_id": f"resolve:{uuid.uuid4().hex}"}),
                                  self._config(thread_id), context=self._context(row["customer_id"]))
            else:
                conv_store.mark_resolved(self.engine, thread_id)
        with session_scope(self.engine) as s:
            audit(s, str(user_id if user_id is not None else "cli"), "conversation.resolve", "conversation", thread_id)
        return {"thread_id": thread_id, "status": "resolved"}

    # -- learning -----------------------------------------------------------------------------------------
    def _known_names(self, text: str, row: dict[str, Any]) -> list[str]:
        """Customer names that occur in `text`: this conversation's customer and any customer or recipient
        of our store whose full name appears (3–4 Hangul syllables)."""
        names: set[str] = set()
        candidates = {m for n in (3, 4) for run in re.findall(r"[가-힣]+", text)
                      for m in (run[i:i + n] for i in range(len(run) - n + 1))}
        with self.engine.connect() as conn:
            if row.get("customer_id"):
                name = conn.execute(select(Customer.name).where(Customer.id == row["customer_id"])).scalar()
                if name:
                    names.add(name)
            if row.get("guest_name"):
                names.add(row["guest_name"])
            if candidates:
                cand = list(candidates)[:2000]
                names.update(n for n in conn.execute(select(Customer.name).where(Customer.name.in_(cand))).scalars() if n)
                names.update(n for n in conn.execute(select(Order.recipient_name).where(
                    Order.recipient_name.in_(cand))).scalars() if n)
        return sorted(names)

    def feedback(self, thread_id: str, correct_text: str, user_id: int | None = None, author_name: str = "상담원",
                 message_id: int | None = None, generalise_personal: bool = False) -> dict[str, Any]:
        """Mark an AI answer wrong and teach the correct one: a learned answer active from the next message.

        Personal data (order numbers, names, phones, addresses, e-mails) in the correction is refused
        (`personal_data`), or replaced by placeholders with `generalise_personal`; the question is always
        generalised. Audited with who, when and the source conversation; undo = `undo_learned`.
        """
        from sajang.knowledge.service import get_knowledge

        correct = (correct_text or "").strip()
        if not correct:
            raise SajangError("the corrected answer is empty", code="empty_message", status_code=422)
        row = self._conversation(thread_id)
        with session_scope(self.engine) as s:
            msgs = [{"id": m.id, "role": m.role, "text": m.text, "category": m.category,
                     "handoff": bool((m.meta or {}).get("handoff"))}
                    for m in s.scalars(select(Message).where(Message.conversation_id == row["id"])
                                       .order_by(Message.created_at, Message.id))]
            target_id = feedback_target(msgs) if message_id is None else message_id
            target = next((m for m in msgs if m["id"] == target_id), None)
            if message_id is not None and all(m["id"] != message_id for m in correctable_answers(msgs)):
                # only the bot's answers are corrected: not a customer's line, an agent's reply, or the
                # "connecting you" notice after a plain request for a person
                raise NotFound(f"message {message_id} is not an AI answer of conversation {thread_id} to correct")
            question_msg = learned_question(msgs, target_id)
            if question_msg is None:
                raise SajangError("no customer question to learn from in this conversation", code="no_question")
            question = str(question_msg["text"])
            found_category = (target["category"] if target else None) or row.get("category")
            category = str(found_category) if found_category else None
        names = self._known_names(correct + " " + question, row)
        findings = find_personal_data(correct, names)
        generalised = False
        if findings:
            if not generalise_personal:
                kinds = ", ".join(sorted({f.kind for f in findings}))
                raise PersonalDataError(
                    f"the correction contains personal data ({kinds}); a learned answer is shown to every "
                    "customer, so write it without order numbers, names, phone numbers, addresses or e-mails")
            correct = generalise(correct, names)
            generalised = True
        question = generalise(question, names)
        kb = get_knowledge(self.settings)
        learned_id = kb.add_learned(question, correct, author_name=author_name, author_id=user_id,
                                    source_conversation_id=row["id"], source_thread_id=thread_id, category=category)
        with session_scope(self.engine) as s:
            s.add(Feedback(conversation_id=row["id"], message_id=target_id, user_id=user_id, verdict="down",
                           correct_answer=correct, learned_answer_id=learned_id))
            audit(s, author_name, "feedback.correct", "conversation", thread_id, message_id=target_id,
                  learned_answer_id=learned_id, generalised=generalised, user_id=user_id)
        learned = next((x for x in kb.list_learned() if x["id"] == learned_id), None)
        return {"thread_id": thread_id, "message_id": target_id, "learned_id": learned_id, "question": question,
                "answer": correct, "category": category, "generalised": generalised, "learned": learned}

    def undo_learned(self, learned_id: int | str, actor: str) -> dict[str, Any]:
        from sajang.knowledge.service import get_knowledge

        get_knowledge(self.settings).deactivate_learned(learned_id, actor)
        return {"learned_id": int(str(learned_id).removeprefix("learned:")), "active": False}

    # -- agent help ---------------------------------------------------------------------------------------
    def suggest(self, thread_id: str) -> dict[str, Any]:
        """A fresh AI draft for the agent from the customer's latest lines (no rows written)."""
        row = self._conversation(thread_id)
        with self.engine.connect() as conn:
            msgs = [dict(m) for m in conn.execute(
                select(Message.role, Message.text, Message.category)
                .where(and_(Message.conversation_id == row["id"], Message.role.in_(("customer", "ai"))))
                .order_by(Message.created_at, Message.id)).mappings()]
        # the lines that carry a question, newest first (a bare "a person, please" draws no draft)
        lines = [str(m["text"]) for m in reversed(question_lines(msgs))][:3]
        if not lines:
            return {"thread_id": thread_id, "draft": "", "sources": [], "category": None, "urgency": None,
                    "confidence": 0.0}
        # the newest line that says more than "get me a person" is what the agent needs to answer
        cleaned = [HUMAN_REQUEST.sub(" ", ln).strip() for ln in lines]
        text = next((c for c in cleaned if len(c) >= 6), " ".join(reversed(lines)))
        locale = detect_locale(lines[0], row.get("locale") or "ko")
        # read, classified and searched the way the chat does it, so the draft the agent gets for
        # «택배비몇천원이에요» is the answer the bot would give (customer-facing text only: the draft is sent as is)
        found = look_up(self.settings, text, locale)
        cls = found.classification
        cid = row.get("customer_id")
        orders = recent_orders(self.engine, cid, 5, locale)
        policy = store_policy(self.settings)
        # None: no chat model, or it failed or is paused by the breaker; the offline draft then
        out = answer_with_model(self.settings, policy, text=text, locale=locale, customer_id=cid,
                                customer=customer_brief(self.engine, cid), orders=orders, hits=found.hits, history=[],
                                category=cls.category, urgency=cls.urgency, retrieval_confidence=found.confidence,
                                unknown_terms=found.unknown_terms, config=self._config(thread_id)) \
            if self.settings.llm_enabled else None
        if out is None:
            out = offline_answer(self.settings, policy, text=text, locale=locale, category=cls.category,
                                 customer_id=cid, orders=orders, hits=found.hits,
                                 retrieval_confidence=found.confidence, unknown_terms=found.unknown_terms,
                                 mood=found.mood, normalized_text=found.question)
        return {"thread_id": thread_id, "draft": out["answer"], "sources": out["sources"], "category": cls.category,
                "urgency": cls.urgency, "confidence": round(float(out["confidence"]), 4)}

    def classify(self, texts: list[str]) -> list[Classification]:
        if self.settings.llm_enabled:
            return [classify_text(self.settings, t) for t in texts]
        return get_classifier(self.settings).classify_many(texts)


def partial_json_string(buffer: str, key: str) -> str:
    """The (possibly incomplete) string value of `key` in a JSON object still being streamed."""
    m = re.search('"' + re.escape(key) + r'"\s*:\s*"', buffer)
    if not m:
        return ""
    out: list[str] = []
    i = m.end()
    while i < len(buffer):
        ch = buffer[i]
        if ch == '"':
            break
        if ch == "\\":
            if i + 1 >= len(buffer):
                break
            nxt = buffer[i + 1]
            if nxt == "u":
                if i + 6 > len(buffer):
                    break
                out.append(json.loads(f'"{buffer[i:i + 6]}"'))
                i += 6
                continue
            out.append(json.loads(f'"\\{nxt}"'))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


_services: dict[tuple[str, str, str | None, str | None], InquiryService] = {}
_services_lock = threading.Lock()


def get_inquiry_service(settings: Settings) -> InquiryService:
    """One service per (database, data dir, chat model) per process."""
    from pathlib import Path

    key = (settings.resolved_database_url, str(Path(settings.data_dir).resolve()), settings.chat_model,
           settings.openai_base_url)
    with _services_lock:
        svc = _services.get(key)
        if svc is None:
            svc = _services[key] = InquiryService(settings)
    return svc


def reset_services() -> None:
    with _services_lock:
        _services.clear()
