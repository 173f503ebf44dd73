"""The JSON contracts of the API and of `--json` CLI output, as typed pydantic models.

Field names here are what other systems build on: add fields freely, never rename or drop one.
"""
from __future__ import annotations

from pydantic import BaseModel, Field

from .models import Clause
from .search import Hit, SearchResult


class DeadlineOut(BaseModel):
    text: str = Field(description="完成时限 as printed")
    date: str | None = Field(None, description="ISO date of the last day the deadline allows")
    recurring: str | None = Field(None, description="长期 or 持续推进 for tasks with no end")


class FieldsOut(BaseModel):
    lead_units: list[str] = []
    responsible_units: list[str] = []
    leaders: list[str] = []
    deadline: DeadlineOut | None = None
    time_limits: list[str] = []
    amounts: list[str] = []
    tags: list[dict] = []


EXAMPLE_CLAUSE = {
    "id": "001-a183", "source": "001_8b287da456bb1442.txt", "title": "资阳市创建一流营商环境2021年行动方案",
    "city": "资阳", "year": 2021, "number": "183", "label": "附件第183项",
    "path": ["附件", "九、获得信贷(牵头领导：常务副市长)", "(五十)企业融资便利度"],
    "text": "持续优化不动产抵押登记办理流程，缩短办结时限，确保企业抵押登记业务办理不超过2个工作日。",
    "kind": "measure", "span": [28739, 28827],
    "fields": {"lead_units": [], "responsible_units": ["市自然资源规划局", "市金融工作局", "人行资阳市中心支行"],
               "leaders": ["吴勇", "常务副市长"],
               "deadline": {"text": "2021年10月", "date": "2021-10-31", "recurring": None},
               "time_limits": ["2个工作日"], "amounts": [], "tags": []},
}


class ClauseOut(BaseModel):
    id: str = Field(description="stable clause id, e.g. 001-a70")
    source: str = Field(description="file name in corpus/")
    title: str = Field(description="document title")
    city: str | None = None
    year: int | None = None
    number: str = Field(description="the clause label as printed: 70, （十七）, 一")
    label: str = Field(description="how to cite it: 附件第70项, （十七）, 第16项")
    path: list[str] = Field(description="headings the clause sits under, outermost first")
    text: str
    kind: str
    span: list[int] = Field(description="[start, end) character offsets in the source file")
    fields: FieldsOut

    model_config = {"json_schema_extra": {"examples": [EXAMPLE_CLAUSE]}}


class SearchResultOut(ClauseOut):
    score: float = Field(description="calibrated probability (0–1) that this clause answers the question")
    below_threshold: bool = Field(description="true when the score is under the answer threshold")


class SearchResponse(BaseModel):
    query: str
    refused: bool = Field(description="true when no clause answers: the documents do not cover the question")
    reason: str | None = Field(None, description="why the question was refused, for the user")
    intent: str = Field(description="what the question asks: time_limit, fee, unit or other")
    city: str | None = Field(None, description="the city the search was narrowed to")
    results: list[SearchResultOut]

    model_config = {"json_schema_extra": {"examples": [{
        "query": "资阳 抵押登记 时限", "refused": False, "reason": None, "intent": "time_limit", "city": "资阳",
        "results": [{**EXAMPLE_CLAUSE, "score": 0.84, "below_threshold": False}]}]}}


def clause_out(clause: Clause, document: dict) -> dict:
    return {
        "id": clause.id,
        "source": clause.source,
        "title": document.get("title") or clause.source,
        "city": document.get("city"),
        "year": document.get("year"),
        "number": clause.number,
        "label": clause.label,
        "path": clause.path,
        "text": clause.text,
        "kind": clause.kind,
        "span": list(clause.span),
        "fields": clause.fields.to_dict(),
    }


def hit_out(hit: Hit) -> SearchResultOut:
    return SearchResultOut(**clause_out(hit.clause, hit.document), score=hit.score,
                           below_threshold=hit.below_threshold)


def search_response(result: SearchResult) -> SearchResponse:
    return SearchResponse(query=result.query, refused=result.refused, reason=result.reason,
                          intent=result.intent, city=result.filters.get("city"),
                          results=[hit_out(h) for h in result.hits])
