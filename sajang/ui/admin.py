"""The owner dashboard (`/admin`): KPI cards, risk alerts with their items, sales/claims/segment charts,
and the segmentation run with its approval step.

Numbers come from `sajang.services.dashboard`; the segmentation run goes through the graph's service
functions (`start_run`, `preview_approval`, `approve_run`, `cancel_run`), so the UI issues nothing itself
and a double click approves once. Approving is two deliberate steps (issue #17 item 12: three pre-ticked
proposals once issued 75 coupons while one tick was in view): nothing is pre-ticked (recommended proposals
are only marked ★), 검토 shows per ticked proposal the segment, customers, benefit, minimum order and the
discount exposure with the totals, and only 확정 issues — exactly the selection that was shown (an edit
of the table afterwards closes the confirmation). Handlers identify the owner by `request.username` (the web app mounts
this page behind the admin login). Korean by default, English via the language switch.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import gradio as gr
import pandas as pd

from sajang.config import Settings
from sajang.errors import SajangError
from sajang.graphs.common.breaker import chat_model_status
from sajang.graphs.segmentation.service import (
    ApprovalPreview,
    approve_run,
    cancel_run,
    preview_approval,
    run_summary,
    start_run,
)
from sajang.services import dashboard as dash
from sajang.services import staff_files
from sajang.services.csat import ai_metrics
from sajang.services.dashboard import SEGMENT_IDS, segment_label, shop_today
from sajang.ui.admin_briefing import CSS as BRIEFING_CSS
from sajang.ui.admin_briefing import render_ai_metrics, render_briefing
from sajang.ui.admin_manager import ManagerTab
from sajang.ui.admin_manual import ManualTab
from sajang.ui.admin_settings import SettingsTab
from sajang.ui.i18n import LOCALE_LABELS, LOCALES, Strings
from sajang.ui.staff import request_member

log = logging.getLogger(__name__)

T = Strings({
    "page_title": {"ko": "사장님 대시보드", "en": "Owner dashboard"},
    "tab_dashboard": {"ko": "대시보드", "en": "Dashboard"},
    "tab_settings": {"ko": "상점 설정", "en": "Store settings"},
    "tab_manager": {"ko": "AI 매니저", "en": "AI manager"},
    "hello": {"ko": "로그인: {name}", "en": "Signed in: {name}"},
    "refresh": {"ko": "새로고침", "en": "Refresh"},
    "language": {"ko": "언어", "en": "Language"},
    "kpi_qna": {"ko": "미답변 Q&A", "en": "Unanswered Q&A"},
    "kpi_claims": {"ko": "처리 중 클레임", "en": "Open claims"},
    "kpi_low": {"ko": "재고 부족", "en": "Low stock"},
    "kpi_settle": {"ko": "최근 정산", "en": "Latest settlement"},
    "kpi_today": {"ko": "오늘 문의", "en": "Inquiries today"},
    "kpi_bot": {"ko": "AI 해결률 (30일)", "en": "Solved by AI (30 d)"},
    "kpi_frt": {"ko": "상담원 첫 응답 (중앙값)", "en": "Agent first response (median)"},
    "none": {"ko": "없음", "en": "none"},
    "minutes": {"ko": "{n}분", "en": "{n} min"},
    "of_n": {"ko": "{n}건 중", "en": "of {n}"},
    "waiting": {"ko": "상담 대기 {n}건", "en": "{n} waiting for an agent"},
    "qna_overdue": {"ko": "기한 지남 {n}건", "en": "{n} overdue"},
    "qna_due_soon": {"ko": "6시간 내 기한 {n}건", "en": "{n} due within 6 h"},
    "claim_cancel": {"ko": "취소", "en": "cancel"},
    "claim_return": {"ko": "반품", "en": "return"},
    "claim_exchange": {"ko": "교환", "en": "exchange"},
    "claim_refund": {"ko": "환불", "en": "refund"},
    "alerts": {"ko": "위험 알림", "en": "Risk alerts"},
    "no_alerts": {"ko": "지금은 위험 알림이 없어요.", "en": "No risk alerts right now."},
    "alert_review": {"ko": "「{product}」 1–2★ 리뷰 급증 (7일 {recent}건, 평소 {weekly}건/주)",
                     "en": "“{product}”: 1–2★ reviews spiking ({recent} in 7 days, usually {weekly}/week)"},
    "alert_claim": {"ko": "「{product}」 클레임 급증 (7일 {recent}건, 평소 {weekly}건/주)",
                    "en": "“{product}”: claims spiking ({recent} in 7 days, usually {weekly}/week)"},
    "alert_stock": {"ko": "「{product}」 재고 {cover}일분 (입고까지 {lead}일, 하루 {daily}개 판매)",
                    "en": "“{product}”: {cover} days of stock (restock takes {lead} days, {daily}/day sold)"},
    "alert_soldout": {"ko": "「{product}」 품절 (하루 {daily}개 판매, 입고 예정 {restock})",
                      "en": "“{product}”: sold out ({daily}/day sold, restock {restock})"},
    "restock_unknown": {"ko": "미정", "en": "not scheduled"},
    "alert_items": {"ko": "알림 상세", "en": "Alert details"},
    "click_alert": {"ko": "알림을 누르면 관련 리뷰·클레임·상품이 아래에 나와요.",
                    "en": "Click an alert to list its reviews, claims or product below."},
    "period": {"ko": "기간", "en": "Period"},
    "days_30": {"ko": "30일", "en": "30 days"},
    "days_90": {"ko": "90일", "en": "90 days"},
    "chart_revenue": {"ko": "일별 매출", "en": "Revenue per day"},
    "chart_orders": {"ko": "일별 주문 수", "en": "Orders per day"},
    "chart_claims": {"ko": "일별 클레임", "en": "Claims per day"},
    "chart_segments": {"ko": "고객 세그먼트 분포 · 지난 실행 대비", "en": "Customer segments · vs. previous run"},
    "day": {"ko": "날짜", "en": "Day"},
    "revenue": {"ko": "매출 (원)", "en": "Revenue (KRW)"},
    "orders": {"ko": "주문 (건)", "en": "Orders"},
    "claims": {"ko": "클레임 (건)", "en": "Claims"},
    "claim_type": {"ko": "유형", "en": "Type"},
    "segment": {"ko": "세그먼트", "en": "Segment"},
    "customers": {"ko": "고객 수", "en": "Customers"},
    "run": {"ko": "실행", "en": "Run"},
    "this_run": {"ko": "이번 실행", "en": "This run"},
    "prev_run": {"ko": "지난 실행", "en": "Previous run"},
    "moves": {"ko": "세그먼트 이동", "en": "Segment moves"},
    "from": {"ko": "이전", "en": "From"},
    "to": {"ko": "이후", "en": "To"},
    "new_customer": {"ko": "(새로 집계)", "en": "(newly scored)"},
    "dropped": {"ko": "(집계 제외)", "en": "(no longer scored)"},
    "seg_title": {"ko": "고객 세그먼트 · 쿠폰 제안", "en": "Customer segments · coupon proposals"},
    "as_of": {"ko": "기준일 (YYYY-MM-DD)", "en": "As of (YYYY-MM-DD)"},
    "run_button": {"ko": "세그먼트 실행 ▶", "en": "Run segmentation ▶"},
    "approve_button": {"ko": "체크한 제안 검토 →", "en": "Review ticked proposals →"},
    "confirm_button": {"ko": "확정", "en": "Confirm"},
    "back_button": {"ko": "돌아가기", "en": "Back"},
    "confirm_title": {"ko": "확정하면 실행 #{run}에서 다음이 실행됩니다", "en": "Confirming run #{run} will do this"},
    "cf_segment": {"ko": "세그먼트", "en": "Segment"},
    "cf_customers": {"ko": "고객 수", "en": "Customers"},
    "cf_benefit": {"ko": "혜택 (고객이 받는 문구)", "en": "Benefit (as the customer reads it)"},
    "cf_min": {"ko": "최소 주문", "en": "Min. order"},
    "cf_until": {"ko": "유효기간", "en": "Valid until"},
    "cf_per": {"ko": "1인 혜택", "en": "Per customer"},
    "cf_total": {"ko": "할인 노출", "en": "Exposure"},
    "cf_open": {"ko": "{v} 이상", "en": "{v} or more"},
    "cf_sum": {"ko": "합계: 쿠폰 {coupons}장 · 메시지 {coupons}건 · 할인 노출 {exposure}",
               "en": "Total: {coupons} coupons · {coupons} messages · exposure {exposure}"},
    "cf_note": {"ko": "고객마다 고유한 쿠폰 코드가 발급되고 메시지가 발송 대기열에 들어갑니다. % 할인은 최소 주문 "
                      "금액 기준이며 더 큰 주문에는 더 많이 할인됩니다. 확정 후에는 되돌릴 수 없습니다.",
                "en": "Each customer gets a coupon code of their own and a queued message. Percent discounts are "
                      "counted at the minimum order; bigger orders get more. This cannot be undone."},
    "cancel_button": {"ko": "이번 실행 취소", "en": "Cancel this run"},
    "export_button": {"ko": "발송 목록 CSV 내보내기", "en": "Export outbox CSV"},
    "export_file": {"ko": "발송 목록", "en": "Outbox"},
    "no_run": {"ko": "아직 세그먼트를 실행하지 않았어요. 기준일을 확인하고 ‘세그먼트 실행 ▶’을 눌러 주세요.",
               "en": "No segmentation yet. Check the date and press “Run segmentation ▶”."},
    "run_status": {"ko": "실행 #{run} · 기준일 {as_of} · 고객 {n}명 · {status} · {method}",
                   "en": "Run #{run} · as of {as_of} · {n} customers · {status} · {method}"},
    "status_awaiting_approval": {"ko": "승인 대기", "en": "waiting for approval"},
    "status_executed": {"ko": "실행 완료", "en": "executed"},
    "status_cancelled": {"ko": "취소됨", "en": "cancelled"},
    "status_computing": {"ko": "계산 중", "en": "computing"},
    "method_quintiles": {"ko": "5분위 점수", "en": "quintile scores"},
    "method_small_shop_fallback": {"ko": "소규모 상점 고정 기준", "en": "small-shop fixed thresholds"},
    "edit_hint": {"ko": "미리 체크된 제안은 없습니다(★는 추천). 보낼 제안을 직접 체크하고, 필요하면 값(%, 원)과 "
                        "메시지를 고친 뒤 검토를 누르세요. 메시지의 {name}은 고객 이름, {coupon}은 고객별 쿠폰 코드, "
                        "{benefit}은 최소 주문 금액을 포함한 혜택으로 바뀝니다.",
                  "en": "Nothing is ticked in advance (★ = recommended). Tick the proposals to send, edit the value "
                        "(%, KRW) and message if needed, then review. {name} becomes the customer's name, {coupon} "
                        "their own coupon code, {benefit} the benefit with its minimum order."},
    "col_ok": {"ko": "승인", "en": "Approve"},
    "col_id": {"ko": "ID", "en": "ID"},
    "col_title": {"ko": "제안", "en": "Proposal"},
    "col_kind": {"ko": "혜택", "en": "Benefit"},
    "col_value": {"ko": "값", "en": "Value"},
    "col_min": {"ko": "최소 주문(원)", "en": "Min. order (KRW)"},
    "col_message": {"ko": "메시지", "en": "Message"},
    "kind_percent": {"ko": "% 할인", "en": "% off"},
    "kind_amount": {"ko": "원 할인", "en": "KRW off"},
    "kind_gift": {"ko": "사은품 (원 상당)", "en": "gift (KRW value)"},
    "executed": {"ko": "승인 완료: 쿠폰 {issued}명 발급, 메시지 {messages}건 발송 대기 (실행 #{run})",
                 "en": "Approved: {issued} coupons issued, {messages} messages queued (run #{run})"},
    "already": {"ko": "이미 승인된 실행이에요. 추가로 발급된 쿠폰은 없습니다.",
                "en": "This run was already approved; nothing was issued again."},
    "cancelled": {"ko": "실행 #{run}을 취소했어요. 발급된 쿠폰은 없습니다.",
                  "en": "Run #{run} cancelled; nothing was issued."},
    "nothing_selected": {"ko": "승인할 제안을 하나 이상 체크해 주세요.", "en": "Tick at least one proposal."},
    "exported": {"ko": "발송 대기 메시지 {n}건을 CSV로 내보냈어요.", "en": "Exported {n} queued messages as CSV."},
    "nothing_to_export": {"ko": "내보낼 발송 대기 메시지가 없어요.", "en": "No queued messages to export."},
    "login_needed": {"ko": "관리자 로그인이 필요합니다.", "en": "Admin login required."},
    "model_offline": {"ko": "AI 모델: 없음 (오프라인 답변)", "en": "AI model: none (offline answers)"},
    "model_ok": {"ko": "AI 모델 {model}: 정상", "en": "AI model {model}: working"},
    "model_paused": {"ko": "AI 모델 {model}: 연속 {n}회 실패로 일시 중지, {s}초 뒤 다시 시도 (그동안 오프라인 답변)",
                     "en": "AI model {model}: paused after {n} failures in a row, retried in {s} s (offline answers meanwhile)"},
    "error": {"ko": "오류: {error}", "en": "Error: {error}"},
    "bad_date": {"ko": "기준일은 YYYY-MM-DD 형식으로 입력해 주세요.", "en": "Enter the date as YYYY-MM-DD."},
    "items_product": {"ko": "상품", "en": "Product"},
    "items_when": {"ko": "일시", "en": "When"},
    "items_rating": {"ko": "별점", "en": "Rating"},
    "items_text": {"ko": "내용", "en": "Text"},
    "items_status": {"ko": "상태", "en": "Status"},
    "items_id": {"ko": "ID", "en": "ID"},
    "items_stock": {"ko": "재고", "en": "Stock"},
    "items_daily": {"ko": "하루 판매", "en": "Sold per day"},
    "items_cover": {"ko": "재고 일수", "en": "Days of cover"},
    "items_lead": {"ko": "입고 소요일", "en": "Lead time (days)"},
})

CSS = """
#sj-admin-top {align-items: center;}
.sj-cards {display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px;}
.sj-card {border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 10px 12px;
          background: var(--background-fill-secondary);}
.sj-card .k {font-size: 0.85em; color: var(--body-text-color-subdued);}
.sj-card .v {font-size: 1.5em; font-weight: 700; margin-top: 2px;}
.sj-card .s {font-size: 0.8em; color: var(--body-text-color-subdued); margin-top: 2px;}
.sj-card.warn .v {color: #c2410c;}
.sj-alerts {display: flex; flex-direction: column; gap: 6px;}
.sj-alert {border-left: 4px solid #f59e0b; padding: 6px 10px; border-radius: 6px; cursor: pointer;
           background: var(--background-fill-secondary);}
.sj-alert.critical {border-left-color: #dc2626;}
.sj-alert:hover {filter: brightness(0.96);}
.sj-alert:focus-visible {outline: 2px dashed var(--color-accent);}
.sj-alert.selected {outline: 2px solid var(--color-accent);}
.sj-muted {color: var(--body-text-color-subdued); font-size: 0.9em;}
"""

ALERTS_JS = """
const pick = (e) => {
  const item = e.target.closest('[data-alert]');
  if (item) { trigger('click', {alert: item.dataset.alert}); }
};
element.addEventListener('click', pick);
element.addEventListener('keydown', (e) => { if (e.key === 'Enter') pick(e); });
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _won(value: Any, locale: str = "ko") -> str:
    n = int(Decimal(str(value)))
    return f"{n:,}원" if locale == "ko" else f"₩{n:,}"


def _num(value: float) -> str:
    """1 decimal, 2 below 1 (0.03 a day is not 0 a day), no trailing zeros."""
    text = f"{value:,.2f}" if abs(value) < 1 else f"{value:,.1f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- rendering (pure: data → HTML / DataFrames) -------------------------------------------------


def _qna_deadlines(k: dict[str, Any], locale: str) -> str:
    """The unanswered questions' deadlines under the count: overdue first, else those due soon."""
    if k.get("qna_overdue"):
        return T("qna_overdue", locale, n=k["qna_overdue"])
    return T("qna_due_soon", locale, n=k["qna_due_soon"]) if k.get("qna_due_soon") else ""


def render_kpis(k: dict[str, Any], locale: str) -> str:
    settle = k["latest_settlement"]
    if settle:
        d = date.fromisoformat(settle["settled_on"])
        settle_v, settle_s = _won(settle["amount"], locale), f"{d.month}/{d.day}" if locale == "ko" else d.isoformat()
    else:
        settle_v, settle_s = T("none", locale), ""
    claims_s = " · ".join(f"{T('claim_' + t, locale)} {n}" for t, n in k["open_claims"].items() if n)
    share = k["bot_resolved_share"]
    frt = k["median_first_response_minutes"]
    cards = [
        ("qna", T("kpi_qna", locale), str(k["unanswered_qna"]), _qna_deadlines(k, locale), k["unanswered_qna"] > 0),
        ("claims", T("kpi_claims", locale), str(k["open_claims_total"]), claims_s, k["open_claims_total"] > 0),
        ("low", T("kpi_low", locale), str(k["low_stock"]), "", k["low_stock"] > 0),
        ("settle", T("kpi_settle", locale), settle_v, settle_s, False),
        ("today", T("kpi_today", locale), str(k["inquiries_today"]),
         T("waiting", locale, n=k["waiting_for_agent"]) if k["waiting_for_agent"] else "", False),
        ("bot", T("kpi_bot", locale), f"{share:.0%}" if share is not None else "–",
         T("of_n", locale, n=k["bot_window_conversations"]) if share is not None else "", False),
        ("frt", T("kpi_frt", locale), T("minutes", locale, n=_num(frt)) if frt is not None else "–", "", False),
    ]
    body = "".join(
        f'<div class="sj-card{" warn" if warn else ""}" data-kpi="{key}"><div class="k">{_esc(label)}</div>'
        f'<div class="v">{_esc(value)}</div><div class="s">{_esc(sub)}</div></div>'
        for key, label, value, sub, warn in cards)
    return f'<div class="sj-cards">{body}</div>'


def alert_title(a: dict[str, Any], locale: str) -> str:
    if a["kind"] == "review_spike":
        return T("alert_review", locale, product=a["product_name"], recent=a["recent"], weekly=_num(a["baseline_weekly"]))
    if a["kind"] == "claim_spike":
        return T("alert_claim", locale, product=a["product_name"], recent=a["recent"], weekly=_num(a["baseline_weekly"]))
    if a["stock"] <= 0:
        return T("alert_soldout", locale, product=a["product_name"], daily=_num(a["daily_sales"]),
                 restock=a["restock_on"] or T("restock_unknown", locale))
    return T("alert_stock", locale, product=a["product_name"], cover=_num(a["days_of_cover"]),
             lead=a["lead_time_days"], daily=_num(a["daily_sales"]))


def render_alerts(alerts: list[dict[str, Any]], locale: str, selected: str | None = None) -> str:
    if not alerts:
        return f'<p class="sj-muted">{_esc(T("no_alerts", locale))}</p>'
    rows = "".join(
        f'<div class="sj-alert {a["severity"]}{" selected" if a["id"] == selected else ""}" role="button" '
        f'tabindex="0" data-alert="{_esc(a["id"])}">⚠ {_esc(alert_title(a, locale))}</div>' for a in alerts)
    return f'<div class="sj-alerts">{rows}</div><p class="sj-muted">{_esc(T("click_alert", locale))}</p>'


def alert_items_df(alert: dict[str, Any] | None, locale: str) -> pd.DataFrame:
    if alert is None:
        return pd.DataFrame()
    if alert["kind"] == "review_spike":
        return pd.DataFrame([{T("items_id", locale): i["review_id"], T("items_when", locale): i["created_at"][:16],
                              T("items_rating", locale): "★" * int(i["rating"] or 0) or "–",
                              T("items_text", locale): i["text"], T("items_status", locale): i["reply_status"]}
                             for i in alert["items"]])
    if alert["kind"] == "claim_spike":
        return pd.DataFrame([{T("items_id", locale): i["claim_id"], T("items_when", locale): i["created_at"][:16],
                              T("claim_type", locale): T("claim_" + i["type"], locale),
                              T("items_text", locale): i["reason"] or "", T("items_status", locale): i["status"]}
                             for i in alert["items"]])
    return pd.DataFrame([{T("items_id", locale): i["product_id"], T("items_product", locale): i["name"],
                          T("items_stock", locale): i["stock"], T("items_daily", locale): i["daily_sales"],
                          T("items_cover", locale): i["days_of_cover"], T("items_lead", locale): i["lead_time_days"]}
                         for i in alert["items"]])


def sales_frame(points: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame({"day": pd.to_datetime([p["day"] for p in points]),
                         "revenue": [float(p["revenue"]) for p in points],
                         "orders": [int(p["orders"]) for p in points]})


def claims_frame(points: list[dict[str, Any]], locale: str) -> pd.DataFrame:
    return pd.DataFrame({"day": pd.to_datetime([p["day"] for p in points]),
                         "type": [T("claim_" + p["type"], locale) for p in points],
                         "claims": [int(p["claims"]) for p in points]})


def segments_frame(overview: dict[str, Any], locale: str) -> pd.DataFrame:
    rows = []
    for run_key, counts in (("prev_run", overview.get("previous") or {}), ("this_run", overview.get("segments") or {})):
        rows += [{"segment": segment_label(s, locale), "run": T(run_key, locale), "customers": int(counts.get(s, 0))}
                 for s in SEGMENT_IDS if counts]
    # explicit dtypes: an empty frame must still say "customers" is a number, or Vega plots it as a category
    return pd.DataFrame(rows, columns=["segment", "run", "customers"]).astype(
        {"segment": "string", "run": "string", "customers": "int64"})


def moves_frame(moves: list[dict[str, Any]], locale: str) -> pd.DataFrame:
    return pd.DataFrame([{T("from", locale): segment_label(m["from"], locale) or T("new_customer", locale),
                          T("to", locale): segment_label(m["to"], locale) or T("dropped", locale),
                          T("customers", locale): m["customers"]} for m in moves[:15]],
                        columns=[T("from", locale), T("to", locale), T("customers", locale)])


PROPOSAL_COLS = ("col_ok", "col_id", "segment", "customers", "col_title", "col_kind", "col_value", "col_min",
                 "col_message")


def proposals_frame(run: Mapping[str, Any] | None, locale: str) -> pd.DataFrame:
    cols = [T(c, locale) for c in PROPOSAL_COLS]
    if not run:
        return pd.DataFrame(columns=cols)
    # nothing ticked before the admin ticks it: a recommended proposal is only marked ★
    rows = [[bool(p.get("approved")), p["id"], segment_label(p["segment"], locale), int(p["customers"]),
             ("★ " if p.get("recommended") else "") + p["title"], T("kind_" + p["discount_type"], locale),
             float(p["discount_value"]), float(p.get("min_order_amount") or 0), p["message"]]
            for p in run["proposals"]]
    return pd.DataFrame(rows, columns=cols)


def approvals_from_frame(df: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Ticked rows → [{"id", "discount_value", "message"}] (columns by position: the headers are localized)."""
    if df is None or len(df) == 0:
        return []
    out = []
    for row in df.itertuples(index=False):
        ok = row[0]
        if isinstance(ok, str):
            ok = ok.strip().lower() in ("true", "1", "yes", "y", "✔")
        if not ok:
            continue
        value = row[6]
        out.append({"id": str(row[1]), "discount_value": None if value in (None, "") or pd.isna(value) else value,
                    "message": str(row[8]) if row[8] not in (None, "") else None})
    return out


def confirmation_md(preview: ApprovalPreview, locale: str) -> str:
    """The confirmation step: per ticked proposal what will be issued, and the totals."""
    head = [T(k, locale) for k in ("cf_segment", "cf_customers", "cf_benefit", "cf_min", "cf_until", "cf_per",
                                   "cf_total")]
    lines = [f"#### {T('confirm_title', locale, run=preview['run_id'])}", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i in preview["items"]:
        total = _won(i["exposure"], locale)
        lines.append("| " + " | ".join(_esc(x).replace("|", "\\|") for x in (
            segment_label(i["segment"], locale), f"{i['customers']:,}", i["benefit"],
            _won(i["min_order_amount"], locale) if i["min_order_amount"] else "-", i["valid_until"],
            _won(i["per_customer"], locale), T("cf_open", locale, v=total) if i["open_ended"] else total)) + " |")
    exposure = _won(preview["exposure"], locale)
    lines += ["", "**" + T("cf_sum", locale, coupons=f"{preview['coupons']:,}",
                          exposure=T("cf_open", locale, v=exposure) if preview["open_ended"] else exposure) + "**",
              "", T("cf_note", locale)]
    return "\n".join(lines)


def model_status_text(status: Mapping[str, Any], locale: str) -> str:
    """One line on the chat model: none, working, or paused by the circuit breaker (`chat_model_status`)."""
    if not status.get("enabled"):
        return T("model_offline", locale)
    if status.get("state") == "open":
        return T("model_paused", locale, model=_esc(status.get("model")), n=status.get("consecutive_failures"),
                 s=int(status.get("retry_in_s") or 0))
    return T("model_ok", locale, model=_esc(status.get("model")))


def run_status_text(run: Mapping[str, Any] | None, locale: str) -> str:
    if not run:
        return T("no_run", locale)
    return T("run_status", locale, run=run["run_id"], as_of=run["as_of"], n=f"{run['customers']:,}",
             status=T("status_" + run["status"], locale), method=T("method_" + (run["method"] or "quintiles"), locale))


# --- the page --------------------------------------------------------------------------------------


class AdminUI:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def me(self, request: gr.Request | None) -> dict[str, str] | None:
        member = request_member(self.settings, request, roles=("admin",))
        if member is None:
            return None
        return {"username": member.username, "name": member.name, "locale": member.locale}

    # -- data + render in one place so every handler shows the same thing
    def view(self, locale: str, days: int, selected: str | None) -> dict[str, Any]:
        data = dash.overview(self.settings, days=days)
        alerts = data["alerts"]
        chosen = next((a for a in alerts if a["id"] == selected), alerts[0] if alerts else None)
        return {"briefing": render_briefing(dash.morning_briefing(self.settings), locale),
                "kpis": render_kpis(data["kpis"], locale),
                "ai": render_ai_metrics(ai_metrics(self.settings), locale),
                "alerts": render_alerts(alerts, locale, chosen["id"] if chosen else None),
                "items": alert_items_df(chosen, locale), "selected": chosen["id"] if chosen else None,
                "sales": sales_frame(data["sales"]), "claims": claims_frame(data["claims"], locale),
                "segments": segments_frame(data["segments"], locale),
                "moves": moves_frame(data["segments"].get("moves") or [], locale)}

    def current_run(self) -> Mapping[str, Any] | None:
        run_id = dash.latest_run_id(self.settings)
        return run_summary(self.settings, run_id) if run_id is not None else None

    def build(self) -> gr.Blocks:
        loc = self.settings.locale
        with gr.Blocks(title=T("page_title", loc), fill_width=True) as demo:
            gr.HTML("", head=f"<style>{CSS}{BRIEFING_CSS}</style>", visible="hidden")
            locale_st = gr.State(loc)
            selected_st = gr.State(None)
            run_st = gr.State(None)
            with gr.Row(elem_id="sj-admin-top"):
                title = gr.Markdown(f"## {T('page_title', loc)}")
                who = gr.Markdown("")
                lang = gr.Radio([(LOCALE_LABELS[x], x) for x in LOCALES], value=loc, label=T("language", loc),
                                scale=0, min_width=220)
                refresh = gr.Button(T("refresh", loc), scale=0, min_width=110)
            with gr.Tabs(elem_id="sj-admin-tabs"):
                with gr.Tab(T("tab_dashboard", loc), id="dashboard", elem_id="sj-tab-dashboard") as tab_dash:
                    briefing = gr.HTML("", elem_id="sj-briefing")
                    kpis = gr.HTML("", elem_id="sj-kpis")
                    ai_cards = gr.HTML("", elem_id="sj-ai-metrics")
                    alerts_title = gr.Markdown(f"### {T('alerts', loc)}")
                    alerts = gr.HTML("", elem_id="sj-alerts", js_on_load=ALERTS_JS)
                    items = gr.Dataframe(label=T("alert_items", loc), interactive=False, wrap=True, max_height=260,
                                         elem_id="sj-alert-items")
                    period = gr.Radio([(T("days_30", loc), 30), (T("days_90", loc), 90)], value=30, label=T("period", loc))
                    charts_st = gr.State(None)

                    # Rebuilt on every change: Gradio's native plots keep the first colour domain they were drawn
                    # with, so updating a coloured plot in place (new locale, first segment run) loses its bars.
                    @gr.render(inputs=charts_st)
                    def draw_charts(charts: dict[str, Any] | None) -> None:
                        if not charts:
                            return
                        locale = charts["locale"]
                        with gr.Row():
                            gr.LinePlot(charts["sales"], x="day", y="revenue", title=T("chart_revenue", locale),
                                        x_title=T("day", locale), y_title=T("revenue", locale), y_lim=[0, None],
                                        height=260, elem_id="sj-revenue")
                            gr.BarPlot(charts["sales"], x="day", y="orders", title=T("chart_orders", locale),
                                       x_title=T("day", locale), y_title=T("orders", locale), y_lim=[0, None],
                                       height=260, elem_id="sj-orders")
                        with gr.Row():
                            gr.BarPlot(charts["claims"], x="day", y="claims", color="type", title=T("chart_claims", locale),
                                       x_title=T("day", locale), y_title=T("claims", locale), y_lim=[0, None],
                                       color_title=T("claim_type", locale), height=260, elem_id="sj-claims")
                            if len(charts["segments"]):
                                gr.BarPlot(charts["segments"], x="run", y="customers", color="segment",
                                           title=T("chart_segments", locale), x_title=T("run", locale),
                                           y_title=T("customers", locale), color_title=T("segment", locale),
                                           sort=[T("prev_run", locale), T("this_run", locale)],
                                           y_lim=[0, None], height=260, elem_id="sj-segments")
                            else:
                                gr.Markdown(T("no_run", locale), elem_id="sj-segments")

                    moves = gr.Dataframe(label=T("moves", loc), interactive=False, max_height=220)
                    seg_title = gr.Markdown(f"### {T('seg_title', loc)}")
                    with gr.Row():
                        as_of = gr.Textbox(value=shop_today().isoformat(), label=T("as_of", loc), scale=1, max_lines=1)
                        run_btn = gr.Button(T("run_button", loc), variant="primary", scale=1, elem_id="sj-run")
                    run_status = gr.Markdown("", elem_id="sj-run-status")
                    hint = gr.Markdown(T("edit_hint", loc))
                    proposals = gr.Dataframe(
                        value=proposals_frame(None, loc), interactive=True, wrap=True, elem_id="sj-proposals",
                        datatype=["bool", "str", "str", "number", "str", "str", "number", "number", "str"],
                        static_columns=[1, 2, 3, 4, 5, 7],
                        column_widths=["6%", "9%", "10%", "7%", "14%", "10%", "7%", "9%", "28%"])
                    with gr.Row():
                        approve_btn = gr.Button(T("approve_button", loc), variant="primary", elem_id="sj-approve")
                        cancel_btn = gr.Button(T("cancel_button", loc), variant="secondary")
                        export_btn = gr.Button(T("export_button", loc), variant="secondary")
                    # the confirmation step: what 확정 will issue, for exactly the selection reviewed
                    pending_st = gr.State(None)  # the approvals the confirmation shows
                    confirm_md = gr.Markdown("", visible=False, elem_id="sj-confirm")
                    with gr.Row():
                        confirm_btn = gr.Button(T("confirm_button", loc), variant="primary", visible=False,
                                                elem_id="sj-confirm-btn")
                        back_btn = gr.Button(T("back_button", loc), variant="secondary", visible=False,
                                             elem_id="sj-confirm-back")
                    action_note = gr.Markdown("", elem_id="sj-action-note")
                    # a link to the authenticated download route, never a gr.File: Gradio's file route of every
                    # mounted app (the public /chat too) would serve the CSV to anyone with its URL
                    export_file = gr.Markdown("", elem_id="sj-export-link")
                with gr.Tab(T("tab_manager", loc), id="manager", elem_id="sj-tab-manager") as tab_manager:
                    ManagerTab(self.settings).build(loc, locale_st, lang)
                with gr.Tab(T("tab_settings", loc), id="settings", elem_id="sj-tab-settings") as tab_settings:
                    SettingsTab(self.settings).build(loc, locale_st, lang, demo)
                ManualTab(self.settings).mount(loc, locale_st, lang, demo)  # 매뉴얼 공개 범위

            dash_out = [briefing, kpis, ai_cards, alerts, items, selected_st, charts_st, moves]
            labels_out = [title, alerts_title, seg_title, hint, lang, refresh, period, items, moves, as_of, run_btn,
                          approve_btn, cancel_btn, export_btn, export_file, tab_dash, tab_manager, tab_settings,
                          confirm_btn, back_btn]

            def dash_values(locale: str, days: int, selected: str | None) -> list[Any]:
                v = self.view(locale, int(days or 30), selected)
                return [v["briefing"], v["kpis"], v["ai"], v["alerts"], v["items"], v["selected"],
                        {"locale": locale, "days": int(days or 30), "sales": v["sales"], "claims": v["claims"],
                         "segments": v["segments"]},
                        v["moves"]]

            def label_values(locale: str, days: int) -> list[Any]:
                return [f"## {T('page_title', locale)}", f"### {T('alerts', locale)}", f"### {T('seg_title', locale)}",
                        T("edit_hint", locale), gr.Radio(label=T("language", locale)), gr.Button(T("refresh", locale)),
                        gr.Radio(choices=[(T("days_30", locale), 30), (T("days_90", locale), 90)], value=days,
                                 label=T("period", locale)),
                        gr.Dataframe(label=T("alert_items", locale)), gr.Dataframe(label=T("moves", locale)),
                        gr.Textbox(label=T("as_of", locale)), gr.Button(T("run_button", locale)),
                        gr.Button(T("approve_button", locale)), gr.Button(T("cancel_button", locale)),
                        gr.Button(T("export_button", locale)), gr.Markdown(),
                        gr.Tab(label=T("tab_dashboard", locale)), gr.Tab(label=T("tab_manager", locale)),
                        gr.Tab(label=T("tab_settings", locale)), gr.Button(T("confirm_button", locale)),
                        gr.Button(T("back_button", locale))]

            def run_values(run: Mapping[str, Any] | None, locale: str) -> list[Any]:
                awaiting = bool(run and run["status"] == "awaiting_approval")
                return [run["run_id"] if run else None, run_status_text(run, locale),
                        gr.Dataframe(value=proposals_frame(run, locale), interactive=awaiting),
                        gr.Button(interactive=awaiting), gr.Button(interactive=awaiting), *closed()]

            def closed() -> list[Any]:
                """The confirmation step closed (nothing pending)."""
                return [None, gr.update(visible=False, value=""), gr.update(visible=False), gr.update(visible=False)]

            confirm_out = [pending_st, confirm_md, confirm_btn, back_btn]
            run_out = [run_st, run_status, proposals, approve_btn, cancel_btn, *confirm_out]

            def on_load(request: gr.Request) -> list[Any]:
                me = self.me(request)
                locale = me["locale"] if me else self.settings.locale
                head = f"**{T('hello', locale, name=me['name'])}**" if me else f"**{T('login_needed', locale)}**"
                if me:  # the breaker's state: answers are offline while the model is paused
                    head += f"  ·  {model_status_text(chat_model_status(self.settings), locale)}"
                return [locale, head, gr.Radio(value=locale), *dash_values(locale, 30, None),
                        *label_values(locale, 30), *run_values(self.current_run(), locale)]

            demo.load(on_load, None, [locale_st, who, lang, *dash_out, *labels_out, *run_out])

            def on_refresh(locale: str, days: int, selected: str | None, run_id: int | None) -> list[Any]:
                return [*dash_values(locale, days, selected), *run_values(self._run(run_id), locale)]

            refresh.click(on_refresh, [locale_st, period, selected_st, run_st], [*dash_out, *run_out])
            period.change(dash_values, [locale_st, period, selected_st], dash_out)

            def on_lang(new: str, days: int, selected: str | None, run_id: int | None) -> list[Any]:
                locale = new if new in LOCALES else self.settings.locale
                return [locale, *dash_values(locale, days, selected), *label_values(locale, days),
                        *run_values(self._run(run_id), locale)]

            lang.change(on_lang, [lang, period, selected_st, run_st], [locale_st, *dash_out, *labels_out, *run_out])

            def on_alert(locale: str, days: int, evt: gr.EventData) -> list[Any]:
                chosen = (evt._data or {}).get("alert")
                alerts_list = dash.risk_alerts(self.settings)
                alert = next((a for a in alerts_list if a["id"] == chosen), None)
                return [render_alerts(alerts_list, locale, chosen if alert else None), alert_items_df(alert, locale),
                        chosen if alert else None]

            alerts.click(on_alert, [locale_st, period], [alerts, items, selected_st])

            def on_run(as_of_text: str, locale: str, days: int, selected: str | None,
                       request: gr.Request) -> list[Any]:
                me = self.me(request)
                if me is None:
                    return [*run_values(None, locale), T("login_needed", locale), *dash_values(locale, days, selected)]
                try:
                    day = date.fromisoformat((as_of_text or "").strip()) if (as_of_text or "").strip() else None
                except ValueError:
                    return [*[gr.update()] * len(run_out), T("bad_date", locale), *dash_values(locale, days, selected)]
                try:
                    run = start_run(self.settings, as_of=day, started_by=me["username"])
                except SajangError as exc:
                    return [*[gr.update()] * len(run_out), T("error", locale, error=str(exc)),
                            *dash_values(locale, days, selected)]
                return [*run_values(run, locale), "", *dash_values(locale, days, selected)]

            run_btn.click(on_run, [as_of, locale_st, period, selected_st], [*run_out, action_note, *dash_out],
                          concurrency_limit=1)

            def on_review(run_id: int | None, table: pd.DataFrame, locale: str, request: gr.Request) -> list[Any]:
                """검토: the ticked proposals (with their edits) and what confirming them would issue."""
                me = self.me(request)
                if me is None:
                    return [*closed(), T("login_needed", locale)]
                if run_id is None:
                    return [*closed(), T("no_run", locale)]
                approvals = approvals_from_frame(table)
                if not approvals:
                    return [*closed(), T("nothing_selected", locale)]
                try:
                    preview = preview_approval(self.settings, int(run_id), approvals)
                except SajangError as exc:
                    return [*closed(), T("error", locale, error=str(exc))]
                return [approvals, gr.update(visible=True, value=confirmation_md(preview, locale)),
                        gr.update(visible=True), gr.update(visible=True), ""]

            approve_btn.click(on_review, [run_st, proposals, locale_st], [*confirm_out, action_note],
                              concurrency_limit=1)
            # an edit of the table after 검토 closes the confirmation: 확정 issues only what was shown
            proposals.input(lambda: closed(), None, confirm_out, show_progress="hidden")
            back_btn.click(lambda: closed(), None, confirm_out, show_progress="hidden")

            def on_confirm(run_id: int | None, approvals: list[dict[str, Any]] | None, locale: str,
                           request: gr.Request) -> list[Any]:
                me = self.me(request)
                if me is None:
                    return [*run_values(self._run(run_id), locale), T("login_needed", locale)]
                if run_id is None or not approvals:
                    return [*run_values(self._run(run_id), locale), T("nothing_selected", locale)]
                try:
                    run = approve_run(self.settings, int(run_id), approvals, me["username"])
                except SajangError as exc:
                    return [*run_values(self._run(run_id), locale), T("error", locale, error=str(exc))]
                if run.get("already_executed"):
                    note = T("already", locale)
                else:
                    note = T("executed", locale, issued=sum(c["issued"] for c in run["coupons"]),
                             messages=run["outbox_messages"], run=run["run_id"])
                return [*run_values(run, locale), note]

            confirm_btn.click(on_confirm, [run_st, pending_st, locale_st], [*run_out, action_note],
                              concurrency_limit=1)

            def on_cancel(run_id: int | None, locale: str, request: gr.Request) -> list[Any]:
                me = self.me(request)
                if me is None or run_id is None:
                    return [*run_values(self._run(run_id), locale),
                            T("login_needed" if me is None else "no_run", locale)]
                try:
                    run = cancel_run(self.settings, int(run_id), me["username"])
                except SajangError as exc:
                    return [*run_values(self._run(run_id), locale), T("error", locale, error=str(exc))]
                return [*run_values(run, locale), T("cancelled", locale, run=run_id)]

            cancel_btn.click(on_cancel, [run_st, locale_st], [*run_out, action_note], concurrency_limit=1)

            def on_export(locale: str, request: gr.Request) -> list[Any]:
                me = self.me(request)
                if me is None:
                    return ["", T("login_needed", locale)]
                name = f"sajang-outbox-{datetime.now():%Y%m%d-%H%M%S}.csv"
                token, n = staff_files.write_staff_file(
                    self.settings, "admin", name, lambda fh: dash.export_outbox(self.settings, fh, actor=me["username"]))
                if not n:
                    return ["", T("nothing_to_export", locale)]
                link = f"[⬇ {T('export_file', locale)} · {name}]({staff_files.download_url(token)})"
                return [link, T("exported", locale, n=n)]

            export_btn.click(on_export, [locale_st], [export_file, action_note], concurrency_limit=1)
        return demo

    def _run(self, run_id: int | None) -> Mapping[str, Any] | None:
        if run_id is None:
            return None
        try:
            return run_summary(self.settings, int(run_id))
        except SajangError:
            return None


def build_admin(settings: Settings) -> gr.Blocks:
    """The `/admin` page (mounted by the web app behind the admin login)."""
    return AdminUI(settings).build()
