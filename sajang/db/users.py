"""Who is who: staff logins (`users`; hashing lives in `sajang.security`, this module stores hashes)
and the check that lets a chat customer prove who they are (order number + last 4 phone digits)."""

from __future__ import annotations

import hmac
import re

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from .engine import session_scope
from .errors import DataError
from .models import AuditLog, Customer, Order, User
from .types import utcnow


def get_user_by_username(engine: Engine, username: str) -> User | None:
    """The user (detached row, attributes loaded) or None. Usernames compare case-insensitively."""
    if not username or "\x00" in username:
        return None
    with session_scope(engine) as s:
        return s.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


def get_user(engine: Engine, user_id: int) -> User | None:
    with session_scope(engine) as s:
        return s.get(User, user_id)


def list_users(engine: Engine) -> list[User]:
    with session_scope(engine) as s:
        return list(s.scalars(select(User).order_by(User.id)))


def create_user(engine: Engine, username: str, password_hash: str, role: str, display_name: str,
                locale: str = "ko", actor: str = "system") -> User:
    """Insert a user; a taken username (any case) is a `DataError`."""
    with session_scope(engine) as s:
        taken = s.scalar(select(User.id).where(func.lower(User.username) == username.lower()))
        if taken is not None:
            raise DataError(f"user {username!r} already exists")
        user = User(username=username, password_hash=password_hash, role=role, display_name=display_name,
                    locale=locale, is_active=True)
        s.add(user)
        s.flush()
        s.add(AuditLog(actor=actor, action="user.create", target_type="user", target_id=str(user.id),
                       details={"username": username, "role": role}))
        return user


def update_user(engine: Engine, user_id: int, *, actor: str, password_hash: str | None = None,
                role: str | None = None, display_name: str | None = None, is_active: bool | None = None,
                locale: str | None = None) -> User:
    """Change the given fields (audited; the hash itself is never written to the audit log)."""
    with session_scope(engine) as s:
        user = s.get(User, user_id)
        if user is None:
            raise DataError(f"no user with id {user_id}")
        changed: dict[str, object] = {}
        if password_hash is not None:
            user.password_hash = password_hash
            changed["password"] = "changed"
        for field, value in (("role", role), ("display_name", display_name), ("is_active", is_active),
                             ("locale", locale)):
            if value is not None and getattr(user, field) != value:
                setattr(user, field, value)
                changed[field] = value
        if changed:
            s.add(AuditLog(actor=actor, action="user.update", target_type="user", target_id=str(user.id),
                           details=changed))
        return user


def record_login(engine: Engine, user_id: int, new_hash: str | None = None) -> None:
    """Stamp `last_login_at`; store a re-hashed password when the hasher's parameters changed."""
    with session_scope(engine) as s:
        user = s.get(User, user_id)
        if user is None:
            return
        user.last_login_at = utcnow()
        if new_hash:
            user.password_hash = new_hash


def verify_order_owner(engine: Engine, order_id: str, phone_last4: str) -> tuple[str, str | None] | None:
    """(customer id, name) when the order exists and its customer's phone ends with `phone_last4`."""
    with session_scope(engine) as s:
        return order_owner_in(s, order_id, phone_last4)


def order_owner_in(s: Session, order_id: str, phone_last4: str) -> tuple[str, str | None] | None:
    """`verify_order_owner` in the caller's transaction."""
    if not order_id or "\x00" in order_id or len(order_id) > 64:
        return None
    row = s.execute(select(Customer.id, Customer.name, Customer.phone)
                    .join(Order, Order.customer_id == Customer.id)
                    .where(Order.id == order_id.strip())).first()
    if row is None:
        return None
    digits = re.sub(r"\D", "", row.phone or "")
    if len(digits) < 4 or not hmac.compare_digest(digits[-4:], phone_last4):
        return None
    return row.id, row.name
