"""Passwords, the secret key, signed session cookies and bearer tokens.

Passwords are hashed with argon2 (`pwdlib`). Tokens and session cookies are `itsdangerous` signatures
over a small JSON payload with a timestamp, so they need no server-side table and survive restarts as
long as the secret key does. A staff token carries a fingerprint of the password hash: changing a
password (or deactivating the user) ends every session and token of that user at once.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from sajang.config import Settings

ROLES = ("admin", "agent")
STAFF_TOKEN_TTL_S = 12 * 3600
# A chat's token (REST, the widget's localStorage, the /chat page's browser storage): a guest who comes back
# within a week finds the same conversation. A token naming a verified customer lasts much less: it shows
# their orders, and the browser may be a shared one (a PC방, the family tablet).
CUSTOMER_TOKEN_TTL_S = 7 * 24 * 3600
VERIFIED_TOKEN_TTL_S = 12 * 3600
ATTACHMENT_URL_TTL_S = 24 * 3600
SESSION_COOKIE = "sajang_session"
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHash((Argon2Hasher(),))


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username does not exist, so a wrong username costs as much as a wrong
    password. Made on the first login (an Argon2 hash is ~0.1–0.4 s: not at every import, which every CLI
    command paid)."""
    return _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """(matches, new hash when the stored one uses outdated parameters)."""
    dummy = _dummy_hash()  # made before either branch: the first login costs the same, whoever it is
    if not password_hash:
        _hasher.verify(password, dummy)
        return False, None
    try:
        return _hasher.verify_and_update(password, password_hash)
    except Exception:  # a corrupt hash in the table is a failed login, not a crash
        return False, None


def check_password_strength(password: str) -> None:
    from sajang.errors import SajangError

    if len(password) < MIN_PASSWORD_LENGTH:
        raise SajangError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters",
                          code="weak_password", status_code=422)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise SajangError(f"password too long: at most {MAX_PASSWORD_LENGTH} characters",
                          code="weak_password", status_code=422)


def password_fingerprint(password_hash: str) -> str:
    """A short digest of the stored hash: a token signed before a password change stops working."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


# --- secret key ------------------------------------------------------------------------------------

_key_cache: dict[str, str] = {}


def secret_key(settings: Settings) -> str:
    """`SAJANG_SECRET_KEY`, or a random key generated once into `<data dir>/secret_key` (mode 0600)."""
    if settings.secret_key:
        return settings.secret_key
    path = (settings.data_dir / "secret_key").resolve()
    cached = _key_cache.get(str(path))
    if cached:
        return cached
    key = _read_or_create_key(path)
    _key_cache[str(path)] = key
    return key


def _read_or_create_key(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: when two processes start at once, one creates the file and the other reads it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            key = path.read_text(encoding="ascii").strip()
            if key:
                return key
            time.sleep(0.02)  # the creator has not written it yet
        raise RuntimeError(f"{path} is empty: delete it or set SAJANG_SECRET_KEY") from None
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key + "\n")
    return key


# --- tokens ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffClaims:
    user_id: int
    username: str
    role: str
    fingerprint: str


class StaffRow(Protocol):
    """What `staff_claims_hold` reads of a user row."""

    is_active: bool
    role: str
    username: str
    password_hash: str


def staff_claims_hold(user: StaffRow | None, claims: StaffClaims) -> bool:
    """A staff token still stands for its user: active, with the role, username and password it was signed
    with (a changed password, role or a deactivated user ends every token issued before)."""
    return (user is not None and user.is_active and user.role == claims.role and user.username == claims.username
            and password_fingerprint(user.password_hash) == claims.fingerprint)


@dataclass(frozen=True)
class CustomerClaims:
    thread_id: str
    customer_id: str | None
    name: str | None
    locale: str


TokenKind = Literal["token", "session", "attachment"]


def _serializer(settings: Settings, kind: TokenKind) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key(settings), salt=f"sajang.{kind}")


def _loads(settings: Settings, kind: TokenKind, value: str, max_age: int) -> tuple[dict[str, Any], float] | None:
    """(payload, age in seconds) of a valid signature no older than `max_age`."""
    if not value or len(value) > 4096:
        return None
    try:
        data, signed_at = _serializer(settings, kind).loads(value, max_age=max_age, return_timestamp=True)
    except (BadSignature, SignatureExpired, ValueError, TypeError, UnicodeError):
        return None
    if not isinstance(data, dict):
        return None
    return data, max(0.0, time.time() - signed_at.timestamp())


def issue_staff_token(settings: Settings, claims: StaffClaims, kind: TokenKind = "token") -> str:
    payload = {"typ": "staff", "uid": claims.user_id, "sub": claims.username, "role": claims.role,
               "fp": claims.fingerprint}
    return _serializer(settings, kind).dumps(payload)


def issue_customer_token(settings: Settings, claims: CustomerClaims) -> str:
    payload = {"typ": "customer", "tid": claims.thread_id, "cid": claims.customer_id, "name": claims.name,
               "loc": claims.locale}
    return _serializer(settings, "token").dumps(payload)


def read_token(settings: Settings, value: str, kind: TokenKind = "token") -> StaffClaims | CustomerClaims | None:
    """The claims of a valid, unexpired bearer token (`kind="token"`) or session cookie; None otherwise."""
    loaded = _loads(settings, kind, value, max(STAFF_TOKEN_TTL_S, CUSTOMER_TOKEN_TTL_S))
    if loaded is None:
        return None
    data, age = loaded
    try:
        if data.get("typ") == "staff":
            if age > STAFF_TOKEN_TTL_S:
                return None
            return StaffClaims(int(data["uid"]), str(data["sub"]), str(data["role"]), str(data["fp"]))
        if data.get("typ") == "customer" and kind == "token":
            cid = data.get("cid")
            if cid is not None and age > VERIFIED_TOKEN_TTL_S:
                return None
            name = data.get("name")
            return CustomerClaims(str(data["tid"]), None if cid is None else str(cid),
                                  None if name is None else str(name), str(data.get("loc") or "ko"))
    except (KeyError, ValueError, TypeError):
        return None
    return None


def sign_attachment(settings: Settings, attachment_id: int, thread_id: str) -> str:
    """A capability for one attachment of one conversation (what the customer's page links to)."""
    return _serializer(settings, "attachment").dumps({"aid": attachment_id, "tid": thread_id})


def check_attachment_signature(settings: Settings, sig: str, attachment_id: int) -> str | None:
    """The conversation's thread id when `sig` grants `attachment_id`, else None."""
    loaded = _loads(settings, "attachment", sig, ATTACHMENT_URL_TTL_S)
    if loaded is None:
        return None
    data = loaded[0]
    if data.get("aid") != attachment_id:
        return None
    tid = data.get("tid")
    return tid if isinstance(tid, str) else None


def member_hash(widget_secret: str, member_id: str) -> str:
    """The widget's signed member identity: hex HMAC-SHA256 of the shop's member id with the shared secret
    (computed by the shop's server, like Intercom's `user_hash` or Channel.io's member hash)."""
    return hmac.new(widget_secret.encode(), member_id.encode(), hashlib.sha256).hexdigest()

