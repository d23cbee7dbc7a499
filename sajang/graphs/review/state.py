"""State of the review graph: one thread per review, one run from analysis to the agent's decision.

`typing_extensions.TypedDict` (not `typing.TypedDict`): LangGraph Studio builds its input form from
`graph.get_input_jsonschema()`, which pydantic can only do for the former on Python < 3.12.
"""

from __future__ import annotations

from typing import Any, Literal

from typing_extensions import TypedDict

ReviewAction = Literal["approve", "edit", "reject"]


class ReviewInput(TypedDict):
    """What starts a run: the review to analyse (and draft a reply to, when it is negative)."""

    review_id: str


class ReviewDecision(TypedDict, total=False):
    """The agent's decision, as the approval node normalised it (app resume value or Agent Inbox)."""

    action: ReviewAction
    text: str  # the reply to publish (approve / edit)
    actor: str
    user_id: int | None
    reason: str | None  # why it was rejected


class ReviewResult(TypedDict, total=False):
    review_id: str
    status: Literal["published", "rejected"]
    published_now: bool  # False when another resume had published (or rejected) it already
    rejected_now: bool  # the reject node: True when this call rejected it


class ReviewOutput(TypedDict, total=False):
    """What a run leaves: the analysis, the draft (or why there is none) and, after approval, the result."""

    analysis: dict[str, Any]  # `Analysis.as_dict()`: negative, score, aspects, severity, method …
    skip: str | None  # why no draft: "positive", "already_published", "already_rejected"
    draft: str
    draft_method: str  # llm | offline
    decision: ReviewDecision
    result: ReviewResult


class ReviewState(ReviewInput, ReviewOutput, total=False):
    """Everything the nodes share: the input, the output and the review's text for the approval card."""

    review_text: str
    rating: int | None
