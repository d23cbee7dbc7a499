"""Peak memory of `sajang import orders` on a generated ~50 MB CSV (order lines with items).

    python bench/import_memory.py --workdir /tmp/import-bench               # generate + measure this tree
    python bench/import_memory.py --workdir /tmp/import-bench --importers OLD.py   # another importers.py

Each measurement runs in its own process under /usr/bin/time -v (maximum resident set size) on a fresh
SQLite database (or `--database-url` PostgreSQL), and prints one table row. `OLD.py` is a copy of an
earlier sajang/db/importers.py (e.g. `git show d9f0550:sajang/db/importers.py > /tmp/old_importers.py`),
loaded as a sibling module of sajang.db so its relative imports resolve.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

PRODUCTS = ["순살 갈비탕", "고기 왕만두", "국산 참기름", "간장게장 1kg", "들기름", "김치만두", "양념 LA갈비", "도토리묵"]


def generate(path: Path, target_mb: int, seed: int = 7) -> int:
    """Order lines, two or three per order, until the file reaches `target_mb` MB; returns the rows."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, 9, 0)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("order_id,customer_id,customer_name,ordered_at,amount,status,product_id,product_name,quantity\n")
        order = 0
        while f.tell() < target_mb * 1_000_000:
            order += 1
            customer = rng.randrange(40_000)
            when = (start + timedelta(minutes=order * 2)).isoformat(timespec="seconds")
            for _line in range(rng.choice((2, 2, 3))):
                p = rng.randrange(len(PRODUCTS))
                qty = rng.randint(1, 3)
                f.write(f"O-{order:07d},c{customer:05d},고객{customer},{when},{qty * (9900 + p * 1000)},delivered,"
                        f"P-{p},{PRODUCTS[p]},{qty}\n")
                rows += 1
    return rows


def _run_import(url: str, csv_path: Path, importers: str | None) -> None:
    """The measured process: migrate an empty database, import the file once."""
    from sajang.db.engine import get_engine

    engine = get_engine(url)
    if importers:
        spec = importlib.util.spec_from_file_location("sajang.db.importers_under_test", importers)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    else:
        from sajang.db import importers as module
    began = time.perf_counter()
    result = module.import_file(engine, "orders", csv_path)
    print(json.dumps({"seconds": round(time.perf_counter() - began, 1), "rows": result["rows"],
                      "orders": result["orders"]}))


def measure(url: str, csv_path: Path, importers: str | None) -> dict[str, object]:
    cmd = ["/usr/bin/time", "-v", sys.executable, __file__, "--child", "--database-url", url, "--csv", str(csv_path)]
    if importers:
        cmd += ["--importers", importers]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)[1])  # type: ignore[index]
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "peak_rss_mb": round(peak_kb / 1024)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/import-bench"))
    ap.add_argument("--mb", type=int, default=50)
    ap.add_argument("--database-url")
    ap.add_argument("--importers", help="path of another importers.py to measure instead of this tree's")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _run_import(args.database_url, args.csv, args.importers)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    csv_path = args.workdir / f"orders_{args.mb}mb.csv"
    if not csv_path.exists():
        rows = generate(csv_path, args.mb)
        print(f"generated {csv_path}: {csv_path.stat().st_size / 1e6:.1f} MB, {rows:,} rows", file=sys.stderr)
    url = args.database_url
    if url is None:
        db = args.workdir / "import.db"
        db.unlink(missing_ok=True)
        url = f"sqlite:///{db}"
    r = measure(url, csv_path, args.importers)
    label = args.importers or "this tree"
    print("| importers | file | rows | orders | peak RSS | time |\n|---|---:|---:|---:|---:|---:|")
    print(f"| {label} | {csv_path.stat().st_size / 1e6:.1f} MB | {r['rows']:,} | {r['orders']:,} | "
          f"{r['peak_rss_mb']:,} MB | {r['seconds']} s |")


if __name__ == "__main__":
    main()
