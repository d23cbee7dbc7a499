"""Benchmark: the chat-model path per customer message, over the OpenAI-compatible test stub with injected
latency (tests/openai_stub_server.py; the real `langchain-openai` client, SQLite, the inquiry graph).

    python bench/chat_model.py                     # 0.3 s per model call, 5 messages per scenario
    python bench/chat_model.py --latency 1.0 --n 3

For each scenario, on a new conversation per message through `InquiryService.stream_ask` (what the SSE
route runs): model calls per message (requests the stub received), time to the first streamed text
chunk the customer sees, and to the end of the turn (medians). Scenarios: a manual question; a verified
customer's order question (tools); a message with a photo and `SAJANG_VISION_MODEL`; the manual question
with `SAJANG_LLM_MASK_PII`; the order question on a server that refuses tools (vLLM without its flags):
the first message and the next ones; and `SAJANG_LLM_CLASSIFY_CALL=true` (a separate classification
call, the old shape) for comparison. Prints Markdown.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from openai_stub_server import OpenAIStub  # noqa: E402
from PIL import Image  # noqa: E402
from test_inquiry_support import A, seed_store  # noqa: E402

from sajang.config import Settings  # noqa: E402
from sajang.graphs.common.breaker import reset_breakers  # noqa: E402
from sajang.graphs.common.context import engine_for  # noqa: E402
from sajang.graphs.inquiry.llm_answer import forget_tool_refusals  # noqa: E402
from sajang.graphs.inquiry.service import InquiryService, get_inquiry_service  # noqa: E402
from sajang.services.attachments import save_attachment  # noqa: E402

MANUAL_Q = "반품 비용은 얼마예요?"
ORDER_Q = "제 택배 언제 와요?"
PHOTO_Q = "상자가 찌그러져서 왔고 국물이 다 새었어요"
PII_Q = "반품 비용은 얼마예요? 답은 010-9876-5432나 hana.kim@example.com으로 주세요"


def photo() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (2000, 1500), (180, 120, 60)).save(buf, format="JPEG")
    return buf.getvalue()


def one_turn(svc: InquiryService, settings: Settings, stub: OpenAIStub, text: str,
             with_photo: bool) -> tuple[int, float | None, float, dict[str, Any]]:
    """(model calls, seconds to the first text chunk, seconds to the end, the result) of one message."""
    thread_id = svc.start_conversation(A)
    attachments = [save_attachment(settings, thread_id, "box.jpg", photo()).as_dict()] if with_photo else None
    before = len(stub.chat_requests())
    started = time.perf_counter()
    first: float | None = None
    final: dict[str, Any] = {}
    for item in svc.stream_ask(text, customer_id=A, thread_id=thread_id, attachments=attachments):
        if isinstance(item, str):
            if first is None and item:
                first = time.perf_counter() - started
        else:
            final = item
    return len(stub.chat_requests()) - before, first, time.perf_counter() - started, final


def scenario(name: str, svc: InquiryService, settings: Settings, stub: OpenAIStub, text: str, n: int,
             with_photo: bool = False, setup: Callable[[], None] | None = None) -> dict[str, Any]:
    if setup:
        setup()
    runs = [one_turn(svc, settings, stub, text, with_photo) for _ in range(n)]
    firsts = [r[1] for r in runs if r[1] is not None]
    return {"name": name, "calls": [r[0] for r in runs],
            "ttft": statistics.median(firsts) if firsts else None, "total": statistics.median(r[2] for r in runs),
            "model_answered": sum(1 for r in runs if "[" not in str(r[3].get("answer")) and r[3].get("answer")),
            "handoff": sum(1 for r in runs if r[3].get("handoff"))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--latency", type=float, default=0.3, help="seconds the stub waits before each chat reply")
    ap.add_argument("--n", type=int, default=5, help="messages per scenario")
    args = ap.parse_args()
    os.environ.setdefault("SAJANG_ASYNC_COMMIT", "true")
    with OpenAIStub() as stub, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", chat_model="stub-gpt", openai_base_url=stub.base_url,
                            openai_api_key="sk-bench", embeddings="openai", embedding_model="stub-embed",
                            embedding_base_url=stub.base_url, embedding_api_key="sk-bench")
        seed_store(settings, engine_for(settings), Path(tmp))
        reset_breakers()
        forget_tool_refusals()
        svc = get_inquiry_service(settings)
        one_turn(svc, settings, stub, MANUAL_Q, False)  # warm-up: models, indexes, clients
        stub.server.latency_s = args.latency

        def set_(**values: Any) -> Callable[[], None]:
            def apply() -> None:
                forget_tool_refusals()  # a scenario starts with what the server does now
                for k, v in values.items():
                    if hasattr(settings, k):
                        setattr(settings, k, v)
                    else:
                        setattr(stub.server, k, v)
            return apply

        rows = [
            scenario("manual question", svc, settings, stub, MANUAL_Q, args.n),
            scenario("order question (verified customer, tools)", svc, settings, stub, ORDER_Q, args.n),
            scenario("damage report + photo, `SAJANG_VISION_MODEL`", svc, settings, stub, PHOTO_Q, args.n,
                     with_photo=True, setup=set_(vision_model="stub-vision")),
            scenario("manual question, `SAJANG_LLM_MASK_PII=true`", svc, settings, stub, PII_Q, args.n,
                     setup=set_(vision_model=None, llm_mask_pii=True)),
            scenario("order question, server refuses tools: first message", svc, settings, stub, ORDER_Q, 1,
                     setup=set_(llm_mask_pii=False, no_tools=True)),
            scenario("… the next messages", svc, settings, stub, ORDER_Q, args.n),
            scenario("manual question, `SAJANG_LLM_CLASSIFY_CALL=true` (separate classification call)", svc,
                     settings, stub, MANUAL_Q, args.n, setup=set_(no_tools=False, llm_classify_call=True)),
            scenario("order question, `SAJANG_LLM_CLASSIFY_CALL=true`", svc, settings, stub, ORDER_Q, args.n),
        ]
    print(f"## chat model over the stub: {args.latency:.2f} s per model call, {args.n} messages per scenario\n")
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores, SQLite, `InquiryService.stream_ask`.\n")
    print("| scenario | model calls per message | first text chunk (median) | turn (median) | handoffs |")
    print("|---|---|---|---|---|")
    for r in rows:
        calls = sorted(set(r["calls"]))
        ttft = f"{r['ttft']:.2f} s" if r["ttft"] is not None else "—"
        print(f"| {r['name']} | {'/'.join(map(str, calls))} | {ttft} | {r['total']:.2f} s | "
              f"{r['handoff']}/{len(r['calls'])} |")


if __name__ == "__main__":
    main()
