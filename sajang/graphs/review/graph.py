"""Review graph: analyse → (negative?) draft → approval (interrupt: approve / edit / reject) → publish | reject → END.

One thread per review (`review_thread_id`). Side effects and resumes:
- `analyse` and `draft` write only the review's own analysis/draft columns; running them again writes
  the same values (they are idempotent), and a review whose reply was already published or rejected is
  analysed but never drafted again.
- `approval` calls `interrupt()` first and writes nothing: on resume LangGraph re-runs it from the start.
  Its payload is Agent Inbox's HumanInterrupt; it takes the app's decisions and Agent Inbox's responses.
- `publish` is one conditional UPDATE (`… WHERE reply_status <> 'published'`): a double click, a second
  resume or two agents at once publish exactly once; the audit row is written only by the winner.

The use cases the CLI, the REST API and the UI call are in `sajang.graphs.review.service`.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

# absolute imports: LangGraph Server loads this file by path, outside the package
from sajang.graphs.review.context import ReviewContext
from sajang.graphs.review.nodes import (
    analyse,
    approval,
    draft,
    publish,
    reject,
    route_after_analyse,
    route_after_approval,
)
from sajang.graphs.review.state import ReviewInput, ReviewOutput, ReviewState


def build_graph(checkpointer: Any = None) -> Any:
    g = StateGraph(ReviewState, context_schema=ReviewContext, input_schema=ReviewInput, output_schema=ReviewOutput)
    g.add_node("analyse", analyse)
    g.add_node("draft", draft)
    g.add_node("approval", approval)
    g.add_node("publish", publish)
    g.add_node("reject", reject)
    g.add_edge(START, "analyse")
    g.add_conditional_edges("analyse", route_after_analyse, {"draft": "draft", END: END})
    g.add_edge("draft", "approval")
    g.add_conditional_edges("approval", route_after_approval, {"publish": "publish", "reject": "reject"})
    g.add_edge("publish", END)
    g.add_edge("reject", END)
    return g.compile(checkpointer=checkpointer, name="review")


# LangGraph Server / Studio entry (the server supplies its own checkpointer).
graph = build_graph()
