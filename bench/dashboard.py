"""Benchmark: the owner dashboard's queries on 10k / 100k-customer stores (SQLite and PostgreSQL).

    python bench/dashboard.py                            # 10k and 100k customers, both databases
    python bench/dashboard.py --sizes 10000 --backends sqlite

Uses the same stores as `bench/segmentation.py` (generated once with the demo-shop generator, reused),
adds synthetic conversations (one per two customers over 180 days, 40 % handed off) when the store has
none, runs one segmentation so the segment chart has data, then times each query of the /admin page
(median of `--repeat` runs, warm cache) and the whole `dashboard()` call. For reference it also times
the daily-sales series computed in pandas from the orders table. Target: the whole page ≤ 300 ms.
Prints the load average before and after the timings (the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from segmentation import BENCH_TODAY, DEFAULT_PG, bench_settings, log, prepare

from sajang.config import apply_offline_defaults
from sajang.db import dashboard as dash
from sajang.db.engine import get_engine
from sajang.db.models import Conversation, Customer, Order, SegmentationRun

NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # 15:00 KST on the stores' reference day


def add_conversations(url: str, size: int) -> None:
    engine = get_engine(url)
    with engine.connect() as conn:
        if conn.scalar(select(func.count()).select_from(Conversation)):
            return
        ids = list(conn.scalars(select(Customer.id)))
    rng = random.Random(7)
    rows = []
    for i in range(size // 2):
        created = NOW - timedelta(days=rng.uniform(0, 180))
        handed = rng.random() < 0.4
        handed_at = created + timedelta(minutes=1) if handed else None
        rows.append({"thread_id": f"bench-{i}", "customer_id": rng.choice(ids), "created_at": created,
                     "updated_at": created, "status": "resolved" if handed else "bot", "handed_off": handed,
                     "handed_off_at": handed_at,
                     "first_response_at": handed_at + timedelta(minutes=rng.expovariate(1 / 12)) if handed else None})
    with engine.begin() as conn:
        for start in range(0, len(rows), 10_000):
            conn.execute(insert(Conversation), rows[start:start + 10_000])
    log(f"added {len(rows):,} conversations")


def ensure_segments(url: str, workdir: Path, backend: str, size: int) -> None:
    from sajang.graphs.segmentation.service import start_run

    engine = get_engine(url)
    with engine.connect() as conn:
        runs = conn.scalar(select(func.count()).select_from(SegmentationRun))
    settings = bench_settings(url, workdir / f"data_{backend}_{size}")
    for days in (30, 0)[int(bool(runs)):]:
        start_run(settings, as_of=BENCH_TODAY - timedelta(days=days), started_by="bench")


QUERIES: dict[str, Any] = {
    "kpis (incl. low stock)": lambda e: dash.kpis(e, NOW),
    "low stock (days of cover)": lambda e: dash.low_stock(e, NOW),
    "review spikes": lambda e: dash.review_spikes(e, NOW),
    "claim spikes": lambda e: dash.claim_spikes(e, NOW),
    "daily sales 30 d": lambda e: dash.daily_sales(e, 30, NOW),
    "daily sales 90 d": lambda e: dash.daily_sales(e, 90, NOW),
    "daily claims 30 d": lambda e: dash.daily_claims(e, 30, NOW),
    "segment overview + moves": lambda e: dash.segment_overview(e),
    "whole page: dashboard()": lambda e: dash.dashboard(e, NOW),
    "whole page, 90-day charts": lambda e: dash.dashboard(e, NOW, 90),
}


def timed(fn: Any, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def pandas_daily_sales(url: str) -> float:
    engine = get_engine(url)
    t0 = time.perf_counter()
    with engine.connect() as conn:
        df = pd.read_sql(select(Order.ordered_at, Order.amount, Order.status), conn)
    ts = pd.to_datetime(df["ordered_at"], utc=True, format="mixed")
    keep = ~df["status"].isin(("cancelled", "returned")) & (ts >= NOW - timedelta(days=30)) & (ts <= NOW)
    day = (ts[keep] + pd.Timedelta(hours=9)).dt.date
    df.loc[keep].assign(day=day, amount=df.loc[keep, "amount"].astype(float)).groupby("day")["amount"].agg(
        ["sum", "size"])
    return time.perf_counter() - t0


def main() -> None:
    apply_offline_defaults()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG))
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "sajang-bench")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    columns: list[tuple[str, dict[str, float], int]] = []
    loads: list[str] = []
    for size in args.sizes:
        for backend in args.backends:
            url = prepare(backend, size, args.workdir, args.pg_url)
            add_conversations(url, size)
            ensure_segments(url, args.workdir, backend, size)
            engine = get_engine(url)
            with engine.connect() as conn:
                orders = int(conn.scalar(select(func.count()).select_from(Order)) or 0)
            log(f"[{backend} {size:,}] timing the dashboard queries…")
            load_before = os.getloadavg()[0]
            res = {name: timed(lambda fn=fn, e=engine: fn(e), args.repeat) for name, fn in QUERIES.items()}
            loads.append(f"{backend} {size // 1000}k {load_before:.2f}→{os.getloadavg()[0]:.2f}")
            res["pandas: daily sales 30 d (load + groupby)"] = pandas_daily_sales(url)
            columns.append((f"{backend} {size // 1000}k", res, orders))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.platform()}")
    print(f"finished {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; 1-min load average before→after each store: "
          + ", ".join(loads))
    print()
    print("| query | " + " | ".join(f"{name} ({orders:,} orders)" for name, _, orders in columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for q in [*QUERIES, "pandas: daily sales 30 d (load + groupby)"]:
        print(f"| {q} | " + " | ".join(f"{res[q] * 1000:.0f} ms" for _, res, _ in columns) + " |")


if __name__ == "__main__":
    main()
