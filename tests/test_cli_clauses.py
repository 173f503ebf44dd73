"""`assistant clauses`: the command a user runs to see what was parsed from corpus/.

Each test runs the real command in a subprocess from the project folder, the way a user
does, and reads what it prints.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]  # the project folder, where a user runs `assistant`

CONTRACT_KEYS = {
    "id", "source", "number", "path", "text", "span",
    "lead_units", "responsible_units", "leaders", "deadline", "time_limits", "amounts",
}
SOURCE_003 = "003_d25d4ccf3a63151e.txt"


def assistant(*args, cwd=ROOT):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        cwd=cwd, env=env, capture_output=True, text=True, encoding="utf-8", timeout=60,
    )


@pytest.fixture(scope="module")
def json_run():
    return assistant("clauses", "--json")


@pytest.fixture(scope="module")
def printed(json_run):
    return [json.loads(line) for line in json_run.stdout.splitlines()]


def test_clauses_json_prints_one_object_per_clause_per_line(json_run, printed, corpus):
    assert json_run.returncode == 0, json_run.stderr
    assert json_run.stderr == ""
    assert all(line.startswith("{") and line.endswith("}") for line in json_run.stdout.splitlines())
    assert len(printed) == len(corpus.clauses)
    assert [c["id"] for c in printed] == [c.id for c in corpus.clauses]


def test_every_json_object_has_the_contract_keys_with_their_types(printed):
    for clause in printed:
        assert CONTRACT_KEYS <= clause.keys(), clause["id"]
        assert isinstance(clause["path"], list)
        assert isinstance(clause["text"], str) and clause["text"]
        start, end = clause["span"]
        assert isinstance(start, int) and isinstance(end, int) and start < end
        for key in ("lead_units", "responsible_units", "leaders", "time_limits", "amounts"):
            assert all(isinstance(v, str) and v for v in clause[key]), (clause["id"], key)
        if clause["deadline"] is not None:
            assert set(clause["deadline"]) == {"text", "date", "recurring"}


def test_json_objects_carry_the_facts_of_the_clause(printed):
    by_id = {c["id"]: c for c in printed}
    item = by_id["003-2.1.3"]  # 003 item 3
    assert item["number"] == "3"
    assert item["source"] == SOURCE_003
    assert item["lead_units"] == ["市财政局"]
    assert item["deadline"] == {"text": "2022年6月底完成清理并长期坚持", "date": "2022-06-30", "recurring": "长期"}
    measure = by_id["001-a12"]  # 001 measure 12, marked ▲
    assert measure["path"][0] == "附件"
    assert measure["deadline"]["date"] == "2021-12-31"
    assert [t["mark"] for t in measure["tags"]] == ["▲"]
    assert "500万元" in by_id["000-1.4"]["amounts"]


def test_source_limits_the_listing_to_one_document(corpus):
    run = assistant("clauses", "--json", "--source", SOURCE_003)
    assert run.returncode == 0, run.stderr
    clauses = [json.loads(line) for line in run.stdout.splitlines()]
    assert {c["source"] for c in clauses} == {SOURCE_003}
    assert len(clauses) == len(corpus.document(SOURCE_003).clauses)


def test_an_unknown_source_exits_2_and_says_why_on_stderr():
    run = assistant("clauses", "--source", "999_missing.txt")
    assert run.returncode == 2
    assert run.stdout == ""
    assert "999_missing.txt" in run.stderr
    assert SOURCE_003 in run.stderr  # the message lists the documents that do exist
    assert "Traceback" not in run.stderr


def test_the_table_form_prints_one_readable_line_per_clause(corpus):
    run = assistant("clauses", "--source", SOURCE_003)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == len(corpus.document(SOURCE_003).clauses)
    assert not any(line.lstrip().startswith("{") for line in lines)
    item_3 = next(line for line in lines if line.startswith("003-2.1.3 "))
    # id, number, the start of the text, the units and the deadline, in that order
    assert item_3.split()[:2] == ["003-2.1.3", "3"]
    assert "加快兑现各类奖补资金" in item_3
    assert item_3.index("加快兑现") < item_3.index("市财政局") < item_3.index("2022年6月底完成清理并长期坚持")


def test_a_corpus_with_an_unreadable_file_warns_and_lists_the_rest(tmp_path):
    (tmp_path / "100_good.txt").write_text(
        # 003_d25d4ccf3a63151e.txt, lines 5-8 (item text cut after its first sentence)
        "(一)聚焦促进涉企政策落实，保障企业及时享受政策红利。 \n"
        "1.加大惠企政策落实力度。按照“谁主管政策谁负责落实、谁不落实政策就追究谁责任”的总要求，压紧压实政策落实责任。 \n"
        "牵头单位:市发展改革委责任单位：市级党委政府各部门(单位)，中省驻庆各单位,各县(区)人民政府 \n"
        "完成时限:长期坚持 \n",
        encoding="utf-8",
    )
    (tmp_path / "101_empty.txt").write_bytes(b"")
    run = assistant("--corpus", str(tmp_path), "clauses", "--json")
    assert run.returncode == 0, run.stderr
    assert "101_empty.txt" in run.stderr
    [clause] = [json.loads(line) for line in run.stdout.splitlines()]
    assert clause["source"] == "100_good.txt"
    assert clause["lead_units"] == ["市发展改革委"]
