"""The LLM path of review handling: the real `langchain-openai` client against a small OpenAI-compatible
HTTP server (started here, on loopback) that answers `response_format: json_schema` requests for the
review verdict and the reply draft from what the client really sent."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import Engine

from sajang.config import Settings
from sajang.graphs.review import service as svc
from sajang.graphs.review.sentiment import analyse_review
from tests.test_reviews import seed_reviews

PROBLEMS = {"packaging": r"터져|샜|깨져", "delivery": r"늦|일주일", "quality": r"짜요|상한"}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, obj: Any) -> None:
        data = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        with self.server.lock:
            self.server.requests.append(body)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": "no route", "type": "invalid_request_error"}})
            return
        fmt = body.get("response_format") or {}
        if fmt.get("type") != "json_schema":
            self._send(400, {"error": {"message": "this server only answers json_schema requests",
                                       "type": "invalid_request_error"}})
            return
        props = fmt["json_schema"]["schema"]["properties"]
        messages = body["messages"]
        system = next(m["content"] for m in messages if m["role"] == "system")
        user = next(m["content"] for m in reversed(messages) if m["role"] == "user")
        if "negative" in props:
            aspects = [a for a, rx in PROBLEMS.items() if re.search(rx, user)]
            obj: dict[str, Any] = {"negative": bool(aspects), "score": 0.93 if aspects else 0.04,
                                   "aspects": aspects, "severity": "medium" if aspects else "none"}
        elif "reply" in props:
            if self.server.empty_replies:
                obj = {"reply": ""}
            else:
                facts = json.loads(user)
                policy = json.loads(system.split("상점 정책(JSON): ", 1)[1])
                obj = {"reply": f"[LLM] {facts['customer']['name']} 고객님, 「{facts['product']}」 "
                                f"{'·'.join(facts['analysis']['aspects'])} 문제로 불편을 드려 죄송합니다. "
                                f"고객센터 {policy['cs_phone']}로 주문번호 {facts['order']['order_id']}를 알려 주세요."}
        else:
            self._send(400, {"error": {"message": "unknown schema", "type": "invalid_request_error"}})
            return
        self._send(200, {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion",
                         "created": int(time.time()), "model": body["model"],
                         "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                                      "message": {"role": "assistant", "content": json.dumps(obj, ensure_ascii=False),
                                                  "refusal": None}}],
                         "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.empty_replies = False


@pytest.fixture
def llm(settings: Settings) -> Iterator[tuple[Settings, _Server]]:
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield settings.model_copy(update={"chat_model": "review-model", "openai_base_url": url,
                                          "openai_api_key": "test-key"}), server
    finally:
        server.shutdown()
        server.server_close()


def test_llm_verdict_is_structured_output(llm: tuple[Settings, _Server]) -> None:
    s, server = llm
    verdict = analyse_review(s, "별 네 개 드리지만 포장이 다 터져서 왔어요", 4)
    assert verdict.method == "llm" and verdict.negative and verdict.aspects == ["packaging"]
    assert verdict.score == pytest.approx(0.93) and verdict.severity == "medium"
    req = server.requests[-1]
    assert req["model"] == "review-model" and req["response_format"]["json_schema"]["strict"] is True
    assert "별점: 4" in req["messages"][-1]["content"]
    calm = analyse_review(s, "맛있어요. 또 살게요", 5)
    assert calm.method == "llm" and not calm.negative and calm.severity is None


def test_llm_draft_uses_policy_product_order_and_customer(llm: tuple[Settings, _Server], engine: Engine) -> None:
    s, server = llm
    from sajang.db.queries import save_shop_setting

    seed_reviews(engine)
    save_shop_setting(engine, "store_policy", {"cs_phone": "02-777-1234"}, actor="admin")  # the admin's override
    item = svc.process_review(s, "R-1")
    assert item["reply_status"] == "draft" and item["aspects"] == ["packaging"]
    assert item["draft"] == ("[LLM] 홍길동 고객님, 「순살 갈비탕 (800g)」 포장/파손 문제로 불편을 드려 죄송합니다. "
                             "고객센터 02-777-1234로 주문번호 O-1001를 알려 주세요.")
    # published without the customer's full name and order number (#17)
    assert svc.approve(s, "R-1", None, user="agent")["reply"] == (
        "[LLM] 고객님, 「순살 갈비탕 (800g)」 포장/파손 문제로 불편을 드려 죄송합니다. 고객센터 02-777-1234로 주문번호를 알려 주세요.")
    # an empty model answer never leaves a review without a draft: the template takes over
    server.empty_replies = True
    fallback = svc.process_review(s, "R-3")
    assert fallback["reply_status"] == "draft" and "배송" in fallback["draft"] and "[LLM]" not in fallback["draft"]
    assert "02-777-1234" in fallback["draft"]
