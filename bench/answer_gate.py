"""How much the answer gate holds back, measured on chat (issue #15).

Each conversation set runs twice through `sajang eval conversation`, side by side: once with the shipped gate
(`answer_confidence_threshold`, default 0.45) and once with the gate open (0.01: every answer it would withhold
is given and graded). Joined per single-turn message the manual answers or does not, the table says what the
shipped gate does, what answering everything would do, and how many handoffs would have been right — the gate's
whole room — with the confidence those sit at next to the messages the manual does not answer.

    python bench/answer_gate.py                      # the dev set
    python bench/answer_gate.py --sets dev 2 3 14    # dev and held-out sets 2, 3 and 14
    python bench/answer_gate.py --sets all --jobs 14

The figures of a session go in bench/README.md. An open-gate run's confidences are not the shipped ones (the
category agreement lifts an answer to the gate plus a margin), so only its outcomes are read.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "sajang" / "data"
OPEN_GATE = 0.01
TODAY = "2026-12-02"


def cases_file(name: str) -> Path:
    if name == "dev":
        return DATA / "conversation_eval.jsonl"
    return DATA / ("conversation_eval_heldout.jsonl" if name == "1" else f"conversation_eval_heldout{name}.jsonl")


def run_eval(name: str, threshold: float | None) -> dict[str, Any]:
    """One `sajang eval conversation --json` run of set `name` (the shipped gate when `threshold` is None)."""
    env = {k: v for k, v in os.environ.items() if k != "SAJANG_ANSWER_CONFIDENCE_THRESHOLD"}
    if threshold is not None:
        env["SAJANG_ANSWER_CONFIDENCE_THRESHOLD"] = str(threshold)
    with tempfile.TemporaryDirectory(prefix="sajang-gate-bench-") as tmp:
        env["SAJANG_DATA_DIR"] = tmp
        out = subprocess.run([sys.executable, "-m", "sajang.app.cli", "eval", "conversation", "--today", TODAY,
                              "--json", "--cases", str(cases_file(name))],
                             capture_output=True, text=True, env=env, cwd=REPO, check=True)
    return json.loads(out.stdout)


def joined(shipped: dict[str, Any], opened: dict[str, Any]) -> list[dict[str, Any]]:
    """Single-turn manual and not-in-the-manual rows of both runs, by case id."""
    open_rows = {r["id"]: r for r in opened["rows"]}
    out = []
    for r in shipped["rows"]:
        o = open_rows.get(r["id"])
        if o is None or r["group"] not in ("manual", "unanswerable") or r["turns"] != 1 or r["outcome"] == "skipped":
            continue
        out.append({"group": r["group"], "handoff": bool(r["handoff"]), "reason": r.get("handoff_reason"),
                    "right": r["outcome"] == "right", "open_right": r["group"] == "manual" and o["outcome"] == "right",
                    "confidence": float(r.get("confidence") or 0.0)})
    return out


def table(name: str, rows: list[dict[str, Any]]) -> str:
    manual = [r for r in rows if r["group"] == "manual"]
    unanswerable = [r for r in rows if r["group"] == "unanswerable"]
    right = sum(r["right"] for r in manual)
    wrong = sum(not r["right"] and not r["handoff"] for r in manual)
    open_right = sum(r["open_right"] for r in manual)
    room = [r for r in manual if r["handoff"] and r["reason"] == "low_confidence" and r["open_right"]]
    held = [r for r in unanswerable if r["handoff"]]

    def mean(xs: list[dict[str, Any]]) -> str:
        return f"{statistics.mean(r['confidence'] for r in xs):.2f}" if xs else "–"

    return (f"| {name} | {len(manual)} | {right} | {wrong} | {len(manual) - right - wrong} | {open_right} | "
            f"{len(manual) - open_right} | {len(room)} | {mean(room)} | {len(held)}/{len(unanswerable)} | {mean(held)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["dev"],
                        help="dev, a held-out set's number (1 = conversation_eval_heldout.jsonl), or all")
    parser.add_argument("--jobs", type=int, default=2, help="evaluation processes at once")
    args = parser.parse_args()
    names = args.sets
    if names == ["all"]:
        held_out = (p.stem.removeprefix("conversation_eval_heldout") or "1"
                    for p in DATA.glob("conversation_eval_heldout*.jsonl"))
        names = ["dev", *sorted(held_out, key=int)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        runs = {(n, t): pool.submit(run_eval, n, t) for n in names for t in (None, OPEN_GATE)}
        results = {key: future.result() for key, future in runs.items()}
    print(f"answer gate on chat: shipped gate vs open gate ({OPEN_GATE}), {platform.machine()}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}, {time.perf_counter() - started:.0f} s\n")
    print("| set | manual | right | wrong | handed off | right, gate open | not right, gate open | handoffs that would be "
          "right | their mean confidence | unanswerable handed off | their mean confidence |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    everything: list[dict[str, Any]] = []
    for n in names:
        rows = joined(results[(n, None)], results[(n, OPEN_GATE)])
        everything += rows
        print(table(n, rows))
    if len(names) > 1:
        print(table("**all**", everything))


if __name__ == "__main__":
    main()
