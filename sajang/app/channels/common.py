"""What the platform routes share: the inbound shared secret."""

from __future__ import annotations

from fastapi import Request

from sajang.errors import SajangError
from sajang.services.channels import secret_matches

SECRET_HEADER = "X-Sajang-Secret"


class BadSecret(SajangError):
    code = "bad_secret"
    status_code = 401


def check_secret(request: Request, expected: str | None) -> None:
    """The secret the owner set on the platform, as the `X-Sajang-Secret` header (KakaoTalk skill headers)
    or the `secret` query parameter of the webhook URL (TalkTalk takes only a URL)."""
    given = request.headers.get(SECRET_HEADER) or request.query_params.get("secret")
    if not secret_matches(expected, given):
        raise BadSecret(f"missing or wrong shared secret ({SECRET_HEADER} header or ?secret=)")
