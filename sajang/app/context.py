"""Composition root helpers: settings → engine, with the DB-stored store policy applied."""

from __future__ import annotations

from sqlalchemy import Engine

from sajang.config import Settings, StorePolicy, get_settings
from sajang.db.engine import get_engine


def engine_for(settings: Settings | None = None) -> Engine:
    settings = settings or get_settings()
    if not settings.database_url:
        settings.ensure_data_dir()
    return get_engine(settings.resolved_database_url)


def store_policy(settings: Settings | None = None) -> StorePolicy:
    """The store policy: settings overridden by what the admin saved in `shop_settings`."""
    from sajang.db.queries import load_shop_setting

    settings = settings or get_settings()
    return settings.store.overridden(load_shop_setting(engine_for(settings), "store_policy"))
