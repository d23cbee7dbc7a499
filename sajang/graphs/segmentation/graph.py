"""Segmentation graph: compute RFM → assign segments → propose actions → admin approval (interrupt) → execute.

    START → compute_rfm → assign_segments → propose_actions → approval ─┬→ execute → END
                                                                        └→ cancel  → END

Per-customer work stays in the database (see `sajang.db.rfm`); the graph state carries only the run id,
counts and proposals, so checkpoints stay small even for 100 k customers.

Side effects and resumes: `compute_rfm` is keyed on the run's `thread_id`, so a retried node finds its
run instead of making a second one. The approval node writes nothing before or after `interrupt()`; its
payload is Agent Inbox's HumanInterrupt and it takes the app's decisions and Agent Inbox's responses.
`execute` issues coupons with insert-if-absent statements backed by unique constraints, in one
transaction; running it again (a second resume, two admins clicking at once) adds nothing. The use
cases the CLI, the REST API and the admin UI call are in `sajang.graphs.segmentation.service`.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

# absolute imports: LangGraph Server loads this file by path, outside the package
from sajang.graphs.segmentation.context import SegmentationContext
from sajang.graphs.segmentation.nodes import (
    approval,
    assign_segments,
    cancel,
    compute_rfm,
    execute,
    propose_actions,
    route_after_approval,
)
from sajang.graphs.segmentation.state import SegmentationInput, SegmentationOutput, SegmentationState


def build_graph(checkpointer: Any = None) -> Any:
    g = StateGraph(SegmentationState, context_schema=SegmentationContext, input_schema=SegmentationInput,
                   output_schema=SegmentationOutput)
    g.add_node("compute_rfm", compute_rfm)
    g.add_node("assign_segments", assign_segments)
    g.add_node("propose_actions", propose_actions)
    g.add_node("approval", approval)
    g.add_node("execute", execute)
    g.add_node("cancel", cancel)
    g.add_edge(START, "compute_rfm")
    g.add_edge("compute_rfm", "assign_segments")
    g.add_edge("assign_segments", "propose_actions")
    g.add_edge("propose_actions", "approval")
    g.add_conditional_edges("approval", route_after_approval, {"execute": "execute", "cancel": "cancel"})
    g.add_edge("execute", END)
    g.add_edge("cancel", END)
    return g.compile(checkpointer=checkpointer, name="segmentation")


# LangGraph Server / Studio entry (the server supplies its own checkpointer).
graph = build_graph()
