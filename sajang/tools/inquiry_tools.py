"""LangChain tools the inquiry graph's chat model may call.

Every tool reads the customer from `config["configurable"]["customer_id"]` (set by the service from
the logged-in session) and the database from `config["configurable"]["database_url"]`. The model can
pass an order number, but only orders of that customer are ever returned.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, tool
from sqlalchemy import Engine

from sajang.db.engine import autocommit_connection, get_engine

from .orders import OPEN_STATUSES, customer_brief, find_order, matching_orders_in, recent_orders

KST = ZoneInfo("Asia/Seoul")


def _scope(config: RunnableConfig) -> tuple[Engine, str | None, str]:
    conf = (config or {}).get("configurable") or {}
    url = conf.get("database_url")
    if not url:
        raise ValueError("tool called without a database in the run config")
    return get_engine(str(url)), conf.get("customer_id") or None, str(conf.get("locale") or "ko")


def _dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)


_GUEST = {"error": "not_logged_in",
          "message": "The customer is not verified; ask for the order number and phone digits in the chat "
                     "verification, do not guess."}


@tool
def get_my_orders(config: RunnableConfig, limit: int = 5) -> str:
    """The logged-in customer's most recent orders (status, items, courier, tracking number, dates, claims)."""
    engine, customer_id, locale = _scope(config)
    if not customer_id:
        return _dump(_GUEST)
    return _dump({"orders": recent_orders(engine, customer_id, limit, locale)})


@tool
def get_order_status(order_id: str, config: RunnableConfig) -> str:
    """Status, items, payment amount and dates of one order of the logged-in customer, by order number."""
    engine, customer_id, locale = _scope(config)
    if not customer_id:
        return _dump(_GUEST)
    order = find_order(engine, customer_id, order_id, locale)
    return _dump({"order": order} if order else {"error": "not_found",
                                                 "message": f"no order {order_id} for this customer"})


@tool
def get_delivery_status(config: RunnableConfig, order_id: str | None = None) -> str:
    """Courier, tracking number, shipped/delivered time of an order (default: the latest open order)."""
    engine, customer_id, locale = _scope(config)
    if not customer_id:
        return _dump(_GUEST)
    if order_id:
        order = find_order(engine, customer_id, order_id, locale)
    else:
        orders = recent_orders(engine, customer_id, 10, locale)
        order = next((o for o in orders if o["status"] in OPEN_STATUSES), orders[0] if orders else None)
    if order is None:
        return _dump({"error": "not_found", "message": "no matching order for this customer"})
    keys = ("order_id", "status", "status_label", "courier", "tracking_no", "ordered_at", "shipped_at",
            "delivered_at", "items")
    return _dump({"delivery": {k: order[k] for k in keys}})


@tool
def search_my_orders(config: RunnableConfig, product: str | None = None, status: str | None = None,
                     ordered_from: str | None = None, ordered_until: str | None = None, limit: int = 10) -> str:
    """The logged-in customer's orders that match: a product word ("만두" finds «고기 왕만두»), a status
    (paid, preparing, shipping, delivered, cancelled, returned, exchanged), ordered on or after
    `ordered_from` and before `ordered_until` (ISO dates, Korea time). Newest first, with items, tracking
    and claims."""
    engine, customer_id, locale = _scope(config)
    if not customer_id:
        return _dump(_GUEST)

    def day(value: str | None) -> datetime | None:
        return datetime.combine(date.fromisoformat(value[:10]), time(0), KST) if value else None

    try:
        since, until = day(ordered_from), day(ordered_until)
    except ValueError:
        return _dump({"error": "bad_date", "message": "dates are YYYY-MM-DD"})
    with autocommit_connection(engine) as conn:
        orders = matching_orders_in(conn, customer_id, since=since, until=until,
                                    statuses=[status] if status else None,
                                    name_terms=[product.strip()] if product and product.strip() else None,
                                    limit=max(1, min(limit, 20)), locale=locale)
    return _dump({"orders": orders})


@tool
def get_claim_status(config: RunnableConfig, order_id: str | None = None) -> str:
    """Cancellation / return / exchange / refund requests of the logged-in customer and their status."""
    engine, customer_id, locale = _scope(config)
    if not customer_id:
        return _dump(_GUEST)
    orders = ([o] if (o := find_order(engine, customer_id, order_id, locale)) else []) if order_id else \
        recent_orders(engine, customer_id, 20, locale)
    claims = [{**c, "order_id": o["order_id"]} for o in orders for c in o["claims"]]
    return _dump({"claims": claims})


@tool
def get_customer_profile(config: RunnableConfig) -> str:
    """Name and id of the logged-in customer (no contact data)."""
    engine, customer_id, _ = _scope(config)
    if not customer_id:
        return _dump(_GUEST)
    return _dump({"customer": customer_brief(engine, customer_id)})


INQUIRY_TOOLS: list[BaseTool] = [get_my_orders, search_my_orders, get_order_status, get_delivery_status,
                                 get_claim_status, get_customer_profile]
TOOLS_BY_NAME: dict[str, BaseTool] = {t.name: t for t in INQUIRY_TOOLS}
