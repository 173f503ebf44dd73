"""Search results → one plain answer sentence with its citations.

The extractive composer needs no language model: it picks the sentence of the best clause
that states what was asked (a time limit, an amount, a unit) and fills a template from
prompts/. An optional OpenAI-compatible model may phrase the answer instead (llm.py), but
its answer is only used when every number, date and unit it states is in a cited clause.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .fields import AMOUNT, SENTENCE, TIME_LIMITS, fact_strength
from .models import Clause
from .questions import Question, follow_up
from .parser import title_of
from .search import Hit, Searcher, SearchResult, has_fact
from .units import ClauseFilter, list_request, select_clauses

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


@dataclass
class Citation:
    clause: Clause
    document: dict
    score: float
    highlights: list[tuple[int, int]]  # [start, end) ranges of the answering words in clause.text
    answering: bool = True  # the answer sentence comes from it (else: cited for checking)


@dataclass
class Answer:
    question: str  # as asked
    resolved_question: str  # with the context a follow-up borrowed from the conversation
    answer: str
    refused: bool
    intent: str
    confidence: float
    citations: list[Citation]
    mode: str = "extractive"  # extractive | llm
    note: str | None = None  # e.g. why a language-model answer was not used
    listing: dict | None = None  # for a list question: {total, filters, url} of the full list
    search: SearchResult | None = field(default=None, repr=False)


@functools.lru_cache(maxsize=8)
def templates(directory: Path = PROMPTS_DIR) -> Environment:
    # auto_reload=False: no file stat per answer; edited prompts take effect on restart.
    return Environment(loader=FileSystemLoader(str(directory)), undefined=StrictUndefined,
                       keep_trailing_newline=False, autoescape=False, auto_reload=False)


class Composer:
    """Extractive answers from the clauses a search found."""

    def __init__(self, searcher: Searcher, prompts: Path = PROMPTS_DIR):
        self.searcher = searcher
        self.env = templates(prompts)

    def answer(self, question: str, k: int = 5, city: str | None = None, source: str | None = None,
               history: list[str] | None = None) -> Answer:
        resolved = follow_up(question, history or [], self.searcher.cities)
        q = self.searcher.analyse(resolved)
        where = city or q.city
        request = list_request(resolved, self.searcher.units, where, self.searcher.years_of(where))
        if request is not None and not q.other_cities:
            request.source = source
            return self.list_answer(question, resolved, request)
        result = self.searcher.search(resolved, k=k, city=city, source=source)
        q = result.question
        if result.refused:
            return Answer(question, resolved, self.refusal(result.reason or ""), True, q.intent, 0.0, [],
                          search=result)
        chosen = self.answering_hits(result)
        citations, parts = [], []
        for hit in chosen:
            sentence, highlights = self.fact_sentence(hit.clause, q)
            citations.append(Citation(hit.clause, hit.document, hit.score, highlights))
            parts.append(self.render_one(hit, sentence, q))
        text = parts[0] if len(parts) == 1 else self.env.get_template("multi.j2").render(parts=parts).strip()
        # The other strong hits are cited too, after the answering ones, for the reader to check.
        for hit in result.hits:
            if not hit.below_threshold and all(c.clause.id != hit.clause.id for c in citations):
                _, highlights = self.fact_sentence(hit.clause, q)
                citations.append(Citation(hit.clause, hit.document, hit.score, highlights, answering=False))
        return Answer(question, resolved, text, False, q.intent, chosen[0].score, citations, search=result)

    def list_answer(self, question: str, resolved: str, request: ClauseFilter, shown: int = 5) -> Answer:
        """「市市场监管局负责哪些任务」: the count and the first items, each cited."""
        s = self.searcher
        found = select_clauses(s.clauses, s.store.documents, s.units, request)
        role = {"lead": "牵头的", "responsible": "负责的"}.get(request.role, "牵头或负责的")
        parts = [request.city or "", f"{request.unit}{role}" if request.unit else "",
                 "{}年{}月{}日前到期的".format(*map(int, request.due_before.split("-"))) if request.due_before else ""]
        spellings = [a for u in s.units.find(request.unit, request.city) for a in u.aliases] if request.unit else []
        items, citations = [], []
        for clause in found[:shown]:
            doc = s.store.document(clause.source)
            deadline = f"（{clause.fields.deadline.text}）" if clause.fields.deadline else ""
            task = _strip_label(title_of(clause.text)).rstrip("。")
            items.append(f"《{doc.get('title')}》{clause.label}：{task[:40]}{'…' if len(task) > 40 else ''}{deadline}")
            highlights = [(m.start(), m.end()) for u in spellings for m in re.finditer(re.escape(u), clause.text)]
            citations.append(Citation(clause, doc, 1.0, highlights))
        text = self.env.get_template("list.j2").render(subject="".join(parts), total=len(found), items=items).strip()
        filters = {k: v for k, v in vars(request).items() if v not in (None, "any")}
        url = "/?" + urlencode({"tab": "desk", **filters})
        return Answer(question, resolved, text, False, "list", 1.0 if found else 0.0, citations,
                      listing={"total": len(found), "filters": filters, "url": url})

    def answering_hits(self, result: SearchResult) -> list[Hit]:
        """The best hit, plus the best of each other city or year when the question named none."""
        top = result.hits[0]
        chosen = [top]
        if result.filters.get("city") or result.filters.get("source"):
            return chosen
        seen = {(top.document.get("city"), top.document.get("year"))}
        for hit in result.hits[1:]:
            key = (hit.document.get("city"), hit.document.get("year"))
            if key not in seen and not hit.below_threshold and hit.score >= 0.6 * top.score \
                    and (result.question.intent == "other"
                         or has_fact(hit.clause, result.question)):
                chosen.append(hit)
                seen.add(key)
        return chosen[:3]

    def fact_sentence(self, clause: Clause, q: Question) -> tuple[str, list[tuple[int, int]]]:
        """The sentence of the clause that answers, and the ranges to highlight in clause.text."""
        own, terms = self.searcher.tokenizer.query_terms(q.topic)
        idf = self.searcher.bm25.idf
        sentences = list(SENTENCE.finditer(clause.text))
        if len(sentences) > 1 and len(sentences[0].group(0)) <= 20:
            sentences = sentences[1:]  # a prose clause's heading sentence states no fact
        # Rare words of the question weigh most, its own words more than their synonyms ...
        overlap = [sum(idf.get(t, 1.0) * (2 if t in own else 1) for t in terms if t in m.group(0)) for m in sentences]
        top = max(overlap, default=0.0)
        best, best_score = None, -1.0
        for m, words in zip(sentences, overlap):
            # ... and a sentence stating the kind of fact asked for wins unless it is off topic.
            score = words + fact_strength(m.group(0), q.intent) * (0.3 * top + 1)
            if score > best_score:
                best, best_score = m, score
        if best is None:
            return clause.text, []
        sentence = best.group(0).strip()
        start = best.start() + (len(best.group(0)) - len(best.group(0).lstrip()))
        patterns = {"time_limit": TIME_LIMITS, "fee": (AMOUNT,)}.get(q.intent, ())
        highlights = [(start + m.start(), start + m.end()) for p in patterns for m in p.finditer(sentence)]
        if q.intent == "unit":
            units = clause.fields.lead_units + clause.fields.responsible_units
            highlights = [(m.start(), m.end()) for u in units for m in re.finditer(re.escape(u), clause.text)]
        if not highlights:
            highlights = [(start, start + len(sentence))]
        return sentence.rstrip("。；;"), sorted(set(highlights))

    def render_one(self, hit: Hit, sentence: str, q: Question) -> str:
        clause, doc = hit.clause, hit.document
        f = clause.fields
        source = f"《{doc.get('title') or clause.source}》{clause.label}"
        lead = "、".join(f.lead_units)
        units = lead or "、".join(_shorten(f.responsible_units))
        return self.env.get_template("answer.j2").render(
            source=source,
            fact=_strip_label(sentence),
            units=units,
            units_label="牵头单位" if lead else "责任单位",
            leaders="、".join(f.leaders) if q.intent == "unit" else "",
            deadline=f.deadline.text if f.deadline else "",
        ).strip()

    def refusal(self, reason: str) -> str:
        docs = sorted(self.searcher.store.documents.values(), key=lambda d: (d.get("city") or "", d.get("year") or 0))
        coverage = [f"{d.get('city') or ''}{d.get('year') or ''}年《{d.get('title')}》" for d in docs]
        return self.env.get_template("refusal.j2").render(reason=reason, coverage=coverage).strip()


def _shorten(units: list[str], most: int = 3) -> list[str]:
    return units if len(units) <= most else [*units[:most - 1], units[most - 1] + "等"]


def _strip_label(sentence: str) -> str:
    return re.sub(r"^[一二三四五六七八九十]+、|^[（(][一二三四五六七八九十]+[)）]|^\d+[.．、]", "", sentence)
