"""Load test: customer messages over HTTP against `sajang serve` on loopback (issue #20).

    python bench/load.py                          # ~6 min: 1 worker, 2 workers, 2 replicas
    python bench/load.py --quick                  # ~2 min: shorter phases, 2 rates
    python bench/load.py --configs 1w --rates 30,60 --phase-s 10 --saturation-s 10
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres python bench/load.py --pg
    python bench/load.py --before /path/to/checkout-before --configs 1w,2w --rates 30 --no-ask   # before/after

What it does, in one run:

1. a demo shop (`sajang seed-demo --customers N`: customers, orders, the bundled CS manual) in a data dir
   (a temporary one, or `--workdir` kept between runs); with `--pg`, in a `sajang_bench_load` PostgreSQL
   database created next to DATABASE_URL (dropped and re-created);
2. for each server configuration, one after the other on the same shop — `1w` (`sajang serve`),
   `2w` (`sajang serve --workers 2`), `2r` (two `sajang serve` processes on two ports, each session
   sent to one of them in turn: what a proxy does) — with `SAJANG_UI=off` and `--log-level`
   (default INFO, the access line of every request as in production), waits for `/api/v1/ready`, then:
   - open loop, for each `--rates` value: Poisson arrivals at that many messages/s for `--phase-s`
     seconds; each message `POST /api/v1/chat/sessions/{id}/messages` on a conversation of up to 4
     messages (the next message of a conversation only after its answer, as a customer waits); latency
     from the arrival's scheduled time to the answer (a late client counts against the server,
     no coordinated omission); then the answers still due are awaited for `--drain-s` (the rest count
     as errors, «unanswered at the end»), and the servers' queue left to empty before the next phase;
   - closed loop (saturation): `--concurrency` customers each sending their next message as soon as the
     answer comes, for `--saturation-s` seconds;
   - the server's RSS (the process and its workers, sampled every 0.5 s, the maximum), PSS (pages shared
     between processes counted a share each) and CPU (utime + stime of its processes over the phases, per
     message answered);
   with `--before CHECKOUT`, each configuration runs first with that checkout's code (PYTHONPATH), then with
   this one's, on the same shop: before and after side by side in one run;
3. `sajang ask "배송비 얼마예요?" --json` three times on the same shop, cold (a new process each);
4. the size of what `pip install sajang` puts in a virtual environment: the files of the `sajang`
   distribution's dependency closure (without extras), from `importlib.metadata`.

Sessions (not counted as messages, created before each phase): half guests, half signed-in members
(`member_id` + HMAC with the bench's `SAJANG_WIDGET_SECRET`, a different demo customer each, so order
questions look orders up). Every session comes from its own client address (`X-Forwarded-For`, which
uvicorn trusts from 127.0.0.1 as it would from a proxy there): the per-IP limits see one customer each,
the per-session limit (30 messages a minute) is never reached with 4 messages — no limit is lifted.
Messages: the 16 CS questions of bench/inquiry.py in 7,680 wordings (its 1,920 × 4 address words), each
used once per server (a new process: no query-vector cache hit). The offline pipeline answers (no chat
model). The load generator (asyncio + httpx, one process) shares the machine's cores with the server.
Prints Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import importlib.metadata as md
import math
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from inquiry import WORDINGS, variant  # noqa: E402  (bench/inquiry.py: the same questions)

WIDGET_SECRET = "bench-load-widget-secret"
ADDRESS_WORDS = ["", "사장님 ", "저기요 ", "근데 "]  # × bench/inquiry.py's 1,920 wordings
MESSAGES_PER_CONVERSATION = 4
API = "/api/v1"


def message(i: int) -> str:
    """The i-th distinct customer message (7,680 of them)."""
    i %= WORDINGS * len(ADDRESS_WORDS)
    return ADDRESS_WORDS[i // WORDINGS] + variant(i % WORDINGS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# --- the shop and the servers ----------------------------------------------------------------------


def cli(env: dict[str, str], *args: str, capture: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sajang.app.cli", *args], cwd=REPO, env=env, text=True,
                          capture_output=capture, check=True)


def prepare_shop(env: dict[str, str], customers: int, data_dir: Path) -> list[str]:
    """Seed the demo shop once (kept in `data_dir`); the customer ids (members for the sessions)."""
    from sqlalchemy import create_engine, text

    marker = data_dir / ".bench-load-seeded"
    if not marker.exists():
        started = time.perf_counter()
        cli(env, "seed-demo", "--customers", str(customers), "--reset")
        marker.write_text("ok")
        print(f"<!-- seeded {customers} customers in {time.perf_counter() - started:.0f} s -->", file=sys.stderr)
    url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'sajang.db'}"
    engine = create_engine(url)
    with engine.connect() as conn:
        ids = [row[0] for row in conn.execute(text("SELECT id FROM customers ORDER BY id"))]
    engine.dispose()
    return ids


def pg_database(base_url: str, name: str = "sajang_bench_load") -> str:
    """A fresh database `name` on the server of `base_url` (dropped first); its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


class Server:
    """`sajang serve` (UIs off) on a loopback port."""

    def __init__(self, env: dict[str, str], log_path: Path, workers: int = 1, code: Path = REPO) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.workers = workers
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sajang.app.cli", "serve", "--port", str(self.port),
                 "--workers", str(workers)], cwd=code, env=with_code(env, code), stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True)

    def wait_ready(self, limit_s: float = 300.0) -> float:
        """Until `/api/v1/ready` is 200 (every worker: with several, each probe may reach another one,
        so 2 × workers successes in a row); seconds waited."""
        started = time.monotonic()
        in_a_row = 0
        with httpx.Client(timeout=5) as client:
            while time.monotonic() - started < limit_s:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
                try:
                    ok = client.get(f"{self.base}{API}/ready").status_code == 200
                except httpx.TransportError:
                    ok = False
                in_a_row = in_a_row + 1 if ok else 0
                if in_a_row >= 2 * self.workers:
                    return time.monotonic() - started
                time.sleep(0.25)
        raise RuntimeError(f"server not ready after {limit_s} s: {self.log_path.read_text()[-3000:]}")

    def pids(self) -> list[int]:
        """The server process and its descendants (the workers)."""
        found = [self.proc.pid]
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
        i = 0
        while i < len(found):
            found.extend(children.get(found[i], []))
            i += 1
        return found

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def with_code(env: dict[str, str], code: Path) -> dict[str, str]:
    """`env` with `code` first on PYTHONPATH (the checkout whose `sajang` runs)."""
    rest = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(REPO)]
    return {**env, "PYTHONPATH": os.pathsep.join([str(code), *rest])}


def _proc_mb(path: str, field: str) -> float:
    """A "Field:  N kB" line of a /proc file, in MB (0 once the process is gone)."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def rss_mb(pid: int) -> float:
    return _proc_mb(f"/proc/{pid}/status", "VmRSS:")


def pss_mb(pid: int) -> float:
    """Proportional set size: pages shared with other processes (forked workers) count a share each."""
    return _proc_mb(f"/proc/{pid}/smaps_rollup", "Pss:")


def cpu_s(pid: int) -> float:
    """utime + stime of a process so far, seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class RssSampler:
    servers: list[Server]
    max_total: float = 0.0
    max_process: float = 0.0
    max_pss_total: float = 0.0
    cpu: dict[int, float] = field(default_factory=dict)  # each server process's CPU seconds, last seen

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            pids = [pid for s in self.servers for pid in s.pids()]
            per = [rss_mb(pid) for pid in pids]
            self.max_total = max(self.max_total, sum(per))
            self.max_process = max(self.max_process, *per, 0.0)
            self.max_pss_total = max(self.max_pss_total, sum(pss_mb(pid) for pid in pids))
            self.cpu.update({pid: cpu_s(pid) for pid in pids})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)


# --- the customers ---------------------------------------------------------------------------------


@dataclass
class Session:
    base: str
    thread_id: str
    headers: dict[str, str]
    left: int = MESSAGES_PER_CONVERSATION


@dataclass
class Phase:
    name: str
    offered: float | None  # messages/s, None for the closed loop
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    handoffs: int = 0
    sent: int = 0

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def row(self) -> str:
        done = len(self.latencies)
        ms = [1000 * x for x in self.latencies]
        errors = sum(self.errors.values())
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.errors.items()))
        offered = f"{self.offered:g}" if self.offered is not None else "closed"
        return (f"| {self.name} | {offered} | {self.sent} | {done / self.seconds:.1f} | {percentile(ms, 50):.0f} | "
                f"{percentile(ms, 95):.0f} | {percentile(ms, 99):.0f} | {errors}{f' ({kinds})' if kinds else ''} | "
                f"{self.handoffs} |")


class Customers:
    """Chat sessions on the servers (round robin), each from its own address, half of them members."""

    def __init__(self, client: httpx.AsyncClient, bases: list[str], members: list[str]) -> None:
        self.client = client
        self.bases = bases
        self.members = members
        self.made = 0
        self.idle: deque[Session] = deque()
        self.counter = 0  # messages sent on this server configuration

    async def new_session(self) -> Session:
        n = self.made
        self.made += 1
        ip = f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
        body: dict[str, Any] = {"name": f"손님{n}"}
        if n % 2 and self.members:
            member = self.members[(n // 2) % len(self.members)]
            body = {"member_id": member,
                    "member_hash": hmac.new(WIDGET_SECRET.encode(), member.encode(), hashlib.sha256).hexdigest()}
        base = self.bases[n % len(self.bases)]
        r = await self.client.post(f"{base}{API}/chat/sessions", json=body, headers={"X-Forwarded-For": ip})
        r.raise_for_status()
        out = r.json()
        return Session(base, out["thread_id"], {"Authorization": f"Bearer {out['token']}", "X-Forwarded-For": ip})

    async def fill(self, n: int, concurrency: int = 4) -> None:
        """`n` idle sessions ready before a phase starts (a failed creation is tried again, 20 at most)."""
        failures = 0

        async def make(k: int) -> None:
            nonlocal failures
            while k > 0:
                try:
                    self.idle.append(await self.new_session())
                    k -= 1
                except httpx.HTTPError:
                    failures += 1
                    if failures > 20:
                        raise
                    await asyncio.sleep(0.5)
        await asyncio.gather(*(make(n // concurrency + (i < n % concurrency)) for i in range(concurrency)))

    async def take(self, phase: Phase) -> Session | None:
        """An idle session, else a new one (its creation counts in the message's latency); None (and an
        error of `phase`) when it cannot be created."""
        if self.idle:
            return self.idle.popleft()
        try:
            return await self.new_session()
        except httpx.HTTPStatusError as exc:
            kind = f"session {exc.response.status_code}"
        except httpx.HTTPError as exc:
            kind = f"session {'timeout' if isinstance(exc, httpx.TimeoutException) else type(exc).__name__}"
        phase.sent += 1
        phase.error(kind)
        return None

    async def send(self, session: Session, phase: Phase, started: float) -> None:
        """One message; its latency from `started` (perf_counter) into `phase`."""
        text = message(self.counter)
        self.counter += 1
        phase.sent += 1
        try:
            r = await self.client.post(f"{session.base}{API}/chat/sessions/{session.thread_id}/messages",
                                       json={"text": text}, headers=session.headers)
        except httpx.TimeoutException:
            phase.error("timeout")
            return
        except httpx.TransportError as exc:
            phase.error(type(exc).__name__)
            return
        finally:
            session.left -= 1
            if session.left > 0:
                self.idle.append(session)
        if r.status_code != 200:
            phase.error(str(r.status_code))
            return
        phase.latencies.append(time.perf_counter() - started)
        if r.json().get("handoff"):
            phase.handoffs += 1


async def open_loop(customers: Customers, rate: float, seconds: float, seed: int, drain_s: float) -> Phase:
    phase = Phase("open", rate, seconds)
    await customers.fill(math.ceil(rate * seconds / MESSAGES_PER_CONVERSATION) + math.ceil(rate))
    rng = random.Random(seed)
    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter()
    at = 0.0
    while True:
        at += rng.expovariate(rate)
        if at >= seconds:
            break
        delay = start + at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)

        async def one(scheduled: float) -> None:
            session = await customers.take(phase)
            if session is not None:
                await customers.send(session, phase, scheduled)

        task = asyncio.create_task(one(start + at))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:  # the answers still coming, for at most `drain_s`; the rest are cut and counted
        _, pending = await asyncio.wait(tasks, timeout=drain_s)
        for task in pending:
            task.cancel()
            phase.error("unanswered at the end")
        await asyncio.gather(*pending, return_exceptions=True)
    # achieved = answers within the phase and its drain, over that time (a server that keeps up answers
    # every message at the offered rate; one that does not shows fewer answers a second)
    phase.seconds = max(seconds, time.perf_counter() - start)
    return phase


async def wait_idle(client: httpx.AsyncClient, bases: list[str], limit_s: float = 90.0) -> None:
    """Until every server answers `/api/v1/ready` (a route run in the worker threads, behind the messages
    a server still works on after the client gave up on them) within 0.2 s twice in a row."""
    deadline = time.perf_counter() + limit_s
    for base in bases:
        fast = 0
        while fast < 2 and time.perf_counter() < deadline:
            started = time.perf_counter()
            with contextlib.suppress(httpx.HTTPError):
                await client.get(f"{base}{API}/ready", timeout=limit_s)
            fast = fast + 1 if time.perf_counter() - started < 0.2 else 0
            await asyncio.sleep(0.2)


async def closed_loop(customers: Customers, concurrency: int, seconds: float) -> Phase:
    phase = Phase("closed", None, seconds)
    await customers.fill(concurrency * 2)
    stop_at = time.perf_counter() + seconds

    async def customer() -> None:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            session = await customers.take(phase)
            if session is not None:
                await customers.send(session, phase, started)

    start = time.perf_counter()
    await asyncio.gather(*(customer() for _ in range(concurrency)))
    phase.seconds = time.perf_counter() - start
    return phase


async def drive(bases: list[str], members: list[str], rates: list[float], phase_s: float, saturation_s: float,
                concurrency: int, timeout_s: float, drain_s: float, servers: list[Server]
                ) -> tuple[list[Phase], RssSampler]:
    # idle connections closed well before uvicorn's 5 s keep-alive: no request on a connection the server
    # is closing at that moment (a ReadError that would be the client's doing)
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200, keepalive_expiry=2.0)
    sampler = RssSampler(servers)
    cpu_at_start = sum(cpu_s(pid) for s in servers for pid in s.pids())
    stop = asyncio.Event()
    rss = asyncio.create_task(sampler.run(stop))
    phases: list[Phase] = []
    async with httpx.AsyncClient(timeout=timeout_s, limits=limits) as client:
        customers = Customers(client, bases, members)
        for i, rate in enumerate(rates):
            phases.append(await open_loop(customers, rate, phase_s, seed=i, drain_s=drain_s))
            await wait_idle(client, bases)  # the queue of the phase before is gone
        if saturation_s > 0:
            phases.append(await closed_loop(customers, concurrency, saturation_s))
    sampler.cpu.update({pid: cpu_s(pid) for s in servers for pid in s.pids()})
    stop.set()
    await rss
    sampler.cpu = {0: sum(sampler.cpu.values()) - cpu_at_start}  # the servers' CPU seconds under the load
    return phases, sampler


# --- cold CLI, venv ----------------------------------------------------------------------------------


def ask_cold(env: dict[str, str], runs: int = 3) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(["sajang", "ask", "배송비 얼마예요?", "--json"] if shutil.which("sajang") else
                       [sys.executable, "-m", "sajang.app.cli", "ask", "배송비 얼마예요?", "--json"],
                       cwd=REPO, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return times


def _requirement_names(dist: md.Distribution) -> list[str]:
    names = []
    for req in dist.requires or []:
        if "extra ==" in req:
            continue
        if ";" in req:
            from packaging.markers import Marker

            if not Marker(req.split(";", 1)[1]).evaluate({"extra": ""}):
                continue
        names.append(re.split(r"[\s<>=!~\[;(]", req, maxsplit=1)[0])
    return names


def venv_size_mb() -> tuple[float, int]:
    """MB of the files of `sajang`'s dependency closure (what a fresh venv would hold besides pip), and
    the number of distributions."""
    seen: dict[str, md.Distribution] = {}
    todo = ["sajang"]
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        seen[name] = dist
        todo.extend(_requirement_names(dist))
    total = 0
    for name, dist in seen.items():
        if name == "sajang":  # installed editable here: its source tree is not in site-packages
            total += sum(p.stat().st_size for p in (REPO / "sajang").rglob("*") if p.is_file()
                         and "__pycache__" not in p.parts)
            continue
        for f in dist.files or []:
            path = Path(str(dist.locate_file(f)))
            with contextlib.suppress(OSError):
                total += path.stat().st_size
    return total / 2**20, len(seen)


# --- main ----------------------------------------------------------------------------------------------


CONFIGS = {"1w": "1 process", "2w": "`--workers 2`", "2r": "2 replicas"}


def run_config(name: str, env: dict[str, str], logs: Path, members: list[str], args: argparse.Namespace,
               code: Path = REPO) -> tuple[list[Phase], RssSampler, float]:
    tag = "-before" if code != REPO else ""
    if name == "2r":
        servers = [Server(env, logs / f"{name}{tag}-a.log", code=code),
                   Server(env, logs / f"{name}{tag}-b.log", code=code)]
    else:
        servers = [Server(env, logs / f"{name}{tag}.log", workers=2 if name == "2w" else 1, code=code)]
    try:
        ready = max(s.wait_ready() for s in servers)
        phases, sampler = asyncio.run(drive([s.base for s in servers], members, args.rates, args.phase_s,
                                            args.saturation_s, args.concurrency, args.timeout_s, args.drain_s,
                                            servers))
    finally:
        for s in servers:
            s.stop()
    return phases, sampler, ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default="1w,2w,2r", help="1w, 2w, 2r (comma-separated)")
    parser.add_argument("--rates", default="30,45,60,75", help="open-loop offered messages/s")
    parser.add_argument("--phase-s", type=float, default=10.0, help="seconds of each open-loop rate")
    parser.add_argument("--saturation-s", type=float, default=10.0, help="closed-loop seconds (0: none)")
    parser.add_argument("--concurrency", type=int, default=16, help="closed-loop customers at once")
    parser.add_argument("--timeout-s", type=float, default=30.0, help="a message's client timeout")
    parser.add_argument("--drain-s", type=float, default=8.0,
                        help="after an open-loop phase, wait this long for the answers still due; the rest "
                             "count as errors (unanswered)")
    parser.add_argument("--customers", type=int, default=300, help="demo shop size")
    parser.add_argument("--workdir", type=Path, help="keep the shop here (default: a temporary dir)")
    parser.add_argument("--pg", action="store_true", help="PostgreSQL: a sajang_bench_load database next to "
                                                          "DATABASE_URL (default SQLite in the data dir)")
    parser.add_argument("--log-level", default="INFO", help="the servers' SAJANG_LOG_LEVEL")
    parser.add_argument("--no-ask", action="store_true", help="skip the cold `sajang ask` runs")
    parser.add_argument("--quick", action="store_true", help="--rates 30,60 --phase-s 8 --saturation-s 8")
    parser.add_argument("--before", type=Path, help="a checkout of the code before a change: each configuration "
                                                    "runs with it first, then with this checkout's")
    args = parser.parse_args()
    if args.quick:
        args.rates, args.phase_s, args.saturation_s = "30,60", 8.0, 8.0
    args.rates = [float(r) for r in str(args.rates).split(",") if r]
    configs = [c for c in args.configs.split(",") if c]
    for c in configs:
        if c not in CONFIGS:
            parser.error(f"unknown config {c!r}: use {', '.join(CONFIGS)}")

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="sajang-bench-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    data_dir = workdir / "data"
    data_dir.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SAJANG_DATABASE_URL")}
    if args.pg:
        env["DATABASE_URL"] = pg_database(os.environ.get("DATABASE_URL")
                                          or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
        (data_dir / ".bench-load-seeded").unlink(missing_ok=True)
    env.update({"SAJANG_DATA_DIR": str(data_dir), "SAJANG_UI": "off", "SAJANG_WIDGET_SECRET": WIDGET_SECRET,
                "SAJANG_LOG_LEVEL": args.log_level,
                "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)})
    env.pop("SAJANG_CHAT_MODEL", None)
    members = prepare_shop(env, args.customers, data_dir)
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())

    results: dict[str, tuple[list[Phase], RssSampler, float]] = {}
    labels = dict(CONFIGS)
    for name in configs:
        if args.before:
            labels[f"{name}-before"], labels[name] = f"{CONFIGS[name]}, before", f"{CONFIGS[name]}, after"
            results[f"{name}-before"] = run_config(name, env, workdir, members, args, code=args.before.resolve())
        results[name] = run_config(name, env, workdir, members, args)
    ask_times = [] if args.no_ask else ask_cold(env)
    venv_mb, dists = venv_size_mb()

    print(f"## load ({started}, {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{'PostgreSQL' if args.pg else 'SQLite'}, {args.customers} customers)\n")
    print(f"Command: `python bench/load.py {' '.join(sys.argv[1:])}`. Load average before "
          f"{load_before[0]:.1f}, after {os.getloadavg()[0]:.1f}; servers' log level {args.log_level}.\n")
    print("| server | offered msg/s | sent | achieved msg/s | p50 ms | p95 ms | p99 ms | errors | handoffs |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|")
    for name, (phases, _, _) in results.items():
        for p in phases:
            print(p.row().replace(f"| {p.name} |", f"| {labels[name]} |", 1))
    print(f"\nClosed loop: {args.concurrency} customers at once for {args.saturation_s:g} s.\n")
    print("| server | ready after s | max RSS, all processes MB | max RSS, one process MB | max PSS, all processes MB "
          "| server CPU ms a message |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (phases, sampler, ready) in results.items():
        answered = sum(len(p.latencies) for p in phases)
        cpu_ms = 1000 * sampler.cpu[0] / answered if answered else float("nan")
        print(f"| {labels[name]} | {ready:.1f} | {sampler.max_total:.0f} | {sampler.max_process:.0f} | "
              f"{sampler.max_pss_total:.0f} | {cpu_ms:.1f} |")
    if ask_times:
        print(f"\n`sajang ask \"배송비 얼마예요?\" --json`, cold, 3 runs: "
              f"{', '.join(f'{t:.2f}' for t in ask_times)} s (median {statistics.median(ask_times):.2f} s)")
    print(f"\nvenv: {venv_mb:.0f} MB ({dists} distributions: `sajang` and its dependency closure, no extras)")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
