"""Latency of search and answers, with medians, p95 and the ratio to the naive baseline.

    python benchmarks/bench_latency.py [--rounds 3]

Uses the built index in index/ (run `assistant build` first) and the golden questions.
Reports, each over every golden question:
- search, first time a question is seen (query embedding included);
- search, repeated question (query embedding cached);
- naive baseline search (250-character chunks, dense only, same encoder and cache);
- answer (search + extractive answer), in-process;
- POST /api/ask over HTTP on loopback (real uvicorn server), sequential, as the client sees it
  and as the server measured it (its Server-Timing header: request in to response out).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.answer import Composer  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.encoders import CachedEncoder  # noqa: E402
from assistant.evaluation import NaiveBaseline, load_golden  # noqa: E402
from assistant.indexing import open_searcher  # noqa: E402


def timed(fn, items) -> list[float]:
    out = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - start) * 1000)
    return out


def summary(name: str, ms: list[float]) -> tuple[str, float]:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    median = statistics.median(ms)
    print(f"{name:<42} n={len(ms):>4}  median {median:8.3f} ms  p95 {p95:8.3f} ms")
    return name, median


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = Settings.from_env(corpus_dir=ROOT / "corpus", index_dir=ROOT / "index")
    searcher = open_searcher(settings)
    questions = [q.question for q in load_golden(ROOT / "tests" / "golden.jsonl")]
    composer = Composer(searcher)
    baseline = NaiveBaseline(settings.corpus_dir, CachedEncoder(searcher.encoder.encoder,
                                                                settings.index_dir / "cache" / "baseline"))
    baseline.encoder.save()
    searcher.forget()

    cold = timed(lambda q: searcher.search(q), questions)
    warm = [t for _ in range(args.rounds) for t in timed(lambda q: searcher.search(q), questions)]
    baseline.encoder.forget_queries()
    naive_cold = timed(lambda q: baseline.search(q), questions)
    naive_warm = [t for _ in range(args.rounds) for t in timed(lambda q: baseline.search(q), questions)]
    searcher.forget()
    ask_cold = timed(lambda q: composer.answer(q), questions)
    ask_warm = [t for _ in range(args.rounds) for t in timed(lambda q: composer.answer(q), questions)]

    import httpx
    import uvicorn

    from assistant.web import create_app

    searcher.forget()
    server = uvicorn.Server(uvicorn.Config(create_app(searcher), host="127.0.0.1", port=8765, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    with httpx.Client(base_url="http://127.0.0.1:8765", timeout=10) as client:
        for _ in range(100):
            try:
                client.get("/healthz")
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        server_ms: list[float] = []

        def ask(q):
            response = client.post("/api/ask", json={"question": q})
            response.raise_for_status()
            server_ms.append(float(response.headers["server-timing"].split("dur=")[1]))

        http_cold = timed(ask, questions)
        server_cold, server_ms[:] = list(server_ms), []
        http_warm = [t for _ in range(args.rounds) for t in timed(ask, questions)]
        server_warm = list(server_ms)
    server.should_exit = True

    print()
    rows = dict([
        summary("search, new question (embeds the query)", cold),
        summary("search, repeated question (cached)", warm),
        summary("naive baseline, new question", naive_cold),
        summary("naive baseline, repeated question", naive_warm),
        summary("answer in-process, new question", ask_cold),
        summary("answer in-process, repeated question", ask_warm),
        summary("POST /api/ask over HTTP, new question", http_cold),
        summary("POST /api/ask over HTTP, repeated", http_warm),
        summary("  of which in the server (Server-Timing), new", server_cold),
        summary("  of which in the server (Server-Timing), repeated", server_warm),
    ])
    print()
    print(f"ratio search/naive (new questions):      {rows['search, new question (embeds the query)'] / rows['naive baseline, new question']:.2f}x")
    print(f"ratio search/naive (repeated questions): {rows['search, repeated question (cached)'] / rows['naive baseline, repeated question']:.2f}x")


if __name__ == "__main__":
    main()
