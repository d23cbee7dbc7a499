"""The morning briefing on top of `/admin`: what changed since yesterday in five lines
(`sajang.services.dashboard.morning_briefing` gives the numbers)."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from sajang.ui.i18n import Strings

T = Strings({
    "title": {"ko": "오늘의 브리핑", "en": "Morning briefing"},
    "sales": {"ko": "매출", "en": "Sales"},
    "alerts": {"ko": "위험 알림", "en": "Risk alerts"},
    "queue": {"ko": "상담 대기", "en": "Queue"},
    "reviews": {"ko": "부정 리뷰", "en": "Negative reviews"},
    "claims": {"ko": "클레임", "en": "Claims"},
    "sales_line": {"ko": "어제 {revenue} (주문 {orders}건) — 지난주 같은 요일 {last}보다 {change}",
                   "en": "Yesterday {revenue} ({orders} orders) — {change} against {last} the same weekday last week"},
    "up": {"ko": "{pct}% 늘었어요", "en": "{pct}% up"},
    "down": {"ko": "{pct}% 줄었어요", "en": "{pct}% down"},
    "no_base": {"ko": "비교할 매출이 없어요", "en": "nothing to compare with"},
    "alerts_new": {"ko": "새로 {n}건: {items} (전체 {total}건)", "en": "{n} new: {items} ({total} in all)"},
    "alerts_none": {"ko": "어제 이후 새 알림은 없어요 (전체 {total}건)", "en": "none new since yesterday ({total} in all)"},
    "review_spike": {"ko": "「{p}」 리뷰 급증", "en": "“{p}” review spike"},
    "claim_spike": {"ko": "「{p}」 클레임 급증", "en": "“{p}” claim spike"},
    "low_stock": {"ko": "「{p}」 재고 부족", "en": "“{p}” low stock"},
    "queue_line": {"ko": "{n}건 기다리는 중 — 가장 오래된 문의 «{subject}» {wait}째",
                   "en": "{n} waiting — the oldest, “{subject}”, for {wait}"},
    "queue_none": {"ko": "기다리는 문의가 없어요", "en": "nobody is waiting"},
    "hours": {"ko": "{h}시간 {m}분", "en": "{h} h {m} min"},
    "minutes": {"ko": "{m}분", "en": "{m} min"},
    "reviews_line": {"ko": "지난 24시간 {n}건 — {items}", "en": "{n} in the last 24 h — {items}"},
    "reviews_none": {"ko": "지난 24시간 동안 없어요", "en": "none in the last 24 h"},
    "claims_line": {"ko": "지난 24시간 {n}건 ({types})", "en": "{n} in the last 24 h ({types})"},
    "claims_none": {"ko": "지난 24시간 동안 없어요", "en": "none in the last 24 h"},
    "ai_title": {"ko": "AI 상담 성과 (최근 {days}일)", "en": "How the AI does (last {days} days)"},
    "ai_resolution": {"ko": "AI 해결률", "en": "AI resolution rate"},
    "ai_resolution_sub": {"ko": "24시간 안에 상담원 연결·재문의 없음 · {n}건 중", "en": "no handoff or return in 24 h · of {n}"},
    "ai_involvement": {"ko": "AI 참여율", "en": "AI involvement"},
    "ai_frt": {"ko": "첫 응답 (중앙값)", "en": "First response (median)"},
    "ai_csat": {"ko": "고객 만족도 (CSAT)", "en": "Customer satisfaction (CSAT)"},
    "ai_csat_sub": {"ko": "{n}명 평가", "en": "{n} ratings"},
    "ai_trend": {"ko": "주별 AI 해결률", "en": "AI resolution per week"},
    "seconds": {"ko": "{s}초", "en": "{s} s"},
    "cancel": {"ko": "취소", "en": "cancel"}, "return": {"ko": "반품", "en": "return"},
    "exchange": {"ko": "교환", "en": "exchange"}, "refund": {"ko": "환불", "en": "refund"},
})

CSS = """
.sj-briefing {border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 10px 14px;
              background: var(--background-fill-secondary); margin-bottom: 4px;}
.sj-briefing h4 {margin: 0 0 6px 0; font-size: 1em;}
.sj-briefing ul {margin: 0 !important; padding-left: 0 !important; list-style: none !important;}
.sj-briefing li::marker {content: none;}
.sj-briefing li {padding: 2px 0; line-height: 1.45; list-style: none !important; margin: 0 !important;}
.sj-briefing li b {display: inline-block; min-width: 9em;}
.sj-briefing li.warn b {color: #c2410c;}
.sj-ai h4 {margin: 8px 0 6px 0; font-size: 1em;}
.sj-ai .sj-trend {margin-top: 6px; font-size: 0.88em; color: var(--body-text-color-subdued);}
"""


def _won(value: Any, locale: str) -> str:
    n = round(float(value or 0))
    return f"{n:,}원" if locale == "ko" else f"₩{n:,}"


def _wait(since_iso: str, now: datetime, locale: str) -> str:
    since = datetime.fromisoformat(since_iso)
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes >= 60:
        return T("hours", locale, h=minutes // 60, m=minutes % 60)
    return T("minutes", locale, m=minutes)


def briefing_lines(b: dict[str, Any], locale: str) -> list[tuple[str, str, bool]]:
    """(label, text, warn) × 5, plain text (escaped by `render_briefing`)."""
    now = datetime.fromisoformat(b["as_of"])
    s = b["sales"]
    change = s["change_pct"]
    change_text = T("no_base", locale) if change is None else T("up" if change >= 0 else "down", locale,
                                                                   pct=f"{abs(change):.0f}")
    sales = T("sales_line", locale, revenue=_won(s["revenue"], locale), orders=s["orders"],
              last=_won(s["last_week_revenue"], locale), change=change_text)
    new = b["alerts"]["new"]
    alerts = (T("alerts_new", locale, n=len(new), total=b["alerts"]["total"],
                items=", ".join(T(a["kind"], locale, p=a["product_name"]) for a in new[:3]))
              if new else T("alerts_none", locale, total=b["alerts"]["total"]))
    q = b["queue"]
    if q["waiting"] and q["oldest"]:
        subject = (q["oldest"]["subject"] or "").strip()
        subject = subject[:30] + ("…" if len(subject) > 30 else "")
        queue = T("queue_line", locale, n=q["waiting"], subject=subject, wait=_wait(q["oldest"]["since"], now, locale))
    else:
        queue = T("queue_none", locale)
    r = b["negative_reviews"]
    reviews = (T("reviews_line", locale, n=r["count"], items=", ".join(
        (f"「{p['product_name'] or p['product_id']}」 {p['count']}건" if locale == "ko"
         else f"“{p['product_name'] or p['product_id']}” {p['count']}")
        for p in r["products"][:3])) if r["count"] else T("reviews_none", locale))
    c = b["claims"]
    claims = (T("claims_line", locale, n=c["count"], types=" · ".join(f"{T(t, locale)} {n}" for t, n in c["by_type"].items()))
              if c["count"] else T("claims_none", locale))
    return [(T("sales", locale), sales, change is not None and change < -20),
            (T("alerts", locale), alerts, bool(new)),
            (T("queue", locale), queue, bool(q["waiting"])),
            (T("reviews", locale), reviews, bool(r["count"])),
            (T("claims", locale), claims, False)]


def render_briefing(b: dict[str, Any], locale: str) -> str:
    items = "".join(f'<li class="{"warn" if warn else ""}"><b>{html.escape(label)}</b> {html.escape(text)}</li>'
                    for label, text, warn in briefing_lines(b, locale))
    return f'<div class="sj-briefing"><h4>{html.escape(T("title", locale))}</h4><ul>{items}</ul></div>'


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _duration(seconds: float | None, locale: str) -> str:
    if seconds is None:
        return "–"
    if seconds < 60:
        return T("seconds", locale, s=f"{seconds:.0f}")
    minutes = round(seconds / 60)
    return T("hours", locale, h=minutes // 60, m=minutes % 60) if minutes >= 60 else T("minutes", locale, m=minutes)


def render_ai_metrics(m: dict[str, Any], locale: str) -> str:
    """Four cards (resolution, involvement, first response, CSAT) and the weekly resolution trend."""
    cards = [("ai_resolution", _rate(m["resolution_rate"]), T("ai_resolution_sub", locale, n=m["conversations"])),
             ("ai_involvement", _rate(m["involvement_rate"]), ""),
             ("ai_frt", _duration(m["median_first_response_s"], locale), ""),
             ("ai_csat", "–" if m["csat"] is None else f"{m['csat']:.1f} / 5",
              T("ai_csat_sub", locale, n=m["csat_ratings"]))]
    body = "".join(f'<div class="sj-card" data-kpi="{key}"><div class="k">{html.escape(T(key, locale))}</div>'
                   f'<div class="v">{html.escape(value)}</div><div class="s">{html.escape(sub)}</div></div>'
                   for key, value, sub in cards)
    weeks = [w for w in m["weeks"] if w["conversations"]][-8:]
    trend = " · ".join(f"{w['week'][5:]} {_rate(w['resolution_rate'])}" for w in weeks)
    trend_html = f'<div class="sj-trend">{html.escape(T("ai_trend", locale))}: {html.escape(trend)}</div>' if weeks else ""
    return (f'<div class="sj-ai"><h4>{html.escape(T("ai_title", locale, days=m["days"]))}</h4>'
            f'<div class="sj-cards">{body}</div>{trend_html}</div>')


__all__ = ["CSS", "briefing_lines", "render_ai_metrics", "render_briefing"]
