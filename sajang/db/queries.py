"""Small shared queries. Feature modules keep their own query modules beside this one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select

from .engine import autocommit_connection, session_scope
from .models import AuditLog, ShopSetting
from .types import utcnow

_SHOP_SETTING = select(ShopSetting.value).where(ShopSetting.key == bindparam("key"))


def shop_setting_in(conn: Connection, key: str) -> dict[str, Any] | None:
    """A saved shop setting read through the caller's connection (the inquiry graph reads it with the
    customer's context, once per message)."""
    row = conn.execute(_SHOP_SETTING, {"key": key}).first()
    return dict(row.value) if row else None


def load_shop_setting(engine: Engine, key: str) -> dict[str, Any] | None:
    with autocommit_connection(engine) as conn:
        return shop_setting_in(conn, key)


def save_shop_setting(engine: Engine, key: str, value: dict[str, Any], actor: str) -> None:
    with session_scope(engine) as s:
        row = s.get(ShopSetting, key)
        if row is None:
            s.add(ShopSetting(key=key, value=value, updated_by=actor))
        else:
            row.value, row.updated_by, row.updated_at = value, actor, utcnow()
        s.add(AuditLog(actor=actor, action="shop_setting.save", target_type="shop_setting", target_id=key,
                       details=value))


def audit(session: Any, actor: str, action: str, target_type: str | None = None, target_id: Any = None,
          **details: Any) -> None:
    """Add an audit row in the caller's transaction."""
    session.add(AuditLog(actor=actor, action=action, target_type=target_type,
                         target_id=None if target_id is None else str(target_id), details=details or None))


__all__ = ["audit", "load_shop_setting", "save_shop_setting", "select", "shop_setting_in"]
