"""Load test of POST /api/ask: many concurrent clients on loopback, bounded in requests and time.

    python benchmarks/load_test.py [--clients 16] [--requests 3000] [--seconds 60]
                                   [--new-share 0.0] [--warm] [--url URL]

Without --url it starts `assistant serve` (index/ as built) in its own process on a free
loopback port, and stops it afterwards. Only loopback addresses are allowed as targets.

Questions cycle through the golden set, as on a hotline where many callers ask the same
things: the first asking of each is new to the server (its query is embedded, ~25 ms of both
cores), later ones are repeats. `--new-share F` makes that share of requests brand-new questions
(a counter is appended); `--warm` asks every golden question once before timing starts.
Reports throughput, p50/p95/p99 latency and errors, overall and for new and repeated questions
apart, since they cost the server very different amounts.

The clients use http.client with keep-alive: a lighter client leaves more of the 2 cores to the
server under test.
"""
from __future__ import annotations

import argparse
import http.client
import itertools
import json
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.evaluation import load_golden  # noqa: E402

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def start_server() -> tuple[str, subprocess.Popen]:
    """`assistant serve` in its own process, so the clients here do not share its GIL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--host", "127.0.0.1",
                               "--port", str(port)], cwd=ROOT, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return f"http://127.0.0.1:{port}", server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("server did not start")


class Client:
    """One keep-alive connection; reconnects after an error."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.connection: http.client.HTTPConnection | None = None

    def ask(self, question: str) -> str | None:
        """POST /api/ask; None when it answered, else what went wrong."""
        body = json.dumps({"question": question}, ensure_ascii=False).encode("utf-8")
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
            self.connection.request("POST", "/api/ask", body, {"Content-Type": "application/json"})
            response = self.connection.getresponse()
            data = response.read()
            if response.status != 200:
                return f"HTTP {response.status}"
            return None if "answer" in json.loads(data) else "no answer in the response"
        except (OSError, http.client.HTTPException, ValueError) as error:
            if self.connection is not None:
                self.connection.close()
            self.connection = None
            return repr(error)


def percentiles(ms: list[float]) -> str:
    if not ms:
        return "no requests"
    ms = sorted(ms)

    def pct(p: float) -> float:
        return ms[min(len(ms) - 1, int(round(p * (len(ms) - 1))))]

    return (f"p50 {statistics.median(ms):6.1f} ms  p95 {pct(0.95):6.1f} ms  p99 {pct(0.99):6.1f} ms  "
            f"max {ms[-1]:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=3000, help="stop after this many requests in all")
    parser.add_argument("--seconds", type=float, default=60, help="stop after this long, whatever the count")
    parser.add_argument("--new-share", type=float, default=0.0,
                        help="share of requests that are brand-new questions (0–1)")
    parser.add_argument("--warm", action="store_true", help="ask each golden question once before timing")
    parser.add_argument("--url", help="an already running server on loopback")
    args = parser.parse_args()
    if not 0 <= args.new_share <= 1 or args.clients < 1:
        raise SystemExit("--new-share must be within 0–1 and --clients at least 1")
    if args.url and urlparse(args.url).hostname not in LOOPBACK:
        raise SystemExit("load tests only target loopback")
    url, server = (args.url, None) if args.url else start_server()
    try:
        run(args, url)
    finally:
        if server is not None:  # also when the run is interrupted
            server.terminate()
            server.wait(timeout=10)


def run(args, url: str) -> None:
    """The clients, until the request count or the time runs out; then the report."""
    target = urlparse(url)

    questions = [q.question for q in load_golden(ROOT / "tests" / "golden.jsonl")]
    if args.warm:
        warmer = Client(target.hostname, target.port)
        for question in questions:
            warmer.ask(question)
    counter = itertools.count()
    asked: set[str] = set(questions) if args.warm else set()
    lock = threading.Lock()
    latencies: dict[str, list[float]] = {"new": [], "repeated": []}
    errors: list[str] = []
    deadline = time.monotonic() + args.seconds

    def run_client(seed: int) -> None:
        client, rng = Client(target.hostname, target.port), random.Random(seed)
        while time.monotonic() < deadline:
            n = next(counter)
            if n >= args.requests:
                return
            question = questions[n % len(questions)]
            if rng.random() < args.new_share:
                question += f" {n}"
            with lock:
                kind = "repeated" if question in asked else "new"
                asked.add(question)
            start = time.perf_counter()
            problem = client.ask(question)
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                latencies[kind].append(elapsed)
                if problem:
                    errors.append(problem)

    started = time.perf_counter()
    threads = [threading.Thread(target=run_client, args=(i,)) for i in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started

    everything = latencies["new"] + latencies["repeated"]
    print(f"clients {args.clients}, new-question share {args.new_share:g}{', warmed' if args.warm else ''}: "
          f"{len(everything)} requests in {wall:.1f} s")
    print(f"throughput {len(everything) / wall:.1f} req/s, errors {len(errors)}"
          + (f" (first: {errors[0]})" if errors else ""))
    print(f"  all       {percentiles(everything)}")
    for kind, ms in latencies.items():
        print(f"  {kind:9} {percentiles(ms)}  ({len(ms)} requests)")


if __name__ == "__main__":
    main()
