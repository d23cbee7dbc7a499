"""Read-only queries behind the chat and agent routes (the routes stay thin; no SQL in them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from sajang.db.engine import session_scope
from sajang.db.models import Conversation, Order, OrderItem
from sajang.db.users import verify_order_owner

__all__ = ["conversation_summary", "customer_orders", "verify_order_owner"]


def conversation_summary(engine: Engine, thread_id: str) -> dict[str, Any] | None:
    with session_scope(engine) as s:
        conv = s.scalar(select(Conversation).where(Conversation.thread_id == thread_id))
        if conv is None:
            return None
        return {"thread_id": conv.thread_id, "customer_id": conv.customer_id, "status": conv.status,
                "locale": conv.locale, "guest_name": conv.guest_name}


def _order_dict(order: Order, items: list[OrderItem]) -> dict[str, Any]:
    return {"order_id": order.id, "ordered_at": order.ordered_at, "status": order.status,
            "amount": str(order.amount), "courier": order.courier, "tracking_no": order.tracking_no,
            "items": [{"product_id": i.product_id, "product_name": i.product_name, "quantity": i.quantity,
                       "amount": str(i.amount)} for i in items]}


def customer_orders(engine: Engine, customer_id: str, limit: int = 20, order_id: str | None = None
                    ) -> list[dict[str, Any]]:
    """The customer's own orders, newest first (one order when `order_id` is given and theirs)."""
    with session_scope(engine) as s:
        q = select(Order).where(Order.customer_id == customer_id)
        if order_id is not None:
            q = q.where(Order.id == order_id)
        orders = list(s.scalars(q.order_by(Order.ordered_at.desc()).limit(limit)))
        items: dict[str, list[OrderItem]] = {o.id: [] for o in orders}
        if orders:
            for item in s.scalars(select(OrderItem).where(OrderItem.order_id.in_(list(items)))
                                  .order_by(OrderItem.id)):
                items[item.order_id].append(item)
        return [_order_dict(o, items[o.id]) for o in orders]
