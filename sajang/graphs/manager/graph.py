"""Manager graph: the owner's question → tool calls over the dashboard's queries → an answer with numbers.

    START → start → agent ─┬→ run_tools → agent (⟲, at most MAX_ROUNDS model rounds)
                           └→ finish → END

With `SAJANG_CHAT_MODEL` the agent is the chat model with the tools bound (tool calling); without one, or
when the model fails, the offline intent router (`router.py`) plans the same tool calls and writes the
answer from their results. Read-only: no node writes to the database. The use case the CLI, REST and the
admin page call is `sajang.services.manager.ask`.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

# absolute imports: LangGraph Server loads this file by path, outside the package
from sajang.graphs.manager.context import ManagerContext
from sajang.graphs.manager.nodes import agent, finish, route_after_agent, run_tools, start
from sajang.graphs.manager.state import ManagerInput, ManagerOutput, ManagerState


def build_graph(checkpointer: Any = None) -> Any:
    g = StateGraph(ManagerState, context_schema=ManagerContext, input_schema=ManagerInput,
                   output_schema=ManagerOutput)
    g.add_node("start", start)
    g.add_node("agent", agent)
    g.add_node("run_tools", run_tools)
    g.add_node("finish", finish)
    g.add_edge(START, "start")
    g.add_edge("start", "agent")
    g.add_conditional_edges("agent", route_after_agent, {"run_tools": "run_tools", "finish": "finish"})
    g.add_edge("run_tools", "agent")
    g.add_edge("finish", END)
    return g.compile(checkpointer=checkpointer, name="manager")


# LangGraph Server / Studio entry.
graph = build_graph()
