"""The unit directory: who is responsible for what, and what is due when."""
from __future__ import annotations

import csv
import io
import subprocess
import sys

import pytest

from assistant.units import ClauseFilter, UnitDirectory, select_clauses, unit_key
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def directory(corpus):
    return UnitDirectory(corpus.clauses, {d.source: d.summary() for d in corpus.documents})


@pytest.fixture(scope="module")
def documents(corpus):
    return {d.source: d.summary() for d in corpus.documents}


def test_every_unit_lists_exactly_the_clauses_whose_fields_name_one_of_its_spellings(corpus, directory, documents):
    for unit in directory.units:
        spellings = set(unit.aliases)
        in_city = [c for c in corpus.clauses if documents[c.source]["city"] == unit.city]
        assert set(unit.lead) == {c.id for c in in_city if spellings & set(c.fields.lead_units)}, unit.name
        assert set(unit.responsible) == {c.id for c in in_city if spellings & set(c.fields.responsible_units)}, unit.name


@pytest.mark.parametrize("a, b", [
    ("市市场监管局", "市市场监督管理局"),
    ("市发改委", "市发展和改革委员会"),
    ("市发展改革委", "市发展和改革委员会"),
    ("市住房城乡建设局", "市住房和城乡建设局"),
    ("各县（区）人民政府", "各县(区)人民政府"),
])
def test_spellings_of_one_unit_merge(a, b):
    assert unit_key(a) == unit_key(b)


@pytest.mark.parametrize("a, b", [
    ("市财政局", "市税务局"),
    ("市市场监管局", "各县（区）市场监管局"),
    ("市人民政府", "各县(区)人民政府"),
    ("市发展改革委", "市经济和信息化局"),
])
def test_different_units_never_merge(a, b):
    assert unit_key(a) != unit_key(b)


def test_the_bundled_corpus_merges_its_market_regulator_spellings(directory):
    [unit] = directory.find("市市场监督管理局", "资阳")

    assert unit.name == "市市场监管局"  # the spelling the documents use most
    assert set(unit.aliases) == {"市市场监管局", "市市场监督管理局"}


def test_a_deadline_filter_never_selects_tasks_without_a_date(corpus, directory, documents):
    due = select_clauses(corpus.clauses, documents, directory, ClauseFilter(due_before="2021-06-30"))
    ongoing = select_clauses(corpus.clauses, documents, directory, ClauseFilter(recurring=True))

    assert due and ongoing
    assert all(c.fields.deadline and c.fields.deadline.date <= "2021-06-30" for c in due)
    assert all(c.fields.deadline.recurring for c in ongoing)
    only_recurring = {c.id for c in ongoing if not c.fields.deadline.date}
    assert only_recurring and not only_recurring & {c.id for c in due}


def test_the_api_lists_units_and_a_units_clauses(http, directory):
    units = http.get("/api/units", params={"city": "资阳", "q": "市场监管"}).json()["units"]
    regulator = next(u for u in units if u["name"] == "市市场监管局")
    assert regulator["city"] == "资阳" and "市市场监督管理局" in regulator["aliases"]

    page = http.get("/api/clauses", params={"unit": "市市场监督管理局", "city": "资阳", "limit": 5}).json()
    [unit] = directory.find("市市场监管局", "资阳")
    assert page["total"] == len(set(unit.lead) | set(unit.responsible))
    assert len(page["results"]) == 5
    assert all("市市场监管局" in r["fields"]["responsible_units"] + r["fields"]["lead_units"]
               or "市市场监督管理局" in r["fields"]["responsible_units"] + r["fields"]["lead_units"]
               for r in page["results"])

    second = http.get("/api/clauses", params={"unit": "市市场监管局", "city": "资阳", "limit": 5, "offset": 5}).json()
    assert {r["id"] for r in second["results"]}.isdisjoint({r["id"] for r in page["results"]})


def test_the_api_filters_by_deadline_and_rejects_bad_dates(http):
    due = http.get("/api/clauses", params={"due_before": "2020-06-30", "city": "绵阳", "limit": 500}).json()
    assert due["total"] > 0
    assert all(r["fields"]["deadline"]["date"] <= "2020-06-30" for r in due["results"])

    assert http.get("/api/clauses", params={"due_before": "2021-13-01"}).status_code == 422
    assert http.get("/api/clauses", params={"role": "boss"}).status_code == 422
    assert http.get("/api/clauses", params={"city": "成都"}).status_code == 400
    assert http.get("/api/units", params={"city": "成都"}).status_code == 400


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, encoding="utf-8", timeout=120)


def test_the_csv_export_round_trips_and_opens_in_excel(corpus, directory, documents):
    done = run("clauses", "--unit", "市市场监管局", "--city", "资阳", "--csv")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("\ufeff"), "a BOM so that Excel reads UTF-8"

    rows = list(csv.DictReader(io.StringIO(done.stdout.lstrip("\ufeff"))))
    expected = select_clauses(corpus.clauses, documents, directory, ClauseFilter(unit="市市场监管局", city="资阳"))
    assert [r["id"] for r in rows] == [c.id for c in expected]
    assert [r["text"] for r in rows] == [c.text for c in expected]


def test_the_units_command_lists_units_per_city():
    done = run("units", "--city", "绵阳")

    assert done.returncode == 0
    assert "市政务服务监管局" in done.stdout
    assert all(line.startswith("绵阳") for line in done.stdout.splitlines())


def test_an_unknown_unit_or_bad_date_exits_2():
    assert run("clauses", "--unit", "不存在的局").returncode == 2
    assert run("clauses", "--due-before", "2021-13-01").returncode == 2
