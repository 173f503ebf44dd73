"""List questions in the chat: 「市市场监管局负责哪些任务」 is answered with the right count,
the first items cited, and a link to the whole list. The expected counts are computed here
straight from the clause fields, not by the code under test."""
from __future__ import annotations

import pytest


def names(clause, role):
    f = clause["fields"] if isinstance(clause, dict) else clause.fields
    get = (lambda k: f[k]) if isinstance(f, dict) else (lambda k: getattr(f, k))
    return set(get("lead_units")) if role == "lead" else set(get("lead_units")) | set(get("responsible_units"))


def expected_unit_count(searcher, spellings, city, role):
    return sum(1 for c in searcher.clauses
               if searcher.store.document(c.source).get("city") == city and names(c, role) & spellings)


@pytest.mark.parametrize("question, spellings, city, role", [
    ("资阳市市场监管局负责哪些任务？", {"市市场监管局", "市市场监督管理局"}, "资阳", "any"),
    ("绵阳市政务服务监管局牵头哪些工作", {"市政务服务监管局"}, "绵阳", "lead"),
    ("XX市发展改革委牵头的任务有哪些", {"市发展改革委"}, "XX市", "lead"),
    ("广元市税务局负责哪些事", {"市税务局"}, "广元", "any"),
])
def test_a_units_task_list_has_the_right_count(http, searcher, question, spellings, city, role):
    reply = http.post("/api/ask", json={"question": question}).json()

    total = expected_unit_count(searcher, spellings, city, role)
    assert total > 0
    assert reply["intent"] == "list"
    assert reply["listing"]["total"] == total
    assert f"共{total}项" in reply["answer"]
    assert 0 < len(reply["citations"]) <= 5
    assert all(names(c, role) & spellings for c in reply["citations"])
    assert reply["listing"]["url"].startswith("/?tab=desk")


def test_tasks_due_by_a_date_are_that_years_dated_tasks(http, searcher):
    reply = http.post("/api/ask", json={"question": "资阳2021年6月底前要完成哪些事项？"}).json()

    due = [c for c in searcher.clauses if searcher.store.document(c.source).get("city") == "资阳"
           and c.fields.deadline and c.fields.deadline.date and "2021-01-01" <= c.fields.deadline.date <= "2021-06-30"]
    assert reply["listing"]["total"] == len(due) > 0
    assert "2021年6月30日前到期" in reply["answer"]
    assert all(c["fields"]["deadline"]["date"] <= "2021-06-30" for c in reply["citations"])


def test_an_ordinary_question_is_not_a_list(http):
    reply = http.post("/api/ask", json={"question": "在资阳开个公司要几天？"}).json()

    assert reply["intent"] != "list" and reply["listing"] is None
