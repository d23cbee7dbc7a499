"""`sajang ask` start-up (issue #20): cold in its own process, before and after a change, and through a running
`sajang serve`, runs alternating so that the machine's load falls on all of them alike.

    python bench/ask_start.py --before /path/to/checkout-before --data-dir /tmp/shop/data --runs 5

`--data-dir`: a seeded shop (`SAJANG_DATA_DIR=… sajang seed-demo`), SQLite in it unless DATABASE_URL is set.
Each round runs, in this order: `sajang ask TEXT --json` with the `--before` code (PYTHONPATH), the same with
this checkout's code in its own process (`--no-server`), then, with a `sajang serve` of this checkout started
once on a free port (its `serve.json` in the data dir), `sajang ask TEXT --json --server`. Wall seconds and the
child's CPU (user + sys, from `wait4`), the load average at each round; the JSON answers compared (thread id
aside). Prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(code: Path, env: dict[str, str], *args: str) -> tuple[float, float, dict[str, object]]:
    """(wall s, CPU s, the answer without its thread id) of `sajang ARGS` with the code at `code`."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "sajang.app.cli", *args], cwd=code,
                            env={**env, "PYTHONPATH": str(code)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{args} failed: {err.decode()[-2000:]}")
    answer = json.loads(out)
    answer.pop("thread_id", None)
    return wall, usage.ru_utime + usage.ru_stime, answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="a checkout of the code before the change")
    parser.add_argument("--data-dir", type=Path, required=True, help="a seeded shop's data dir")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--text", default="배송비 얼마예요?")
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SAJANG_SERVER_URL")}
    env.update({"SAJANG_DATA_DIR": str(args.data_dir.resolve()), "SAJANG_UI": "off"})
    (args.data_dir / "serve.json").unlink(missing_ok=True)
    port = free_port()
    log = open(args.data_dir.parent / "ask_start_serve.log", "ab")  # noqa: SIM115  (the server's whole life)
    server = subprocess.Popen([sys.executable, "-m", "sajang.app.cli", "serve", "--port", str(port)], cwd=REPO,
                              env={**env, "PYTHONPATH": str(REPO)}, stdout=log, stderr=subprocess.STDOUT)
    kinds = {"before, in its own process": (args.before, ("ask", args.text, "--json", "--no-server")),
             "after, in its own process": (REPO, ("ask", args.text, "--json", "--no-server")),
             "after, through `sajang serve`": (REPO, ("ask", args.text, "--json", "--server"))}
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in kinds}
    answers: dict[str, dict[str, object]] = {}
    loads: list[float] = []
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/ready", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start: see ask_start_serve.log")
            time.sleep(0.5)
        for _ in range(args.runs):
            loads.append(os.getloadavg()[0])
            for kind, (code, cli_args) in kinds.items():
                wall, cpu, answer = run(code, env, *cli_args)
                results[kind].append((wall, cpu))
                answers[kind] = answer
    finally:
        server.terminate()
        server.wait(60)
        log.close()

    print(f"### `sajang ask` start-up ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()})\n")
    print(f"Command: `python bench/ask_start.py {' '.join(sys.argv[1:])}`; load average (1 min) at each round: "
          f"{', '.join(f'{x:.1f}' for x in loads)}.\n")
    print("| `sajang ask \"…\" --json` | wall s, each run | median wall s | CPU s (user+sys), each run | median CPU s |")
    print("|---|---|---:|---|---:|")
    for kind, rows in results.items():
        walls, cpus = [w for w, _ in rows], [c for _, c in rows]
        print(f"| {kind} | {', '.join(f'{w:.2f}' for w in walls)} | {statistics.median(walls):.2f} | "
              f"{', '.join(f'{c:.2f}' for c in cpus)} | {statistics.median(cpus):.2f} |")
    same = all(a == next(iter(answers.values())) for a in answers.values())
    print(f"\nThe three print the same answer (thread id aside): {'yes' if same else 'NO'}.")


if __name__ == "__main__":
    main()
