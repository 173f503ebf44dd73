"""The unit directory: every unit the documents name, per city, with its spellings merged.

Merging is driven by data: ALIASES maps whole spellings, SYNONYMS rewrites the parts that
offices abbreviate differently (发展和改革委员会 / 发展改革委 / 发改委). Two units merge only when
their rewritten names are identical, so 市财政局 and 市税务局 never meet, and 县（区）-level
units stay apart from 市-level ones (their names differ). The canonical name is the spelling
the documents use most.
"""
from __future__ import annotations

import calendar
import csv
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .models import Clause

# Whole spellings that no rewrite rule reaches.
ALIASES = {
    "市政府金融办": "市金融工作局",
    "市金融办": "市金融工作局",
}

# Longer phrases first: each pair rewrites one way of writing a department to one key.
SYNONYMS = [
    ("发展和改革委员会", "发展改革委"), ("发展和改革委", "发展改革委"), ("发改委", "发展改革委"),
    ("市场监督管理局", "市场监管局"),
    ("人力资源和社会保障局", "人社局"), ("人力资源社会保障局", "人社局"),
    ("经济和信息化局", "经信局"), ("经济信息化局", "经信局"),
    ("住房和城乡建设局", "住建局"), ("住房城乡建设局", "住建局"),
    ("自然资源和规划局", "自然资源规划局"),
    ("科学技术局", "科技局"),
    ("政务服务和大数据管理局", "政务服务大数据管理局"),
    ("中级人民法院", "中级法院"), ("人民检察院", "检察院"),
    ("卫生健康委员会", "卫生健康委"),
    ("教育和体育局", "教体局"),
]


def unit_key(name: str) -> str:
    """The comparison form of a unit name: brackets and spaces folded, synonyms rewritten."""
    key = ALIASES.get(name, name)
    key = re.sub(r"\s+", "", key).replace("（", "(").replace("）", ")")
    for long, short in SYNONYMS:
        key = key.replace(long, short)
    return key


@dataclass
class Unit:
    name: str  # the canonical spelling
    city: str | None
    aliases: list[str] = field(default_factory=list)  # every spelling, canonical first
    lead: list[str] = field(default_factory=list)  # clause ids where it leads
    responsible: list[str] = field(default_factory=list)  # clause ids where it is responsible

    def summary(self) -> dict:
        return {"name": self.name, "aliases": self.aliases, "city": self.city,
                "lead_count": len(self.lead), "responsible_count": len(self.responsible)}


class UnitDirectory:
    def __init__(self, clauses: list[Clause], documents: dict[str, dict]):
        spellings: dict[tuple, Counter] = defaultdict(Counter)
        roles: dict[tuple, dict[str, list[str]]] = defaultdict(lambda: {"lead": [], "responsible": []})
        for clause in clauses:
            city = documents.get(clause.source, {}).get("city")
            for role, names in (("lead", clause.fields.lead_units), ("responsible", clause.fields.responsible_units)):
                for name in names:
                    key = (city, unit_key(name))
                    spellings[key][name] += 1
                    if clause.id not in roles[key][role]:
                        roles[key][role].append(clause.id)
        self.units: list[Unit] = []
        for key, counts in spellings.items():
            ordered = [name for name, _ in counts.most_common()]
            self.units.append(Unit(ordered[0], key[0], ordered, roles[key]["lead"], roles[key]["responsible"]))
        self.units.sort(key=lambda u: (u.city or "", -(len(u.lead) + len(u.responsible)), u.name))

    def find(self, name: str, city: str | None = None) -> list[Unit]:
        """Units a name refers to: by any spelling or by the rewritten form, in one city or all."""
        key = unit_key(name)
        return [u for u in self.units if (city is None or u.city == city)
                and (name in u.aliases or any(unit_key(a) == key for a in u.aliases))]

    def search(self, city: str | None = None, q: str | None = None) -> list[Unit]:
        q = (q or "").strip()
        return [u for u in self.units if (city is None or u.city == city)
                and (not q or any(q in a for a in u.aliases) or q in unit_key(u.name))]


@dataclass
class ClauseFilter:
    """What an operator asks of the directory: whose tasks, due when."""

    unit: str | None = None
    role: str = "any"  # lead | responsible | any
    city: str | None = None
    source: str | None = None
    due_before: str | None = None  # ISO date, inclusive
    due_after: str | None = None  # ISO date, inclusive
    recurring: bool | None = None  # True: only 长期/持续推进 tasks; False: only dated ones
    q: str | None = None  # words in the clause text


def select_clauses(clauses: list[Clause], documents: dict[str, dict], directory: UnitDirectory,
                   f: ClauseFilter) -> list[Clause]:
    """Clauses matching the filter, in corpus order. A task with no date (长期, 持续推进) is
    never due before or after a date: it is selected only with `recurring`."""
    wanted_ids: set[str] | None = None
    if f.unit:
        wanted_ids = set()
        for unit in directory.find(f.unit, f.city):
            if f.role in ("lead", "any"):
                wanted_ids.update(unit.lead)
            if f.role in ("responsible", "any"):
                wanted_ids.update(unit.responsible)
    out = []
    for clause in clauses:
        doc = documents.get(clause.source, {})
        deadline = clause.fields.deadline
        date = deadline.date if deadline else None
        if wanted_ids is not None and clause.id not in wanted_ids:
            continue
        if (f.city and doc.get("city") != f.city) or (f.source and clause.source != f.source):
            continue
        if (f.due_before or f.due_after) and not date:
            continue
        if (f.due_before and date > f.due_before) or (f.due_after and date < f.due_after):
            continue
        if f.recurring is not None and bool(deadline and deadline.recurring) != f.recurring:
            continue
        if f.q and f.q not in clause.text:
            continue
        out.append(clause)
    return out


CSV_COLUMNS = ["id", "document", "city", "number", "text", "lead_units", "responsible_units", "leaders",
               "deadline", "deadline_date", "recurring"]


def write_csv(out, clauses, documents) -> None:
    """UTF-8 with a BOM, so that Excel opens the Chinese text correctly."""
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for c in clauses:
        f = c.fields
        writer.writerow([c.id, documents.get(c.source, {}).get("title", c.source),
                         documents.get(c.source, {}).get("city") or "", c.number, c.text,
                         "、".join(f.lead_units), "、".join(f.responsible_units), "、".join(f.leaders),
                         f.deadline.text if f.deadline else "", f.deadline.date if f.deadline else "",
                         (f.deadline.recurring or "") if f.deadline else ""])


_LIST_WORDS = re.compile(r"哪些|什么任务|什么事|哪几项|多少项|几项|负责什么|管什么|管哪些|有什么工作|清单|列出|都有啥|有啥任务")
_BEFORE = re.compile(r"((?:20\d{2})\s*年)?\s*(\d{1,2})\s*月(?:份)?\s*(底|末)?\s*(?:前|之前|以前|到期|截止)")


def list_request(question: str, directory: UnitDirectory, city: str | None,
                 years: list[int]) -> ClauseFilter | None:
    """「市市场监管局负责哪些任务」 / 「2021年6月底前要完成哪些事项」: a question whose answer is a
    list of clauses, as a filter; None for any other question."""
    if not _LIST_WORDS.search(question):
        return None
    units = sorted((a for u in directory.search(city) for a in u.aliases if len(a) >= 3 and a in question),
                   key=len, reverse=True)
    role = "lead" if "牵头" in question else "responsible" if "责任单位" in question else "any"
    due_before = due_after = None
    if m := _BEFORE.search(question):
        year = int(m.group(1)[:4]) if m.group(1) else (years[0] if len(years) == 1 else None)
        month = int(m.group(2))
        if year and 1 <= month <= 12:
            # 「2021年6月底前」: the tasks of that year due by the end of June, not last year's.
            due_before = f"{year:04d}-{month:02d}-{calendar.monthrange(year, month)[1]:02d}"
            due_after = f"{year:04d}-01-01"
    if not units and not due_before:
        return None
    return ClauseFilter(unit=units[0] if units else None, role=role, city=city, due_before=due_before,
                        due_after=due_after)
