"""State of the segmentation graph: one thread per run. Per-customer rows stay in the database, so the
state (and every checkpoint) holds only the run id, counts and proposals, even for 100 k customers.

`typing_extensions.TypedDict`: LangGraph Studio's input form needs it on Python < 3.12.
"""

from __future__ import annotations

from typing import Any, Literal

from typing_extensions import TypedDict


class SegmentationInput(TypedDict, total=False):
    """What starts a run: the day the RFM values are computed for (ISO date; default: the shop's today)
    and who started it."""

    as_of: str
    started_by: str


class SegmentationDecision(TypedDict, total=False):
    """The admin's decision, as the approval node normalised it (app resume value or Agent Inbox)."""

    action: Literal["approve", "cancel"]
    approvals: list[dict[str, Any]]  # the selected proposals with the admin's edits, validated
    actor: str
    reason: str | None


class SegmentationOutput(TypedDict, total=False):
    """What a run leaves: the run, its segments and proposals, and after approval the result."""

    run_id: int
    as_of: str
    method: str  # quintiles | fixed (small shops)
    customers: int
    segments: dict[str, int]
    previous_run_id: int | None
    moves: list[dict[str, Any]]
    proposals: list[dict[str, Any]]
    decision: SegmentationDecision
    result: dict[str, Any]


class SegmentationState(SegmentationInput, SegmentationOutput, total=False):
    """The nodes share input and output keys only."""
