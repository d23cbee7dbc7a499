"""Benchmark: RFM segmentation in SQL (SQLite and PostgreSQL) side by side with a pandas reference.

    python bench/segmentation.py                         # 10k and 100k customers, both databases
    python bench/segmentation.py --sizes 10000 --backends sqlite

Stores are generated once with the demo-shop generator (`sajang.db.demo.seed_demo_store`, ~10 orders per
customer) into `--workdir` (SQLite files) and `sajang_bench_<n>` databases next to `--pg-url`, then reused.
For each store it times, median of `--repeat` runs:

- `graph run`: the segmentation graph up to its approval interrupt (INSERT … SELECT of every customer's
  R/F/M, scores and segment; counts; moves against the previous run; proposals; checkpoints);
- `SQL select`: the same RFM statement read back into Python (no writes);
- `pandas`: reading the orders into a DataFrame (`pd.read_sql`) and computing the same RFM there,
  reported as load + compute;

and checks that pandas and SQL agree on every customer's R, F, M and segment. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import create_engine, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sajang.config import Settings, apply_offline_defaults
from sajang.db.engine import get_engine, normalize_url
from sajang.db.models import Customer, CustomerSegment, Order
from sajang.db.rfm import (
    EXCLUDED_ORDER_STATUSES,
    SEGMENT_GRID,
    SHOP_UTC_OFFSET_HOURS,
    compute_rfm,
)

BENCH_TODAY = date(2026, 11, 24)
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def log(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def store_url(backend: str, size: int, workdir: Path, pg_url: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir / f'bench_{size}.db'}"
    from sqlalchemy.engine import make_url

    return make_url(normalize_url(pg_url)).set(database=f"sajang_bench_{size}").render_as_string(hide_password=False)


def prepare(backend: str, size: int, workdir: Path, pg_url: str) -> str:
    """A store with `size` demo customers (created with the demo generator unless it already exists)."""
    from sajang.db.demo import seed_demo_store

    url = store_url(backend, size, workdir, pg_url)
    if backend == "postgresql":
        admin = create_engine(normalize_url(pg_url), isolation_level="AUTOCOMMIT")
        name = url.rsplit("/", 1)[-1]
        with admin.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    engine = get_engine(url)
    with engine.connect() as conn:
        have = conn.scalar(select(func.count()).select_from(Customer))
    if have != size:
        log(f"[{backend} {size:,}] generating the demo store (once)…")
        t0 = time.perf_counter()
        seed_demo_store(engine, customers=size, seed=1, today=BENCH_TODAY, reset=True, progress=log)
        log(f"[{backend} {size:,}] generated in {time.perf_counter() - t0:.0f} s")
    return url


def bench_settings(url: str, data_dir: Path) -> Settings:
    """Settings bound to a bench store (the URL field is only read under its env name, DATABASE_URL)."""
    return Settings(DATABASE_URL=url, data_dir=data_dir)  # type: ignore[call-arg]


def pandas_rfm(url: str, as_of: date) -> tuple[pd.DataFrame, float, float]:
    """(result, load seconds, compute seconds): the textbook RFM in pandas with the documented tie rule."""
    engine = get_engine(url)
    t0 = time.perf_counter()
    with engine.connect() as conn:
        df = pd.read_sql(select(Order.customer_id, Order.ordered_at, Order.amount, Order.status), conn)
    t1 = time.perf_counter()
    ts = pd.to_datetime(df["ordered_at"], utc=True, format="mixed")
    local_day = (ts + pd.Timedelta(hours=SHOP_UTC_OFFSET_HOURS)).dt.date
    keep = ~df["status"].isin(EXCLUDED_ORDER_STATUSES) & (local_day <= as_of)
    d = df.loc[keep].assign(day=local_day[keep], amount=df.loc[keep, "amount"].astype(float))
    g = d.groupby("customer_id").agg(last=("day", "max"), frequency=("day", "size"), monetary=("amount", "sum"))
    g["recency_days"] = (pd.Timestamp(as_of) - pd.to_datetime(g["last"])).dt.days
    g["monetary"] = g["monetary"].round(2)
    n = len(g)
    g["r"] = 1 + (5 * (g["recency_days"].rank(method="min", ascending=False).astype(int) - 1)) // n
    g["f"] = 1 + (5 * (g["frequency"].rank(method="min").astype(int) - 1)) // n
    g["m"] = 1 + (5 * (g["monetary"].rank(method="min").astype(int) - 1)) // n
    g["segment"] = [SEGMENT_GRID[r][f - 1] for r, f in zip(g["r"], g["f"], strict=True)]
    t2 = time.perf_counter()
    return g, t1 - t0, t2 - t1


def median_time(fn: Any, repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def bench_one(backend: str, size: int, workdir: Path, pg_url: str, repeat: int) -> dict[str, Any]:
    from sajang.graphs.segmentation.service import start_run

    url = prepare(backend, size, workdir, pg_url)
    engine = get_engine(url)
    with engine.connect() as conn:
        n_orders = conn.scalar(select(func.count()).select_from(Order))
    settings = bench_settings(url, workdir / f"data_{backend}_{size}")
    start_run(settings, as_of=BENCH_TODAY, started_by="bench")  # warm-up (imports, checkpointer set-up)
    graph_s, run = median_time(lambda: start_run(settings, as_of=BENCH_TODAY, started_by="bench"), repeat)
    select_s, rows = median_time(lambda: compute_rfm(engine, BENCH_TODAY), repeat)
    ref, load_s, compute_s = pandas_rfm(url, BENCH_TODAY)
    with engine.connect() as conn:
        stored = pd.read_sql(select(CustomerSegment.customer_id, CustomerSegment.r, CustomerSegment.f,
                                    CustomerSegment.m, CustomerSegment.segment)
                             .where(CustomerSegment.run_id == run["run_id"]), conn).set_index("customer_id")
    joined = stored.join(ref[["r", "f", "m", "segment"]].add_suffix("_pd"), how="outer")
    mismatches = int(sum((joined[c] != joined[f"{c}_pd"]).sum() for c in ("r", "f", "m", "segment")))
    return {"backend": backend, "customers": size, "scored": len(rows), "orders": int(n_orders or 0),
            "graph_s": graph_s, "select_s": select_s, "pandas_load_s": load_s, "pandas_compute_s": compute_s,
            "mismatches": mismatches}


def main() -> None:
    apply_offline_defaults()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG),
                    help="a PostgreSQL URL; bench databases are created next to it")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "sajang-bench")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for size in args.sizes:
        for backend in args.backends:
            log(f"[{backend} {size:,}] benchmarking…")
            results.append(bench_one(backend, size, args.workdir, args.pg_url, args.repeat))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.platform()}")
    print()
    print("| store | customers scored | orders | graph run to approval | SQL select (read back) | "
          "pandas load + compute | pandas vs SQL mismatches |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['backend']} {r['customers']:,} | {r['scored']:,} | {r['orders']:,} | {r['graph_s']:.2f} s | "
              f"{r['select_s']:.2f} s | {r['pandas_load_s']:.2f} + {r['pandas_compute_s']:.2f} s | "
              f"{r['mismatches']} |")


if __name__ == "__main__":
    main()
