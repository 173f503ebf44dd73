"""Clauses → passages, the pieces the encoder sees.

A passage carries its clause's context (city, heading, units, deadline) so that 「资阳 抵押登记
谁负责」 can match a table row whose text never says 资阳. A clause longer than the encoder's
window is split with Chinese separators; every piece keeps its clause id, so a search still
returns the whole clause.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from .models import Clause, Document

# e5-small and bge-small read 512 tokens; Chinese runs ~0.7 tokens a character, so 360
# characters of clause plus context stay inside the window.
MAX_CHARS = 360
_splitter = RecursiveCharacterTextSplitter(
    chunk_size=MAX_CHARS, chunk_overlap=40, separators=["\n", "。", "；", "，", "、", ""], keep_separator="end"
)


@dataclass(frozen=True)
class Passage:
    clause_id: str
    text: str


def clause_context(clause: Clause, document: Document | None) -> str:
    """「资阳 登记财产 (二十四)登记财产耗时」: where the clause sits, without leaders' names."""
    parts = [document.city] if document and document.city else []
    for heading in clause.path[-2:]:
        if heading != "附件":
            parts.append(re.sub(r"[（(]\s*牵头领导[^)）]*[)）]?", "", heading)[:30])
    return " ".join(parts)


def clause_facts(clause: Clause) -> str:
    f = clause.fields
    facts = []
    if f.lead_units:
        facts.append("牵头单位：" + "、".join(f.lead_units))
    if f.responsible_units:
        facts.append("责任单位：" + "、".join(f.responsible_units[:6]))
    if f.deadline:
        facts.append("完成时限：" + f.deadline.text)
    return "；".join(facts)


def passages_for(clause: Clause, document: Document | None) -> list[Passage]:
    context = clause_context(clause, document)
    facts = clause_facts(clause)
    pieces = _splitter.split_text(clause.text) if len(clause.text) > MAX_CHARS else [clause.text]
    return [Passage(clause.id, " ".join(p for p in (context, piece, facts) if p)) for piece in pieces]
