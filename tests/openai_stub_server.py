"""A small OpenAI-compatible HTTP server for tests: the real `langchain-openai` / `openai` clients talk
to it over loopback, so tests exercise the real wire protocol without a network or a model.

Implements
- `POST /v1/chat/completions`: plain replies, `tools` → `tool_calls` (the model "decides" by rules),
  `response_format: {"type": "json_schema"}` → a JSON object valid for the requested schema, and
  `stream: true` → server-sent events (`chat.completion.chunk`, content and tool-call deltas, `[DONE]`);
- `POST /v1/embeddings`: deterministic hashed character-trigram vectors, as float lists or
  `encoding_format: "base64"` (little-endian float32, what the `openai` client asks for by default);
- `GET /v1/models`.

Failure modes for the resilience tests (attributes of `server`, changeable while it runs):
`fail_status` (answer chat requests with that HTTP status), `latency_s` (wait before the reply or its
first chunk), `chunk_delay_s` (between streamed chunks), `malformed` (structured replies that are not valid JSON for the schema), `cut_stream_after`
(close the connection after that many content chunks, without `[DONE]`), `no_tools` (400 for requests
with `tools`, as vLLM answers without its tool-calling flags), `no_images` (400 for requests with image
parts, as OpenAI answers for a text-only model), `reply_overrides` (fields every structured reply takes,
e.g. a confident answer that cites nothing). A stub that was stopped is a server down.

Images: `image_url` content parts must be base64 data URLs of JPEG, PNG or WebP (what Ollama's endpoint
accepts; anything else is a 400 "invalid image input"); each is decoded and kept in `server.images`
(type, width, height), and a structured reply with a `description` field describes them by their size
and the customer's words.

Replies are rule-based but derived from the request (system prompt passages, tool results), so a test
can check that the client really sent the context. Placeholders of masked personal data in the customer's
message (`[전화1]` …) are repeated in the answer, as a model that confirms the contact details would.
Every request body is kept in `server.requests`.

Each stub serves under a path of its own (`http://127.0.0.1:PORT/stub-<id>/v1`) and answers 404 to any
other: the product keeps vectors, circuit breakers and tool refusals per server URL for the whole process,
and the kernel may give a later stub the port of an earlier one; with the port alone as its address the
later stub was "the same server" and was never asked for the vectors the earlier one had computed.

    with OpenAIStub() as stub:
        settings.openai_base_url = stub.base_url   # http://127.0.0.1:PORT/stub-<id>/v1
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import struct
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image

EMBED_DIM = 64
ORDER_ID = re.compile(r"\b[A-Z]-\d{6,}(?:-\d+)?\b")
ORDER_WORDS = re.compile(r"주문|택배|배송|송장|언제\s*(와|오)|order|package|parcel|tracking|deliver", re.I)
PLACEHOLDER = re.compile(r"\[(?:이메일|전화|주소|이름)\d+\]")
DATA_URL = re.compile(r"^data:image/(jpeg|jpg|png|webp);base64,(.+)$", re.S)
HUMAN_WORDS = re.compile(r"상담원|사람|human|agent|person", re.I)
CATEGORY_RULES = [
    ("human", re.compile(r"상담원|사람|human|agent|person", re.I)),
    ("damage_defect", re.compile(r"파손|깨져|상한|상했|이물질|곰팡이|broken|damaged|spoiled", re.I)),
    ("cancel", re.compile(r"취소|cancel", re.I)),
    ("return_refund", re.compile(r"반품|환불|refund|return", re.I)),
    ("exchange", re.compile(r"교환|exchange", re.I)),
    ("delivery", re.compile(r"배송|택배|송장|deliver|ship|track|package", re.I)),
    ("payment", re.compile(r"결제|영수증|payment|invoice", re.I)),
    ("coupon_points", re.compile(r"쿠폰|적립금|coupon|points", re.I)),
    ("stock", re.compile(r"품절|재입고|stock", re.I)),
    ("product", re.compile(r"원산지|알레르기|보관|조리|ingredient", re.I)),
]
# The AI manager's tools (sajang/graphs/manager/tools.py): the stub "decides" which to call from the question.
MANAGER_RULES = [
    ("sales_week_comparison", re.compile(r"매출|sales|revenue", re.I)),
    ("low_stock_products", re.compile(r"재고|품절|stock", re.I)),
    ("churn_risk_customers", re.compile(r"이탈|churn", re.I)),
    ("claims_for_day", re.compile(r"클레임|claim", re.I)),
    ("product_review_problems", re.compile(r"리뷰|후기|review", re.I)),
]


def embed(text: str) -> list[float]:
    """A deterministic, normalised hashed-trigram vector (similar texts → similar vectors)."""
    vec = [0.0] * EMBED_DIM
    t = f"  {text.lower()}  "
    for i in range(len(t) - 2):
        h = int.from_bytes(hashlib.md5(t[i:i + 3].encode()).digest()[:4], "little")
        vec[h % EMBED_DIM] += 1.0 if (h >> 31) & 1 else -1.0
    norm = sum(x * x for x in vec) ** 0.5 or 1.0
    return [x / norm for x in vec]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _last(messages: list[dict[str, Any]], role: str) -> str:
    for m in reversed(messages):
        if m.get("role") == role:
            return _text(m.get("content"))
    return ""


def _image_parts(messages: list[dict[str, Any]]) -> list[str]:
    """The URLs of the request's image content parts."""
    urls = []
    for m in messages:
        content = m.get("content")
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and part.get("type") == "image_url":
                url = part.get("image_url")
                urls.append(str(url.get("url") if isinstance(url, dict) else url))
    return urls


def _decode_image(url: str) -> tuple[str, int, int] | None:
    """(type, width, height) of a base64 image data URL, None when it is not one."""
    m = DATA_URL.match(url)
    if not m:
        return None
    try:
        with Image.open(io.BytesIO(base64.b64decode(m.group(2), validate=True))) as img:
            img.load()
            return m.group(1), img.width, img.height
    except (ValueError, OSError):
        return None


def _first_passage(system: str) -> tuple[str, str]:
    """(id, first sentence) of the first manual passage of the RAG prompt (the line after `[id] title`)."""
    lines = system.splitlines()
    for i, line in enumerate(lines):
        head = re.match(r"^\[([^\]]+)\] ", line)
        if head and i + 1 < len(lines):
            body = lines[i + 1].strip()
            if body:
                return head.group(1), body.split(". ")[0].rstrip(".") + "."
    return "", ""


class _Handler(BaseHTTPRequestHandler):
    server: OpenAIStubHTTPServer
    decoded_images: list[tuple[str, int, int]]  # of the request being answered (set in _failure)

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _json(self, status: int, obj: Any) -> None:
        body = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self) -> str:
        """The request's path below this stub's own prefix ("/v1/..."), or "" for a path outside it."""
        prefix = self.server.path_prefix
        return self.path[len(prefix):].rstrip("/") if self.path.startswith(prefix + "/") else ""

    def do_GET(self) -> None:
        if self._route() == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": "stub-gpt", "object": "model", "owned_by": "test"}]})
        else:
            self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._json(400, {"error": {"message": "invalid JSON", "type": "invalid_request_error"}})
            return
        path = self._route()
        with self.server.lock:
            self.server.requests.append({"path": path or self.path, "body": body})
        if path == "/v1/embeddings":
            self._embeddings(body)
        elif path == "/v1/chat/completions":
            if self._failure(body):
                return
            self._chat(body)
        else:
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})

    def _failure(self, body: dict[str, Any]) -> bool:
        """Answer as a failing server would (True), per the server's failure mode."""
        srv = self.server
        self.decoded_images = []
        if srv.fail_status:
            self._json(srv.fail_status, {"error": {"message": "injected failure", "type": "server_error"}})
            return True
        urls = _image_parts(body.get("messages") or [])
        if urls and srv.no_images:
            self._json(400, {"error": {"message": "Invalid content type. image_url is only supported by certain "
                                                  "models.", "type": "invalid_request_error"}})
            return True
        decoded = [_decode_image(u) for u in urls]
        if any(d is None for d in decoded):
            self._json(400, {"error": {"message": "invalid image input", "type": "invalid_request_error"}})
            return True
        with srv.lock:
            srv.images += [d for d in decoded if d is not None]
        self.decoded_images = [d for d in decoded if d is not None]  # what _decide describes
        if srv.no_tools and body.get("tools"):
            self._json(400, {"object": "error", "type": "BadRequestError", "code": 400,
                             "message": '"auto" tool choice requires --enable-auto-tool-choice and '
                                        '--tool-call-parser to be set'})
            return True
        if srv.latency_s:
            time.sleep(srv.latency_s)
        return False

    # -- embeddings ---------------------------------------------------------------------------------
    def _embeddings(self, body: dict[str, Any]) -> None:
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs or "model" not in body:
            self._json(400, {"error": {"message": "model and input are required", "type": "invalid_request_error"}})
            return
        data = []
        for i, text in enumerate(inputs):
            if not isinstance(text, str):  # token arrays are not supported by this stub
                self._json(400, {"error": {"message": "input must be strings", "type": "invalid_request_error"}})
                return
            vec = embed(text)
            if body.get("encoding_format") == "base64":
                emb: Any = base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode()
            else:
                emb = vec
            data.append({"object": "embedding", "index": i, "embedding": emb})
        self._json(200, {"object": "list", "data": data, "model": body["model"],
                         "usage": {"prompt_tokens": sum(len(t) for t in inputs), "total_tokens": sum(len(t) for t in inputs)}})

    # -- chat -------------------------------------------------------------------------------------------
    def _decide(self, body: dict[str, Any]) -> dict[str, Any]:
        """The assistant message: {"content": str} or {"tool_calls": [...]}."""
        messages = body.get("messages") or []
        user = _last(messages, "user")
        system = _last(messages, "system")
        tool_results = [_text(m.get("content")) for m in messages if m.get("role") == "tool"]
        tools = {t["function"]["name"] for t in body.get("tools") or [] if t.get("type") == "function"}
        manager = [name for name, rx in MANAGER_RULES if name in tools and rx.search(user)]
        if manager and not tool_results:
            calls = []
            for name in manager:
                args = {"product": user.split()[0]} if name == "product_review_problems" else {}
                calls.append({"id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
                              "function": {"name": name, "arguments": json.dumps(args, ensure_ascii=False)}})
            return {"tool_calls": calls}
        if tool_results and any(name in tools for name, _ in MANAGER_RULES):
            # the answer quotes what the tools returned, so a test can check the numbers reached the model
            return {"content": "조회 결과입니다. " + " | ".join(r[:400] for r in tool_results)}
        if tools and not tool_results and ORDER_WORDS.search(user):
            oid = ORDER_ID.search(user)
            if oid and "get_order_status" in tools:
                name, args = "get_order_status", {"order_id": oid.group(0)}
            elif "get_delivery_status" in tools:
                name, args = "get_delivery_status", {}
            else:
                name, args = sorted(tools)[0], {}
            return {"tool_calls": [{"id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
                                    "function": {"name": name, "arguments": json.dumps(args)}}]}
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            schema = (fmt.get("json_schema") or {}).get("schema", {})
            props = schema.get("properties", {})
            obj: dict[str, Any] = {}
            if "category" in props:
                category = next((c for c, rx in CATEGORY_RULES if rx.search(user)), "other")
                urgency = "high" if category == "damage_defect" else "normal"
                obj.update(category=category, urgency=urgency, wants_human=bool(HUMAN_WORDS.search(user)))
            if "answer" in props:
                obj.update(self._answer(user, system, tool_results))
                marks = list(dict.fromkeys(PLACEHOLDER.findall(user)))
                if marks:
                    obj["answer"] += f" 말씀하신 {', '.join(marks)}(으)로 안내드리겠습니다."
            if "description" in props and self.decoded_images:
                obj.update(self._describe(user, self.decoded_images))
            # only the schema's fields; the ones the rules above do not know get neutral values
            neutral = {"string": "", "boolean": False, "number": 0.0, "integer": 0, "array": []}
            obj = {k: obj.get(k, neutral.get(str((props.get(k) or {}).get("type")), ""))
                   for k in schema.get("required", list(props))}
            obj.update({k: v for k, v in self.server.reply_overrides.items() if k in obj})
            if self.server.malformed:
                return {"content": json.dumps(obj, ensure_ascii=False)[:-7]}
            return {"content": json.dumps(obj, ensure_ascii=False)}
        return {"content": f"안녕하세요. '{user[:40]}'에 대해 안내드립니다."}

    @staticmethod
    def _describe(user: str, images: list[tuple[str, int, int]]) -> dict[str, Any]:
        """A description of the photos from what the stub can know: their sizes and the customer's words."""
        sizes = ", ".join(f"{w}×{h}" for _, w, h in images)
        if CATEGORY_RULES[1][1].search(user) or re.search(r"찌그러|터졌|새", user):
            return {"description": f"사진 {len(images)}장({sizes}): 상자 모서리가 찌그러지고 내용물이 새어 나온 모습이 보입니다.",
                    "findings": ["damage", "leak"]}
        return {"description": f"사진 {len(images)}장({sizes}): 상품과 포장이 보입니다.", "findings": ["packaging"]}

    @staticmethod
    def _answer(user: str, system: str, tool_results: list[str]) -> dict[str, Any]:
        prompt_orders = re.search(r"이 고객의 최근 주문\n(\[.*\])\n", system)
        if not tool_results and prompt_orders and ORDER_WORDS.search(user):
            # no tools offered (or refused): the orders the prompt gives, as a tool result would
            tool_results = [json.dumps({"orders": json.loads(prompt_orders.group(1))})]
        for raw in tool_results:
            try:
                data = json.loads(raw)
            except ValueError:
                continue
            order = data.get("delivery") or data.get("order") or (data.get("orders") or [None])[0]
            if isinstance(order, dict):
                tracking = order.get("tracking_no") or "-"
                return {"answer": f"주문 {order.get('order_id')}은 현재 '{order.get('status_label')}' 상태이며, "
                                  f"운송장 번호는 {tracking}입니다.", "confidence": 0.9, "needs_human": False,
                        "sources_used": [order.get("order_id")], "supported": True}
            if data.get("error"):
                return {"answer": "주문 정보를 확인할 수 없어 상담원이 도와드리겠습니다.", "confidence": 0.3,
                        "needs_human": True, "sources_used": [], "supported": False}
        passage_id, passage = _first_passage(system)
        if HUMAN_WORDS.search(user):
            return {"answer": "상담원에게 연결해 드리겠습니다.", "confidence": 0.5, "needs_human": True,
                    "sources_used": [], "supported": False}
        if passage:
            return {"answer": f"안내드립니다. {passage}", "confidence": 0.85, "needs_human": False,
                    "sources_used": [passage_id], "supported": True}
        return {"answer": "확인 후 안내드리겠습니다.", "confidence": 0.2, "needs_human": True,
                "sources_used": [], "supported": False}

    def _chat(self, body: dict[str, Any]) -> None:
        if not body.get("model") or not isinstance(body.get("messages"), list):
            self._json(400, {"error": {"message": "model and messages are required", "type": "invalid_request_error"}})
            return
        msg = self._decide(body)
        cid, created, model = f"chatcmpl-{uuid.uuid4().hex[:16]}", int(time.time()), body["model"]
        finish = "tool_calls" if "tool_calls" in msg else "stop"
        usage = {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}
        if not body.get("stream"):
            message = {"role": "assistant", "content": msg.get("content"), "refusal": None}
            if "tool_calls" in msg:
                message["tool_calls"] = msg["tool_calls"]
            self._json(200, {"id": cid, "object": "chat.completion", "created": created, "model": model,
                             "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
                             "usage": usage})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()

        def send(delta: dict[str, Any], finish_reason: str | None = None, with_usage: bool = False) -> None:
            chunk: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason,
                                                  "logprobs": None}]}
            if with_usage:
                chunk["usage"] = usage
            self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
            self.wfile.flush()

        send({"role": "assistant", "content": ""})
        if "tool_calls" in msg:
            for i, call in enumerate(msg["tool_calls"]):
                send({"tool_calls": [{"index": i, "id": call["id"], "type": "function",
                                      "function": {"name": call["function"]["name"], "arguments": ""}}]})
                send({"tool_calls": [{"index": i, "function": {"arguments": call["function"]["arguments"]}}]})
        else:
            content = msg["content"]
            for n, i in enumerate(range(0, len(content), 8)):  # several small deltas, like a real model
                if self.server.cut_stream_after is not None and n >= self.server.cut_stream_after:
                    self.close_connection = True  # the connection drops mid-answer: no finish, no [DONE]
                    return
                send({"content": content[i:i + 8]})
                if self.server.chunk_delay_s:
                    time.sleep(self.server.chunk_delay_s)
                with self.server.lock:
                    self.server.content_chunks += 1
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        send({}, finish)
        if include_usage:
            chunk = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model, "choices": [],
                     "usage": usage}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


class OpenAIStubHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.path_prefix = f"/stub-{uuid.uuid4().hex[:12]}"  # this server's own URL, whatever its port
        self.requests: list[dict[str, Any]] = []
        self.content_chunks = 0
        self.lock = threading.Lock()
        self.fail_status: int | None = None
        self.latency_s = 0.0
        self.chunk_delay_s = 0.0  # between streamed content chunks: a model that trickles
        self.malformed = False
        self.cut_stream_after: int | None = None
        self.no_tools = False
        self.no_images = False  # 400 for image parts: a text-only model
        self.images: list[tuple[str, int, int]] = []  # (type, width, height) of every image received
        self.reply_overrides: dict[str, Any] = {}  # fields every structured reply takes (a model's choices)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (timeout) closes the socket under a slow reply: expected, not news


class OpenAIStub:
    """Runs the server in a background thread for the duration of a `with` block."""

    def __init__(self, port: int = 0) -> None:
        """`port` 0: any free one, as the kernel chooses (it may be one an earlier stub had)."""
        self.server = OpenAIStubHTTPServer(port)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.server.server_address[0]}:{self.port}{self.server.path_prefix}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self.server.lock:
            return list(self.server.requests)

    def chat_requests(self) -> list[dict[str, Any]]:
        """Bodies of the chat completion requests so far (one per model call)."""
        return [r["body"] for r in self.requests if r["path"] == "/v1/chat/completions"]

    def __enter__(self) -> OpenAIStub:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
