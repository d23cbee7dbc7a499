"""Settings and identity of a graph run.

The service puts plain values in `config["configurable"]`: `thread_id`, `customer_id` (who is logged in;
tools read it from here, never from message text), `database_url`, `locale` and `settings_key`, a key
into this process's registry of `Settings` objects (a LangGraph Server run without it uses the
environment's settings).
"""

from __future__ import annotations

import threading
from typing import Any

from sajang.config import Settings, get_settings

_registry: dict[str, Settings] = {}
_lock = threading.Lock()


def register_settings(settings: Settings) -> str:
    key = f"{settings.resolved_database_url}|{settings.data_dir}|{settings.chat_model}|{settings.openai_base_url}"
    with _lock:
        _registry[key] = settings
    return key


def configurable(config: Any) -> dict[str, Any]:
    return dict((config or {}).get("configurable") or {})


def settings_from_config(config: Any) -> Settings:
    key = configurable(config).get("settings_key")
    with _lock:
        found = _registry.get(key) if key else None
    return found or get_settings()


def tool_config(config: Any, settings: Settings, locale: str) -> dict[str, Any]:
    """The run config with the database and locale the scoped tools need (customer id kept as given)."""
    conf = configurable(config)
    conf.setdefault("database_url", settings.resolved_database_url)
    conf["locale"] = locale
    return {**(config or {}), "configurable": conf}
