"""Staff accounts: create, authenticate, change passwords, demo logins, and who a cookie or token is.

Roles: `admin` (the owner, 사장님: everything) and `agent` (상담원: the agent hub and agent API).
Customers have no accounts: a chat session token (see `sajang.app.api.chat`) stands for them.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from sajang.db import users as users_db
from sajang.db.errors import DataError
from sajang.db.models import User
from sajang.errors import SajangError
from sajang.security import (
    ROLES,
    StaffClaims,
    check_password_strength,
    hash_password,
    password_fingerprint,
    verify_password,
)

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
    if user is None or not user.is_active or user.role != claims.role or user.username != claims.username:
        return None
    if password_fingerprint(user.password_hash) != claims.fingerprint:
        return None
    return user


def forget_user(user_id: int) -> None:
    """Drop cached rows of a user whose password, role or status just changed."""
    with _cache_lock:
        for key in [k for k in _cache if k[1] == user_id]:
            del _cache[key]
