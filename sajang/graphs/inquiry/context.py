"""The run context of the inquiry graph: settings, and who is asking.

`customer_id` is the customer the service verified (logged in, or order number + phone digits). Under
LangGraph Server the identity comes from the server's authentication (`sajang.graphs.auth`), never from
what the caller put in the context or the config: `asking_customer` is the one place that decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from sajang.graphs.common.context import RunContext
from sajang.graphs.common.inbox import server_user


@dataclass(kw_only=True)
class InquiryContext(RunContext):
    """Settings of the serving process and the verified customer (None: a guest)."""

    customer_id: str | None = None


def _configurable(config: RunnableConfig | None) -> dict[str, Any]:
    return dict((config or {}).get("configurable") or {})


def asking_customer(config: RunnableConfig | None, runtime: Runtime[InquiryContext]) -> str | None:
    """The verified customer of this run. On LangGraph Server the authenticated user decides (a
    customer token names one customer, staff and anonymous callers none); in-process, the context."""
    if "langgraph_auth_user" in _configurable(config):
        customer = (server_user(config) or {}).get("customer_id")
        return str(customer) if customer else None
    return runtime.context.customer_id if runtime.context else None


def thread_of(config: RunnableConfig | None) -> str:
    tid = _configurable(config).get("thread_id")
    if not tid:
        raise ValueError("the inquiry graph runs on a thread: config['configurable']['thread_id'] is required")
    return str(tid)


def tool_config(config: RunnableConfig | None, customer_id: str | None, database_url: str,
                locale: str) -> RunnableConfig:
    """The config the scoped order tools read: the verified customer, the database and the language."""
    conf = _configurable(config)
    conf.update(customer_id=customer_id, database_url=database_url, locale=locale)
    return {**(config or {}), "configurable": conf}
