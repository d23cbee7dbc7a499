"""The inquiry feature as the agent hub, the chat page and the REST routes call it, with typed results.

`InquiryService` (`sajang.graphs.inquiry.service`) runs the graph and owns the conversation rows; this
module is the surface above it: each call returns a pydantic model instead of a dict, and the rules the
pages and routes used to restate live here once —

- the queue tabs: `pending`, `new`, `assigned`, `resolved`, `all`, and `mine` (assigned to the caller);
- claim-then-reply: an agent answering a conversation still in the queue takes it first (atomic: of two
  agents, one wins, the other gets `already_claimed`), then the reply carries its attachments;
- a 👎 corrects the bot answer the agent picks among `correctable_answers`, by default what
  `feedback_target` picks (the same for the hub, REST and the CLI);
- the customer lines that form the question (`question_lines`), the «상담원 연결» text;
- undo of a learned answer.

Models keep the service's field order and let new fields through (`extra="allow"`), so the REST
responses and the CLI's `--json` objects stay byte for byte what they were.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, PrivateAttr

from sajang import metrics
from sajang.config import Settings
from sajang.errors import Conflict, NotFound
from sajang.graphs.inquiry.conversations import conversation_row
from sajang.graphs.inquiry.prompts import answer_gist
from sajang.graphs.inquiry.service import (
    HANDOFF_REQUEST_TEXT,
    SEARCH_LIMIT,
    InquiryService,
    asks_only_for_a_person,
    correctable_answers,
    feedback_target,
    get_inquiry_service,
    handoff_request_text,
    question_lines,
)
from sajang.knowledge.service import get_knowledge
from sajang.services.accounts import StaffMember
from sajang.services.attachments import attachments_for, link_to_message
from sajang.services.notify import queue_reply_notice

__all__ = ["HANDOFF_REQUEST_TEXT", "SEARCH_LIMIT", "AskResult", "ConversationView", "FeedbackResult", "HandoffItem", "Inquiries",
           "MessageView", "QueueFilter", "ReplyResult", "Suggestion", "answer_gist", "asks_only_for_a_person",
           "correctable_answers",
           "feedback_target",
           "handoff_request_text", "inquiries", "question_lines"]

log = logging.getLogger(__name__)

QueueFilter = Literal["new", "pending", "mine", "assigned", "resolved", "all"]
ARTICLE_QUERY_LINES = 3  # the customer's last N question lines form the article search


class _Result(BaseModel):
    """A service result: typed fields, new fields let through, and the service's own key order kept for
    the JSON the routes and the CLI print (`as_dict`)."""

    model_config = ConfigDict(extra="allow")
    _keys: list[str] = PrivateAttr(default_factory=list)

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Self:
        result = cls.model_validate(dict(data))
        result._keys = list(data)
        return result

    def as_dict(self) -> dict[str, Any]:
        dumped = self.model_dump()
        keys = [k for k in self._keys if k in dumped] + [k for k in dumped if k not in self._keys]
        return {k: dumped[k] for k in keys}


class AskResult(_Result):
    """The bot's answer to one customer message (the `sajang ask --json` object)."""

    thread_id: str
    category: str | None = None
    urgency: str | None = None
    answer: str | None = None
    sources: list[dict[str, Any]] = []
    confidence: float | None = None
    handoff: bool = False
    handoff_reason: str | None = None


class HandoffItem(_Result):
    """One row of the handoff queue."""

    thread_id: str
    conversation_id: int
    status: str
    category: str | None = None
    urgency: str | None = None
    handoff_reason: str | None = None
    customer_id: str | None = None
    customer_name: str | None = None
    guest_name: str | None = None
    subject: str | None = None
    last_message: str | None = None
    message_count: int = 0
    assignee_id: int | None = None
    assignee_name: str | None = None
    channel: str | None = None
    locale: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    handed_off_at: str | None = None
    assigned_at: str | None = None
    first_response_at: str | None = None
    resolved_at: str | None = None


class MessageView(_Result):
    id: int
    role: str
    text: str = ""
    time: str | None = None
    created_at: str | None = None
    attachments: list[dict[str, Any]] = []
    sources: list[dict[str, Any]] = []
    category: str | None = None
    confidence: float | None = None
    author_id: int | None = None
    author_name: str | None = None
    handoff: bool = False


class ConversationView(_Result):
    """A conversation with its messages and the waiting handoff's payload (`pending`, None if none)."""

    thread_id: str
    status: str
    customer_id: str | None = None
    assignee_id: int | None = None
    messages: list[MessageView] = []
    pending: dict[str, Any] | None = None
    waiting: bool = False
    ai_draft: str | None = None


class ReplyResult(_Result):
    thread_id: str
    status: str
    message_id: int | None = None
    resolved: bool = False
    duplicate: bool = False


class Suggestion(_Result):
    thread_id: str
    draft: str = ""
    sources: list[dict[str, Any]] = []
    category: str | None = None
    urgency: str | None = None
    confidence: float = 0.0


class FeedbackResult(_Result):
    thread_id: str
    message_id: int | None = None
    learned_id: int
    question: str
    answer: str
    category: str | None = None
    generalised: bool = False
    learned: dict[str, Any] | None = None


class Inquiries:
    """Typed use cases over one `InquiryService` (one per database and data dir)."""

    def __init__(self, settings: Settings, service: InquiryService | None = None) -> None:
        self.settings = settings
        self.service = service or get_inquiry_service(settings)

    # -- customers --------------------------------------------------------------------------------
    def start(self, customer_id: str | None, guest_name: str | None = None, channel: str = "chat",
              locale: str = "ko") -> str:
        return self.service.start_conversation(customer_id, guest_name=guest_name, channel=channel, locale=locale)

    def ask(self, text: str, customer_id: str | None = None, thread_id: str | None = None,
            locale: str | None = None, attachment_ids: list[int] | None = None,
            deadline_s: float | None = None, client_key: str | None = None) -> AskResult:
        """One customer message; `attachment_ids` must be this conversation's own uploads; `deadline_s`:
        the chat model's budget (a channel with a webhook timeout passes `llm_fast_deadline_s`); `client_key`
        (an idempotency key): a retry gets the first attempt's answer and stores nothing twice."""
        files = attachments_for(self.settings, thread_id, attachment_ids or []) if thread_id else []
        with metrics.answer_turn("ask") as turn:
            result = AskResult.of(self.service.ask(text, customer_id=customer_id, thread_id=thread_id,
                                                   locale=locale, attachments=files or None, deadline_s=deadline_s,
                                                   client_key=client_key))
            turn.update(handoff=result.handoff, handoff_reason=result.handoff_reason)
        return result

    def stream(self, text: str, customer_id: str | None = None, thread_id: str | None = None,
               locale: str | None = None, attachment_ids: list[int] | None = None,
               client_key: str | None = None) -> Iterator[str | AskResult]:
        """The answer's text chunks as they are produced, then the `AskResult`. The attachment ids are
        checked now (a wrong id raises before anything streams); the graph runs as the chunks are read."""
        files = attachments_for(self.settings, thread_id, attachment_ids or []) if thread_id else []
        chunks = self.service.stream_ask(text, customer_id=customer_id, thread_id=thread_id, locale=locale,
                                         attachments=files or None, client_key=client_key)
        return self._measured_stream(chunks)

    @staticmethod
    def _measured_stream(chunks: Iterator[Any]) -> Iterator[str | AskResult]:
        """The chunks as typed values; the turn is measured from the first read to the result."""
        with metrics.answer_turn("stream") as turn:
            for chunk in chunks:
                if isinstance(chunk, dict):
                    result = AskResult.of(chunk)
                    turn.update(handoff=result.handoff, handoff_reason=result.handoff_reason)
                    yield result
                else:
                    yield str(chunk)

    def ask_for_a_person(self, thread_id: str, customer_id: str | None, locale: str | None,
                         client_key: str | None = None) -> AskResult:
        """«상담원 연결»: the customer's request for a person, in their language, as a message."""
        return self.ask(handoff_request_text(locale), customer_id=customer_id, thread_id=thread_id, locale=locale,
                        client_key=client_key)

    # -- the queue --------------------------------------------------------------------------------
    def queue(self, status: QueueFilter = "pending", me: StaffMember | None = None, q: str | None = None,
              limit: int | None = None) -> list[HandoffItem]:
        """Handed-off conversations, most urgent first; `mine` = assigned to `me`. With `q`: only those
        whose customer name, phone's last 4 digits, order number or message text contains it (at most
        `limit`, capped at SEARCH_LIMIT, the latest active ones)."""
        if status == "mine":
            if me is None:
                return []
            rows = self.service.list_handoffs(status="assigned", q=q, limit=limit, assignee_id=me.id)
            return [HandoffItem.of(r) for r in rows]
        rows = self.service.list_handoffs(status=None if status == "all" else status, q=q, limit=limit)
        return [HandoffItem.of(r) for r in rows]

    def conversation(self, thread_id: str) -> ConversationView:
        return ConversationView.of({"thread_id": thread_id, **self.service.get_conversation(thread_id)})

    # -- agents -----------------------------------------------------------------------------------
    def claim(self, thread_id: str, me: StaffMember) -> bool:
        """Take a conversation: True when it is (now) mine, False when another agent has it."""
        return bool(self.service.claim(thread_id, me.id))

    def reply(self, thread_id: str, text: str, me: StaffMember, attachment_ids: list[int] | None = None,
              resolve: bool = False, client_key: str | None = None) -> ReplyResult:
        """The agent's message to the customer, with the conversation's own attachments (images the
        agent uploaded). A conversation still waiting in the queue is claimed first: if another agent
        took it a moment earlier, `Conflict` (`already_claimed`) and nothing is sent. `client_key` (an
        idempotency key): a retry returns the first reply (`duplicate`), never a second message."""
        files = attachments_for(self.settings, thread_id, attachment_ids or [])
        row = conversation_row(self.service.engine, thread_id)
        if row is None:
            raise NotFound(f"conversation {thread_id} not found", code="conversation_not_found")
        if row["status"] == "new" and not self.claim(thread_id, me):
            raise Conflict("another agent already took this inquiry", code="already_claimed")
        result = ReplyResult.of(self.service.reply(thread_id, text, me.id, me.name, resolve=resolve,
                                                     client_key=client_key, attachments=files or None))
        if files and result.message_id is not None:
            link_to_message(self.settings, [int(str(f["id"])) for f in files], thread_id, result.message_id)
        if result.message_id is not None and not result.duplicate:
            from sajang.services.channels import deliver_in_background  # channels build on this module

            deliver_in_background(self.settings, thread_id)  # back on the customer's channel (TalkTalk)
            try:  # the reply is sent: a notice that cannot be queued must not turn it into an error
                queue_reply_notice(self.settings, thread_id)  # «답변 알림»: the contact the customer left
            except Exception:
                log.exception("reply notice for %s not queued", thread_id)
        return result

    def reconcile_all(self) -> dict[str, int]:
        """At start-up: put right the conversations a crash left with a status their thread disagrees
        with (counts of what was checked and done)."""
        return self.service.reconcile_all()

    def resolve(self, thread_id: str, me: StaffMember | None) -> dict[str, Any]:
        return self.service.resolve(thread_id, me.id if me is not None else None)

    def suggest(self, thread_id: str) -> Suggestion:
        return Suggestion.of(self.service.suggest(thread_id))

    def feedback(self, thread_id: str, correct_text: str, me: StaffMember, message_id: int | None = None
                 ) -> FeedbackResult:
        """👎 with the correct answer, learned at once. `message_id`: the bot answer corrected (one of
        `correctable_answers`; another message is `NotFound`); without it the service picks the AI message
        (`feedback_target`). The question learned is the customer's before it (`question_lines`)."""
        return FeedbackResult.of(self.service.feedback(thread_id, correct_text, me.id, me.name,
                                                                   message_id=message_id))

    def undo_learned(self, learned_id: int | str, me: StaffMember) -> dict[str, Any]:
        """Take a learned answer out of use from the next message on (kept, audited, listed as undone)."""
        return self.service.undo_learned(learned_id, me.username)

    def learned_answers(self, query: str | None = None, active_only: bool = True) -> list[dict[str, Any]]:
        """What agents taught: question, answer, who, when, from which conversation, active or undone."""
        return list(get_knowledge(self.settings).list_learned(active_only=active_only, query=query or None))

    def recommended_articles(self, conversation: ConversationView, k: int = 3) -> list[Any]:
        """Manual articles for the agent: searched with the customer's own question lines; with the
        handoff summary when they said nothing but "a person, please"."""
        lines = [str(m.text).strip() for m in question_lines(conversation.messages)]
        query = " ".join(lines[-ARTICLE_QUERY_LINES:]) or str((conversation.pending or {}).get("summary") or "")
        if not query:
            return []
        return list(get_knowledge(self.settings).search(query, k=k, kinds={"manual"}).hits)


def inquiries(settings: Settings) -> Inquiries:
    """The typed inquiry API on the process's `InquiryService` for these settings."""
    return Inquiries(settings, get_inquiry_service(settings))
