"""The run context of the review graph: the settings of the process that runs it (database, chat model,
store policy defaults). Nothing of it comes from the caller under LangGraph Server (see RunContext)."""

from __future__ import annotations

from dataclasses import dataclass

from sajang.graphs.common.context import RunContext


@dataclass(kw_only=True)
class ReviewContext(RunContext):
    """Settings only: the review itself is the run's input, the deciding agent the resume's."""
