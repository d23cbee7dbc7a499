"""Order, delivery and claim look-ups, always scoped to one customer.

The customer id is an argument of every query function and, for the LangChain tools, comes from the
run's config (`config["configurable"]["customer_id"]`: who is logged in), never from message text.
An order id of another customer behaves exactly like an order id that does not exist.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Select, String, bindparam, exists, func, or_, select

from sajang.db.engine import autocommit_connection
from sajang.db.models import Claim, Coupon, CouponIssue, Customer, Order, OrderItem, Product
from sajang.labels import CLAIM_STATUS_LABELS, CLAIM_TYPE_LABELS, ORDER_STATUS_LABELS

OPEN_STATUSES = ("paid", "preparing", "shipping")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _label(table: dict[str, dict[str, str]], key: str | None, locale: str) -> str:
    if not key:
        return ""
    return table.get(key, {}).get(locale) or table.get(key, {}).get("ko") or key


def _order_dicts(engine: Engine, customer_id: str, order_ids: list[str] | None, limit: int,
                 locale: str) -> list[dict[str, Any]]:
    with autocommit_connection(engine) as conn:
        return _orders_in(conn, customer_id, order_ids, limit, locale)


# Built once with bound parameters: SQLAlchemy then reuses each statement's compiled form without
# rebuilding and re-hashing it (these run for every customer message)
_o, _it, _cl = Order.__table__.c, OrderItem.__table__.c, Claim.__table__.c
_ORDER_COLUMNS = (_o.id, _o.ordered_at, _o.status, _o.amount, _o.shipping_fee, _o.courier, _o.tracking_no,
                  _o.shipped_at, _o.delivered_at, _o.recipient_name, _o.address)
_ORDERS = (select(*_ORDER_COLUMNS).where(_o.customer_id == bindparam("customer_id"))
           .order_by(_o.ordered_at.desc(), _o.id.desc()).limit(bindparam("limit")))
_THESE_ORDERS = _ORDERS.where(_o.id.in_(bindparam("order_ids", expanding=True)))
_ITEMS = (select(_it.order_id, _it.product_id, _it.product_name, _it.quantity, _it.amount)
          .where(_it.order_id.in_(bindparam("ids", expanding=True))).order_by(_it.id))
# customer_id in the filter too: a claim row is shown only to the customer it belongs to
_CLAIMS = (select(_cl.id, _cl.order_id, _cl.type, _cl.status, _cl.reason, _cl.created_at, _cl.resolved_at)
           .where(_cl.order_id.in_(bindparam("ids", expanding=True)), _cl.customer_id == bindparam("customer_id"))
           .order_by(_cl.created_at))
_BRIEF = select(Customer.id, Customer.name).where(Customer.id == bindparam("customer_id"))


def _orders_in(conn: Connection, customer_id: str, order_ids: list[str] | None, limit: int,
               locale: str, statement: Select[Any] | None = None) -> list[dict[str, Any]]:
    if statement is not None:
        orders = conn.execute(statement, {"customer_id": customer_id, "limit": limit}).all()
    elif order_ids is None:
        orders = conn.execute(_ORDERS, {"customer_id": customer_id, "limit": limit}).all()
    else:
        orders = conn.execute(_THESE_ORDERS, {"customer_id": customer_id, "limit": limit,
                                              "order_ids": order_ids}).all()
    if not orders:
        return []
    ids = [r.id for r in orders]
    items: dict[str, list[dict[str, Any]]] = {}
    for r in conn.execute(_ITEMS, {"ids": ids}):
        items.setdefault(r.order_id, []).append({"product_id": r.product_id, "name": r.product_name,
                                                 "quantity": r.quantity, "amount": str(r.amount)})
    claims: dict[str, list[dict[str, Any]]] = {}
    for c in conn.execute(_CLAIMS, {"ids": ids, "customer_id": customer_id}):
        claims.setdefault(c.order_id, []).append(
            {"id": c.id, "type": c.type, "type_label": _label(CLAIM_TYPE_LABELS, c.type, locale),
             "status": c.status, "status_label": _label(CLAIM_STATUS_LABELS, c.status, locale),
             "reason": c.reason, "created_at": _iso(c.created_at), "resolved_at": _iso(c.resolved_at)})
    return [
        {"order_id": r.id, "ordered_at": _iso(r.ordered_at), "status": r.status,
         "status_label": _label(ORDER_STATUS_LABELS, r.status, locale), "amount": str(r.amount),
         "shipping_fee": str(r.shipping_fee),
         "courier": r.courier, "tracking_no": r.tracking_no, "shipped_at": _iso(r.shipped_at),
         "delivered_at": _iso(r.delivered_at), "recipient": r.recipient_name, "address": r.address,
         "items": items.get(r.id, []), "claims": claims.get(r.id, [])}
        for r in orders
    ]


def recent_orders(engine: Engine, customer_id: str | None, limit: int = 5, locale: str = "ko") -> list[dict[str, Any]]:
    """The customer's latest orders (newest first) with items, tracking and claims; [] for guests."""
    if not customer_id:
        return []
    return _order_dicts(engine, customer_id, None, max(1, min(limit, 20)), locale)


def find_order(engine: Engine, customer_id: str | None, order_id: str, locale: str = "ko") -> dict[str, Any] | None:
    """One order of this customer, or None (also when the order belongs to someone else)."""
    if not customer_id or not order_id:
        return None
    found = _order_dicts(engine, customer_id, [order_id.strip()], 1, locale)
    return found[0] if found else None


def _brief_in(conn: Connection, customer_id: str) -> dict[str, Any] | None:
    row = conn.execute(_BRIEF, {"customer_id": customer_id}).first()
    return {"id": row.id, "name": row.name} if row else None


def customer_brief_in(conn: Connection, customer_id: str | None) -> dict[str, Any] | None:
    """`customer_brief` through the caller's connection."""
    return _brief_in(conn, customer_id) if customer_id else None


def customer_brief(engine: Engine, customer_id: str | None) -> dict[str, Any] | None:
    """Who is asking: id and name (no phone, e-mail or address: answers never need them)."""
    if not customer_id:
        return None
    with autocommit_connection(engine) as conn:
        return _brief_in(conn, customer_id)


def customer_context_in(conn: Connection, customer_id: str | None, limit: int = 5,
                        locale: str = "ko") -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """`customer_brief` and `recent_orders` read through the caller's connection (the inquiry graph loads
    both, with other things, in one read per message)."""
    if not customer_id:
        return None, []
    return _brief_in(conn, customer_id), _orders_in(conn, customer_id, None, max(1, min(limit, 20)), locale)


def matching_orders_in(conn: Connection, customer_id: str | None, *, order_ids: list[str] | None = None,
                       since: datetime | None = None, until: datetime | None = None,
                       statuses: list[str] | None = None, claim_types: list[str] | None = None,
                       name_terms: list[str] | None = None, couriers: list[str] | None = None, limit: int = 20,
                       locale: str = "ko") -> list[dict[str, Any]]:
    """The customer's orders that match what a question names (newest first, at most `limit`), in one
    query: any of `order_ids`, ordered in [since, until), in one of `statuses` or with a claim of one of
    `claim_types`, brought by a courier whose name contains one of `couriers`, with an item whose name contains
    one of `name_terms` (spaces ignored on both sides).
    Criteria left empty do not filter; [] for guests."""
    if not customer_id:
        return []
    stmt = select(*_ORDER_COLUMNS).where(_o.customer_id == bindparam("customer_id"))
    if order_ids:
        stmt = stmt.where(_o.id.in_(order_ids))
    if since is not None:
        stmt = stmt.where(_o.ordered_at >= since)
    if until is not None:
        stmt = stmt.where(_o.ordered_at < until)
    by_state: list[ColumnElement[bool]] = []
    if statuses:
        by_state.append(_o.status.in_(statuses))
    if claim_types:
        by_state.append(exists().where(_cl.order_id == _o.id, _cl.customer_id == _o.customer_id,
                                       _cl.type.in_(claim_types)))
    if by_state:
        stmt = stmt.where(or_(*by_state))
    if couriers:  # «한진» of «한진택배»
        stmt = stmt.where(or_(*(_o.courier.contains(c, autoescape=True) for c in couriers)))
    if name_terms:
        name = _despaced(_it.product_name)
        stmt = stmt.where(exists().where(_it.order_id == _o.id, or_(*(_names(name, t) for t in name_terms))))
    stmt = stmt.order_by(_o.ordered_at.desc(), _o.id.desc()).limit(bindparam("limit"))
    return _orders_in(conn, customer_id, None, max(1, min(limit, 500)), locale, statement=stmt)


def catalogue_words_in(conn: Connection, words: list[str]) -> set[str]:
    """The words that occur in the name of a product of the shop (a loose product name, or not a product)."""
    products = Product.__table__.c
    name = _despaced(products.name)
    found = set()
    for w in words:
        if len(w) > 1:
            if conn.execute(select(products.id).where(_names(name, w)).limit(1)).first() is not None:
                found.add(w)
            continue
        # a word of one syllable begins a word of the name («닭» of «닭갈비»), not ends one («목» is no «원목 도마»)
        names = conn.execute(select(products.name).where(_names(name, w)).limit(20)).scalars().all()
        if any(part.startswith(w) for n in names for part in re.split(r"[\s()]+", n)):
            found.add(w)
    return found


SPELLING_MIN = 3  # syllables: «삽겹살», «떡복이» are mended; a two-syllable slip could be another word


def _syllable_parts(syllable: str) -> tuple[int, int, int]:
    """A Hangul syllable's initial, vowel and final."""
    code = ord(syllable) - 0xAC00
    return code // 588, (code % 588) // 28, code % 28


def _jamo_slips(a: str, b: str) -> int:
    """How many letters (jamo) differ between two Hangul words of as many syllables: «삽겹살» / «삼겹살» → 1."""
    return sum(x != y for sa, sb in zip(a, b, strict=True)
               for x, y in zip(_syllable_parts(sa), _syllable_parts(sb), strict=True))


def catalogue_spelling_in(conn: Connection, words: list[str]) -> dict[str, str]:
    """The shop's spelling of product words typed with one letter wrong («삽겹살» → «삼겹살», «떡복이» →
    «떡볶이»): the one Hangul word of a product name as long as the word (three syllables or more) that differs from
    it by one jamo. Words with no such word, or with two different ones, are left out."""
    wanted = [w for w in words if len(w) >= SPELLING_MIN and all("가" <= ch <= "힣" for ch in w)]
    if not wanted:
        return {}
    # the names' own words («매콤», «떡볶이»): «라이브» is no slip of «슬라이스»
    words_of_names = {w for name in conn.execute(select(Product.__table__.c.name)).scalars()
                      for w in re.findall(r"[가-힣]+", name)}
    out: dict[str, str] = {}
    for word in wanted:
        found = {w for w in words_of_names if len(w) == len(word) and _jamo_slips(word, w) == 1}
        if len(found) == 1:
            out[word] = found.pop()
    return out


SHORTENED_MIN = 3  # syllables: a name said short («고기만두» for «고기 왕만두»), not any two letters far apart


def _names(name: ColumnElement[str], term: str) -> ColumnElement[bool]:
    """`name` (spaces removed) contains `term`, or, for a term of three letters or more, has its letters in order
    with others between («고기만두» → «고기왕만두(1.4kg)»): how `order_answers.matches_product` reads it."""
    compact = term.replace(" ", "").lower()
    name = func.lower(name, type_=String)  # «la갈비» is «LA갈비» (PostgreSQL's LIKE minds the case, SQLite's not)
    if len(compact) < SHORTENED_MIN:
        return name.contains(compact, autoescape=True)
    escaped = [ch if ch not in "%_/" else f"/{ch}" for ch in compact]
    return name.like(f"%{'%'.join(escaped)}%", escape="/")  # the letters side by side match too


def _despaced(column: ColumnElement[str]) -> ColumnElement[str]:
    """A name without its spaces: «김치손만두» typed without them is «김치 손만두 (1kg)»."""
    return func.replace(column, " ", "", type_=String)


_ci, _cp = CouponIssue.__table__.c, Coupon.__table__.c
_COUPONS = (select(_cp.name, _cp.discount_type, _cp.discount_value, _cp.min_order_amount, _cp.valid_until,
                   _ci.issued_at, _ci.used_at)
            .join_from(CouponIssue, Coupon, _ci.coupon_id == _cp.id)
            .where(_ci.customer_id == bindparam("customer_id")).order_by(_ci.issued_at.desc()).limit(20))


def customer_coupons_in(conn: Connection, customer_id: str | None) -> list[dict[str, Any]]:
    """Coupons given to the customer (newest first): name, discount, minimum order, validity, used or not."""
    if not customer_id:
        return []
    return [{"name": r.name, "discount_type": r.discount_type, "discount_value": str(r.discount_value),
             "min_order_amount": str(r.min_order_amount),
             "valid_until": r.valid_until.isoformat() if r.valid_until else None,
             "issued_at": _iso(r.issued_at), "used_at": _iso(r.used_at)}
            for r in conn.execute(_COUPONS, {"customer_id": customer_id})]


def customer_exists(engine: Engine, customer_id: str) -> bool:
    return customer_brief(engine, customer_id) is not None


def catalogue_in(conn: Connection) -> list[dict[str, Any]]:
    """Every product of the shop with what a customer may ask of it in the chat: its name, price, stock, sale
    status and restock date (a small shop's catalogue: tens of rows)."""
    p = Product.__table__.c
    rows = conn.execute(select(p.id, p.name, p.price, p.stock, p.status, p.restock_on).order_by(p.id)).all()
    return [{"id": r.id, "name": r.name, "price": r.price, "stock": r.stock, "status": r.status,
             "restock_on": r.restock_on} for r in rows]
