"""Offline: which tools a question needs (keyword intents) and the answer written from their results.

Covers the owner's everyday questions — sales this week / yesterday / today against last week, low stock,
churn-risk customers, claims of a day, why a product's reviews are bad — and says plainly what it cannot
answer, listing what it can. The chat-model path calls the same tools (see `nodes.py`)."""

from __future__ import annotations

import re
from typing import Any

from sajang.db.rfm import segment_label
from sajang.graphs.manager.tools import ASPECT_NAMES
from sajang.knowledge.normalize import particle_after

_SALES = re.compile(r"매출|판매액|판매\s*금액|얼마\s*팔|몇\s*건\s*팔|주문\s*(수|건수|량)|장사|sales|revenue|sold", re.I)
_STOCK = re.compile(r"재고|품절|입고|발주|stock|sold\s*out|inventory|restock", re.I)
_CHURN = re.compile(r"이탈|떠날|떠나|휴면|안\s*오는\s*고객|발길|churn|at[\s-]*risk|lapsing", re.I)
_CLAIMS = re.compile(r"클레임|반품|교환|환불|취소\s*(요청|건)|claim|return|refund|exchange", re.I)
_REVIEWS = re.compile(r"리뷰|후기|별점|평점|상품평|review|rating", re.I)
_TODAY = re.compile(r"오늘|today", re.I)
_YESTERDAY = re.compile(r"어제|어저께|yesterday", re.I)
_WEEK = re.compile(r"이번\s*주|금주|지난\s*주|저번\s*주|주간|일주일|week", re.I)


def is_english(text: str) -> bool:
    hangul = sum(1 for ch in text if "가" <= ch <= "힣")
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    return latin > hangul


def route(question: str) -> list[tuple[str, dict[str, Any]]]:
    """The tool calls a question needs, in the order the answer tells them; [] = not a question we cover."""
    q = question or ""
    calls: list[tuple[str, dict[str, Any]]] = []
    if _SALES.search(q):
        if _WEEK.search(q) or not (_TODAY.search(q) or _YESTERDAY.search(q)):
            calls.append(("sales_week_comparison", {}))
        if _TODAY.search(q):
            calls.append(("sales_day_comparison", {"day": "today"}))
        if _YESTERDAY.search(q):
            calls.append(("sales_day_comparison", {"day": "yesterday"}))
    if _STOCK.search(q):
        calls.append(("low_stock_products", {}))
    if _CHURN.search(q):
        calls.append(("churn_risk_customers", {}))
    if _REVIEWS.search(q):
        calls.append(("product_review_problems", {"product": q}))
    elif _CLAIMS.search(q):
        day = "today" if _TODAY.search(q) else "week" if _WEEK.search(q) and not _YESTERDAY.search(q) else "yesterday"
        calls.append(("claims_for_day", {"day": day}))
    return calls


# --- answers ----------------------------------------------------------------------------------------------


def _won(value: Any, en: bool) -> str:
    n = round(float(value or 0))
    return f"₩{n:,}" if en else f"{n:,}원"


def _pct(change: float | None, en: bool) -> str:
    if change is None:
        return "no sales to compare with" if en else "비교할 지난 매출이 없어요"
    if en:
        return f"{abs(change):.1f}% {'up' if change >= 0 else 'down'}"
    return f"{abs(change):.1f}% {'늘었어요' if change >= 0 else '줄었어요'}"


def _topic(word: str) -> str:
    """은/는 after a product name, chosen by the name without its trailing "(800g, 2인분)"."""
    base = re.sub(r"\s*\([^()]*\)\s*$", "", word) or word
    return f"{word}{particle_after(base, '은')}"


def answer_sales_week(d: dict[str, Any], en: bool) -> str:
    if en:
        return (f"This week so far ({d['week_start']} – {d['today']}): {_won(d['revenue'], en)} from "
                f"{d['orders']:,} orders. Same span last week: {_won(d['last_week_revenue'], en)} from "
                f"{d['last_week_orders']:,} orders — {_pct(d['change_pct'], en)}. Last week in full: "
                f"{_won(d['last_week_full_revenue'], en)}.")
    return (f"이번 주({d['week_start'][5:]}~{d['today'][5:]}) 매출은 {_won(d['revenue'], en)}, 주문 {d['orders']:,}건이에요. "
            f"지난주 같은 기간은 {_won(d['last_week_revenue'], en)}, 주문 {d['last_week_orders']:,}건이라 "
            f"{_pct(d['change_pct'], en)}. (지난주 전체 매출 {_won(d['last_week_full_revenue'], en)})")


def answer_sales_day(d: dict[str, Any], en: bool) -> str:
    which = d["which"]
    if en:
        return (f"{'Today so far' if which == 'today' else 'Yesterday'} ({d['day']}): {_won(d['revenue'], en)} from "
                f"{d['orders']:,} orders; the same weekday last week ({d['last_week_day']}): "
                f"{_won(d['last_week_revenue'], en)} from {d['last_week_orders']:,} — {_pct(d['change_pct'], en)}.")
    name = "오늘(지금까지)" if which == "today" else "어제"
    return (f"{name} 매출은 {_won(d['revenue'], en)}, 주문 {d['orders']:,}건이에요. 지난주 같은 요일"
            f"({d['last_week_day'][5:]})은 {_won(d['last_week_revenue'], en)}, {d['last_week_orders']:,}건이라 "
            f"{_pct(d['change_pct'], en)}.")


def _cover(row: dict[str, Any], en: bool) -> str:
    if row["stock"] <= 0:
        return "sold out" if en else "품절"
    return f"{row['days_of_cover']} days left" if en else f"{row['days_of_cover']}일분"


def answer_low_stock(d: dict[str, Any], en: bool) -> str:
    rows = d["products"]
    if not rows:
        return "No product will run out before its restock." if en else "입고 전에 바닥날 상품은 없어요."
    top = rows[:5]
    if en:
        items = "; ".join(f"{r['product_name']} ({_cover(r, en)}, restock takes {r['lead_time_days']} days)"
                          for r in top)
        return f"{len(rows)} products will run short before a reorder arrives: {items}."
    items = ", ".join(f"{r['product_name']}({_cover(r, en)}, 입고 {r['lead_time_days']}일)" for r in top)
    more = f" 외 {len(rows) - len(top)}개" if len(rows) > len(top) else ""
    return f"재고가 입고 전에 바닥날 상품이 {len(rows)}개예요: {items}{more}. 발주를 서둘러 주세요."


def answer_churn(d: dict[str, Any], en: bool) -> str:
    if d.get("run_id") is None:
        return ("No segmentation has been run yet: run it on the dashboard (Run segmentation) and ask again."
                if en else "아직 고객 세그먼트를 실행하지 않았어요. 대시보드에서 ‘세그먼트 실행’ 후 다시 물어봐 주세요.")
    loc = "en" if en else "ko"
    parts = [f"{segment_label(s, loc)} {n:,}" + ("" if en else "명") for s, n in d["segments"].items()]
    prev = d.get("previous_total")
    if en:
        trend = f" (previous run: {prev:,})" if prev is not None else ""
        return (f"{d['total']:,} customers are at risk of leaving ({', '.join(parts)}), as of {d['as_of']}"
                f"{trend}. A win-back coupon can be approved in the segmentation section.")
    trend = f" (지난 실행 {prev:,}명)" if prev is not None else ""
    return (f"이탈 위험 고객은 {d['total']:,}명이에요({', '.join(parts)}, {d['as_of']} 기준){trend}. "
            f"세그먼트 쿠폰 제안에서 재구매 쿠폰을 승인할 수 있어요.")


_CLAIM_KO = {"cancel": "취소", "return": "반품", "exchange": "교환", "refund": "환불"}


def answer_claims(d: dict[str, Any], en: bool) -> str:
    when_en = {"today": "today", "yesterday": "yesterday", "week": "in the last 7 days"}[d["which"]]
    when_ko = {"today": "오늘", "yesterday": "어제", "week": "최근 7일"}[d["which"]]
    if not d["count"]:
        return f"No claims {when_en}." if en else f"{when_ko} 들어온 클레임은 없어요."
    if en:
        types = ", ".join(f"{t} {n}" for t, n in d["by_type"].items())
        return f"{d['count']} claims {when_en} ({types}); {d['open']} still open."
    types = ", ".join(f"{_CLAIM_KO.get(t, t)} {n}건" for t, n in d["by_type"].items())
    items = "; ".join(f"{c['product_name'] or '상품 미지정'} {_CLAIM_KO.get(c['type'], c['type'])}"
                      + (f"({c['reason']})" if c["reason"] else "") for c in d["claims"][:3])
    return f"{when_ko} 들어온 클레임은 {d['count']}건이에요({types}), 그중 {d['open']}건이 처리 중이에요. 예: {items}."


def answer_reviews(d: dict[str, Any], en: bool) -> str:
    if not d.get("found"):
        return (f"I found no product matching “{d['product_query']}”." if en
                else "말씀하신 상품을 찾지 못했어요. 상품 이름을 조금 더 정확히 알려 주세요.")
    loc = "en" if en else "ko"
    name = d["product_name"]
    avg = f"{d['average_rating']:.1f}" if d["average_rating"] is not None else "–"
    top = [(ASPECT_NAMES.get(a, {}).get(loc, a), n) for a, n in list(d["aspects"].items())[:3]]
    if en:
        why = ", ".join(f"{a} ({n})" for a, n in top) or "no single problem stands out"
        return (f"{name}: {d['reviews']} reviews in the last {d['days']} days, average ★{avg}, {d['negative']} "
                f"negative. What they complain about: {why}.")
    if not d["negative"]:
        return f"{_topic(name)} 최근 {d['days']}일 리뷰 {d['reviews']}건(평균 별점 ★{avg}) 중 나쁜 리뷰는 없어요."
    why = ", ".join(f"{a} {n}건" for a, n in top) if top else "한 가지로 모이는 문제는 없어요"
    sample = d["negative_reviews"][0]["text"] if d["negative_reviews"] else ""
    quote = f" 최근 리뷰: «{sample[:60]}»" if sample else ""
    return (f"{_topic(name)} 최근 {d['days']}일 리뷰 {d['reviews']}건(평균 별점 ★{avg}) 중 {d['negative']}건이 부정 리뷰예요. "
            f"주로 지적된 문제: {why}.{quote}")


ANSWERS = {"sales_week_comparison": answer_sales_week, "sales_day_comparison": answer_sales_day,
           "low_stock_products": answer_low_stock, "churn_risk_customers": answer_churn,
           "claims_for_day": answer_claims, "product_review_problems": answer_reviews}

CANNOT_KO = ("그 질문에는 아직 답할 수 없어요. 지금 답할 수 있는 것: 이번 주·어제·오늘 매출(지난주 대비), 재고 부족 상품, "
             "이탈 위험 고객 수, 어제·오늘·최근 7일 클레임, 상품 리뷰가 나쁜 이유(예: “갈비탕 리뷰 왜 나빠?”).")
CANNOT_EN = ("I can't answer that yet. I can tell you: sales this week, yesterday or today against last week, "
             "low-stock products, how many customers are at risk of leaving, claims of yesterday, today or the "
             "last 7 days, and why a product's reviews are bad (e.g. “why are the galbitang reviews bad?”).")


def compose(question: str, results: list[tuple[str, dict[str, Any]]]) -> str:
    """The offline answer: one paragraph per tool result, or what we can answer."""
    en = is_english(question)
    if not results:
        return CANNOT_EN if en else CANNOT_KO
    parts = []
    for name, data in results:
        if "error" in data:
            parts.append(f"({name}: {data['error']})")
        else:
            parts.append(ANSWERS[name](data, en))
    return "\n\n".join(parts)


__all__ = ["CANNOT_EN", "CANNOT_KO", "compose", "is_english", "route"]
