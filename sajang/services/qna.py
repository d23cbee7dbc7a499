"""Product Q&A through the inbox: what the CLI (`sajang qna …`), REST (`/api/v1/qna`) and the hub call.

A question arrives by a file import or a marketplace API (`sync`), gets a draft from the answering
pipeline with its product as context (`sajang.graphs.qna.drafting`: a confident answer is a ready draft,
the rest a handoff), waits in the queue ordered by its marketplace's answer deadline, and is approved by
a person (as drafted, or edited: an edit teaches the bot like a 👎 correction in chat). Approved answers
leave once: as a file in the marketplace's upload shape (`export`), or posted by the marketplace API
(`sync` posts approved answers that were not posted yet; nothing unapproved is ever sent).
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Literal, Protocol

from sajang.config import Settings
from sajang.db import qna as qna_db
from sajang.db.engine import session_scope
from sajang.db.models import Customer, Feedback
from sajang.db.queries import audit
from sajang.db.types import utcnow
from sajang.errors import Conflict, NotFound, SajangError
from sajang.graphs.common.context import engine_for, store_policy
from sajang.graphs.inquiry.privacy import find_personal_data, generalise
from sajang.graphs.qna.drafting import QnaDraft, draft_answer, off_the_board, product_tagged

log = logging.getLogger(__name__)

MAX_ANSWER_CHARS = 2000  # longest answer accepted (marketplace boards cut long answers)
DUE_SOON_HOURS = 6.0  # the queue and the dashboard flag questions due within this
ExportFormat = Literal["csv", "xlsx", "json"]
KST_OFFSET = timedelta(hours=9)
MARKETPLACES = ("smartstore", "coupang", "cafe24", "own")


# --- results -------------------------------------------------------------------------------------------


def _iso(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


@dataclass
class QnaItem:
    """One product question as the queue, the hub and the API show it."""

    question_id: str
    marketplace: str | None
    text: str
    asked_at: datetime
    deadline_at: datetime
    hours_left: float  # negative: overdue
    product: dict[str, Any] | None
    customer_id: str | None
    draft_status: str  # none | ready | handoff
    draft: str | None
    draft_confidence: float | None
    draft_sources: list[dict[str, Any]]
    handoff_reason: str | None
    category: str | None
    answered: bool
    answer: str | None
    answered_at: datetime | None
    answered_by: str | None
    exported_at: datetime | None
    posted_at: datetime | None

    @property
    def overdue(self) -> bool:
        return not self.answered and self.hours_left < 0

    def as_dict(self) -> dict[str, Any]:
        out = {k: _iso(v) for k, v in asdict(self).items()}
        if self.product is not None:
            out["product"] = {k: (str(v) if k == "price" and v is not None else _iso(v))
                              for k, v in self.product.items()}
        out["overdue"] = self.overdue
        out["hours_left"] = round(self.hours_left, 2)
        return out


@dataclass
class DraftSummary:
    drafted: int = 0
    ready: int = 0
    handoff: int = 0


@dataclass
class SyncResult:
    imported: dict[str, Any] | None = None  # the importer's summary of the file
    fetched: dict[str, int] = field(default_factory=dict)  # marketplace → new questions
    drafted: DraftSummary = field(default_factory=DraftSummary)
    posted: dict[str, int] = field(default_factory=dict)  # marketplace → answers posted
    post_errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ApproveResult:
    item: QnaItem
    answered_now: bool  # False: it was answered already (approving twice answers once)
    learned_id: int | None = None  # the correction taught from an edited draft
    learn_skipped: str | None = None  # why an edit was not taught (personal data …)

    def as_dict(self) -> dict[str, Any]:
        return {**self.item.as_dict(), "answered_now": self.answered_now, "learned_id": self.learned_id,
                "learn_skipped": self.learn_skipped}


@dataclass
class ExportResult:
    rows: int
    file: str | None
    format: str


class MarketplaceClient(Protocol):
    """What `sync` needs of a marketplace API adapter (`sajang.channels.marketplace`)."""

    marketplace: str

    def fetch_unanswered(self) -> list[dict[str, Any]]: ...

    def post_answer(self, question_id: str, answer: str) -> None: ...


# --- reading -------------------------------------------------------------------------------------------


def _item(settings: Settings, row: dict[str, Any], now: datetime) -> QnaItem:
    deadline = row["asked_at"] + timedelta(hours=settings.qna_deadline(row["marketplace"]))
    return QnaItem(question_id=row["question_id"], marketplace=row["marketplace"], text=row["text"],
                   asked_at=row["asked_at"], deadline_at=deadline,
                   hours_left=(deadline - now).total_seconds() / 3600, product=row["product"],
                   customer_id=row["customer_id"], draft_status=row["draft_status"], draft=row["draft"],
                   draft_confidence=row["draft_confidence"], draft_sources=row["draft_sources"],
                   handoff_reason=row["handoff_reason"], category=row["category"], answered=row["answered"],
                   answer=row["answer"], answered_at=row["answered_at"], answered_by=row["answered_by_name"],
                   exported_at=row["exported_at"], posted_at=row["posted_at"])


def queue(settings: Settings, *, now: datetime | None = None) -> list[QnaItem]:
    """Unanswered questions, the nearest deadline first (overdue ones on top), then the oldest."""
    now = now or utcnow()
    with engine_for(settings).connect() as conn:
        rows = qna_db.unanswered(conn)
    items = [_item(settings, r, now) for r in rows]
    return sorted(items, key=lambda it: (it.deadline_at, it.asked_at, it.question_id))


HUB_PREFIX = "qna:"  # a main-queue item's thread_id is this + the question id (no conversation thread has it)


def hub_items(settings: Settings, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """The unanswered questions as items of the agent hub's main queue (tab «새로 들어온 문의»), beside the
    chat handoffs: `kind` "qna" (the hub shows the «상품 Q&A» badge and opens the Q&A tab on a click),
    `thread_id` HUB_PREFIX + question id, the question as subject, the product as the name, and an urgency
    from the deadline — overdue: urgent, due within DUE_SOON_HOURS: high — so the queue's own order
    (urgency, then the longest wait) puts them among the chats."""
    out = []
    for it in queue(settings, now=now):
        urgency = "urgent" if it.overdue else "high" if it.hours_left < DUE_SOON_HOURS else "normal"
        product = str((it.product or {}).get("name") or "") or None
        out.append({"kind": "qna", "thread_id": HUB_PREFIX + it.question_id, "question_id": it.question_id,
                    "status": "new", "subject": it.text, "customer_id": it.customer_id, "customer_name": product,
                    "urgency": urgency, "category": None, "marketplace": it.marketplace,
                    "created_at": _iso(it.asked_at), "handed_off_at": _iso(it.asked_at),
                    "deadline_at": _iso(it.deadline_at), "hours_left": round(it.hours_left, 2),
                    "overdue": it.overdue, "draft_status": it.draft_status})
    return out


def get(settings: Settings, question_id: str, *, now: datetime | None = None) -> QnaItem:
    with engine_for(settings).connect() as conn:
        row = qna_db.question(conn, question_id)
    if row is None:
        raise NotFound(f"question {question_id} not found", code="question_not_found")
    return _item(settings, row, now or utcnow())


def deadline_counts(settings: Settings, *, now: datetime | None = None) -> dict[str, int]:
    """Unanswered questions past their deadline and due within DUE_SOON_HOURS (the dashboard's KPI)."""
    now = now or utcnow()
    with engine_for(settings).connect() as conn:
        times = qna_db.unanswered_times(conn)
    left = [(asked + timedelta(hours=settings.qna_deadline(mp)) - now).total_seconds() / 3600 for asked, mp in times]
    return {"overdue": sum(1 for h in left if h < 0), "due_soon": sum(1 for h in left if 0 <= h < DUE_SOON_HOURS)}


# --- drafting ------------------------------------------------------------------------------------------


def _shop_today(now: datetime) -> date:
    return (now + KST_OFFSET).date()  # restock dates are shop (KST) days


def draft_pending(settings: Settings, *, limit: int = 500, now: datetime | None = None) -> DraftSummary:
    """A draft for every unanswered question that has none: stored once (a re-import or a second process
    drafting the same question at once writes one draft)."""
    now = now or utcnow()
    engine = engine_for(settings)
    with engine.connect() as conn:
        rows = qna_db.undrafted(conn, limit=limit)
    summary = DraftSummary()
    if not rows:
        return summary
    policy = store_policy(settings)
    for row in rows:
        draft = draft_answer(settings, policy, row, today=_shop_today(now), thread_id=f"qna:{row['question_id']}")
        if _store(engine, row["question_id"], draft, now):
            summary.drafted += 1
            if draft.status == "ready":
                summary.ready += 1
            else:
                summary.handoff += 1
    return summary


def _store(engine: Any, question_id: str, draft: QnaDraft, now: datetime) -> bool:
    with engine.begin() as conn:
        return qna_db.store_draft(conn, question_id, draft=draft.text, status=draft.status,
                                  confidence=draft.confidence, sources=draft.sources,
                                  handoff_reason=draft.handoff_reason, category=draft.category, now=now)


def sync(settings: Settings, *, file: str | Path | None = None, marketplace: str | None = None,
         mapping: list[str] | dict[str, str] | None = None, preset: str | None = None, sheet: str | None = None,
         password: str | None = None, clients: Iterable[MarketplaceClient] | None = None,
         progress: Callable[[str], None] | None = None) -> SyncResult:
    """Bring questions in (a file; the marketplace API adapters in `clients`, which the caller builds from
    the settings: `sajang.channels.marketplace.clients_from_settings`), post the approved answers not
    posted yet, and draft every question without a draft."""
    from sajang.db.importers import import_file

    result = SyncResult()
    engine = engine_for(settings)
    if marketplace is not None and marketplace not in MARKETPLACES:
        raise SajangError(f"unknown marketplace {marketplace!r} ({', '.join(MARKETPLACES)})", code="bad_marketplace")
    if file is not None:
        fields = dict(mapping) if isinstance(mapping, dict) else list(mapping or [])
        before = _unstamped(settings) if marketplace else set()
        result.imported = import_file(engine, "qna", Path(file), fields, preset=preset, progress=progress,
                                      sheet=sheet, password=password)
        if marketplace:
            _stamp_marketplace(settings, _unstamped(settings) - before, marketplace)
    for client in clients or ():
        fetched = client.fetch_unanswered()
        with engine.begin() as conn:
            result.fetched[client.marketplace] = qna_db.upsert_fetched(conn, fetched)
        posted, errors = post_approved(settings, client)
        result.posted[client.marketplace] = posted
        result.post_errors += errors
    result.drafted = draft_pending(settings)
    return result


def _unstamped(settings: Settings) -> set[str]:
    from sqlalchemy import select

    from sajang.db.models import ProductQna

    with engine_for(settings).connect() as conn:
        return set(conn.execute(select(ProductQna.id).where(ProductQna.marketplace.is_(None))).scalars())


def _stamp_marketplace(settings: Settings, ids: set[str], marketplace: str) -> None:
    """`--marketplace` names where the new questions of a file without a marketplace column came from."""
    from sqlalchemy import update

    from sajang.db.models import ProductQna

    if ids:
        with engine_for(settings).begin() as conn:
            conn.execute(update(ProductQna).where(ProductQna.id.in_(sorted(ids)), ProductQna.marketplace.is_(None))
                         .values(marketplace=marketplace))


# --- approval ------------------------------------------------------------------------------------------


def _clean_answer(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    if not text:
        raise SajangError("the answer is empty", code="empty_answer", status_code=422)
    if len(text) > MAX_ANSWER_CHARS:
        raise SajangError(f"the answer is longer than {MAX_ANSWER_CHARS} characters", code="answer_too_long",
                          status_code=413)
    return text


def approve(settings: Settings, question_id: str, text: str | None = None, *, user_id: int | None = None,
            user_name: str = "cli", teach: bool = True) -> ApproveResult:
    """Answer the question with its draft, or with `text` (the edited draft, or a person's answer to a
    handoff). Stores who and when; approving twice (or two agents at once) answers once. An edit of a
    draft (ready, or a handoff's attempt) is learned like a chat correction (on this product's questions),
    unless it carries personal data."""
    text = _clean_answer(text)
    current = get(settings, question_id)
    answer = text or (current.draft or "").strip()
    if not answer:
        raise SajangError("this question has no draft to approve: write the answer (--text)", code="no_draft",
                          status_code=422)
    if current.answered:
        if text is not None and text != (current.answer or ""):
            raise Conflict(f"question {question_id} was answered already by {current.answered_by or 'someone'}",
                           code="already_answered")
        return ApproveResult(current, answered_now=False)
    engine = engine_for(settings)
    now = utcnow()
    with session_scope(engine) as s:
        won = qna_db.store_answer(s.connection(), question_id, answer=answer, user_id=user_id, user_name=user_name,
                                  now=now)
        if won:
            audit(s, user_name, "qna.answer", "product_qna", question_id, edited=text is not None
                  and text != (current.draft or "").strip(), draft_status=current.draft_status, user_id=user_id)
    if not won:
        item = get(settings, question_id)
        if text is not None and text != (item.answer or ""):
            raise Conflict(f"question {question_id} was answered already by {item.answered_by or 'someone'}",
                           code="already_answered")
        return ApproveResult(item, answered_now=False)
    learned_id, skipped = None, None
    # a correction is an edited AI draft (ready, or a handoff's attempt); a person's answer where the AI
    # drafted nothing teaches nothing (like a chat reply without 👎)
    policy = store_policy(settings)
    corrected = text is not None and bool((current.draft or "").strip()) and \
        off_the_board(text, policy) != off_the_board(current.draft or "", policy)
    if teach and corrected and text is not None:
        learned_id, skipped = _teach(settings, current, text, user_id, user_name)
    return ApproveResult(get(settings, question_id), answered_now=True, learned_id=learned_id, learn_skipped=skipped)


def _teach(settings: Settings, item: QnaItem, text: str, user_id: int | None, user_name: str,
           ) -> tuple[int | None, str | None]:
    """The edited draft as a learned answer (like 👎 + the correct answer in chat): the question tagged
    with the product, the answer without the board's greeting; refused when it names a person."""
    from sajang.knowledge.service import get_knowledge

    engine = engine_for(settings)
    names: list[str] = []
    if item.customer_id:
        with engine.connect() as conn:
            from sqlalchemy import select

            name = conn.execute(select(Customer.name).where(Customer.id == item.customer_id)).scalar()
            names = [name] if name else []
    correct = off_the_board(text, store_policy(settings))
    if not correct:
        return None, "empty"
    if find_personal_data(correct, names):
        return None, "personal_data"
    question = generalise(item.text, names)
    if item.product is not None:
        question = product_tagged(str(item.product["name"]), question)
    learned_id = get_knowledge(settings).add_learned(question, correct, author_name=user_name, author_id=user_id,
                                                     category=item.category)
    with session_scope(engine) as s:
        s.add(Feedback(user_id=user_id, verdict="down", correct_answer=correct, learned_answer_id=learned_id))
        audit(s, user_name, "feedback.correct", "product_qna", item.question_id, learned_answer_id=learned_id,
              user_id=user_id)
    return learned_id, None


# --- back to the marketplace ---------------------------------------------------------------------------

# One row per answered question: what a person pastes into the marketplace's Q&A page, or a script uploads.
EXPORT_COLUMNS = ("question_id", "marketplace", "product_id", "product_name", "question", "asked_at", "answer",
                  "answered_at", "answered_by")


def _export_row(item: QnaItem) -> dict[str, Any]:
    return {"question_id": item.question_id, "marketplace": item.marketplace or "",
            "product_id": (item.product or {}).get("id") or "", "product_name": (item.product or {}).get("name") or "",
            "question": item.text, "asked_at": _iso(item.asked_at), "answer": item.answer or "",
            "answered_at": _iso(item.answered_at), "answered_by": item.answered_by or ""}


def answered(settings: Settings, *, marketplace: str | None = None, only_new: bool = False) -> list[QnaItem]:
    """Questions answered here (approved in Sajang), oldest answer first; `only_new`: not exported yet."""
    now = utcnow()
    with engine_for(settings).connect() as conn:
        rows = qna_db.answered_rows(conn, marketplace=marketplace, not_exported=only_new)
    return [_item(settings, r, now) for r in rows]


def export(settings: Settings, out: str | Path | IO[str], *, fmt: ExportFormat | None = None,
           marketplace: str | None = None, only_new: bool = False, actor: str = "cli") -> ExportResult:
    """Approved answers as CSV (UTF-8 with BOM, what Korean Excel opens), .xlsx or JSON; each exported
    question is stamped `exported_at` (and `only_new` leaves out those exported before)."""
    items = answered(settings, marketplace=marketplace, only_new=only_new)
    path = Path(out) if isinstance(out, str | Path) else None
    if fmt is None:
        suffix = path.suffix.lower().lstrip(".") if path else "csv"
        fmt = "xlsx" if suffix == "xlsx" else "json" if suffix in ("json", "jsonl") else "csv"
    rows = [_export_row(it) for it in items]
    if fmt == "json":
        payload = json.dumps({"answers": rows}, ensure_ascii=False, indent=1)
        _write_text(out, payload, encoding="utf-8")
    elif fmt == "xlsx":
        if path is None:
            raise SajangError("an .xlsx export needs a file (--out answers.xlsx)")
        _write_xlsx(path, rows)
    else:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(EXPORT_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
        _write_text(out, buf.getvalue(), encoding="utf-8-sig")
    now = utcnow()
    with session_scope(engine_for(settings)) as s:
        qna_db.mark_exported(s.connection(), [it.question_id for it in items], now)
        audit(s, actor, "qna.export", "product_qna", None, rows=len(rows), format=fmt, marketplace=marketplace)
    return ExportResult(rows=len(rows), file=str(path) if path else None, format=fmt)


def _write_text(out: str | Path | IO[str], text: str, encoding: str) -> None:
    if isinstance(out, str | Path):
        Path(out).write_text(text, encoding=encoding)
    else:
        out.write(text)


def _write_xlsx(path: Path, rows: list[dict[str, Any]]) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Q&A")
    ws.append(list(EXPORT_COLUMNS))
    for r in rows:
        ws.append([r[c] for c in EXPORT_COLUMNS])
    wb.save(path)


def post_approved(settings: Settings, client: MarketplaceClient) -> tuple[int, list[str]]:
    """Post each approved, never-posted answer of the client's marketplace once: the question is stamped
    posted before the call (a second process skips it) and un-stamped when the call fails."""
    engine = engine_for(settings)
    with engine.connect() as conn:
        rows = qna_db.answered_rows(conn, marketplace=client.marketplace, not_posted=True)
    posted, errors = 0, []
    for row in rows:
        with engine.begin() as conn:
            if not qna_db.claim_post(conn, row["question_id"], utcnow()):
                continue
        try:
            client.post_answer(row["question_id"], row["answer"])
        except SajangError as exc:
            with engine.begin() as conn:
                qna_db.release_post(conn, row["question_id"])
            errors.append(f"{row['question_id']}: {exc}")
            continue
        posted += 1
        with session_scope(engine) as s:
            audit(s, "system", "qna.post", "product_qna", row["question_id"], marketplace=client.marketplace)
    return posted, errors
