"""The marketplace adapters against local servers that speak the documented formats, then through `qna.sync`
on a real database (SQLite / PostgreSQL): unanswered questions come in once, an approved answer is posted
once, nothing unapproved is posted, credentials never appear in errors or logs.

Sources of the formats the servers below check and answer:
- Naver Commerce API, token (OAuth2 client credentials, `client_secret_sign` = Base64(bcrypt(
  `{client_id}_{timestamp}`, client secret as salt)), `type=SELF`): https://apicenter.commerce.naver.com/docs/auth ;
  상품 문의 목록 조회 `GET /v1/contents/qnas` (fromDate, toDate, answered, page, size ≤ 100 → contents[questionId,
  productId, question, answered, createDate …], totalPages) and 상품 문의 답변 등록/수정 `PUT /v1/contents/qnas/
  {questionId}` `{"commentContent"}`: https://apicenter.commerce.naver.com/docs/commerce-api/current
  (the pages «상품 문의 목록 조회», «상품 문의 답변 등록/수정»).
- Coupang Open API, 상품별 고객문의 조회 `GET /v2/providers/openapi/apis/api/v4/vendors/{vendorId}/onlineInquiries`
  (inquiryStartAt/inquiryEndAt yyyy-MM-dd ≤ 7 days, answeredType, pageNum, pageSize ≤ 50 → {code, message, data:
  {content[inquiryId, productId, content, inquiryAt, commentDtoList], pagination}}) and 고객문의 답변 `POST
  …/onlineInquiries/{inquiryId}/replies` `{"content", "vendorId", "replyBy"}`: https://developers.coupangcorp.com/hc/ko
  (document sources: https://github.com/test2-c/test-coupang-developers.github.io/tree/master/assets/docs/season-2/
  customer-service-api/ko, lookup-customer-inquiry-by-product and answer-to-customer-inquiry); HMAC signature
  `CEA algorithm=HmacSHA256, access-key, signed-date (yyMMdd'T'HHmmss'Z'), signature = hex HMAC-SHA256(secret,
  signed-date + method + path + query)`: Coupang's OpenAPI authentication guide, same site.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import bcrypt
import pytest
from sqlalchemy import Engine

from sajang.channels.marketplace import MarketplaceError, clients_from_settings
from sajang.channels.marketplace.coupang import CoupangClient
from sajang.channels.marketplace.naver import NaverCommerceClient, client_secret_sign
from sajang.config import Settings, get_settings
from sajang.db.engine import session_scope
from sajang.db.models import Product
from sajang.services import qna

NAVER_ID = "naver-app-1"
NAVER_SECRET = bcrypt.gensalt(rounds=4).decode()  # a Commerce API client secret is a bcrypt salt
COUPANG_VENDOR, COUPANG_ACCESS, COUPANG_SECRET = "A00012345", "access-key-1", "coupang-secret-key-9f"


class Marketplace:
    """What the fake marketplace received, and its questions."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, Any]]] = []  # method, path, body
        self.answers: dict[str, list[str]] = {}
        self.failures = 0  # answers to refuse with a 500 before accepting


def serve(handler_for: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _send(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
    raw = json.dumps(body, ensure_ascii=False).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json;charset=UTF-8")
    handler.send_header("Content-Length", str(len(raw)))
    handler.end_headers()
    handler.wfile.write(raw)


def _body(handler: BaseHTTPRequestHandler) -> bytes:
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


# --- Naver ---------------------------------------------------------------------------------------------


def naver_handler(market: Marketplace) -> type[BaseHTTPRequestHandler]:
    tokens: set[str] = set()
    questions = [{"questionId": 663810138 + i, "productId": 1001, "productName": "순살 갈비탕",
                  "question": q, "answer": None, "answered": False, "maskedWriterId": "abc***",
                  "createDate": (datetime.now(UTC) - timedelta(hours=3 + i)).isoformat()}
                 for i, q in enumerate(["재입고 언제 되나요?", "원산지가 어디예요?", "냉동 보관 며칠 가능해요?"])]
    questions.append({"questionId": 5, "productId": 1001, "question": "이미 답한 문의", "answer": "네",
                      "answered": True, "createDate": datetime.now(UTC).isoformat()})

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            form = {k: v[0] for k, v in parse_qs(_body(self).decode()).items()}
            market.requests.append(("POST", url.path, form))
            if url.path != "/external/v1/oauth2/token":
                _send(self, 404, {"code": "NOT_FOUND"})
                return
            password = f"{form.get('client_id')}_{form.get('timestamp')}".encode()
            try:
                ok = bcrypt.checkpw(password, base64.b64decode(form.get("client_secret_sign", "")))
            except ValueError:
                ok = False
            expected = bcrypt.hashpw(password, NAVER_SECRET.encode())  # signed with our secret, not another
            if form.get("grant_type") != "client_credentials" or form.get("type") != "SELF" or not ok or \
                    base64.b64decode(form["client_secret_sign"]) != expected:
                _send(self, 400, {"code": "BAD_REQUEST", "message": "invalid client_secret_sign"})
                return
            token = f"tok-{len(tokens)}"
            tokens.add(token)
            _send(self, 200, {"access_token": token, "expires_in": 10800, "token_type": "Bearer"})

        def _authorised(self) -> bool:
            if self.headers.get("Authorization", "").removeprefix("Bearer ") not in tokens:
                _send(self, 401, {"code": "UNAUTHORIZED"})
                return False
            return True

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            market.requests.append(("GET", url.path, q))
            if url.path != "/external/v1/contents/qnas" or not self._authorised():
                return
            if "fromDate" not in q or "toDate" not in q or int(q.get("size", 10)) > 100:
                _send(self, 400, {"code": "BAD_REQUEST"})
                return
            datetime.fromisoformat(q["fromDate"])
            rows = [r for r in questions if q.get("answered") != "false" or not r["answered"]]
            size, page = 2, int(q.get("page", 1))  # two per page here: the client must follow totalPages
            _send(self, 200, {"contents": rows[(page - 1) * size: page * size], "page": page, "size": size,
                              "totalElements": len(rows), "totalPages": (len(rows) + size - 1) // size})

        def do_PUT(self) -> None:
            url = urlsplit(self.path)
            body = json.loads(_body(self) or b"{}")
            market.requests.append(("PUT", url.path, body))
            m = re.fullmatch(r"/external/v1/contents/qnas/(\d+)", url.path)
            if m is None or not self._authorised():
                return
            if market.failures:
                market.failures -= 1
                _send(self, 500, {"code": "INTERNAL_SERVER_ERROR"})
                return
            if not str(body.get("commentContent") or "").strip():
                _send(self, 400, {"code": "BAD_REQUEST"})
                return
            market.answers.setdefault(m.group(1), []).append(body["commentContent"])
            self.send_response(204)
            self.end_headers()

    return Handler


@pytest.fixture
def naver() -> Iterator[tuple[str, Marketplace]]:
    market = Marketplace()
    for url in serve(naver_handler(market)):
        yield f"{url}/external", market


# --- Coupang -------------------------------------------------------------------------------------------


def coupang_handler(market: Marketplace) -> type[BaseHTTPRequestHandler]:
    base = f"/v2/providers/openapi/apis/api/v4/vendors/{COUPANG_VENDOR}/onlineInquiries"
    inquiries = [{"inquiryId": 844 + i, "productId": 2490, "vendorItemId": 3100000204, "content": q,
                  "inquiryAt": (datetime.now(UTC) + timedelta(hours=9) - timedelta(hours=2 + i)).strftime(
                      "%Y-%m-%d %H:%M:%S"), "buyerEmail": "aka***@na", "commentDtoList": []}
                 for i, q in enumerate(["품절인데 언제 들어와요?", "선물 포장 되나요?"])]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _signed(self, method: str) -> bool:
            url = urlsplit(self.path)
            m = re.fullmatch(r"CEA algorithm=HmacSHA256, access-key=([^,]+), signed-date=(\d{6}T\d{6}Z), "
                             r"signature=([0-9a-f]{64})", self.headers.get("Authorization", ""))
            if m is None or m.group(1) != COUPANG_ACCESS:
                _send(self, 401, {"code": 401, "message": "Invalid signature"})
                return False
            message = f"{m.group(2)}{method}{url.path}{url.query}"
            expected = hmac.new(COUPANG_SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
            signed_at = datetime.strptime(m.group(2), "%y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            if not hmac.compare_digest(expected, m.group(3)) or abs(datetime.now(UTC) - signed_at) > timedelta(minutes=5):
                _send(self, 401, {"code": 401, "message": "Invalid signature"})
                return False
            return True

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            market.requests.append(("GET", url.path, q))
            if url.path != base or not self._signed("GET"):
                return
            start, end = date.fromisoformat(q["inquiryStartAt"]), date.fromisoformat(q["inquiryEndAt"])
            if q.get("vendorId") != COUPANG_VENDOR or start == end or (end - start).days > 7 or \
                    q.get("answeredType") not in ("ANSWERED", "NOANSWER", "ALL") or int(q.get("pageSize", 10)) > 50:
                _send(self, 400, {"code": 400, "message": "bad request"})
                return
            rows = [r for r in inquiries if q["answeredType"] != "NOANSWER" or not r["commentDtoList"]]
            _send(self, 200, {"code": 200, "message": "OK", "data": {"content": rows, "pagination": {
                "currentPage": 1, "totalPages": 1, "totalElements": len(rows), "countPerPage": 50}}})

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            body = json.loads(_body(self) or b"{}")
            market.requests.append(("POST", url.path, body))
            m = re.fullmatch(re.escape(base) + r"/(\d+)/replies", url.path)
            if m is None or not self._signed("POST"):
                return
            if body.get("vendorId") != COUPANG_VENDOR or not str(body.get("content") or "").strip():
                _send(self, 400, {"code": 400, "message": "content and vendorId are required"})
                return
            market.answers.setdefault(m.group(1), []).append(body["content"])
            for r in inquiries:
                if str(r["inquiryId"]) == m.group(1):
                    r["commentDtoList"] = [{"content": body["content"], "replyBy": body.get("replyBy")}]
            _send(self, 200, {"code": "200", "message": "OK"})

    return Handler


@pytest.fixture
def coupang() -> Iterator[tuple[str, Marketplace]]:
    market = Marketplace()
    yield from ((url, market) for url in serve(coupang_handler(market)))


# --- adapters alone ------------------------------------------------------------------------------------


def test_naver_client_secret_sign_is_bcrypt_of_id_and_timestamp() -> None:
    sign = client_secret_sign(NAVER_ID, NAVER_SECRET, 1_700_000_000_000)
    hashed = base64.b64decode(sign)
    assert hashed.startswith(NAVER_SECRET.encode()[:29])  # the secret is the salt
    assert bcrypt.checkpw(f"{NAVER_ID}_1700000000000".encode(), hashed)
    with pytest.raises(MarketplaceError, match="not a bcrypt salt"):
        client_secret_sign(NAVER_ID, "plain-secret", 1)


def test_naver_fetches_every_page_of_unanswered_questions_and_posts_an_answer(naver: tuple[str, Marketplace]) -> None:
    url, market = naver
    client = NaverCommerceClient(NAVER_ID, NAVER_SECRET, base_url=url)
    rows = client.fetch_unanswered()
    assert [r["id"] for r in rows] == ["smartstore:663810138", "smartstore:663810139", "smartstore:663810140"]
    assert rows[0]["text"] == "재입고 언제 되나요?" and rows[0]["marketplace"] == "smartstore"
    assert rows[0]["asked_at"].tzinfo is not None and rows[0]["product_id"] == "1001"
    gets = [r for r in market.requests if r[0] == "GET"]
    assert [g[2]["page"] for g in gets] == ["1", "2"] and gets[0][2]["answered"] == "false"
    assert sum(1 for r in market.requests if r[1].endswith("/oauth2/token")) == 1  # the token is reused
    client.post_answer("smartstore:663810138", "다음 주 화요일 입고됩니다.")
    assert market.answers == {"663810138": ["다음 주 화요일 입고됩니다."]}
    with pytest.raises(MarketplaceError, match="HTTP 400"):
        client.post_answer("smartstore:663810139", " ")


def test_naver_wrong_secret_is_refused_without_showing_it(naver: tuple[str, Marketplace],
                                                         caplog: pytest.LogCaptureFixture) -> None:
    url, _ = naver
    other_secret = bcrypt.gensalt(rounds=4).decode()
    client = NaverCommerceClient(NAVER_ID, other_secret, base_url=url)
    with caplog.at_level(logging.DEBUG), pytest.raises(MarketplaceError) as err:
        client.fetch_unanswered()
    assert "HTTP 400" in str(err.value) and other_secret not in str(err.value)
    assert other_secret not in caplog.text and other_secret not in repr(client)


def test_coupang_requests_are_hmac_signed_and_follow_the_documented_shapes(coupang: tuple[str, Marketplace]) -> None:
    url, market = coupang
    client = CoupangClient(COUPANG_VENDOR, COUPANG_ACCESS, COUPANG_SECRET, base_url=url)
    rows = client.fetch_unanswered()
    assert [r["id"] for r in rows] == ["coupang:844", "coupang:845"]
    assert rows[0]["text"] == "품절인데 언제 들어와요?" and rows[0]["asked_at"] < datetime.now(UTC)
    assert abs(datetime.now(UTC) - rows[0]["asked_at"] - timedelta(hours=2)) < timedelta(minutes=2)  # KST read as such
    client.post_answer("coupang:844", "12월 5일 입고 예정입니다.")
    assert market.answers == {"844": ["12월 5일 입고 예정입니다."]}
    post = next(r for r in market.requests if r[0] == "POST")
    assert post[2] == {"content": "12월 5일 입고 예정입니다.", "vendorId": COUPANG_VENDOR, "replyBy": COUPANG_VENDOR}
    assert [r["id"] for r in client.fetch_unanswered()] == ["coupang:845"]  # answered there now
    wrong = CoupangClient(COUPANG_VENDOR, COUPANG_ACCESS, "not-the-secret", base_url=url)
    with pytest.raises(MarketplaceError, match="HTTP 401") as err:
        wrong.fetch_unanswered()
    assert "not-the-secret" not in str(err.value) and "not-the-secret" not in repr(wrong)


def test_credentials_come_from_settings_and_are_never_printed(monkeypatch: pytest.MonkeyPatch, settings: Settings,
                                                              coupang: tuple[str, Marketplace]) -> None:
    monkeypatch.setenv("SAJANG_COUPANG_VENDOR_ID", COUPANG_VENDOR)
    monkeypatch.setenv("SAJANG_COUPANG_ACCESS_KEY", COUPANG_ACCESS)
    monkeypatch.setenv("SAJANG_COUPANG_SECRET_KEY", COUPANG_SECRET)
    monkeypatch.setenv("SAJANG_COUPANG_BASE_URL", coupang[0])
    get_settings.cache_clear()
    configured = get_settings()
    assert COUPANG_SECRET not in repr(configured) and COUPANG_SECRET not in configured.model_dump_json()
    clients = clients_from_settings(configured)
    assert [c.marketplace for c in clients] == ["coupang"]
    assert len(clients[0].fetch_unanswered()) == 2


# --- through the service, on the database --------------------------------------------------------------


@pytest.fixture
def store(settings: Settings, engine: Engine, tmp_path: Path) -> Settings:
    from sajang.knowledge.service import get_knowledge

    with session_scope(engine) as s:
        s.add(Product(id="2490", name="순살 갈비탕 (800g, 2인분)", price=Decimal(12900), stock=0, status="sold_out",
                      restock_on=date.today() + timedelta(days=3)))
    src = tmp_path / "manual"
    src.mkdir()
    manual = Path(__file__).resolve().parent.parent / "sajang" / "data" / "manual"
    for name in ("gift-wrapping", "stock-restock"):
        (src / f"{name}.md").write_text((manual / f"{name}.md").read_text("utf-8"), "utf-8")
    get_knowledge(settings).import_manual_dir(src)
    return settings


def test_sync_fetches_once_posts_only_approved_answers_once(store: Settings, coupang: tuple[str, Marketplace],
                                                           naver: tuple[str, Marketplace]) -> None:
    (c_url, c_market), (n_url, n_market) = coupang, naver
    clients = [CoupangClient(COUPANG_VENDOR, COUPANG_ACCESS, COUPANG_SECRET, base_url=c_url),
               NaverCommerceClient(NAVER_ID, NAVER_SECRET, base_url=n_url)]
    first = qna.sync(store, clients=clients)
    assert first.fetched == {"coupang": 2, "smartstore": 3} and first.posted == {"coupang": 0, "smartstore": 0}
    assert first.drafted.drafted == 5
    again = qna.sync(store, clients=clients)
    assert again.fetched == {"coupang": 0, "smartstore": 0} and again.drafted.drafted == 0
    assert c_market.answers == {} and n_market.answers == {}  # nothing posted before an approval

    stock = qna.get(store, "coupang:844")
    assert stock.product is not None and stock.draft_status == "ready" and "품절" in (stock.draft or "")
    assert qna.queue(store)[0].question_id == "coupang:845"  # Coupang's 24 h, the oldest Coupang question first
    qna.approve(store, "coupang:844", user_name="김민지")
    qna.approve(store, "smartstore:663810139", "호주산 소갈비를 씁니다.", user_name="김민지")
    n_market.failures = 1  # the first post to Naver fails: it stays unposted and is tried again
    posted = qna.sync(store, clients=clients)
    assert posted.posted == {"coupang": 1, "smartstore": 0} and len(posted.post_errors) == 1
    assert "HTTP 500" in posted.post_errors[0] and qna.get(store, "smartstore:663810139").posted_at is None
    retried = qna.sync(store, clients=clients)
    assert retried.posted == {"coupang": 0, "smartstore": 1} and not retried.post_errors
    qna.sync(store, clients=clients)
    assert c_market.answers == {"844": [stock.draft]}  # posted once
    assert n_market.answers == {"663810139": ["호주산 소갈비를 씁니다."]}
    assert qna.get(store, "coupang:844").posted_at is not None
    # deadlines: Coupang 24 h after 3 h ago; SmartStore (default 48 h) 5 h ago before 3 h ago
    assert [it.question_id for it in qna.queue(store)] == ["coupang:845", "smartstore:663810140",
                                                           "smartstore:663810138"]
