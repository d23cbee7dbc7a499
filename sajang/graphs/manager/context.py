"""The run context of the manager graph: the process's settings and, for tests and replays, the moment the
question is asked about (default: now). Nothing of it comes from a caller under LangGraph Server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sajang.graphs.common.context import RunContext


@dataclass(kw_only=True)
class ManagerContext(RunContext):
    now: datetime | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.now, datetime):  # under LangGraph Server the context is the caller's JSON
            self.now = None
