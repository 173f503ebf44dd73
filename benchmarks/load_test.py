"""Load test of POST /api/ask: many concurrent clients on loopback, bounded in requests and time.

    python benchmarks/load_test.py [--clients 16] [--requests 2000] [--seconds 60] [--url URL]

Without --url it starts `assistant serve` (index/ as built) in its own process on a free
loopback port, and stops it afterwards.
Questions cycle through the golden set, so after the first pass they are repeated questions,
as on a hotline where many callers ask the same things; `--fresh` appends a counter to every
question so that each one is new (the query embedding is computed every time).
Reports throughput, p50/p95/p99 latency and the error count. Only loopback addresses are
allowed as targets.
"""
from __future__ import annotations

import argparse
import itertools
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.evaluation import load_golden  # noqa: E402


def start_server() -> tuple[str, subprocess.Popen]:
    """`assistant serve` in its own process, so the clients here do not share its GIL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--host", "127.0.0.1",
                               "--port", str(port)], cwd=ROOT, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            httpx.get(url + "/healthz", timeout=1)
            return url, server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("server did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=2000, help="stop after this many requests in all")
    parser.add_argument("--seconds", type=float, default=60, help="stop after this long, whatever the count")
    parser.add_argument("--fresh", action="store_true", help="make every question new (no query cache hits)")
    parser.add_argument("--url", help="an already running server on loopback")
    args = parser.parse_args()
    url, server = (args.url, None) if args.url else start_server()
    if urlparse(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("load tests only target loopback")

    questions = [q.question for q in load_golden(ROOT / "tests" / "golden.jsonl")]
    counter = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + args.seconds

    def client() -> None:
        with httpx.Client(base_url=url, timeout=10) as http:
            while time.monotonic() < deadline:
                n = next(counter)
                if n >= args.requests:
                    return
                question = questions[n % len(questions)] + (f" {n}" if args.fresh else "")
                start = time.perf_counter()
                try:
                    response = http.post("/api/ask", json={"question": question})
                    ok = response.status_code == 200 and "answer" in response.json()
                    problem = None if ok else f"HTTP {response.status_code}"
                except (httpx.HTTPError, ValueError) as error:
                    problem = repr(error)
                elapsed = (time.perf_counter() - start) * 1000
                with lock:
                    latencies.append(elapsed)
                    if problem:
                        errors.append(problem)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started

    ms = sorted(latencies)

    def pct(p: float) -> float:
        return ms[min(len(ms) - 1, int(round(p * (len(ms) - 1))))]

    print(f"clients {args.clients}, {'new' if args.fresh else 'repeating'} questions, {len(ms)} requests "
          f"in {wall:.1f} s")
    print(f"throughput {len(ms) / wall:.1f} req/s")
    print(f"latency p50 {statistics.median(ms):.1f} ms  p95 {pct(0.95):.1f} ms  p99 {pct(0.99):.1f} ms  "
          f"max {ms[-1]:.1f} ms")
    print(f"errors {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
    if server is not None:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
