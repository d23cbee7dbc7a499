"""Coupang Open API (WING): product inquiries (`onlineInquiries`) in, approved answers out.

From Coupang's Open API documentation (developers.coupangcorp.com; the document sources are public in
github.com/test2-c/test-coupang-developers.github.io, assets/docs/season-2/customer-service-api/ko/):
- 상품별 고객문의 조회: `GET /v2/providers/openapi/apis/api/v4/vendors/{vendorId}/onlineInquiries` with
  `vendorId`, `inquiryStartAt` / `inquiryEndAt` (yyyy-MM-dd, not the same day, at most 7 days apart),
  `answeredType` (ANSWERED | NOANSWER | ALL), `pageNum`, `pageSize` (≤ 50) → `{code, message, data:
  {content: [{inquiryId, productId, vendorItemId, content, inquiryAt "yyyy-MM-dd HH:mm:ss", buyerEmail,
  commentDtoList}], pagination: {currentPage, totalPages, totalElements, countPerPage}}}`;
- 고객문의 답변: `POST …/vendors/{vendorId}/onlineInquiries/{inquiryId}/replies` with `{"content",
  "vendorId", "replyBy"}` → `{code: "200", message: "OK"}` (one question per call);
- every request is signed (HMAC): `Authorization: CEA algorithm=HmacSHA256, access-key=…, signed-date=…,
  signature=…`, signed-date `yyMMdd'T'HHmmss'Z'` (UTC), signature = hex HMAC-SHA256(secret key,
  signed-date + method + path + query string without '?').
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from sajang.channels.marketplace import MarketplaceError

PAGE_SIZE = 50
MAX_PAGES = 50
ID_PREFIX = "coupang:"
KST = timedelta(hours=9)


def signature(secret_key: str, signed_date: str, method: str, path: str, query: str) -> str:
    """Hex HMAC-SHA256 of signed-date + method + path + query (the documented message)."""
    message = f"{signed_date}{method}{path}{query}"
    return hmac.new(secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()


def authorization(access_key: str, secret_key: str, method: str, path: str, query: str,
                  now: datetime | None = None) -> str:
    signed_date = (now or datetime.now(UTC)).astimezone(UTC).strftime("%y%m%dT%H%M%SZ")
    return (f"CEA algorithm=HmacSHA256, access-key={access_key}, signed-date={signed_date}, "
            f"signature={signature(secret_key, signed_date, method, path, query)}")


class CoupangClient:
    marketplace = "coupang"

    def __init__(self, vendor_id: str, access_key: str, secret_key: str, *, base_url: str, lookback_days: int = 7,
                 reply_by: str | None = None, timeout_s: float = 20.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._vendor = vendor_id
        self._access = access_key
        self._secret = secret_key
        self._base = base_url.rstrip("/")
        self._lookback_days = max(1, min(7, lookback_days))  # the API allows at most 7 days
        self._reply_by = reply_by or vendor_id
        self._http = httpx.Client(timeout=timeout_s, transport=transport)

    def __repr__(self) -> str:  # the secret key never shows in a traceback or a log line
        return f"CoupangClient(vendor_id={self._vendor!r}, base_url={self._base!r})"

    def _request(self, method: str, path: str, params: dict[str, Any] | None = None,
                 body: dict[str, Any] | None = None) -> dict[str, Any]:
        query = urlencode(params or {})
        headers = {"Authorization": authorization(self._access, self._secret, method, path, query),
                   "Content-Type": "application/json;charset=UTF-8", "X-Requested-By": self._vendor}
        url = f"{self._base}{path}" + (f"?{query}" if query else "")
        try:
            res = self._http.request(method, url, headers=headers, json=body)
        except httpx.HTTPError as exc:
            raise MarketplaceError(f"coupang: {method} {path}: {type(exc).__name__}") from None
        try:
            data = res.json()
        except ValueError:
            data = {}
        code = str(data.get("code", "")) if isinstance(data, dict) else ""
        if res.status_code != 200 or (code and code not in ("200", "SUCCESS")):
            detail = str(data.get("message") or "")[:200] if isinstance(data, dict) else ""
            raise MarketplaceError(f"coupang: {method} {path} failed: HTTP {res.status_code}"
                                   + (f" ({detail})" if detail else ""))
        return data if isinstance(data, dict) else {}

    def fetch_unanswered(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Unanswered inquiries of the last days (shop dates; the API's window is at most 7 days)."""
        today = ((now or datetime.now(UTC)) + KST).date()
        path = f"/v2/providers/openapi/apis/api/v4/vendors/{self._vendor}/onlineInquiries"
        params: dict[str, Any] = {"vendorId": self._vendor,
                                  "inquiryStartAt": (today - timedelta(days=self._lookback_days)).isoformat(),
                                  "inquiryEndAt": today.isoformat(), "answeredType": "NOANSWER",
                                  "pageSize": PAGE_SIZE}
        rows: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            data = self._request("GET", path, {**params, "pageNum": page}).get("data") or {}
            rows += [row for item in data.get("content") or [] if (row := _row(item)) is not None]
            if page >= int((data.get("pagination") or {}).get("totalPages") or 1):
                break
        return rows

    def post_answer(self, question_id: str, answer: str) -> None:
        inquiry = question_id.removeprefix(ID_PREFIX)
        if not inquiry.isdigit():
            raise MarketplaceError(f"coupang: {question_id} is not a Coupang inquiry id")
        path = f"/v2/providers/openapi/apis/api/v4/vendors/{self._vendor}/onlineInquiries/{inquiry}/replies"
        self._request("POST", path, body={"content": answer, "vendorId": self._vendor, "replyBy": self._reply_by})


def _row(item: dict[str, Any]) -> dict[str, Any] | None:
    if item.get("inquiryId") is None or item.get("commentDtoList") or not str(item.get("content") or "").strip():
        return None
    try:  # "2015-05-27 09:38:32": shop (KST) time
        asked = datetime.strptime(str(item.get("inquiryAt")), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC) - KST
    except ValueError:
        asked = datetime.now(UTC)
    return {"id": f"{ID_PREFIX}{item['inquiryId']}", "text": str(item["content"]).strip()[:20_000],
            "product_id": str(item["productId"]) if item.get("productId") is not None else None,
            "asked_at": asked, "marketplace": "coupang", "answered": False}
