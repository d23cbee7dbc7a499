"""The AI manager's read-only tools over the dashboard's queries. The chat model calls them by name (their
schemas are bound to the model); offline the intent router calls the same functions. Each returns a
JSON-ready dict (won as whole numbers), which is also what `sajang manager ask --json` shows as `data`."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from sajang.db import dashboard as dash
from sajang.db import owner_queries as oq
from sajang.graphs.review.sentiment import ASPECT_LABELS, rule_aspects

# words of a review question that are never part of a product's name
_QUESTION_WORDS = re.compile(
    r"리뷰|후기|평점|별점|상품평|왜|나빠|나쁜|나쁘|안\s*좋|안좋|낮아|낮은|많아|어때|어떄|불만|문제|이유|원인|"
    r"알려\s*줘|알려|좀|요즘|최근|이번\s*주|review|reviews|why|bad|low|rating|about|of|the|are|is|so|\?|!|\.")
_PARTICLE_TAIL = re.compile(r"(은|는|이|가|을|를|의|에|에서|도|만|들|요)$")


def jsonable(value: Any) -> Any:
    """Decimals as whole won (or float), datetimes as ISO text, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


# --- the tools ---------------------------------------------------------------------------------------


def sales_week_comparison(engine: Engine, now: datetime) -> dict[str, Any]:
    return jsonable(oq.week_sales(engine, now))


def sales_day_comparison(engine: Engine, now: datetime, day: str = "yesterday") -> dict[str, Any]:
    """Yesterday's (or today's so far) sales against the same weekday last week."""
    today = dash.local_today(now)
    target = today if day == "today" else today - timedelta(days=1)
    this = oq.day_sales(engine, target, until=now)
    last = oq.day_sales(engine, target - timedelta(days=7), until=now - timedelta(days=7))
    change = (float((this["revenue"] - last["revenue"]) / last["revenue"] * 100)
              if last["revenue"] else None)
    return jsonable({"day": this["day"], "which": "today" if day == "today" else "yesterday",
                     "revenue": this["revenue"], "orders": this["orders"], "last_week_day": last["day"],
                     "last_week_revenue": last["revenue"], "last_week_orders": last["orders"], "change_pct": change})


def low_stock_products(engine: Engine, now: datetime) -> dict[str, Any]:
    rows = dash.low_stock(engine, now)
    return jsonable({"count": len(rows), "products": [
        {k: r[k] for k in ("product_id", "product_name", "stock", "daily_sales", "days_of_cover", "lead_time_days",
                           "severity", "restock_on", "status")} for r in rows]})


def churn_risk_customers(engine: Engine, now: datetime) -> dict[str, Any]:
    return jsonable(oq.churn_risk(engine))


def claims_for_day(engine: Engine, now: datetime, day: str = "yesterday") -> dict[str, Any]:
    today = dash.local_today(now)
    if day == "week":
        start, end = dash.local_day_start(today - timedelta(days=6)), now
        label = "last_7_days"
    else:
        target = today if day == "today" else today - timedelta(days=1)
        start, end = dash.local_day_start(target), min(now, dash.local_day_start(target + timedelta(days=1)))
        label = target.isoformat()
    rows = oq.claims_between(engine, start, end)
    by_type = Counter(r["type"] for r in rows)
    return jsonable({"period": label, "which": day, "count": len(rows), "by_type": dict(by_type),
                     "open": sum(1 for r in rows if r["status"] in dash.OPEN_CLAIM_STATUSES), "claims": rows})


def product_review_problems(engine: Engine, now: datetime, product: str = "") -> dict[str, Any]:
    """Why a product's reviews are bad: its negative reviews of the last 90 days and the problems (aspects)
    they name. Without a product, the product with the sharpest spike of bad reviews (or the most)."""
    words = product_words(product)
    candidates = oq.find_products(engine, words) if words else []
    if words and not candidates:
        return {"product_query": product, "found": False}
    if candidates:
        pid, name = candidates[0]["product_id"], candidates[0]["product_name"]
    else:
        spikes = dash.review_spikes(engine, now)
        if not spikes:
            return {"product_query": product, "found": False}
        pid, name = spikes[0]["product_id"], spikes[0]["product_name"]
    stats = oq.product_reviews(engine, pid, now)
    aspects: Counter[str] = Counter()
    for r in stats["negative_reviews"]:
        found = r["aspects"] if r["aspects"] else list(rule_aspects(r["text"] or ""))
        r["aspects"] = found
        aspects.update(found)
    return jsonable({"product_query": product, "found": True, "product_id": pid, "product_name": name,
                     "other_matches": [c["product_name"] for c in candidates[1:]], **stats,
                     "aspects": dict(aspects.most_common()),
                     "negative_reviews": stats["negative_reviews"][:10]})


def product_words(text: str) -> list[str]:
    """The words of a question that may name a product ("갈비탕 리뷰 왜 나빠?" → ["갈비탕"])."""
    rest = _QUESTION_WORDS.sub(" ", text or "")
    words = []
    for w in rest.split():
        w = _PARTICLE_TAIL.sub("", w.strip(" \t'\"「」“”‘’,"))
        if len(w) >= 2:
            words.append(w)
    return words


# --- schemas for the chat model -----------------------------------------------------------------------


class _NoArgs(BaseModel):
    pass


class _DayArg(BaseModel):
    day: str = Field("yesterday", description="'yesterday' or 'today'")


class _ClaimsArg(BaseModel):
    day: str = Field("yesterday", description="'yesterday', 'today' or 'week' (the last 7 days)")


class _ProductArg(BaseModel):
    product: str = Field("", description="the product's name as the owner said it, e.g. '갈비탕'; empty = "
                                         "the product with the most bad reviews recently")


@dataclass(frozen=True)
class ManagerTool:
    name: str
    description: str
    args: type[BaseModel]
    run: Callable[..., dict[str, Any]]

    def schema(self) -> StructuredTool:
        """The tool as the chat model sees it (the call itself is run by the graph's tools node)."""
        return StructuredTool.from_function(func=lambda **_: None, name=self.name, description=self.description,
                                            args_schema=self.args)


TOOLS: dict[str, ManagerTool] = {t.name: t for t in (
    ManagerTool("sales_week_comparison", "This week's revenue and orders so far (Monday to now, KST) against the "
                "same span of last week, per day, and last week's full total.", _NoArgs, sales_week_comparison),
    ManagerTool("sales_day_comparison", "Yesterday's (or today's so far) revenue and orders against the same "
                "weekday last week.", _DayArg, sales_day_comparison),
    ManagerTool("low_stock_products", "Products that will run out before a reorder arrives (days of cover shorter "
                "than the restock lead time), most urgent first.", _NoArgs, low_stock_products),
    ManagerTool("churn_risk_customers", "How many customers are at risk of leaving (segments 이탈 위험 and 놓치면 안 될 "
                "고객 of the latest segmentation run), and the run before.", _NoArgs, churn_risk_customers),
    ManagerTool("claims_for_day", "Claims (cancel, return, exchange, refund) created yesterday, today or in the "
                "last 7 days, with product, reason and status.", _ClaimsArg, claims_for_day),
    ManagerTool("product_review_problems", "Why a product's reviews are bad: its negative reviews of the last 90 "
                "days, average rating and the problems they name.", _ProductArg, product_review_problems),
)}

ASPECT_NAMES = ASPECT_LABELS


def run_tool(name: str, args: dict[str, Any], engine: Engine, now: datetime) -> dict[str, Any]:
    """Run one tool call; an unknown tool or bad arguments is an error result, never an exception."""
    tool = TOOLS.get(name)
    if tool is None:
        return {"error": f"unknown tool {name!r}"}
    try:
        parsed = tool.args.model_validate(args or {})
    except ValueError as exc:
        return {"error": f"bad arguments for {name}: {exc}"}
    return tool.run(engine, now, **parsed.model_dump())
