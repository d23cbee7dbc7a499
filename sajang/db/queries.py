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


def update_shop_setting(engine: Engine, key: str, changes: dict[str, Any], unset: list[str], actor: str,
                        action: str = "shop_setting.update", defaults: dict[str, Any] | None = None
                        ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Merge `changes` into the saved setting `key` and drop the `unset` fields, in one transaction with
    one audit row that says which field went from what to what. The row is locked (PostgreSQL) so two
    admins saving different fields at once keep both; SQLite serializes writers. `defaults` are the values in
    effect where nothing is saved (the audit says 3000 → 3500, not None → 3500). Returns (before, after)."""
    base = defaults or {}
    with session_scope(engine) as s:
        row = s.get(ShopSetting, key, with_for_update=True)
        before = dict(row.value) if row is not None else {}
        after = {k: v for k, v in {**before, **changes}.items() if k not in unset}
        diff = {k: {"old": before.get(k, base.get(k)), "new": after.get(k, base.get(k))}
                for k in sorted({*changes, *unset}) if before.get(k, base.get(k)) != after.get(k, base.get(k))}
        if not diff:
            return before, after
        if row is None:
            s.add(ShopSetting(key=key, value=after, updated_by=actor))
        else:
            row.value, row.updated_by, row.updated_at = after, actor, utcnow()
        s.add(AuditLog(actor=actor, action=action, target_type="shop_setting", target_id=key,
                       details={"changes": diff}))
    return before, after


def shop_setting_history(engine: Engine, key: str, limit: int = 20) -> list[dict[str, Any]]:
    """The newest audit rows of one shop setting: who, when, what."""
    q = (select(AuditLog.at, AuditLog.actor, AuditLog.action, AuditLog.details)
         .where(AuditLog.target_type == "shop_setting", AuditLog.target_id == key)
         .order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit))
    with autocommit_connection(engine) as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def shop_setting_row(engine: Engine, key: str) -> dict[str, Any] | None:
    """A saved shop setting with who saved it and when."""
    q = select(ShopSetting.value, ShopSetting.updated_at, ShopSetting.updated_by).where(ShopSetting.key == key)
    with autocommit_connection(engine) as conn:
        row = conn.execute(q).first()
    return {"value": dict(row.value), "updated_at": row.updated_at, "updated_by": row.updated_by} if row else None


def audit(session: Any, actor: str, action: str, target_type: str | None = None, target_id: Any = None,
          **details: Any) -> None:
    """Add an audit row in the caller's transaction."""
    session.add(AuditLog(actor=actor, action=action, target_type=target_type,
                         target_id=None if target_id is None else str(target_id), details=details or None))


__all__ = ["audit", "load_shop_setting", "save_shop_setting", "select", "shop_setting_history", "shop_setting_in",
           "shop_setting_row", "update_shop_setting"]
