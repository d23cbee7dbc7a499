"""Naver Commerce API (SmartStore): product Q&A in, approved answers out.

From the Commerce API documentation (apicenter.commerce.naver.com):
- token: `POST {base}/v1/oauth2/token`, form `client_id`, `timestamp` (ms), `client_secret_sign`,
  `grant_type=client_credentials`, `type=SELF`; `client_secret_sign` = Base64 of bcrypt(password =
  `{client_id}_{timestamp}`, salt = the client secret, which is a bcrypt salt `$2a$…`) —
  https://apicenter.commerce.naver.com/docs/auth ; the answer is `{access_token, expires_in, token_type}`;
- `GET {base}/v1/contents/qnas?fromDate&toDate&answered=false&page&size` (상품 문의 목록 조회; size ≤ 100,
  dates ISO 8601 date-time): `{contents: [{questionId, productId, productName, question, answer, answered,
  createDate, maskedWriterId}], page, size, totalElements, totalPages}`;
- `PUT {base}/v1/contents/qnas/{questionId}` with `{"commentContent": …}` (상품 문의 답변 등록/수정; a
  second call edits the answer, which is why `sync` posts each approved answer once).
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import bcrypt
import httpx

from sajang.channels.marketplace import MarketplaceError

PAGE_SIZE = 100  # the most the list returns per page
MAX_PAGES = 50
ID_PREFIX = "smartstore:"  # our question id for Naver's questionId (ids of marketplaces never collide)


def client_secret_sign(client_id: str, client_secret: str, timestamp_ms: int) -> str:
    """The token request's electronic signature: Base64(bcrypt(`{client_id}_{timestamp}`, secret as salt))."""
    try:
        hashed = bcrypt.hashpw(f"{client_id}_{timestamp_ms}".encode(), client_secret.encode())
    except ValueError:
        raise MarketplaceError("naver: the client secret is not a bcrypt salt ($2a$…): check "
                               "SAJANG_NAVER_COMMERCE_CLIENT_SECRET", code="marketplace_config") from None
    return base64.b64encode(hashed).decode()


class NaverCommerceClient:
    marketplace = "smartstore"

    def __init__(self, client_id: str, client_secret: str, *, base_url: str, lookback_days: int = 7,
                 timeout_s: float = 20.0, transport: httpx.BaseTransport | None = None) -> None:
        self._client_id = client_id
        self._secret = client_secret
        self._base = base_url.rstrip("/")
        self._lookback = timedelta(days=lookback_days)
        self._http = httpx.Client(timeout=timeout_s, transport=transport)
        self._token: tuple[str, float] | None = None  # (token, monotonic expiry)

    def __repr__(self) -> str:  # the secret never shows in a traceback or a log line
        return f"NaverCommerceClient(client_id={self._client_id!r}, base_url={self._base!r})"

    def _fail(self, what: str, res: httpx.Response) -> MarketplaceError:
        try:
            body = res.json()
            detail = str(body.get("message") or body.get("code") or "")[:200] if isinstance(body, dict) else ""
        except ValueError:
            detail = ""
        return MarketplaceError(f"naver: {what} failed: HTTP {res.status_code}" + (f" ({detail})" if detail else ""))

    def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            return self._http.request(method, f"{self._base}{path}", **kw)
        except httpx.HTTPError as exc:
            raise MarketplaceError(f"naver: {method} {path}: {type(exc).__name__}") from None

    def access_token(self) -> str:
        """A bearer token, fetched again a minute before it expires."""
        if self._token and time.monotonic() < self._token[1]:
            return self._token[0]
        ts = int(time.time() * 1000)
        res = self._call("POST", "/v1/oauth2/token", data={
            "client_id": self._client_id, "timestamp": str(ts),
            "client_secret_sign": client_secret_sign(self._client_id, self._secret, ts),
            "grant_type": "client_credentials", "type": "SELF"})
        if res.status_code != 200:
            raise self._fail("token", res)
        body = res.json()
        token = str(body.get("access_token") or "")
        if not token:
            raise MarketplaceError("naver: the token answer has no access_token")
        self._token = (token, time.monotonic() + max(60.0, float(body.get("expires_in") or 3600) - 60))
        return token

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token()}"}

    def fetch_unanswered(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Unanswered questions of the last `lookback_days`, as `product_qna` rows."""
        now = now or datetime.now(UTC)
        params: dict[str, Any] = {"fromDate": (now - self._lookback).isoformat(timespec="seconds"),
                                  "toDate": now.isoformat(timespec="seconds"), "answered": "false",
                                  "size": PAGE_SIZE}
        rows: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            res = self._call("GET", "/v1/contents/qnas", params={**params, "page": page}, headers=self._auth())
            if res.status_code != 200:
                raise self._fail("question list", res)
            body = res.json()
            rows += [row for item in body.get("contents") or [] if (row := _row(item)) is not None]
            if page >= int(body.get("totalPages") or 1):
                break
        return rows

    def post_answer(self, question_id: str, answer: str) -> None:
        qid = question_id.removeprefix(ID_PREFIX)
        if not qid.isdigit():
            raise MarketplaceError(f"naver: {question_id} is not a SmartStore question id")
        res = self._call("PUT", f"/v1/contents/qnas/{qid}", json={"commentContent": answer}, headers=self._auth())
        if res.status_code not in (200, 201, 204):
            raise self._fail(f"answer to {qid}", res)


def _row(item: dict[str, Any]) -> dict[str, Any] | None:
    if item.get("answered") or item.get("questionId") is None or not str(item.get("question") or "").strip():
        return None
    try:
        asked = datetime.fromisoformat(str(item.get("createDate")))
    except ValueError:
        asked = datetime.now(UTC)
    if asked.tzinfo is None:
        asked = asked.replace(tzinfo=UTC) - timedelta(hours=9)  # shop time without an offset
    return {"id": f"{ID_PREFIX}{item['questionId']}", "text": str(item["question"]).strip()[:20_000],
            "product_id": str(item["productId"]) if item.get("productId") is not None else None,
            "asked_at": asked.astimezone(UTC), "marketplace": "smartstore", "answered": False}
