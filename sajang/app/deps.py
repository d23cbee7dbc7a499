"""FastAPI dependencies: settings, engine, client IP, and who is calling (staff or a chat customer).

Credentials:
- `Authorization: Bearer <token>`: a staff token from `POST /api/v1/auth/token`, or a customer token
  from `POST /api/v1/chat/sessions` (good for that one conversation and that customer's orders only).
- the `sajang_session` cookie set by `/login`: accepted by the UIs and, for the API, on GET/HEAD
  only (so a page on another site cannot make a logged-in browser change anything).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from sajang.config import Settings
from sajang.db.models import User
from sajang.errors import Forbidden, Unauthorized
from sajang.security import SESSION_COOKIE, CustomerClaims, StaffClaims, read_token
from sajang.services.accounts import StaffMember, resolve_staff
from sajang.services.inquiry import Inquiries, inquiries

bearer_scheme = HTTPBearer(auto_error=False, scheme_name="bearer",
                           description="Staff token (POST /api/v1/auth/token) or chat session token "
                                       "(POST /api/v1/chat/sessions)")


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_db(request: Request) -> Engine:
    return request.app.state.engine


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
EngineDep = Annotated[Engine, Depends(get_db)]


def client_ip(request: Request) -> str:
    """The peer address (behind a proxy run uvicorn with --proxy-headers so this is the real client)."""
    return request.client.host if request.client else "unknown"


ClientIp = Annotated[str, Depends(client_ip)]

# A client's id for one message or reply: a retry with the same key returns the first result and stores
# nothing twice (keys are per conversation; the same key with another text is 409 idempotency_key_reused).
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$",
    description="Optional. A retry with the same key (and text) returns the first result; nothing is stored twice.")]


@dataclass(frozen=True)
class Staff:
    user: User

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def member(self) -> StaffMember:
        """The caller as the services know staff."""
        u = self.user
        return StaffMember(id=u.id, username=u.username, name=u.display_name, role=u.role, locale=u.locale)


@dataclass(frozen=True)
class Customer:
    claims: CustomerClaims

    @property
    def thread_id(self) -> str:
        return self.claims.thread_id

    @property
    def customer_id(self) -> str | None:
        return self.claims.customer_id


Principal = Staff | Customer


def staff_from_cookie(request: Request, settings: Settings, engine: Engine) -> User | None:
    """The logged-in staff user of the session cookie, or None (used by the UIs, /login and GET APIs)."""
    value = request.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    claims = read_token(settings, value, kind="session")
    if not isinstance(claims, StaffClaims):
        return None
    return resolve_staff(engine, claims)


def get_principal(
    request: Request,
    settings: SettingsDep,
    engine: EngineDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal | None:
    if creds is not None:
        claims = read_token(settings, creds.credentials)
        if isinstance(claims, StaffClaims):
            user = resolve_staff(engine, claims)
            return Staff(user) if user else None
        if isinstance(claims, CustomerClaims):
            return Customer(claims)
        return None
    if request.method in ("GET", "HEAD"):
        user = staff_from_cookie(request, settings, engine)
        if user is not None:
            return Staff(user)
    return None


PrincipalDep = Annotated[Principal | None, Depends(get_principal)]


def require_principal(principal: PrincipalDep) -> Principal:
    if principal is None:
        raise Unauthorized("login required: send a bearer token")
    return principal


def require_staff(principal: PrincipalDep) -> Staff:
    if principal is None:
        raise Unauthorized("login required: send a staff bearer token")
    if not isinstance(principal, Staff):
        raise Forbidden("staff only")
    return principal


def require_agent(staff: Annotated[Staff, Depends(require_staff)]) -> Staff:
    """Agents and the admin (the owner can do everything an agent can)."""
    if staff.role not in ("agent", "admin"):
        raise Forbidden("agents only")
    return staff


def require_admin(staff: Annotated[Staff, Depends(require_staff)]) -> Staff:
    if staff.role != "admin":
        raise Forbidden("admin only")
    return staff


def require_customer(principal: PrincipalDep) -> Customer:
    if principal is None:
        raise Unauthorized("chat session token required: POST /api/v1/chat/sessions")
    if not isinstance(principal, Customer):
        raise Forbidden("this endpoint is for a customer's chat session")
    return principal


AnyPrincipal = Annotated[Principal, Depends(require_principal)]
AgentDep = Annotated[Staff, Depends(require_agent)]
AdminDep = Annotated[Staff, Depends(require_admin)]
CustomerDep = Annotated[Customer, Depends(require_customer)]


def inquiry_api(settings: SettingsDep) -> Inquiries:
    """The typed inquiry use cases (`sajang.services.inquiry`) on this app's settings."""
    return inquiries(settings)


InquiriesDep = Annotated[Inquiries, Depends(inquiry_api)]
