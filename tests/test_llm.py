"""The optional language-model mode: a chat model may phrase the answer, but only a checked one is used.

A small OpenAI-compatible server runs inside the test (http.server on loopback) and answers
POST /v1/chat/completions with whatever the test scripts. The model's answer is used (mode
"llm") only when it cites a clause as [n] and every number and unit name it states is in the
clauses it cites; otherwise, and whenever the model cannot be reached, the extractive answer
is returned with a note saying why.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from assistant.answer import Composer
from assistant.llm import LLMAnswerer, ungrounded

from conftest import serve_app  # tests/ is on sys.path: pytest puts it there for conftest.py

QUESTION = "在资阳开个公司要几天？"
# Every number in it (2, 4) is in the clause cited first for QUESTION (001-a3).
GROUNDED = "在资阳，印章刻制和首次申领发票在2个工作日内办结，实现开办企业“4小时办结”[1]。"


class FakeChatServer:
    """Answers chat completions with the scripted (status, body, delay) and records each request."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status, self.body, self.delay = 200, {}, 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                server.requests.append({"path": self.path, "headers": dict(self.headers),
                                        "json": json.loads(self.rfile.read(length) or b"null")})
                time.sleep(server.delay)
                data = server.body if isinstance(server.body, bytes) else json.dumps(server.body).encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_port}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def says(self, content, status: int = 200, delay: float = 0.0) -> None:
        self.status, self.delay = status, delay
        self.body = {"id": "chatcmpl-test", "object": "chat.completion",
                     "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                  "finish_reason": "stop"}]}

    def replies(self, body, status: int = 200) -> None:
        self.status, self.body, self.delay = status, body, 0.0


@pytest.fixture(scope="module")
def chat():
    server = FakeChatServer()
    yield server
    server.httpd.shutdown()


@pytest.fixture(scope="module")
def extractive(searcher):
    """The answer the extractive composer gives; the model is asked to rephrase it."""
    answer = Composer(searcher).answer(QUESTION)
    assert not answer.refused and answer.citations[0].clause.id == "001-a3"
    return answer


@pytest.fixture()
def model(chat):
    chat.requests.clear()
    return LLMAnswerer(chat.base_url, "test-model", api_key="sk-test", timeout=5)


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # nothing listens there once the socket is closed


# --- a grounded answer is used ---------------------------------------------------------------

def test_a_grounded_answer_citing_its_clause_is_used(model, chat, extractive):
    chat.says(GROUNDED)

    answer = model.rephrase(extractive)

    assert answer.mode == "llm"
    assert answer.answer == GROUNDED
    assert answer.note is None
    assert answer.citations == extractive.citations, "the citations stay those of the search"
    assert answer.refused is False


def test_the_model_is_asked_with_the_question_and_the_numbered_clauses(model, chat, extractive):
    chat.says(GROUNDED)

    model.rephrase(extractive)

    request = chat.requests[-1]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test"
    body = request["json"]
    assert body["model"] == "test-model"
    assert body["temperature"] == 0
    system, user = body["messages"]
    assert system["role"] == "system" and "[1]" in system["content"]
    assert user["role"] == "user"
    assert QUESTION in user["content"]
    first = extractive.citations[0]
    assert f"[1] 《{first.document['title']}》附件第3项：{first.clause.text}" in user["content"]


# --- an ungrounded answer is replaced by the extractive one, with a note ----------------------

@pytest.mark.parametrize("content, why", [
    ("在资阳开办企业7个工作日内办结[1]。", "7"),
    ("在资阳开办企业由市教育局负责，2个工作日内办结[1]。", "市教育局"),
    ("在资阳开办企业2个工作日内办结。", "citation"),
    ("在资阳开办企业2个工作日内办结[9]。", "citation"),
    ("这些文件中没有相关规定。", "citation"),
], ids=["number not in the clauses", "unit not in the clauses", "no citation", "cites a clause it was not given",
        "model declines"])
def test_an_answer_that_fails_the_check_falls_back_to_the_extractive_answer(model, chat, extractive, content, why):
    chat.says(content)

    answer = model.rephrase(extractive)

    assert answer.mode == "extractive"
    assert answer.answer == extractive.answer
    assert answer.citations == extractive.citations
    assert answer.note and "核对" in answer.note and why in answer.note


# --- an unreachable or broken model is replaced too ------------------------------------------

def test_a_server_error_falls_back_with_a_note(model, chat, extractive):
    chat.replies({"error": {"message": "overloaded"}}, status=500)

    answer = model.rephrase(extractive)

    assert answer.mode == "extractive"
    assert answer.answer == extractive.answer
    assert "不可用" in answer.note and "500" in answer.note


def test_a_server_that_is_down_falls_back_with_a_note(extractive):
    answer = LLMAnswerer(closed_port_url(), "test-model", timeout=2).rephrase(extractive)

    assert answer.mode == "extractive"
    assert answer.answer == extractive.answer
    assert "不可用" in answer.note


def test_a_slow_server_times_out_and_falls_back(chat, extractive):
    chat.says(GROUNDED, delay=1.5)

    answer = LLMAnswerer(chat.base_url, "test-model", timeout=0.3).rephrase(extractive)

    assert answer.mode == "extractive"
    assert "不可用" in answer.note


@pytest.mark.parametrize("body", [b"not json", {"choices": []}, {"unexpected": True}],
                         ids=["not JSON", "no choices", "no choices key"])
def test_a_malformed_reply_falls_back_with_a_note(model, chat, extractive, body):
    chat.replies(body)

    answer = model.rephrase(extractive)

    assert answer.mode == "extractive"
    assert answer.answer == extractive.answer
    assert answer.note


@pytest.mark.parametrize("content", [None, "", "  "], ids=["null", "empty", "blank"])
def test_a_reply_with_no_text_falls_back_with_a_note(model, chat, extractive, content):
    """OpenAI-compatible servers send null content for refusals and tool calls (it once raised TypeError,
    and POST /api/ask answered 500)."""
    chat.says(content)

    answer = model.rephrase(extractive)

    assert answer.mode == "extractive"
    assert answer.note


# --- through the API -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def llm_api(searcher, chat):
    from assistant.web import create_app

    url, server = serve_app(create_app(searcher, LLMAnswerer(chat.base_url, "test-model", timeout=5)))
    yield url
    server.should_exit = True


def test_the_api_returns_the_model_answer_in_llm_mode(llm_api, chat):
    chat.says(GROUNDED)

    reply = httpx.post(llm_api + "/api/ask", json={"question": QUESTION}, timeout=30).json()

    assert reply["mode"] == "llm"
    assert reply["answer"] == GROUNDED
    assert reply["note"] is None
    assert reply["citations"][0]["id"] == "001-a3"


def test_the_api_explains_why_the_model_answer_was_not_used(llm_api, chat):
    chat.says("在资阳开办企业7个工作日内办结[1]。")

    reply = httpx.post(llm_api + "/api/ask", json={"question": QUESTION}, timeout=30).json()

    assert reply["mode"] == "extractive"
    assert "7个工作日" not in reply["answer"]
    assert "7" in reply["note"]


def test_the_api_does_not_ask_the_model_about_a_refused_question(llm_api, chat):
    chat.says("成都开公司要3个工作日[1]。")
    chat.requests.clear()

    reply = httpx.post(llm_api + "/api/ask", json={"question": "成都开公司要几天？"}, timeout=30).json()

    assert reply["refused"] is True
    assert reply["mode"] == "extractive"
    assert chat.requests == []


# --- ungrounded(): the check itself ----------------------------------------------------------

CLAUSE = "企业抵押登记业务办理不超过2个工作日，由市自然资源规划局负责，2021年10月完成。"


@pytest.mark.parametrize("text", [
    "抵押登记不超过2个工作日[1]。",
    "抵押登记不超过2个工作日，由市自然资源规划局负责[1]。",
    "2021年10月前完成[1]。",
    "抵押登记 不超过 2 个工作日 [1]",  # spaces a model adds around numbers do not matter
], ids=["number", "unit", "date", "spacing"])
def test_a_text_whose_facts_are_in_the_cited_clause_is_grounded(text):
    assert ungrounded(text, [CLAUSE]) is None


@pytest.mark.parametrize("text, problem", [
    ("抵押登记不超过3个工作日[1]。", "the number 3"),
    ("抵押登记由市税务局负责[1]。", "the unit 市税务局"),
    ("抵押登记不超过2个工作日。", "no valid clause citation"),
    ("抵押登记不超过2个工作日[2]。", "no valid clause citation"),
    ("抵押登记不超过2个工作日[0]。", "no valid clause citation"),
], ids=["number", "unit", "no citation", "citation out of range", "citation zero"])
def test_a_text_stating_what_the_cited_clause_does_not_is_ungrounded(text, problem):
    assert problem in ungrounded(text, [CLAUSE])


def test_only_the_cited_clauses_count_as_evidence():
    sources = ["办理不超过2个工作日。", "办理不超过3个工作日。"]

    assert ungrounded("办理不超过3个工作日[2]。", sources) is None
    assert "the number 3" in ungrounded("办理不超过3个工作日[1]。", sources)
    assert ungrounded("分别为2个和3个工作日[1][2]。", sources) is None


@pytest.mark.parametrize("text, evidence", [
    ("抵押登记1个工作日办结[1]。", "抵押登记2个工作日办结，2021年10月完成。"),
    ("抵押登记5个工作日办结[1]。", "抵押登记15个工作日办结。"),
], ids=["1 inside 2021", "5 inside 15"])
def test_a_number_is_grounded_only_by_the_same_number(text, evidence):
    """Not by the same digits inside another number (once a substring test let these through)."""
    assert ungrounded(text, [evidence]) is not None
