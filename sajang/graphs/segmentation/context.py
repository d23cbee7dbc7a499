"""The run context of the segmentation graph: the settings of the process that runs it (database, shop
name defaults). Nothing of it comes from the caller under LangGraph Server (see RunContext)."""

from __future__ import annotations

from dataclasses import dataclass

from sajang.graphs.common.context import RunContext


@dataclass(kw_only=True)
class SegmentationContext(RunContext):
    """Settings only: the day is the run's input, the approving admin the resume's."""
