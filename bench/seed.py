"""Benchmark: the demo-store generator (`sajang seed-demo`, business data) on SQLite and PostgreSQL.

    python bench/seed.py                        # 10k and 100k customers on both databases
    python bench/seed.py --sizes 10000 --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Each run writes into a fresh database (a temporary SQLite file; a `sajang_bench_seed_*` PostgreSQL
database created next to the one in --pg-url and dropped afterwards) and reports wall time, rows written
(all tables) and rows/s as a Markdown table. Target: 100k customers (~1M orders) in ≤ 180 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sajang.db.demo import seed_demo_store
from sajang.db.engine import dispose_all, get_engine, normalize_url

TARGET_S = 180.0
COUNTED = ("products", "customers", "orders", "order_items", "claims", "reviews", "qna", "settlements")


def _machine() -> str:
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f", {int(line.split()[1]) / 2**20:.0f} GiB RAM"
    except OSError:
        pass
    return f"{os.cpu_count()} cores (nproc){mem}, {platform.processor() or platform.machine()}, Python {platform.python_version()}"


def run_one(url: str, customers: int, seed: int) -> tuple[float, int, dict]:
    engine = get_engine(url)  # migrations run here, outside the timing
    t0 = time.perf_counter()
    counts = seed_demo_store(engine, customers=customers, seed=seed, today=date(2026, 11, 24))
    elapsed = time.perf_counter() - t0
    rows = sum(counts[k] for k in COUNTED)
    dispose_all()
    return elapsed, rows, counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000", help="comma-separated customer counts")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--no-pg", action="store_true", help="SQLite only")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    results: list[tuple[int, str, float, int, dict]] = []
    with tempfile.TemporaryDirectory(prefix="sajang-bench-seed-") as tmp:
        for n in sizes:
            url = f"sqlite:///{Path(tmp) / f'seed_{n}.db'}"
            elapsed, rows, counts = run_one(url, n, args.seed)
            print(f"sqlite     {n:>7,} customers: {elapsed:7.1f} s, {rows:,} rows", file=sys.stderr)
            results.append((n, "SQLite", elapsed, rows, counts))
    if not args.no_pg:
        admin = create_engine(normalize_url(args.pg_url), isolation_level="AUTOCOMMIT")
        for n in sizes:
            name = f"sajang_bench_seed_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                url = make_url(normalize_url(args.pg_url)).set(database=name).render_as_string(hide_password=False)
                elapsed, rows, counts = run_one(url, n, args.seed)
                print(f"postgresql {n:>7,} customers: {elapsed:7.1f} s, {rows:,} rows", file=sys.stderr)
                results.append((n, "PostgreSQL", elapsed, rows, counts))
            finally:
                dispose_all()
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    print(f"machine: {_machine()}; load average at end {os.getloadavg()[0]:.1f}")
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; command: python bench/seed.py --sizes {args.sizes}")
    print()
    print("| customers | orders | all rows | SQLite s | SQLite rows/s | PostgreSQL s | PostgreSQL rows/s | ≤ 180 s |")
    print("|---:|---:|---:|---:|---:|---:|---:|:---:|")
    for n in sizes:
        by_db = {db: (e, r, c) for m, db, e, r, c in results if m == n}
        any_counts = next(iter(by_db.values()))[2]
        rows = next(iter(by_db.values()))[1]
        cells = []
        for db in ("SQLite", "PostgreSQL"):
            if db in by_db:
                e, r, _ = by_db[db]
                cells += [f"{e:.1f}", f"{r / e:,.0f}"]
            else:
                cells += ["–", "–"]
        ok = all(e <= TARGET_S for e, _r, _c in by_db.values())
        print(f"| {n:,} | {any_counts['orders']:,} | {rows:,} | {' | '.join(cells)} | {'yes' if ok else 'no'} |")


if __name__ == "__main__":
    main()
