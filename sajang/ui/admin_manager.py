"""`/admin` → AI 매니저: the owner asks in plain Korean and gets the answer with a chart or a table of the
numbers behind it (`sajang.services.manager.ask`: read-only tools, chat model or offline router)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import gradio as gr
import pandas as pd

from sajang.config import Settings
from sajang.errors import SajangError
from sajang.services import manager
from sajang.services.dashboard import segment_label
from sajang.ui.i18n import Strings
from sajang.ui.staff import request_member

T = Strings({
    "intro": {"ko": "가게 데이터에 대해 편하게 물어보세요. 매출 비교, 재고 부족, 이탈 위험 고객, 클레임, 상품 리뷰가 나쁜 "
                    "이유를 숫자로 답해 드려요 (조회만 하고 아무것도 바꾸지 않아요).",
              "en": "Ask about your shop: sales against last week, low stock, customers at risk of leaving, claims, "
                    "why a product's reviews are bad. Answers come with the numbers (read-only)."},
    "question": {"ko": "질문", "en": "Question"},
    "placeholder": {"ko": "예: 이번 주 매출 지난주랑 비교해줘", "en": "e.g. How are sales this week?"},
    "ask": {"ko": "물어보기", "en": "Ask"},
    "examples": {"ko": "자주 하는 질문", "en": "Common questions"},
    "table": {"ko": "근거 데이터", "en": "The numbers"},
    "used": {"ko": "사용한 조회: {tools} · {method}", "en": "Looked up: {tools} · {method}"},
    "method_llm": {"ko": "AI 모델", "en": "chat model"},
    "method_offline": {"ko": "오프라인 규칙", "en": "offline rules"},
    "login_needed": {"ko": "관리자 로그인이 필요합니다.", "en": "Admin login required."},
    "error": {"ko": "오류: {error}", "en": "Error: {error}"},
    "this_week": {"ko": "이번 주", "en": "This week"},
    "last_week": {"ko": "지난주", "en": "Last week"},
    "weekday": {"ko": "요일", "en": "Weekday"},
    "revenue": {"ko": "매출 (원)", "en": "Revenue (KRW)"},
    "week": {"ko": "주", "en": "Week"},
    "chart_sales": {"ko": "요일별 매출: 이번 주 vs 지난주", "en": "Revenue per weekday: this week vs last"},
    "chart_aspects": {"ko": "부정 리뷰가 지적한 문제", "en": "Problems named in negative reviews"},
    "aspect": {"ko": "문제", "en": "Problem"},
    "reviews": {"ko": "리뷰 수", "en": "Reviews"},
})

TOOL_LABELS = {
    "sales_week_comparison": {"ko": "주간 매출", "en": "weekly sales"},
    "sales_day_comparison": {"ko": "일 매출", "en": "daily sales"},
    "low_stock_products": {"ko": "재고 부족", "en": "low stock"},
    "churn_risk_customers": {"ko": "이탈 위험 고객", "en": "churn risk"},
    "claims_for_day": {"ko": "클레임", "en": "claims"},
    "product_review_problems": {"ko": "상품 리뷰", "en": "product reviews"},
}
WEEKDAYS = {"ko": "월화수목금토일", "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]}
CLAIM_TYPES = {"cancel": {"ko": "취소", "en": "cancel"}, "return": {"ko": "반품", "en": "return"},
               "exchange": {"ko": "교환", "en": "exchange"}, "refund": {"ko": "환불", "en": "refund"}}
ASPECTS = {"delivery": {"ko": "배송", "en": "Delivery"}, "packaging": {"ko": "포장/파손", "en": "Packaging / damage"},
           "quality": {"ko": "품질/맛/신선도", "en": "Quality"}, "size": {"ko": "사이즈/양", "en": "Size / quantity"},
           "price": {"ko": "가격", "en": "Price"}, "service": {"ko": "응대/서비스", "en": "Service"},
           "color": {"ko": "색상", "en": "Colour"}, "durability": {"ko": "내구성", "en": "Durability"},
           "function": {"ko": "기능/성능", "en": "Function"}, "smell": {"ko": "냄새", "en": "Smell"},
           "battery": {"ko": "배터리/충전", "en": "Battery"}}


def _l(table: dict[str, dict[str, str]], key: str, locale: str) -> str:
    entry = table.get(key)
    return (entry.get(locale) or entry["ko"]) if entry else key


def _weekday(iso: str, locale: str) -> str:
    return WEEKDAYS[locale][date.fromisoformat(iso).weekday()]


def _h(ko: str, en: str, locale: str) -> str:
    return en if locale == "en" else ko


def table_for(tools: list[str], data: dict[str, Any], locale: str) -> pd.DataFrame:
    """The numbers behind the answer as one table (the first tool that has rows)."""
    for name in tools:
        d = data.get(name) or {}
        if name == "sales_week_comparison":
            return pd.DataFrame([{_h("요일", "Weekday", locale): _weekday(x["day"], locale),
                                  _h("이번 주", "This week", locale): f"{x['revenue']:,}",
                                  _h("주문", "Orders", locale): x["orders"],
                                  _h("지난주", "Last week", locale): f"{x['last_week_revenue']:,}",
                                  _h("지난주 주문", "Orders last week", locale): x["last_week_orders"]}
                                 for x in d.get("days", [])])
        if name == "sales_day_comparison":
            return pd.DataFrame([{_h("날짜", "Day", locale): d["day"], _h("매출", "Revenue", locale): f"{d['revenue']:,}",
                                  _h("주문", "Orders", locale): d["orders"]},
                                 {_h("날짜", "Day", locale): d["last_week_day"],
                                  _h("매출", "Revenue", locale): f"{d['last_week_revenue']:,}",
                                  _h("주문", "Orders", locale): d["last_week_orders"]}])
        if name == "low_stock_products" and d.get("products"):
            return pd.DataFrame([{_h("상품", "Product", locale): p["product_name"], _h("재고", "Stock", locale): p["stock"],
                                  _h("하루 판매", "Sold per day", locale): p["daily_sales"],
                                  _h("재고 일수", "Days of cover", locale): p["days_of_cover"],
                                  _h("입고 소요일", "Lead time", locale): p["lead_time_days"]} for p in d["products"]])
        if name == "churn_risk_customers" and d.get("segments"):
            return pd.DataFrame([{_h("세그먼트", "Segment", locale): segment_label(s, locale),
                                  _h("고객 수", "Customers", locale): n} for s, n in d["segments"].items()])
        if name == "claims_for_day" and d.get("claims"):
            return pd.DataFrame([{_h("일시", "When", locale): _local(c["created_at"]),
                                  _h("유형", "Type", locale): _l(CLAIM_TYPES, c["type"], locale),
                                  _h("상품", "Product", locale): c["product_name"] or "",
                                  _h("사유", "Reason", locale): c["reason"] or "",
                                  _h("상태", "Status", locale): c["status"]} for c in d["claims"]])
        if name == "product_review_problems" and d.get("negative_reviews"):
            return pd.DataFrame([{_h("일시", "When", locale): _local(r["created_at"]),
                                  _h("별점", "Rating", locale): "★" * int(r["rating"] or 0) or "–",
                                  _h("문제", "Problems", locale): ", ".join(_l(ASPECTS, a, locale) for a in r["aspects"]),
                                  _h("내용", "Text", locale): r["text"]} for r in d["negative_reviews"]])
    return pd.DataFrame()


def _local(iso: str) -> str:
    ts = datetime.fromisoformat(iso)
    return ts.astimezone().strftime("%m-%d %H:%M") if ts.tzinfo else iso[5:16]


def chart_for(tools: list[str], data: dict[str, Any], locale: str) -> dict[str, Any] | None:
    """A chart when one helps: weekly sales side by side, or what the negative reviews complain about."""
    if "sales_week_comparison" in tools:
        days = data["sales_week_comparison"].get("days", [])
        # one bar per weekday and week, side by side (a coloured bar chart would stack the two weeks)
        rows = [{"x": f"{_weekday(x['day'], locale)} · {T(key, locale)}", "group": T(key, locale),
                 "y": float(x[field])}
                for x in days for key, field in (("last_week", "last_week_revenue"), ("this_week", "revenue"))]
        return {"kind": "sales", "frame": pd.DataFrame(rows, columns=["x", "group", "y"]), "locale": locale,
                "order": [r["x"] for r in rows]}
    d = data.get("product_review_problems") or {}
    if d.get("aspects"):
        rows = [{"x": _l(ASPECTS, a, locale), "y": n} for a, n in d["aspects"].items()]
        return {"kind": "aspects", "frame": pd.DataFrame(rows, columns=["x", "y"]), "locale": locale}
    return None


class ManagerTab:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def build(self, locale: str, locale_st: gr.State, lang: gr.Radio) -> None:
        intro = gr.Markdown(T("intro", locale))
        with gr.Row(equal_height=True):
            question = gr.Textbox(label=T("question", locale), placeholder=T("placeholder", locale), max_lines=2,
                                  scale=5, elem_id="sj-manager-question")
            ask = gr.Button(T("ask", locale), variant="primary", scale=1, min_width=120, elem_id="sj-manager-ask")
        examples_title = gr.Markdown(f"**{T('examples', locale)}**")
        with gr.Row(elem_id="sj-manager-examples"):
            buttons = [gr.Button(q, size="sm", variant="secondary", min_width=0) for q in manager.EXAMPLES]
        answer = gr.Markdown("", elem_id="sj-manager-answer")
        used = gr.Markdown("", elem_id="sj-manager-used")
        chart_st = gr.State(None)

        @gr.render(inputs=chart_st)
        def draw(chart: dict[str, Any] | None) -> None:
            if not chart:
                return
            loc = chart["locale"]
            if chart["kind"] == "sales":
                gr.BarPlot(chart["frame"], x="x", y="y", color="group", title=T("chart_sales", loc),
                           x_title=T("weekday", loc), y_title=T("revenue", loc), color_title=T("week", loc),
                           sort=chart["order"], y_lim=[0, None], height=260, elem_id="sj-manager-chart",
                           key="manager-sales-chart")
            else:
                # its own colour per problem (and its own element): a plot redrawn in place keeps the colour
                # legend of the chart drawn before it
                gr.BarPlot(chart["frame"], x="x", y="y", color="x", title=T("chart_aspects", loc),
                           x_title=T("aspect", loc), y_title=T("reviews", loc), color_title=T("aspect", loc),
                           y_lim=[0, None], height=260, elem_id="sj-manager-aspects", key="manager-aspects-chart")

        table = gr.Dataframe(label=T("table", locale), interactive=False, wrap=True, max_height=320,
                             elem_id="sj-manager-table")

        def on_ask(text: str, locale: str, request: gr.Request) -> list[Any]:
            member = request_member(self.settings, request, roles=("admin",))
            if member is None:
                return [T("login_needed", locale), "", None, pd.DataFrame()]
            try:
                out = manager.ask(self.settings, text or "")
            except SajangError as exc:
                return [T("error", locale, error=str(exc)), "", None, pd.DataFrame()]
            tools = ", ".join(_l(TOOL_LABELS, t, locale) for t in out.tools) or "–"
            note = T("used", locale, tools=tools, method=T("method_" + out.method, locale))
            return [out.answer, f"<span class='sj-muted'>{note}</span>", chart_for(out.tools, out.data, locale),
                    table_for(out.tools, out.data, locale)]

        outputs = [answer, used, chart_st, table]
        ask.click(on_ask, [question, locale_st], outputs, concurrency_limit=2)
        question.submit(on_ask, [question, locale_st], outputs, concurrency_limit=2)
        for b in buttons:
            b.click(lambda q: q, [b], [question]).then(on_ask, [question, locale_st], outputs, concurrency_limit=2)

        def on_lang(new: str) -> list[Any]:
            loc = new if new in ("ko", "en") else self.settings.locale
            return [T("intro", loc), gr.Textbox(label=T("question", loc), placeholder=T("placeholder", loc)),
                    gr.Button(T("ask", loc)), f"**{T('examples', loc)}**", gr.Dataframe(label=T("table", loc))]

        lang.change(on_lang, [lang], [intro, question, ask, examples_title, table])
