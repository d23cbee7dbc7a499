"""The AI manager the owner asks in plain Korean ("이번 주 매출 지난주랑 비교해줘"): the admin page's tab,
`sajang manager ask TEXT --json` and `POST /api/v1/admin/manager` call `ask`. It runs the manager graph
(`sajang.graphs.manager`): read-only tools over the dashboard's queries, chat model or offline router."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from sajang.config import Settings
from sajang.errors import SajangError
from sajang.graphs.common.context import engine_for

MAX_QUESTION_CHARS = 500

EXAMPLES: tuple[str, ...] = ("이번 주 매출 지난주랑 비교해줘", "재고 부족한 거 뭐야?", "이탈 위험 고객 몇 명이야?",
                             "어제 들어온 클레임", "갈비탕 리뷰 왜 나빠?")


@dataclass(frozen=True)
class ManagerAnswer:
    """`answer` in words, the `tools` used (in order), their results in `data` (tool name → result)."""

    answer: str
    tools: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    method: Literal["llm", "offline"] = "offline"

    def as_dict(self) -> dict[str, Any]:
        return {"answer": self.answer, "tools": self.tools, "data": self.data, "method": self.method}


@lru_cache(maxsize=1)
def _graph() -> Any:
    from sajang.graphs.manager.graph import build_graph

    return build_graph()


def ask(settings: Settings, question: str, now: datetime | None = None) -> ManagerAnswer:
    """Answer one question from the database as it is (`now`: the moment asked about, default now)."""
    from sajang.graphs.manager.context import ManagerContext

    text = " ".join((question or "").split())
    if not text:
        raise SajangError("ask a question, e.g. “이번 주 매출 지난주랑 비교해줘”", code="empty_question",
                          status_code=422)
    if len(text) > MAX_QUESTION_CHARS:
        raise SajangError(f"the question is longer than {MAX_QUESTION_CHARS} characters", code="too_long",
                          status_code=413)
    engine_for(settings)  # migrated, data dir made, before the graph's nodes use the engine
    out = _graph().invoke({"question": text}, context=ManagerContext(settings=settings, now=now))
    return ManagerAnswer(answer=out.get("answer") or "", tools=list(out.get("tools") or []),
                         data=dict(out.get("data") or {}), method=out.get("method") or "offline")
