"""Who may do what when the graphs run on LangGraph Server (`langgraph dev`, a deployment): the custom
`auth` that `langgraph.json` declares.

Identity comes only from a bearer token the app signed (`sajang.security`: the same customer and staff
tokens the REST API issues, with the app's secret key), never from what a caller writes into the run's
config or context. The server puts the verified user into `config["configurable"]["langgraph_auth_user"]`
(it rejects that key from callers), and the inquiry graph reads the customer from there
(`sajang.graphs.inquiry.context.asking_customer`).

- no token, or a token that does not verify: 401 for everything;
- a customer (or guest) token: runs of the inquiry graph on threads it created (thread metadata
  `owner`), reads of those threads; no resumes of interrupts (handoffs are answered by staff), no state
  edits, no other graph, no crons, no store;
- a staff token (still active, same role and password as when signed): every thread; resumes of
  handoffs and review approvals; the segmentation graph (coupons for every customer) for admins only.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from langgraph_sdk import Auth

from sajang.config import get_settings
from sajang.db.users import get_user
from sajang.graphs.common.context import engine_for
from sajang.security import CustomerClaims, StaffClaims, read_token, staff_claims_hold

auth = Auth()

# LangGraph Server's id of a graph's default assistant: uuid5 of the graph id in this namespace
# (langgraph_api.graph.NAMESPACE_GRAPH; a test checks the two agree).
GRAPH_ASSISTANT_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
CUSTOMER_GRAPHS = frozenset({"inquiry"})
ADMIN_GRAPHS = frozenset({"segmentation", "manager"})  # manager: the shop's sales and customers
GRAPHS = ("inquiry", "review", "segmentation", "manager")


def graph_assistant_id(graph_id: str) -> str:
    return str(uuid.uuid5(GRAPH_ASSISTANT_NAMESPACE, graph_id))


_GRAPH_OF_ASSISTANT = {graph_assistant_id(g): g for g in GRAPHS}


def _unauthorized(detail: str) -> Auth.exceptions.HTTPException:
    return Auth.exceptions.HTTPException(status_code=401, detail=detail)


def _forbidden(detail: str) -> Auth.exceptions.HTTPException:
    return Auth.exceptions.HTTPException(status_code=403, detail=detail)


def verified_user(token: str) -> dict[str, Any] | None:
    """The user a bearer token stands for, as LangGraph Server's user dict; None when it does not verify.

    Staff: the user row must still be active with the role, username and password the token was signed
    with (a changed password or a deactivated user ends its tokens). Customer: the signed customer id
    (None for a guest, whose identity is the conversation the token was issued for).
    """
    settings = get_settings()
    claims = read_token(settings, token)
    if isinstance(claims, StaffClaims):
        user = get_user(engine_for(settings), claims.user_id)
        if user is None or not staff_claims_hold(user, claims):
            return None
        return {"identity": f"staff:{user.id}", "kind": "staff", "user_id": user.id, "username": user.username,
                "role": user.role, "display_name": user.display_name or user.username,
                "permissions": ["staff", user.role]}
    if isinstance(claims, CustomerClaims):
        identity = f"customer:{claims.customer_id}" if claims.customer_id else f"guest:{claims.thread_id}"
        return {"identity": identity, "kind": "customer", "customer_id": claims.customer_id,
                "display_name": claims.name or identity, "permissions": ["customer"]}
    return None


@auth.authenticate
async def authenticate(authorization: str | None) -> dict[str, Any]:
    """`Authorization: Bearer <token>` → the verified user (a database read for staff: off the event loop)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("a bearer token is required")
    user = await asyncio.to_thread(verified_user, token.strip())
    if user is None:
        raise _unauthorized("invalid or expired token")
    return user


def _kind(ctx: Auth.types.AuthContext) -> str:
    return str(getattr(ctx.user, "kind", "") or "")


def _is_staff(ctx: Auth.types.AuthContext) -> bool:
    return _kind(ctx) == "staff"


def _owned(ctx: Auth.types.AuthContext, value: Any) -> dict[str, str]:
    """Tag what a customer creates with them as owner; the filter that limits them to it."""
    metadata = value.setdefault("metadata", {}) if isinstance(value, dict) else {}
    if metadata is None:
        metadata = value["metadata"] = {}
    metadata["owner"] = ctx.user.identity
    return {"owner": ctx.user.identity}


@auth.on.threads.create
async def on_thread_create(ctx: Auth.types.AuthContext, value: Auth.types.ThreadsCreate) -> Any:
    """Everyone may open a thread; a customer's carries them as owner."""
    return None if _is_staff(ctx) else _owned(ctx, value)


@auth.on.threads.create_run
async def on_run_create(ctx: Auth.types.AuthContext, value: Auth.types.RunsCreate) -> Any:
    """Customers: the inquiry graph on their own threads, new messages only (no resume, no goto/update).
    Staff: any graph but segmentation and manager (admins only), resumes included."""
    graph = _GRAPH_OF_ASSISTANT.get(str(value.get("assistant_id") or ""))
    if _is_staff(ctx):
        if graph in ADMIN_GRAPHS and getattr(ctx.user, "role", None) != "admin":
            raise _forbidden(f"the {graph} graph is for admins")
        return None
    if graph not in CUSTOMER_GRAPHS:
        raise _forbidden("customers may only talk to the inquiry graph")
    if (value.get("kwargs") or {}).get("command"):
        raise _forbidden("only staff resume a waiting conversation")
    return _owned(ctx, value)


@auth.on.threads.read
async def on_thread_read(ctx: Auth.types.AuthContext, value: Auth.types.ThreadsRead) -> Any:
    return None if _is_staff(ctx) else {"owner": ctx.user.identity}


@auth.on.threads.search
async def on_thread_search(ctx: Auth.types.AuthContext, value: Auth.types.ThreadsSearch) -> Any:
    return None if _is_staff(ctx) else {"owner": ctx.user.identity}


@auth.on.threads.update
async def on_thread_update(ctx: Auth.types.AuthContext, value: Auth.types.ThreadsUpdate) -> Any:
    """State edits and metadata changes: staff only (a customer could write a reply as the agent)."""
    if not _is_staff(ctx):
        raise _forbidden("staff only")
    return None


@auth.on.threads.delete
async def on_thread_delete(ctx: Auth.types.AuthContext, value: Auth.types.ThreadsDelete) -> Any:
    if not _is_staff(ctx):
        raise _forbidden("staff only")
    return None


@auth.on.assistants
async def on_assistants(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> Any:
    """Reading the graphs' assistants is open to every verified caller (the runs are checked above);
    making or changing assistants is for admins."""
    if ctx.action in ("read", "search"):
        return None
    if not (_is_staff(ctx) and getattr(ctx.user, "role", None) == "admin"):
        raise _forbidden("admins only")
    return None


@auth.on.crons
async def on_crons(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> Any:
    if not _is_staff(ctx):
        raise _forbidden("staff only")
    return None


@auth.on.store
async def on_store(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> Any:
    if not _is_staff(ctx):
        raise _forbidden("staff only")
    return None
