"""State of the manager graph: one question → tool calls → answer. No thread memory: every question is
answered from the database as it is now.

`typing_extensions.TypedDict`: LangGraph Studio's input form needs it on Python < 3.12.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict


class ManagerInput(TypedDict, total=False):
    """The owner's question in plain Korean or English ("이번 주 매출 지난주랑 비교해줘")."""

    question: str


class ManagerOutput(TypedDict, total=False):
    """The answer, the tools it used (in order) and their results by tool name."""

    answer: str
    tools: list[str]
    data: dict[str, Any]
    method: Literal["llm", "offline"]


class ManagerState(ManagerInput, ManagerOutput, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    rounds: int
