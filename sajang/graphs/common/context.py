"""What every graph run is given besides its state, and the two lookups every feature needs.

A run's dependencies travel in LangGraph's run context (`context_schema`, read in nodes as
`runtime.context`), not in `config["configurable"]`: the settings object itself (no process registry
keyed by a string) and, for the inquiry graph, who is asking. A run started by LangGraph Server gets
the server's environment settings: a caller cannot point a run at another database through the
context it sends (whatever arrives as `settings` that is not a `Settings` object is replaced).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from sajang.config import Settings, StorePolicy, get_settings
from sajang.db.engine import get_engine
from sajang.db.queries import load_shop_setting


def engine_for(settings: Settings | None = None) -> Engine:
    """The business database of `settings` (migrated on first use; the data dir made for SQLite)."""
    settings = settings or get_settings()
    if not settings.database_url:
        settings.ensure_data_dir()
    return get_engine(settings.resolved_database_url)


def store_policy(settings: Settings | None = None) -> StorePolicy:
    """The store policy: settings overridden by what the admin saved in `shop_settings`."""
    settings = settings or get_settings()
    return settings.store.overridden(load_shop_setting(engine_for(settings), "store_policy"))


@dataclass(kw_only=True)
class RunContext:
    """Settings of the process that runs the graph."""

    settings: Settings = field(default_factory=get_settings)

    def __post_init__(self) -> None:
        # LangGraph Server builds the context from the request's JSON: a dict here came from a caller
        if not isinstance(self.settings, Settings):
            self.settings = get_settings()

    @property
    def engine(self) -> Engine:
        # the service made the data dir before the run: no mkdir per node
        return get_engine(self.settings.resolved_database_url)
