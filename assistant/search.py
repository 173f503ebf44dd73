"""Hybrid clause search: dense (FAISS) + keywords (BM25), fused, boosted by what the question asks.

The score of a hit is a probability: how likely this clause answers the question, from a
logistic model over three signals (how far the clause's cosine stands above the rest, how
much of the question's rare words it contains, whether it carries the asked-for fact),
fitted on the golden set (`assistant calibrate`). Below THRESHOLD the search says the
documents do not answer.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .keywords import BM25, Tokenizer
from .lru import LRU
from .fields import FEE_WORDS, RATE, WHEN, squeeze
from .models import Clause
from .passages import clause_context, clause_facts
from .questions import CASE_FIGURE, Question, analyse
from .store import StoredIndex
from .units import UnitDirectory

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
DEFAULT_CALIBRATION = {"weights": [-6.0, 0.4, 2.0, 2.0, 0.4, 3.0, 3.0], "threshold": 0.2}
RRF_K = 60


POOL = 20  # clauses the fused ranking hands to the calibrated score
RESULTS_REMEMBERED = 4096


@dataclass
class Candidate:
    """A clause the fused ranking proposes, with the signals the score is computed from."""

    clause: Clause
    dense: float  # cosine of its best passage
    z: float
    coverage: float  # share of the question's keyword weight (IDF) the clause contains
    own_coverage: float  # the same for the question's own words only (no thesaurus additions)
    fact: bool  # it carries the kind of fact asked for (time limit, amount, unit)
    dense_rank: int
    keyword_rank: int | None

    def features(self) -> list[float]:
        """One weight each in the calibration (`assistant calibrate`)."""
        return [self.z, self.coverage, self.own_coverage, float(self.fact), 1 / (1 + self.dense_rank),
                1 / (1 + self.keyword_rank) if self.keyword_rank is not None else 0.0]


@dataclass(frozen=True)  # results are remembered and shared between requests
class Hit:
    clause: Clause
    document: dict
    score: float  # calibrated probability that this clause answers, 0–1
    dense: float  # cosine of its best passage
    coverage: float  # share of the question's keyword weight it contains
    below_threshold: bool = False


@dataclass(frozen=True)
class SearchResult:
    query: str
    question: Question
    hits: list[Hit]
    refused: bool
    reason: str | None = None  # why nothing answers, in words for the user
    filters: dict = field(default_factory=dict)

    @property
    def intent(self) -> str:
        return self.question.intent


# A unit named in running text (「由市财政局负责」「财政部门给予…」「人民银行…」) where no 牵头单位
# line or bracket lists one.
UNIT_NAME = re.compile(r"[市县区省][\u4e00-\u9fff]{1,10}?(?:局|委员会|委|办公室|办|院|中心|公司|银行|海关|厅)"
                       r"|[\u4e00-\u9fff]{1,6}?(?:部门|银行|海关|公司)")


_BOUND_BEFORE = re.compile(r"(?:不少于|不超过|不低于|不高于|超过|低于|高于|少于|多于|达到|满|不足|突破)$")
_BOUND_AFTER = re.compile(r"(?:以上|以下|以内|之内|及以上|及以下|内|至|到|-|左右)")


def has_fact(clause: Clause, q: Question) -> bool:
    """Does the clause state the kind of fact the question asks for? A 多少/几 question needs
    a number, of the kind asked (`Question.number`): 「几天」 a length of time, not a task's
    completion date; 「费率多少」 a rate, not a sum."""
    f = clause.fields
    if q.intent == "time_limit":
        if f.time_limits:
            return True
        if q.number == "duration":
            return False
        if (f.deadline and f.deadline.date) or WHEN.search(clause.text):
            return True
        return not q.quantity and bool(f.deadline)
    if q.intent == "fee":
        if q.number in ("rate", "money"):
            return any(bool(RATE.search(a)) == (q.number == "rate") for a in f.amounts)
        return bool(f.amounts) or (not q.quantity and bool(FEE_WORDS.search(clause.text)))
    if q.intent == "unit":
        return bool(f.lead_units or f.responsible_units or f.leaders or UNIT_NAME.search(clause.text))
    return False


class Searcher:
    def __init__(self, index: StoredIndex, encoder, calibration: dict | None = None):
        self.index = index
        self.encoder = encoder
        self.store = index.clauses
        self.clauses = self.store.clauses
        vocabulary = sorted({u for c in self.clauses for u in
                             (*c.fields.lead_units, *c.fields.responsible_units, *c.fields.leaders)}
                            | {t for c in self.clauses for t in re.findall(r"“([^”]{2,8})”", c.text)})
        self.tokenizer = Tokenizer(vocabulary)
        self.bm25 = BM25([self.tokenizer.tokens(self.keyword_text(c)) for c in self.clauses])
        self.cities = sorted({d.get("city") for d in self.store.documents.values() if d.get("city")})
        self.calibration = calibration or load_calibration(index.manifest.get("encoder", ""))  # also sets _results
        self.units = UnitDirectory(self.clauses, self.store.documents)
        documents = [self.store.document(c.source) for c in self.clauses]
        self._passage_positions = np.array([self.store.position(cid) for cid in index.vectors.passage_clause],
                                           dtype=np.int64)
        self._city = np.array([d.get("city") or "" for d in documents])
        self._source = np.array([c.source for c in self.clauses])
        self._year = np.array([d.get("year") or 0 for d in documents])
        self._years = {city: self._years_of(city) for city in [None, *self.cities]}

    @property
    def calibration(self) -> dict:
        return self._calibration

    @calibration.setter
    def calibration(self, value: dict) -> None:
        """Scores depend on it: remembered results go with the old one (`assistant calibrate`)."""
        self._calibration = value
        self._results: LRU[SearchResult] = LRU(RESULTS_REMEMBERED)

    def keyword_text(self, clause: Clause) -> str:
        return " ".join((clause_context(clause, None), clause.number, clause.text, clause_facts(clause)))

    # -- the search --
    def search(self, question: str, k: int = 5, city: str | None = None, source: str | None = None,
               year: int | None = None) -> SearchResult:
        """The k best clauses, or a refusal. Results are remembered: a hotline hears the same
        questions all day, and an index never changes under its searcher (a rebuild is a new one).
        Callers must not modify the result."""
        key, results = (question, k, city, source, year), self._results  # one calibration's memory
        result = results.get(key)
        if result is None:
            result = self._search(question, k, city, source, year)
            results.put(key, result)
        return result

    def forget(self) -> None:
        """Drop remembered results and query embeddings: benchmarks time the first asking."""
        self._results.clear()
        self.encoder.forget_queries()

    def _search(self, question: str, k: int, city: str | None, source: str | None, year: int | None) -> SearchResult:
        q = self.analyse(question)
        filters = {"city": city or q.city, "source": source, "year": year}
        refusal = self.out_of_scope(q, city)
        hits = [self.hit(c) for c in self.candidates(q, filters["city"] or q.cities, source, year)]
        hits.sort(key=lambda h: -h.score)
        hits = hits[:k]
        threshold = self.calibration["threshold"]
        if refusal is None and hits and hits[0].score >= threshold:
            refusal = self.missing_fact(q, hits)
        refused = refusal is not None or not hits or hits[0].score < threshold
        if refused and refusal is None:
            refusal = "这些文件中没有找到回答这个问题的条款。"
        hits = [replace(h, below_threshold=refused or h.score < threshold) for h in hits]
        return SearchResult(question, q, hits, refused, refusal if refused else None, filters)

    def analyse(self, question: str) -> Question:
        return analyse(question, self.cities)

    def out_of_scope(self, q: Question, city_filter: str | None) -> str | None:
        covered = "、".join(self.cities)
        if q.other_cities and not q.city and not city_filter:
            return f"现有文件只涉及{covered}，没有关于{'、'.join(q.other_cities)}的规定。"
        _, terms = self.tokenizer.query_terms(q.topic)
        if not any(t in self.bm25.idf for t in terms):  # neither its words nor their synonyms occur
            return "问题中没有这些文件涉及的词语，无法据此回答。"
        city = city_filter or q.city
        years = self.years_of(city)
        if q.year and years and q.year not in years:
            where = city or ""
            return f"现有{where}文件只涉及{'、'.join(str(y) for y in years)}年的安排，没有{q.year}年的规定。"
        return None

    @staticmethod
    def missing_fact(q: Question, hits: list[Hit]) -> str | None:
        """A 多少/几天 question whose best clause states no such number (no amount, no time
        limit or date, no figure at all), or a 哪个部门 question whose best clause names no
        unit, is not answered by these documents, however close the clause's topic: say so
        rather than guess."""
        clause = hits[0].clause
        if other_case := Searcher.other_case(q, clause):
            return other_case
        if q.intent == "unit":
            return None if has_fact(clause, q) else "相关条款没有写明负责的单位，这些文件无法回答这个问题。"
        if not q.quantity:
            return None
        if q.intent == "other":
            if re.search(r"\d", clause.text):
                return None
        elif has_fact(clause, q):
            return None
        what = {"fee": "金额或标准", "time_limit": "时限"}.get(q.intent, "数字")
        return f"相关条款没有写明具体的{what}，这些文件无法回答这个问题。"

    @staticmethod
    def other_case(q: Question, clause: Clause) -> str | None:
        """「35千伏」 asked, and the clause speaks of 10千伏 only: it is about another case."""
        if not q.stated:
            return None
        asked_kind = {"fee": ("万元", "亿元", "%")}.get(q.intent, ())
        text = squeeze(clause.text)
        for value, unit in q.stated:
            if unit in asked_kind:
                continue
            found = [m for m in CASE_FIGURE.finditer(text) if m.group(2) == unit]
            if any(_BOUND_BEFORE.search(text[:m.start()]) or _BOUND_AFTER.match(text, m.end()) for m in found):
                continue  # 「90平方米以上」 covers 120平方米: a range, not a case of its own
            named = {m.group(1) for m in found}
            if named and value not in named:
                return (f"相关条款说的是{'、'.join(v + unit for v in sorted(named))}，"
                        f"没有{value}{unit}的规定，这些文件无法回答这个问题。")
        return None

    def years_of(self, city: str | None) -> list[int]:
        return self._years.get(city) or self._years_of(city)

    def _years_of(self, city: str | None) -> list[int]:
        """Years a city's documents speak of: their own year and the years of their deadlines."""
        docs = {s for s, d in self.store.documents.items() if city is None or d.get("city") == city}
        return sorted({d["year"] for s, d in self.store.documents.items() if s in docs and d.get("year")}
                      | {int(c.fields.deadline.date[:4]) for c in self.clauses
                         if c.source in docs and c.fields.deadline and c.fields.deadline.date})

    def allowed(self, city: str | list[str] | None, source: str | None, year: int | None) -> np.ndarray:
        """Positions of the clauses the filters let through."""
        mask = np.ones(len(self.clauses), dtype=bool)
        if city:
            mask &= np.isin(self._city, [city] if isinstance(city, str) else city)
        if source:
            mask &= self._source == source
        if year:
            mask &= self._year == year
        return np.nonzero(mask)[0]

    def candidates(self, q: Question, city: str | list[str] | None = None, source: str | None = None,
                   year: int | None = None, limit: int = POOL) -> list[Candidate]:
        """The `limit` best clauses by reciprocal-rank fusion of dense and BM25, with their signals."""
        allowed = self.allowed(city, source, year)
        if not len(allowed):
            return []
        own, terms = self.tokenizer.query_terms(q.topic)
        dense = self.index.vectors.clause_scores(self.encoder.embed_query(q.text), self._passage_positions,
                                                 len(self.clauses))[allowed]
        bm = self.bm25.scores(terms)[allowed]
        dense_rank = np.empty(len(allowed), dtype=np.int64)
        dense_rank[np.argsort(-dense, kind="stable")] = np.arange(len(allowed))
        matched = np.nonzero(bm > 0)[0]
        bm_rank = np.full(len(allowed), -1, dtype=np.int64)
        bm_rank[matched[np.argsort(-bm[matched], kind="stable")]] = np.arange(len(matched))
        fused = 1 / (RRF_K + dense_rank) + np.where(bm_rank >= 0, 1 / (RRF_K + np.maximum(bm_rank, 0)), 0.0)
        mean, std = float(dense.mean()), float(dense.std() or 1.0)
        out = []
        for j in np.argsort(-fused, kind="stable")[:limit]:
            i = int(allowed[j])
            out.append(Candidate(
                clause=self.clauses[i],
                dense=float(dense[j]),
                z=(float(dense[j]) - mean) / std,  # how far it stands above this question's typical clause
                coverage=self.bm25.coverage(terms, i),
                own_coverage=self.bm25.coverage(own, i),
                fact=has_fact(self.clauses[i], q),
                dense_rank=int(dense_rank[j]),
                keyword_rank=int(bm_rank[j]) if bm_rank[j] >= 0 else None,
            ))
        return out

    def hit(self, c: Candidate) -> Hit:
        w = self.calibration["weights"]
        logit = w[0] + sum(wi * xi for wi, xi in zip(w[1:], c.features()))
        score = 1 / (1 + math.exp(-logit))
        return Hit(c.clause, self.store.document(c.clause.source), round(score, 4), round(c.dense, 4),
                   round(c.coverage, 4))


def load_calibration(encoder_name: str) -> dict:
    try:
        data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return dict(DEFAULT_CALIBRATION)
    return data.get(encoder_name) or data.get("default") or dict(DEFAULT_CALIBRATION)
