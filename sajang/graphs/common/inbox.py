"""Agent Inbox's interrupt and resume shapes, shared by the three graphs' approval points.

Every `interrupt()` of Sajang carries Agent Inbox's `HumanInterrupt` (`action_request: {action, args}`,
`config: {allow_*}`, `description`) and, for the app's own readers (the agent hub, the services), the
same `args` again at the top level. A resume may be the app's own value (a dict with `action` or
`type`) or Agent Inbox's `HumanResponse`: `[{"type": "accept" | "edit" | "response" | "ignore",
"args": …}]`, a list of one or the dict itself; `inbox_response` tells the two apart.

The person who resumed: under LangGraph Server the verified user of the run (`langgraph_auth_user`,
set by `sajang.graphs.auth`), never a name the resume value claims.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from typing_extensions import TypedDict

ResponseType = Literal["accept", "edit", "response", "ignore"]
RESPONSE_TYPES: tuple[str, ...] = ("accept", "edit", "response", "ignore")


class ActionRequest(TypedDict):
    action: str
    args: dict[str, Any]


class HumanInterruptConfig(TypedDict):
    allow_ignore: bool
    allow_respond: bool
    allow_edit: bool
    allow_accept: bool


class HumanInterrupt(TypedDict):
    action_request: ActionRequest
    config: HumanInterruptConfig
    description: str | None


def human_interrupt(action: str, args: dict[str, Any], description: str, *, allow_accept: bool = True,
                    allow_edit: bool = True, allow_respond: bool = False,
                    allow_ignore: bool = True) -> dict[str, Any]:
    """The interrupt payload: `HumanInterrupt` plus `args` at the top level (what the app reads)."""
    request: HumanInterrupt = {
        "action_request": {"action": action, "args": args},
        "config": {"allow_ignore": allow_ignore, "allow_respond": allow_respond, "allow_edit": allow_edit,
                   "allow_accept": allow_accept},
        "description": description,
    }
    return {**args, **request}


@dataclass(frozen=True)
class InboxResponse:
    """One Agent Inbox `HumanResponse`: `args` is None (accept/ignore), a text (response) or the edited
    action request's `args` (edit)."""

    type: ResponseType
    args: Any = None

    def edited(self, key: str) -> Any:
        """The edited value of one argument (edit), None when absent."""
        args: dict[str, Any] = self.args if isinstance(self.args, dict) else {}
        inner = args.get("args")
        return (inner if isinstance(inner, dict) else args).get(key)

    @property
    def text(self) -> str:
        """The free text of a `response` (a string; a dict's `text`/`response` for lenient clients)."""
        if isinstance(self.args, str):
            return self.args
        if isinstance(self.args, dict):
            return str(self.args.get("text") or self.args.get("response") or "")
        return ""


def inbox_response(value: Any) -> InboxResponse | None:
    """The Agent Inbox response in a resume value (a list of one or the dict), None when it is not one."""
    if isinstance(value, list | tuple) and len(value) == 1:
        value = value[0]
    if isinstance(value, dict) and value.get("type") in RESPONSE_TYPES and set(value) <= {"type", "args"}:
        return InboxResponse(type=value["type"], args=value.get("args"))
    return None


@dataclass(frozen=True)
class Resumer:
    """Who resumed an interrupt through LangGraph Server (staff user id and name), from the verified user."""

    actor: str
    user_id: int | None
    name: str


def server_user(config: RunnableConfig | None) -> dict[str, Any] | None:
    """The verified user of a LangGraph Server run as a dict, None in-process or for anonymous callers."""
    conf = (config or {}).get("configurable") or {}
    user = conf.get("langgraph_auth_user")
    if user is None:
        return None
    if isinstance(user, dict):
        return dict(user)
    as_dict = getattr(user, "dict", None)  # langgraph_api wraps the user in a mapping proxy
    return dict(as_dict()) if callable(as_dict) else None


def resumer(config: RunnableConfig | None, default_actor: str = "agent-inbox") -> Resumer:
    """The staff user behind a resume on LangGraph Server; `default_actor` in-process (the service's
    own resume values name their actor themselves)."""
    user = server_user(config) or {}
    if user.get("kind") == "staff":
        uid = user.get("user_id")
        name = str(user.get("display_name") or user.get("username") or user.get("identity") or default_actor)
        return Resumer(actor=str(user.get("username") or name), user_id=int(uid) if uid is not None else None,
                       name=name)
    return Resumer(actor=default_actor, user_id=None, name=default_actor)
