"""Property and fuzz tests: whatever comes in, nothing crashes.

- The question reader (`assistant.questions`) on arbitrary text: Chinese, full-width digits,
  control characters, emoji, names of cities and the words that set the intent.
- The running API (session fixture `server_url`, real HTTP) on arbitrary request bodies and
  query strings: the caller's mistakes are 4xx with a `detail`, never a 500, and every body
  is JSON.
- schemathesis, from the app's own OpenAPI schema: every operation, a bounded number of
  generated requests each, checked against the schema (skipped when schemathesis is not
  installed).
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, Phase, event, example, given, settings, strategies as st

from assistant.questions import COUNTIES, INTENT_WORDS, KNOWN_CITIES, analyse, follow_up, normalise

ROOT = Path(__file__).resolve().parents[1]
CORPUS_CITIES = sorted({d["city"] for d in json.loads((ROOT / "corpus" / "manifest.json").read_text(
    encoding="utf-8"))["documents"] if d.get("city")})  # 广元, 资阳, 绵阳, XX市
SOURCES = sorted(p.name for p in (ROOT / "corpus").glob("*.txt"))
INTENTS = {"time_limit", "fee", "unit", "other"}

# --- text strategies -------------------------------------------------------------------------

CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
FULL_WIDTH = st.characters(min_codepoint=0xFF01, max_codepoint=0xFF5E)  # ！ … ０-９ … Ａ-Ｚ … ～
CONTROL = st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn"])  # \x00, \u200b, \u3000, \u2028, combining
CJK_PUNCTUATION = st.sampled_from(list("，。？！：；、（）《》〔〕“”‘’【】…—　"))
WORDS = st.sampled_from(
    [*KNOWN_CITIES, *COUNTIES, *CORPUS_CITIES, "XX市", "XX", "市", "县", "区", "2021年", "２０２２年", "20 年",
     *[w for words in INTENT_WORDS.values() for w in words], "那", "呢", "？", "吗"])
ANY_CHAR = st.one_of(CJK, FULL_WIDTH, CONTROL, CJK_PUNCTUATION, st.characters())
TEXT = st.one_of(
    st.text(max_size=60),
    st.text(ANY_CHAR, max_size=60),
    st.lists(st.one_of(WORDS, st.text(ANY_CHAR, max_size=3)), max_size=12).map("".join),
)
CITY_LISTS = st.one_of(st.just(CORPUS_CITIES), st.lists(st.one_of(WORDS, st.text(max_size=4)), max_size=5))

# CPython before 3.11.8 (python/cpython#106905) can raise "SystemError: AST constructor recursion
# depth mismatch" when two threads parse Python at once, and formatting a traceback does: the
# server thread logging a 500 while pytest formats the failure crashes the whole run with an
# INTERNALERROR. So: no hypothesis `explain` phase, and a 5xx fails the test only after the
# server has logged it, with a message and no traceback (`no_server_error`).
PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]
LIBRARY = settings(max_examples=200, deadline=None, phases=PHASES)


def no_server_error(status: int, request: str, body: bytes | str) -> None:
    if status >= 500:
        time.sleep(0.5)  # the server thread is still logging its traceback
        pytest.fail(f"{status} for {request}: {body[:300]!r}", pytrace=False)


# --- the question reader ---------------------------------------------------------------------

@LIBRARY
@given(TEXT)
@example("")
@example("\x00\x1f\u200b\u3000\u2028")
@example("  资阳\t\n 开公司  ")
@example("Ａ\u0301 \u0301")
def test_normalise_never_crashes_and_is_idempotent(text):
    once = normalise(text)

    assert isinstance(once, str)
    assert normalise(once) == once
    assert once == once.strip()
    assert not re.search(r"\s\s", once), "whitespace runs collapse to one space"


def test_normalise_folds_full_width_digits_and_letters():
    assert normalise("　资阳２０２１年ＡＢＣ　多久？ ") == "资阳2021年ABC 多久?"


@LIBRARY
@given(TEXT, CITY_LISTS)
@example("资阳和绵阳开公司分别要几天？", CORPUS_CITIES)
@example("XX市 惠企政策 牵头单位", CORPUS_CITIES)
@example("２０２１年安岳", CORPUS_CITIES)
@example("市", ["市", ""])
def test_analyse_never_crashes_and_stays_in_its_vocabulary(text, cities):
    q = analyse(text, cities)

    assert q.intent in INTENTS
    assert q.text == normalise(text)
    assert isinstance(q.topic, str)
    assert set(q.cities) <= set(cities), "only cities the corpus has count as covered"
    assert q.city is None or q.city in q.cities
    assert set(q.other_cities) <= set(KNOWN_CITIES)
    assert not (q.cities and q.other_cities), "other cities are only reported when no covered one is named"
    assert q.year is None or 2000 <= q.year <= 2099
    assert isinstance(q.quantity, bool)


@settings(max_examples=200, deadline=None, phases=PHASES)
@given(TEXT, st.lists(TEXT, max_size=6), CITY_LISTS)
@example("那费用呢？", ["在资阳开个公司要几天？"], CORPUS_CITIES)
@example("绵阳呢？", ["资阳 抵押登记 时限"], CORPUS_CITIES)
@example("谁负责？", ["市"], ["市"])
@example("", [""], [])
def test_follow_up_never_crashes_and_keeps_the_question(question, history, cities):
    resolved = follow_up(question, history, cities)

    assert isinstance(resolved, str)
    assert resolved.endswith(question), "context is added in front, the question itself is kept"
    if not history:
        assert resolved == question


# --- the API, over HTTP ----------------------------------------------------------------------
# Finite floats only: NaN and ±Infinity (non-standard JSON tokens, and the standard 1e400)
# are the subject of their own test below.

JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                         st.text(max_size=20))
JSON = st.recursive(JSON_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=10)
# Real questions (a few dozen; the server embeds each once) and short arbitrary text: every
# new text that gets through validation costs the encoder about 0.2 s.
GOLDEN = [json.loads(line)["question"] for line in (ROOT / "tests" / "golden.jsonl").read_text(
    encoding="utf-8").splitlines() if line.strip()][::5]
SHORT_TEXT = st.one_of(st.text(max_size=16), st.text(ANY_CHAR, max_size=16),
                       st.lists(st.one_of(WORDS, st.text(ANY_CHAR, max_size=2)), max_size=5).map("".join))
QUESTION_TEXT = st.one_of(st.sampled_from(GOLDEN), SHORT_TEXT)
QUESTION = st.one_of(QUESTION_TEXT, st.sampled_from(["", " \t ", "问" * 501]), JSON)
TURN = st.one_of(
    st.fixed_dictionaries({"question": QUESTION}, optional={"answer": st.one_of(st.none(), st.text(max_size=40), JSON)}),
    JSON)
# Three kinds of body: well-formed (mostly answered), the right fields with any values, any JSON.
WELL_FORMED_ASK = st.fixed_dictionaries({"question": QUESTION_TEXT}, optional={
    "k": st.integers(1, 20),
    "city": st.one_of(st.none(), st.sampled_from(CORPUS_CITIES)),
    "source": st.one_of(st.none(), st.sampled_from(SOURCES)),
    "history": st.lists(st.fixed_dictionaries({"question": QUESTION_TEXT},
                                              optional={"answer": st.one_of(st.none(), SHORT_TEXT)}), max_size=3),
})
ANY_VALUED_ASK = st.fixed_dictionaries({"question": QUESTION}, optional={
    "k": st.one_of(st.integers(), JSON),
    "city": st.one_of(st.text(max_size=10), JSON),
    "source": st.one_of(st.text(max_size=10), JSON),
    "history": st.one_of(st.lists(TURN, max_size=3), st.lists(TURN, min_size=20, max_size=22), JSON),
    "unexpected": JSON,
})
ASK_BODY = st.one_of(WELL_FORMED_ASK, ANY_VALUED_ASK, JSON)
WELL_FORMED_SEARCH = st.fixed_dictionaries({"q": QUESTION_TEXT}, optional={
    "k": st.integers(1, 50), "city": st.sampled_from(CORPUS_CITIES), "source": st.sampled_from(SOURCES)})
ANY_VALUED_SEARCH = st.fixed_dictionaries({}, optional={
    "q": st.one_of(QUESTION_TEXT, st.sampled_from(["", "   ", "问" * 501])),
    "k": st.one_of(st.integers(), st.text(max_size=5)),
    "city": st.text(max_size=10),
    "source": st.text(max_size=10),
    "unexpected": st.text(max_size=10),
})
SEARCH_PARAMS = st.one_of(WELL_FORMED_SEARCH, ANY_VALUED_SEARCH)

API = settings(max_examples=150, deadline=None, phases=PHASES, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def api(server_url):
    with httpx.Client(base_url=server_url, timeout=60) as client:
        yield client


def check_response(response: httpx.Response) -> dict | list:
    event(f"status {response.status_code}")
    no_server_error(response.status_code, f"{response.request.method} {response.request.url}", response.content)
    assert response.headers["content-type"].startswith("application/json"), response.headers["content-type"]
    body = response.json()  # always JSON
    if 400 <= response.status_code < 500:
        assert isinstance(body, dict) and body.get("detail"), body
    return body


@API
@given(body=ASK_BODY)
@example(body={"question": "在资阳开个公司要几天？", "k": 3, "city": "资阳"})
@example(body={"question": "那费用呢？", "history": [{"question": "在资阳开个公司要几天？", "answer": None}]})
@example(body={"question": "\x00"})
@example(body={"question": "a" * 501})
@example(body={"question": "资阳", "k": 10**40})
@example(body={"question": "资阳", "history": [{"question": "资阳"}] * 21})
@example(body=[])
@example(body=None)
def test_ask_answers_or_rejects_any_body_never_a_500(api, body):
    response = api.post("/api/ask", content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                        headers={"content-type": "application/json"})

    reply = check_response(response)
    if response.status_code == 200:
        assert reply["question"] == body["question"].strip()
        assert isinstance(reply["answer"], str) and reply["answer"]


@API
@given(params=SEARCH_PARAMS)
@example(params={"q": "资阳 抵押登记 时限", "k": 5, "city": "资阳"})
@example(params={"q": "\x00\x1f", "k": "1e3"})
@example(params={"q": "抵押", "k": 0})
@example(params={})
def test_search_answers_or_rejects_any_query_never_a_500(api, params):
    response = api.get("/api/search", params=params)

    reply = check_response(response)
    if response.status_code == 200:
        assert reply["query"] == params["q"]
        assert isinstance(reply["results"], list)


# NaN, Infinity and 1e400 are the subject of test_out_of_range_numbers_in_a_body_are_a_422_not_a_500.
NON_FINITE = re.compile(r"NaN|Infinity|\d[eE][+]?\d{3}")


@settings(max_examples=60, deadline=None, phases=PHASES)
@given(raw=st.one_of(
    st.tuples(st.binary(max_size=40).filter(lambda b: not NON_FINITE.search(b.decode("latin-1"))),
              st.just("application/json")),  # any bytes, said to be JSON
    st.tuples(st.text(max_size=40).filter(lambda t: not NON_FINITE.search(t)).map(str.encode),  # UTF-8 text
              st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", ""]))))
@example(raw=(b'{"question": "\xff\xfe"}', "application/json"))
@example(raw=(b'{"question": "', "application/json"))
@example(raw=(b"question=%E8%B5%84%E9%98%B3", "application/x-www-form-urlencoded"))
def test_ask_rejects_a_body_that_is_not_json_with_a_4xx(api, raw):
    content, content_type = raw
    response = api.post("/api/ask", content=content, headers={"content-type": content_type} if content_type else {})

    check_response(response)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_utf8_is_a_4xx_not_a_500(api, content_type):
    response = api.post("/api/ask", content="资阳".encode("gb18030") + b"\x80",
                        headers={"content-type": content_type} if content_type else {})

    no_server_error(response.status_code, f"POST /api/ask as {content_type}", response.content)
    assert 400 <= response.status_code < 500, f"{response.status_code}: {response.text[:200]}"
    assert response.json()["detail"]


@pytest.mark.parametrize("raw", [
    '{"question": "资阳", "k": 1e400}',
    '{"question": 1e400}',
    '{"question": "资阳", "k": NaN}',
    '{"question": "资阳", "history": [{"question": Infinity}]}',
    "-Infinity",
])
def test_out_of_range_numbers_in_a_body_are_a_422_not_a_500(api, raw):
    response = api.post("/api/ask", content=raw.encode("utf-8"), headers={"content-type": "application/json"})

    no_server_error(response.status_code, f"POST /api/ask {raw}", response.content)
    assert response.status_code == 422, f"{response.status_code}: {response.text[:200]}"
    assert response.json()["detail"]


# --- errors the API answers in a shape other than it documents -----------------------------

@pytest.mark.parametrize("raw", [b"7\xff", b'{"question": "\xff\xfe"}', "资阳".encode("gb18030")])
def test_an_unreadable_body_gets_an_error_in_a_documented_shape(api, raw):
    response = api.post("/api/ask", content=raw, headers={"content-type": "application/json"})
    detail = response.json()["detail"]

    assert 400 <= response.status_code < 500
    if response.status_code == 400:
        assert isinstance(detail, dict) and {"field", "problem"} <= detail.keys(), detail
    else:
        assert response.status_code == 422 and isinstance(detail, list), detail


DATE_FILTERS = ("due_before", "due_after")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@pytest.mark.parametrize("path", ["/api/clauses", "/api/clauses.csv"])
@pytest.mark.parametrize("value", ["0", "1633046400"])
def test_a_date_filter_that_is_not_a_date_is_a_422(api, path, value):
    response = api.get(path, params={"due_before": value})

    assert response.status_code == 422, f"{response.status_code}: {response.text[:120]}"


def test_every_status_the_units_operation_returns_is_documented(api):
    response = api.get("/api/units", params={"city": "南充"})
    documented = api.get("/openapi.json").json()["paths"]["/api/units"]["get"]["responses"]

    assert response.status_code == 400
    assert "400" in documented, f"documented: {sorted(documented)}"


# --- schemathesis, from the app's OpenAPI schema ---------------------------------------------
# Every operation, with all of schemathesis' checks but one: `positive_data_acceptance` expects
# a 2xx for any schema-valid request, but the schema cannot list the cities and documents (they
# come from the corpus), so a schema-valid unknown `city` or `source` gets the 400 that the
# schema documents. Responses that show one of the bugs pinned by the xfail tests above skip
# only the check that bug fails, so that everything else is still checked on them.

try:
    import schemathesis
    from schemathesis.checks import (negative_data_rejection, positive_data_acceptance,
                                     response_schema_conformance, status_code_conformance)
except ImportError:  # not installed: the test below skips
    schemathesis = None


@pytest.fixture(scope="module")
def api_schema(server_url):
    return schemathesis.openapi.from_url(server_url + "/openapi.json")


def known_bug_checks(case, response) -> list:
    """The checks a response fails because of a bug that an xfail test above pins."""
    skipped = []
    if case.operation.path == "/api/units" and response.status_code == 400:
        skipped.append(status_code_conformance)  # test_every_status_the_units_operation_returns_is_documented
    if case.operation.path in ("/api/clauses", "/api/clauses.csv") and any(
            not ISO_DATE.fullmatch(str(case.query[f])) for f in DATE_FILTERS if f in (case.query or {})):
        skipped.append(negative_data_rejection)  # test_a_date_filter_that_is_not_a_date_is_a_422
    if response.status_code == 400 and b'"There was an error parsing the body"' in response.content:
        skipped.append(response_schema_conformance)  # test_an_unreadable_body_gets_an_error_in_a_documented_shape
    return skipped


if schemathesis is not None:
    schema = schemathesis.pytest.from_fixture("api_schema")

    @schema.parametrize()
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    def test_every_operation_conforms_to_the_schema_and_never_errors(case):
        response = case.call()

        no_server_error(response.status_code, f"{case.method} {response.request.url}", response.content)
        case.validate_response(response, excluded_checks=[positive_data_acceptance, *known_bug_checks(case, response)])
else:
    def test_every_operation_conforms_to_the_schema_and_never_errors():
        pytest.importorskip("schemathesis")
