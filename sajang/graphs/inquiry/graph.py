"""The inquiry graph: one customer message = one run on the conversation's thread.

    START → load_context → (read_photos) → classify ─┬─(pure request for a person)──────────→ escalate
                                                     └→ retrieve → answer → gate ─┬→ respond → END
                                                                                  └→ escalate → handoff ⟲ → END

`read_photos` describes the message's photos when a vision model is configured (`photos.py`); other
messages go straight to `classify` (no extra step on the offline path).

`handoff` waits in `interrupt()` for a person. Resume values (`HandoffResume`): an agent reply (+ resolve
flag), a customer line sent while waiting, or resolve. The node loops (one interrupt per node run)
until the conversation is resolved. Nothing is written before `interrupt()`; after it every message
carries a dedup key derived from the resume event, so resuming the same interrupt twice writes once.
Conversation status (bot → new → assigned → resolved) is kept in our `conversations` table.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

# absolute imports: LangGraph Server loads this file by path, outside the package
from sajang.graphs.inquiry.context import InquiryContext
from sajang.graphs.inquiry.handoff import escalate, handoff, route_after_handoff
from sajang.graphs.inquiry.nodes import (
    answer,
    classify,
    gate,
    load_context,
    respond,
    retrieve,
    route_after_classify,
    route_after_gate,
)
from sajang.graphs.inquiry.photos import read_photos, route_after_load
from sajang.graphs.inquiry.state import InquiryInput, InquiryState


def build_graph(checkpointer: Any = None) -> Any:
    g = StateGraph(InquiryState, context_schema=InquiryContext, input_schema=InquiryInput)
    g.add_node("load_context", load_context)
    g.add_node("read_photos", read_photos)
    g.add_node("classify", classify)
    g.add_node("retrieve", retrieve)
    g.add_node("answer", answer)
    g.add_node("gate", gate)
    g.add_node("respond", respond)
    g.add_node("escalate", escalate)
    g.add_node("handoff", handoff)
    g.add_edge(START, "load_context")
    g.add_conditional_edges("load_context", route_after_load, {"read_photos": "read_photos", "classify": "classify"})
    g.add_edge("read_photos", "classify")
    g.add_conditional_edges("classify", route_after_classify, {"retrieve": "retrieve", "escalate": "escalate"})
    g.add_edge("retrieve", "answer")
    g.add_edge("answer", "gate")
    g.add_conditional_edges("gate", route_after_gate, {"respond": "respond", "escalate": "escalate"})
    g.add_edge("respond", END)
    g.add_edge("escalate", "handoff")
    g.add_conditional_edges("handoff", route_after_handoff, {"handoff": "handoff", END: END})
    return g.compile(checkpointer=checkpointer, name="inquiry")


# LangGraph Server / Studio entry: the server supplies its own checkpointer.
graph = build_graph()
