"""The domain's data types: documents, clauses and the facts (fields) a clause states.

Every later step (index, search, answers, API) passes these around; they are plain
dataclasses so that each step can be used and tested on its own.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Deadline:
    """A 完成时限 as printed, with a normalised form for filtering and sorting."""

    text: str
    date: str | None = None  # ISO date of the last day the text allows, e.g. 2021-06-30
    recurring: str | None = None  # 长期 / 持续推进 when the task has no end


@dataclass
class Fields:
    lead_units: list[str] = field(default_factory=list)
    responsible_units: list[str] = field(default_factory=list)
    leaders: list[str] = field(default_factory=list)
    deadline: Deadline | None = None
    time_limits: list[str] = field(default_factory=list)
    amounts: list[str] = field(default_factory=list)
    # Footnote marks of an annex row (▲☆○◎●△⊙★) with the meaning the annex's legend gives.
    tags: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Fields":
        data = dict(data)
        if data.get("deadline"):
            data["deadline"] = Deadline(**data["deadline"])
        return cls(**data)


@dataclass
class Clause:
    """The unit of retrieval and citation: one numbered clause, item or table row."""

    id: str
    source: str  # file name in corpus/
    number: str  # the label as printed: "70", "（十七）", "一"
    path: list[str]  # the headings the clause sits under, outermost first
    text: str  # clean text, markup removed
    span: tuple[int, int]  # character offsets [start, end) in the source file
    lines: tuple[int, int]  # 1-based first and last source line
    kind: str  # prose | item | measure | task | row | preamble | note
    fields: Fields = field(default_factory=Fields)

    @property
    def label(self) -> str:
        """How a person cites the clause: 「附件第70项」, 「第16项」, 「（十七）」."""
        if self.kind in ("measure", "task"):
            return f"附件第{self.number}项"
        if self.number.isdigit():
            return f"第{self.number}项"
        if self.number in ("", "注"):
            return "正文" if self.kind == "preamble" else "附注"
        return self.number if self.number.startswith(("（", "(")) else f"第{self.number}部分"

    def to_dict(self) -> dict:
        """The flat form of the `assistant clauses --json` contract."""
        data = {
            "id": self.id,
            "source": self.source,
            "number": self.number,
            "path": self.path,
            "text": self.text,
            "span": list(self.span),
            "lines": list(self.lines),
            "kind": self.kind,
        }
        data.update(self.fields.to_dict())
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Clause":
        field_names = Fields.__dataclass_fields__.keys()
        return cls(
            id=data["id"],
            source=data["source"],
            number=data["number"],
            path=list(data["path"]),
            text=data["text"],
            span=tuple(data["span"]),
            lines=tuple(data["lines"]),
            kind=data["kind"],
            fields=Fields.from_dict({k: data[k] for k in field_names if k in data}),
        )


@dataclass(frozen=True)
class Heading:
    """A numbered or titled line that only groups clauses (no body of its own)."""

    text: str
    span: tuple[int, int]


@dataclass
class Document:
    source: str
    title: str
    city: str | None = None
    issuer: str | None = None
    doc_number: str | None = None  # 文号, e.g. 资府办发〔2021〕17号
    date: str | None = None  # ISO date of issue
    year: int | None = None
    clauses: list[Clause] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    # Spans of lines that carry no body text: table header rows, markdown rules.
    skipped: list[tuple[int, int]] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "source": self.source,
            "title": self.title,
            "city": self.city,
            "issuer": self.issuer,
            "doc_number": self.doc_number,
            "date": self.date,
            "year": self.year,
            "clause_count": len(self.clauses),
        }
