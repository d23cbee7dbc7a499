"""Staff accounts: create, authenticate, change passwords, demo logins, who a cookie or token is, and
the logged-in staff member as the UIs see them.

Roles: `admin` (the owner, 사장님: everything) and `agent` (상담원: the agent hub and agent API).
Customers have no accounts: a chat session token (see `sajang.app.api.chat`) stands for them.
The web app, the REST routes, the CLI and the Gradio pages all call these functions.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from sajang.config import Settings
from sajang.db import users as users_db
from sajang.db.engine import session_scope
from sajang.db.errors import DataError
from sajang.db.models import AuditLog, User
from sajang.db.queries import audit
from sajang.db.types import utcnow
from sajang.errors import Forbidden, NotFound, SajangError, Unauthorized
from sajang.graphs.common.context import engine_for
from sajang.security import (
    ROLES,
    StaffClaims,
    check_password_strength,
    hash_password,
    password_fingerprint,
    staff_claims_hold,
    verify_password,
)
from sajang.services.ratelimit import RateLimited

DEMO_USERS: tuple[tuple[str, str, str, str], ...] = (
    # role, username, password, display name
    ("admin", "admin", "admin1234", "사장님"),
    ("agent", "agent", "agent1234", "김민지"),
    ("agent", "agent2", "agent1234", "이서연"),
)
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")


def validate_username(username: str) -> str:
    username = username.strip()
    if not USERNAME_RE.fullmatch(username):
        raise SajangError("username: 2–64 letters, digits, '.', '_' or '-', starting with a letter or digit",
                          code="invalid_username", status_code=422)
    return username


def validate_role(role: str) -> str:
    if role not in ROLES:
        raise SajangError(f"role must be one of {', '.join(ROLES)}", code="invalid_role", status_code=422)
    return role


def create_account(engine: Engine, username: str, password: str, role: str, display_name: str | None = None,
                   locale: str = "ko", actor: str = "system") -> User:
    """A new staff user with an argon2-hashed password."""
    username = validate_username(username)
    validate_role(role)
    check_password_strength(password)
    display = (display_name or username).strip()[:100] or username
    try:
        return users_db.create_user(engine, username, hash_password(password), role, display, locale, actor)
    except DataError as exc:
        raise SajangError(str(exc), code="user_exists", status_code=409) from exc


def change_password(engine: Engine, username: str, password: str, actor: str) -> User:
    check_password_strength(password)
    user = users_db.get_user_by_username(engine, username)
    if user is None:
        raise SajangError(f"no user named {username!r}", code="not_found", status_code=404)
    updated = users_db.update_user(engine, user.id, actor=actor, password_hash=hash_password(password))
    forget_user(user.id)
    return updated


def authenticate(engine: Engine, username: str, password: str) -> User | None:
    """The active user whose password matches, else None (same cost whether or not the user exists)."""
    if len(password) > 1024:
        return None
    user = users_db.get_user_by_username(engine, username)
    ok, new_hash = verify_password(password, user.password_hash if user else None)
    if not ok or user is None or not user.is_active:
        return None
    users_db.record_login(engine, user.id, new_hash)
    if new_hash:
        user.password_hash = new_hash
    return user


# --- logging in: wrong passwords slow the attacker, never the owner ---------------------------------------
# Failures are counted in the audit log (every process sees them) per client address, per username and per
# (username, address). Past a few free failures the next attempt waits LOGIN_FIRST_WAIT_S after the latest
# failure, and each further failure doubles that (up to LOGIN_MAX_WAIT_S). The username's back-off applies only to addresses that have failed for it: the
# right password from an address without failures always gets checked, so wrong passwords from anywhere
# else cannot lock the owner out.
LOGIN_FAILURE_WINDOW = timedelta(minutes=15)
LOGIN_FREE_FAILURES_PER_IP = 5
LOGIN_FREE_FAILURES_PER_USER = 5
LOGIN_FIRST_WAIT_S = 30.0
LOGIN_MAX_WAIT_S = 900.0


def _login_failures(s: Any, target_type: str, target_id: str) -> tuple[int, datetime | None]:
    """(failures in the window, the latest one's time)."""
    count, latest = s.execute(select(func.count(AuditLog.id), func.max(AuditLog.at)).where(
        AuditLog.action == "login.failed", AuditLog.target_type == target_type, AuditLog.target_id == target_id,
        AuditLog.at >= utcnow() - LOGIN_FAILURE_WINDOW)).one()
    if isinstance(latest, str):  # SQLite's max() gives the stored text, not the column's type
        latest = datetime.fromisoformat(latest)
    if latest is not None and latest.tzinfo is None:
        latest = latest.replace(tzinfo=UTC)
    return int(count or 0), latest


def _backoff_left(failures: int, latest: datetime | None, free: int) -> float:
    if failures < free or latest is None:
        return 0.0
    wait = min(LOGIN_MAX_WAIT_S, LOGIN_FIRST_WAIT_S * 2.0 ** (failures - free))
    return max(0.0, (latest + timedelta(seconds=wait) - utcnow()).total_seconds())


def _login_keys(username: str, client_ip: str) -> tuple[str, str, str]:
    name = username.strip().lower()[:64]
    ip = (client_ip or "unknown")[:60]
    return ip, name, f"{name}@{ip}"


def login_wait(engine: Engine, username: str, client_ip: str) -> float:
    """Seconds before `client_ip` may try a password for `username` again (0: now)."""
    ip, name, pair = _login_keys(username, client_ip)
    with session_scope(engine) as s:
        ip_wait = _backoff_left(*_login_failures(s, "login_ip", ip), LOGIN_FREE_FAILURES_PER_IP)
        pair_failures, _ = _login_failures(s, "login_user_ip", pair)
        user_wait = _backoff_left(*_login_failures(s, "login_user", name), LOGIN_FREE_FAILURES_PER_USER) \
            if pair_failures else 0.0
    return max(ip_wait, user_wait)


def login(engine: Engine, username: str, password: str, client_ip: str) -> User:
    """The user, when the password is right and this address is not backing off. Raises `RateLimited`
    while it backs off (before the password is checked) and `Unauthorized` (`invalid_credentials`)."""
    wait = login_wait(engine, username, client_ip)
    if wait > 0:
        raise RateLimited(f"too many failed logins: try again in {max(1, math.ceil(wait))} s", wait)
    user = authenticate(engine, username.replace("\x00", ""), password) if username and password else None
    if user is None:
        ip, name, pair = _login_keys(username, client_ip)
        with session_scope(engine) as s:
            audit(s, "anonymous", "login.failed", "login_ip", ip, username=name)
            audit(s, "anonymous", "login.failed", "login_user", name, ip=ip)
            audit(s, "anonymous", "login.failed", "login_user_ip", pair)
        raise Unauthorized("wrong username or password", code="invalid_credentials")
    return user


def claims_for(user: User) -> StaffClaims:
    return StaffClaims(user.id, user.username, user.role, password_fingerprint(user.password_hash))


def ensure_demo_users(engine: Engine) -> list[tuple[str, str, str]]:
    """Create the demo logins that are missing; return (role, username, password) of those that work.

    An existing demo user keeps its password: when the owner changed it, it is not printed any more.
    """
    working: list[tuple[str, str, str]] = []
    for role, username, password, display in DEMO_USERS:
        user = users_db.get_user_by_username(engine, username)
        if user is None:
            # a concurrent start may create it first: either way the demo login exists
            with contextlib.suppress(DataError, IntegrityError):
                users_db.create_user(engine, username, hash_password(password), role, display, "ko", "demo")
            working.append((role, username, password))
        elif user.is_active and verify_password(password, user.password_hash)[0]:
            working.append((user.role, username, password))
    return working


# --- who is this cookie/token? ----------------------------------------------------------------------

_CACHE_TTL_S = 5.0
_cache: dict[tuple[int, int], tuple[float, User | None]] = {}
_cache_lock = threading.Lock()


def resolve_staff(engine: Engine, claims: StaffClaims) -> User | None:
    """The user behind valid claims when still active, with the same role and password; else None.

    Polling UIs check this on every request, so rows are cached for a few seconds.
    """
    key = (id(engine), claims.user_id)
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and now - hit[0] < _CACHE_TTL_S:
        user = hit[1]
    else:
        user = users_db.get_user(engine, claims.user_id)
        with _cache_lock:
            _cache[key] = (now, user)
    return user if staff_claims_hold(user, claims) else None


def forget_user(user_id: int) -> None:
    """Drop cached rows of a user whose password, role or status just changed."""
    with _cache_lock:
        for key in [k for k in _cache if k[1] == user_id]:
            del _cache[key]


# --- staff as the UIs and routes see them ------------------------------------------------------------

AGENT_ROLES = ("agent", "admin")  # the owner can do everything an agent can


@dataclass(frozen=True)
class StaffMember:
    """A logged-in, active staff user: what the pages need to know about them."""

    id: int
    username: str
    name: str
    role: str
    locale: str

    def as_state(self) -> dict[str, object]:
        return {"id": self.id, "username": self.username, "name": self.name, "role": self.role,
                "locale": self.locale}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> StaffMember:
        """Back from what a page kept in its session state (`as_state`)."""
        return cls(id=int(state["id"]), username=str(state["username"]), name=str(state.get("name") or ""),
                   role=str(state.get("role") or "agent"), locale=str(state.get("locale") or "ko"))


def staff_member(settings: Settings, username: str | None, roles: tuple[str, ...] = AGENT_ROLES
                 ) -> StaffMember | None:
    """The active user `username` when their role is one of `roles`, else None. Their locale falls back
    to the shop's when the account has none the UI knows."""
    if not username:
        return None
    user = users_db.get_user_by_username(engine_for(settings), username)
    if user is None or not user.is_active or user.role not in roles:
        return None
    locale = user.locale if user.locale in ("ko", "en") else settings.locale
    return StaffMember(id=user.id, username=user.username, name=user.display_name, role=user.role, locale=locale)


def staff_names(settings: Settings) -> dict[int, str]:
    """Display name per user id (the queue names who took an inquiry)."""
    return {u.id: u.display_name for u in users_db.list_users(engine_for(settings))}


def list_staff(settings: Settings) -> list[User]:
    return users_db.list_users(engine_for(settings))


def remember_locale(settings: Settings, user_id: int, locale: str, actor: str) -> None:
    """The language a staff member picked: the next login opens in it."""
    if locale not in ("ko", "en"):
        raise SajangError("locale must be ko or en", code="invalid_locale", status_code=422)
    users_db.update_user(engine_for(settings), user_id, actor=actor, locale=locale)


def update_account(settings: Settings, user_id: int, actor: StaffMember | User, *, password: str | None = None,
                   role: str | None = None, display_name: str | None = None, is_active: bool | None = None,
                   locale: str | None = None) -> User:
    """An admin's change to a staff account. Nobody demotes or disables themselves (the shop would be
    left without an owner); a new password ends the user's open sessions."""
    engine = engine_for(settings)
    target = users_db.get_user(engine, user_id)
    if target is None:
        raise NotFound("no such user")
    if target.id == actor.id and (is_active is False or role == "agent"):
        raise Forbidden("you cannot demote or disable yourself")
    user = users_db.update_user(engine, user_id, actor=actor.username,
                                password_hash=hash_password(password) if password else None, role=role,
                                display_name=display_name, is_active=is_active, locale=locale)
    forget_user(user_id)
    return user
