"""The 상품 Q&A tab of the agent hub: unanswered product questions (nearest marketplace deadline first), the
question with its «상품 Q&A» badge and deadline, the AI draft in an editable box, approve; the product's facts
(stock, restock date, options, size, origin, ingredients) beside it.

`build_qna_tab(settings)` renders inside the caller's `gr.Blocks` (the hub puts it in a `gr.Tab`). Every
operation goes through `sajang.services.qna`; the acting agent is `request.username`.
"""

from __future__ import annotations

import html
import logging
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import gradio as gr

from sajang.config import Settings
from sajang.services import qna
from sajang.ui.i18n import Strings
from sajang.ui.staff import request_member

log = logging.getLogger(__name__)
KST = ZoneInfo("Asia/Seoul")

T = Strings({
    "badge": {"ko": "상품 Q&A", "en": "Product Q&A"},
    "queue_title": {"ko": "답변 대기 상품 문의 ({n})", "en": "Product questions awaiting an answer ({n})"},
    "queue_empty": {"ko": "답변을 기다리는 상품 문의가 없습니다.", "en": "No product questions are waiting."},
    "draft_all": {"ko": "새 문의 초안 만들기", "en": "Draft new questions"},
    "refresh": {"ko": "새로고침", "en": "Refresh"},
    "question_title": {"ko": "문의와 답변 초안", "en": "Question and draft answer"},
    "draft_label": {"ko": "답변 (수정하면 AI가 배웁니다)", "en": "Answer (an edit teaches the AI)"},
    "approve": {"ko": "승인 후 답변 등록", "en": "Approve answer"},
    "product_title": {"ko": "상품 정보", "en": "Product"},
    "select_hint": {"ko": "왼쪽 목록에서 문의를 고르세요.", "en": "Pick a question on the left."},
    "no_product": {"ko": "상품 정보가 없는 문의입니다.", "en": "This question names no product."},
    "overdue": {"ko": "기한 {h}시간 지남", "en": "{h} h overdue"},
    "left": {"ko": "{h}시간 남음", "en": "{h} h left"},
    "deadline": {"ko": "답변 기한", "en": "Deadline"},
    "ready": {"ko": "AI 초안", "en": "AI draft"},
    "handoff": {"ko": "상담원 작성", "en": "for a person"},
    "none": {"ko": "초안 전", "en": "not drafted"},
    "reason_requested": {"ko": "상담원 요청", "en": "asked for a person"},
    "reason_urgent": {"ko": "긴급", "en": "urgent"},
    "reason_low_confidence": {"ko": "근거 부족", "en": "low confidence"},
    "reason_model_uncertain": {"ko": "AI 확신 없음", "en": "model unsure"},
    "reason_product_fact_missing": {"ko": "상품 정보에 없는 내용", "en": "not in the product's facts"},
    "answered": {"ko": "답변을 등록했습니다 ({id}).", "en": "Answer stored ({id})."},
    "learned": {"ko": " 수정한 답변을 학습했습니다.", "en": " The edit was learned."},
    "not_learned": {"ko": " (개인정보가 있어 학습하지 않았습니다)", "en": " (not learned: it names a person)"},
    "already": {"ko": "이미 답변된 문의입니다 ({id}).", "en": "Already answered ({id})."},
    "drafted": {"ko": "초안 {n}건 (바로 승인 가능 {ready}건).", "en": "{n} drafted ({ready} ready)."},
    "login": {"ko": "로그인한 상담원만 승인할 수 있습니다.", "en": "Log in as an agent to approve."},
    "empty": {"ko": "답변 내용이 비어 있습니다.", "en": "The answer is empty."},
    "error": {"ko": "오류: {error}", "en": "Error: {error}"},
    "stock": {"ko": "재고", "en": "Stock"},
    "sold_out": {"ko": "품절", "en": "sold out"},
    "hidden": {"ko": "판매 중지", "en": "not on sale"},
    "restock": {"ko": "재입고 예정", "en": "Restock"},
    "options": {"ko": "옵션", "en": "Options"},
    "size": {"ko": "용량·크기", "en": "Size"},
    "origin": {"ko": "원산지", "en": "Origin"},
    "ingredients": {"ko": "원재료", "en": "Ingredients"},
    "price": {"ko": "가격", "en": "Price"},
    "unset": {"ko": "(미입력)", "en": "(not set)"},
})
MARKETPLACES = {"smartstore": "스마트스토어", "coupang": "쿠팡", "cafe24": "카페24", "own": "자사몰"}

CSS = """
.sj-qa-badge { background: #ede9fe; color: #5b21b6; }
.sj-qa-due { font-size: .8rem; color: #6b7280; margin-left: 6px; }
.sj-qa-overdue { color: #b91c1c; font-weight: 600; }
.sj-qa-text { margin: 8px 0 0; padding: 8px 12px; border-left: 3px solid #7c3aed; background: #f5f3ff;
  white-space: pre-wrap; }
.sj-qa-meta { font-size: .85rem; color: #374151; margin-top: 4px; }
.sj-qa-facts { width: 100%; font-size: .86rem; border-collapse: collapse; }
.sj-qa-facts th { text-align: left; color: #6b7280; font-weight: 500; padding: 4px 8px 4px 0; white-space: nowrap;
  vertical-align: top; }
.sj-qa-facts td { padding: 4px 0; border-bottom: 1px solid #f3f4f6; }
.sj-qa-soldout { color: #b91c1c; font-weight: 600; }
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _due(item: qna.QnaItem, locale: str) -> str:
    hours = abs(round(item.hours_left))
    return T("overdue", locale, h=hours) if item.overdue else T("left", locale, h=hours)


def _marketplace(item: qna.QnaItem, locale: str) -> str:
    name = item.marketplace or ""
    return MARKETPLACES.get(name, name) if locale == "ko" else name


def queue_choices(items: list[qna.QnaItem], locale: str) -> list[tuple[str, str]]:
    """One line per question: badge, deadline, marketplace, product, the question's start."""
    out = []
    for it in items:
        product = str((it.product or {}).get("name") or "-").split(" (")[0]
        flag = "⚠ " if it.overdue else ""
        parts = [f"[{T('badge', locale)}]", flag + _due(it, locale), _marketplace(it, locale), product,
                 T(it.draft_status, locale), it.text[:40]]
        out.append((" · ".join(p for p in parts if p), it.question_id))
    return out


def question_html(item: qna.QnaItem | None, locale: str) -> str:
    if item is None:
        return f'<div class="sj-hint">{_esc(T("select_hint", locale))}</div>'
    due_cls = "sj-qa-due sj-qa-overdue" if item.overdue else "sj-qa-due"
    deadline = item.deadline_at.astimezone(KST).strftime("%m-%d %H:%M")
    asked = item.asked_at.astimezone(KST).strftime("%Y-%m-%d %H:%M")
    status = T(item.draft_status, locale)
    if item.handoff_reason:
        status += f" · {T('reason_' + item.handoff_reason, locale)}"
    return (f'<div class="sj-qa-detail" data-question="{_esc(item.question_id)}">'
            f'<span class="sj-badge sj-qa-badge">{_esc(T("badge", locale))}</span> '
            f'<span class="sj-badge">{_esc(_marketplace(item, locale) or "-")}</span> '
            f'<span class="sj-badge">{_esc(status)}</span>'
            f'<span class="{due_cls}">{_esc(T("deadline", locale))} {deadline} · {_esc(_due(item, locale))}</span>'
            f'<blockquote class="sj-qa-text">{_esc(item.text)}</blockquote>'
            f'<div class="sj-qa-meta">{_esc(item.question_id)} · {asked}</div></div>')


def product_html(item: qna.QnaItem | None, locale: str) -> str:
    if item is None:
        return ""
    p = item.product
    if p is None:
        return f'<div class="sj-hint">{_esc(T("no_product", locale))}</div>'
    stock = int(p.get("stock") or 0)
    if p.get("status") == "hidden":
        stock_text = f'<span class="sj-qa-soldout">{_esc(T("hidden", locale))}</span>'
    elif p.get("status") == "sold_out" or stock <= 0:
        stock_text = f'<span class="sj-qa-soldout">{_esc(T("sold_out", locale))}</span> (0)'
    else:
        stock_text = f"{stock:,}"
    rows = [("stock", stock_text)]
    restock = p.get("restock_on")
    if isinstance(restock, date):
        rows.append(("restock", _esc(restock.isoformat())))
    for key in ("options", "size", "origin", "ingredients"):
        value = p.get(key)
        rows.append((key, _esc(value) if value else f'<span class="sj-hint">{_esc(T("unset", locale))}</span>'))
    if p.get("price") is not None:
        rows.append(("price", f"{int(p['price']):,}원" if locale == "ko" else f"₩{int(p['price']):,}"))
    body = "".join(f'<tr><th>{_esc(T(k, locale))}</th><td>{v}</td></tr>' for k, v in rows)
    return (f'<div class="sj-qa-product" data-product="{_esc(p["id"])}"><b>{_esc(p["name"])}</b> '
            f'<span class="sj-pid">{_esc(p["id"])}</span><table class="sj-qa-facts">{body}</table></div>')


def _user(settings: Settings, request: gr.Request | None) -> tuple[str, int | None, str] | None:
    member = request_member(settings, request)
    if member is None:
        return None
    return member.username, member.id, member.name or member.username


def build_qna_tab(settings: Settings) -> dict[str, Any]:
    """Render the tab in the current Blocks context; returns its components by name."""
    loc = settings.locale
    c: dict[str, Any] = {}
    gr.HTML("", head=f"<style>{CSS}</style>", visible="hidden")
    selected = gr.State(None)
    loc_state = gr.State(loc)
    with gr.Row(elem_id="sj-qa-cols", equal_height=False):
        with gr.Column(scale=3, min_width=280, elem_id="sj-qa-col-queue"):
            c["queue_title"] = gr.HTML(f'<div class="sj-coltitle">{_esc(T("queue_title", loc, n=0))}</div>')
            with gr.Row():
                c["draft_all"] = gr.Button(T("draft_all", loc), size="sm", elem_id="sj-qa-draft-all")
                c["refresh"] = gr.Button(T("refresh", loc), size="sm", elem_id="sj-qa-refresh")
            c["queue"] = gr.Radio(choices=[], value=None, show_label=False, elem_id="sj-qa-queue")
            c["empty"] = gr.Markdown(T("queue_empty", loc), elem_id="sj-qa-empty")
        with gr.Column(scale=5, min_width=420, elem_id="sj-qa-col-question"):
            gr.HTML(f'<div class="sj-coltitle">{_esc(T("question_title", loc))}</div>')
            c["detail"] = gr.HTML(question_html(None, loc), elem_id="sj-qa-detail")
            c["draft"] = gr.Textbox(label=T("draft_label", loc), lines=7, max_lines=16, interactive=True,
                                    elem_id="sj-qa-draft")
            c["approve"] = gr.Button(T("approve", loc), variant="primary", elem_id="sj-qa-approve")
            c["note"] = gr.HTML("", elem_id="sj-qa-note")
        with gr.Column(scale=3, min_width=260, elem_id="sj-qa-col-product"):
            gr.HTML(f'<div class="sj-coltitle">{_esc(T("product_title", loc))}</div>')
            c["product"] = gr.HTML("", elem_id="sj-qa-product")

    def open_question(question_id: str | None, locale: str) -> tuple[Any, ...]:
        item = None
        if question_id:
            try:
                item = qna.get(settings, question_id)
            except Exception as exc:
                log.warning("question %s unavailable: %s", question_id, exc)
        draft = (item.draft or "") if item is not None else ""
        return question_html(item, locale), gr.update(value=draft), product_html(item, locale)

    def view(current: str | None, locale: str, note: str = "") -> tuple[Any, ...]:
        items = qna.queue(settings)
        ids = [it.question_id for it in items]
        pick = current if current in ids else (ids[0] if ids else None)
        title = f'<div class="sj-coltitle">{_esc(T("queue_title", locale, n=len(items)))}</div>'
        return (title, gr.update(choices=queue_choices(items, locale), value=pick),
                gr.update(visible=not items, value=T("queue_empty", locale)), pick, *open_question(pick, locale), note)

    outputs = [c["queue_title"], c["queue"], c["empty"], selected, c["detail"], c["draft"], c["product"], c["note"]]

    def note_html(kind: str, text: str) -> str:
        return f'<div class="sj-note sj-note-{kind}">{_esc(text)}</div>'

    def on_show(current: str | None, locale: str) -> tuple[Any, ...]:
        return view(current, locale)

    def on_pick(question_id: str | None, locale: str) -> tuple[Any, ...]:
        return (question_id, *open_question(question_id, locale), "")

    def on_draft_all(current: str | None, locale: str) -> tuple[Any, ...]:
        try:
            summary = qna.draft_pending(settings)
        except Exception as exc:
            return view(current, locale, note_html("warn", T("error", locale, error=str(exc))))
        return view(current, locale, note_html("info", T("drafted", locale, n=summary.drafted, ready=summary.ready)))

    def on_approve(current: str | None, text: str, locale: str, request: gr.Request) -> tuple[Any, ...]:
        who = _user(settings, request)
        if who is None:
            return view(current, locale, note_html("warn", T("login", locale)))
        if not current:
            return view(current, locale)
        if not (text or "").strip():
            return view(current, locale, note_html("warn", T("empty", locale)))
        try:
            out = qna.approve(settings, current, text, user_id=who[1], user_name=who[2])
        except Exception as exc:
            return view(current, locale, note_html("warn", T("error", locale, error=str(exc))))
        if not out.answered_now:
            return view(None, locale, note_html("info", T("already", locale, id=current)))
        message = T("answered", locale, id=current)
        if out.learned_id:
            message += T("learned", locale)
        elif out.learn_skipped == "personal_data":
            message += T("not_learned", locale)
        return view(None, locale, note_html("ok", message))

    root = gr.context.Context.root_block
    if root is not None:
        root.load(on_show, [selected, loc_state], outputs, show_progress="hidden")
    c["refresh"].click(on_show, [selected, loc_state], outputs, show_progress="hidden")
    c["draft_all"].click(on_draft_all, [selected, loc_state], outputs)
    c["queue"].input(on_pick, [c["queue"], loc_state], [selected, c["detail"], c["draft"], c["product"], c["note"]],
                     show_progress="hidden")
    c["approve"].click(on_approve, [selected, c["draft"], loc_state], outputs, concurrency_limit=1)
    c["selected"] = selected
    return c

