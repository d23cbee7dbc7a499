"""`/api/v1/auth`: bearer tokens for staff (OAuth2 password flow) and who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form

from sajang.app.deps import ClientIp, EngineDep, SettingsDep, Staff, require_staff
from sajang.app.schemas import SafeStr, TokenOut, UserOut
from sajang.security import STAFF_TOKEN_TTL_S, issue_staff_token
from sajang.services import ratelimit
from sajang.services.accounts import claims_for, login

router = APIRouter(prefix="/auth", tags=["auth"])

LOGIN_ATTEMPTS_PER_MINUTE = 10


@router.post("/token", response_model=TokenOut, summary="Log in: username + password → bearer token")
def token(
    settings: SettingsDep,
    engine: EngineDep,
    ip: ClientIp,
    username: Annotated[SafeStr, Form(min_length=1, max_length=64)],
    password: Annotated[SafeStr, Form(min_length=1, max_length=256)],
) -> TokenOut:
    """OAuth2 password flow (form fields `username`, `password`). Limited to 10 attempts a minute per IP;
    wrong passwords back off per IP and per username (`services.accounts.login`), never for the right
    password from an address without failures."""
    ratelimit.check("login_ip", ip, LOGIN_ATTEMPTS_PER_MINUTE, what="login attempts")
    user = login(engine, username, password, ip)
    return TokenOut(access_token=issue_staff_token(settings, claims_for(user)), expires_in=STAFF_TOKEN_TTL_S,
                    role=user.role, username=user.username)


@router.get("/me", response_model=UserOut, summary="The logged-in staff user")
def me(staff: Annotated[Staff, Depends(require_staff)]) -> UserOut:
    return UserOut.model_validate(staff.user)
