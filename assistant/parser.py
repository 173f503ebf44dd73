"""Policy text → clauses.

One pass over the lines of a document. Each line is one of:
- a numbered prose line (一、 / （一） / 1.), which opens a clause and a heading level;
- a field line (牵头单位: / 责任单位: / 完成时限:), which fills the open clause's fields;
- a tab-separated table line (annex tables converted from PDF);
- plain text, which continues the open clause (paragraphs split by page breaks).

Headings are numbered lines that only group deeper clauses. Nothing is dropped: every
non-blank line ends in a clause, a heading or the `skipped` list (table headers, rules).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from .fields import (
    chinese_number,
    find_amounts,
    find_time_limits,
    looks_like_deadline,
    looks_like_unit,
    parse_deadline,
    split_units,
    squeeze,
)
from .models import Clause, Fields, Heading

# --- markup ---------------------------------------------------------------------------

_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_RULE = re.compile(r"^[\s\-|:=*_]{3,}$")


def clean_markup(line: str) -> str:
    """Remove the HTML tags, markdown links, bold marks and heading hashes of PDF conversion."""
    line = _TAG.sub(" ", line)
    line = _LINK.sub(r"\1", line)
    line = line.replace("**", "")
    line = re.sub(r"^\s*#{1,6}\s+", "", line)
    line = re.sub(r"^\s*[-*]\s+(?=\S)", "", line)
    return squeeze(line)


# --- prose numbering ------------------------------------------------------------------

_CN = "一二三四五六七八九十百零"
_LEVELS = [
    (1, re.compile(rf"^([{_CN}]+)、")),
    (2, re.compile(rf"^([（(][{_CN}]+[)）])")),
    (3, re.compile(r"^(\d{1,3})[.．、](?!\d)")),
    (4, re.compile(r"^([（(]\d{1,3}[)）])")),
]
_FIELD = re.compile(r"(牵头单位|牵头部门|责任单位|责任部门|配合单位|完成时限|完成时间|责任领导|牵头领导)\s*[:：]")
_BRACKET = re.compile(r"〔([^〔〕]*)〕\s*$")


def numbering(line: str) -> tuple[int, str] | None:
    for level, pattern in _LEVELS:
        m = pattern.match(line)
        if m:
            return level, m.group(1)
    return None


def label_key(label: str) -> str:
    """「（十七）」 → "17", 「3」 → "3": the numeric part used in clause ids."""
    core = label.strip("（()）、.．")
    value = chinese_number(core)
    return str(value) if value is not None else core


# --- working state --------------------------------------------------------------------


@dataclass
class Line:
    number: int  # 1-based
    start: int
    end: int
    raw: str
    text: str  # markup removed


@dataclass
class _Node:
    """A numbered prose line and what follows it, before we know if it is a clause or a heading."""

    level: int
    label: str
    path: list[str]
    lines: list[Line]
    body: list[str]
    fields: dict[str, list[str]] = field(default_factory=dict)
    children: int = 0
    parts: list["_Node"] = field(default_factory=list)  # unnumbered sub-items (003 item 16)
    kind: str = "prose"


_UNIT_ENDS = "局会委办院行司部室厅"


@dataclass
class _Row:
    """One annex table row, joined back from the lines a page break split it into."""

    lines: list[Line]
    cells: list[str]
    text_col: int
    label: str
    level1: str
    level2: str
    loose: bool = False  # the last line added was a tab-less fragment

    def add_continuation(self, line: Line, cells: list[str]) -> None:
        """A tab line with no row number: the rest of this row's cells, pushed past a page break.

        When its cells line up with the row's (same columns), each continues its column;
        otherwise its first text continues the description and the rest the columns after it,
        as shifted; cells past the row's last column are loose cells.
        """
        self.lines.append(line)
        self.loose = False
        filled = [k for k, c in enumerate(cells) if c]
        if filled and filled[0] < self.text_col and (_unclosed(self.level1) or "牵头领导" in cells[filled[0]]):
            self.level1 += cells[filled.pop(0)]  # the tail of a 一级指标 cut by the page break
        while filled and 0 < filled[0] < self.text_col and _indicator_tail(cells[filled[0]]):
            self.level2 += cells[filled.pop(0)]  # and of a 二级指标
        aligned = all(self.text_col <= k < len(self.cells) for k in filled)
        # Not lined up: the line is shifted as a whole, its first text being the description's tail.
        shift = 0 if aligned or not filled else self.text_col - filled[0]
        for k in filled:
            if self.text_col <= k + shift < len(self.cells):
                self.cells[k + shift] += cells[k]
            elif not self.finish_unit(cells[k]):
                self.cells.append(cells[k])

    def finish_unit(self, text: str) -> bool:
        """「局」 or 「会」 alone is the end of the unit the page break cut from the units cell
        (「市住房城乡建设」 + 「局」); true when it was put back there."""
        if len(text) > 2 or text[-1] not in _UNIT_ENDS:
            return False
        # The first unit list after the description (in 004 a leader's name comes before it).
        k = next((k for k in range(self.text_col + 1, len(self.cells)) if "、" in self.cells[k]
                  or looks_like_unit(self.cells[k])), None)
        if k is None or self.cells[k][-1] in _UNIT_ENDS + "府心)）等":
            return False
        self.cells[k] += text
        return True

    def add_loose(self, line: Line) -> None:
        """A tab-less fragment inside a table: a cell's tail pushed onto its own line by the PDF."""
        text = line.text
        if self.finish_unit(text):
            pass
        elif self.loose and len(text) <= 8:
            self.cells[-1] += text  # 「常务」 + 「副市长」
        elif len(text) <= 8 or looks_like_deadline(text) or (looks_like_unit(text) and "、" in text):
            self.cells.append(text)
        else:
            self.cells[self.text_col] += text
        self.lines.append(line)
        self.loose = True


class DocumentParser:
    def __init__(self, source: str, text: str):
        self.source = source
        self.key = document_key(source)
        self.text = text
        self.clauses: list[Clause] = []
        self.headings: list[Heading] = []
        self.skipped: list[tuple[int, int]] = []
        self.legend: dict[str, str] = {}
        self._ids: set[str] = set()

    # -- entry point --
    def parse(self) -> tuple[list[Clause], list[Heading], list[tuple[int, int]]]:
        lines = list(split_lines(self.text))
        i = 0
        prose: list[Line] = []
        while i < len(lines):
            line = lines[i]
            header = table_header(line)
            if header:
                self._parse_prose(prose)
                prose = []
                i = self._parse_table(lines, i, header)
            else:
                prose.append(line)
                i += 1
        self._parse_prose(prose)
        self._apply_legend()
        self.clauses.sort(key=lambda c: c.span[0])
        return self.clauses, self.headings, self.skipped

    # -- prose --
    def _parse_prose(self, lines: list[Line]) -> None:
        stack: list[_Node] = []
        nodes: list[_Node] = []
        front: list[Line] = []
        current: _Node | None = None
        for line in lines:
            text = line.text
            if not text:
                if line.raw.strip():
                    self.skipped.append((line.start, line.end))  # markup only: 「**」, 「<p></p>」
                continue
            if text.startswith("附件") and len(text) < 60:
                # 「附件：…清单」 / 「附件」: the annex begins; it is no part of the last clause.
                self.headings.append(Heading(text, (line.start, line.end)))
                current, stack = None, []
                continue
            if _RULE.match(line.raw):
                self.skipped.append((line.start, line.end))
                continue
            num = numbering(text)
            field_match = _FIELD.match(text)
            if num:
                level, label = num
                while stack and stack[-1].level >= level:
                    stack.pop()
                if stack:
                    stack[-1].children += 1
                path = [heading_text(n) for n in stack]
                current = _Node(level, label, path, [line], [text[len(label):].lstrip("、.．")])
                stack.append(current)
                nodes.append(current)
            elif field_match and current is not None:
                target = current.parts[-1] if current.parts else current
                target.lines.append(line)
                for name, value in split_fields(text):
                    target.fields.setdefault(name, []).append(value)
            elif current is not None:
                target = current.parts[-1] if current.parts else current
                if target.fields:
                    # Text after a field block starts a sub-item with fields of its own.
                    if not current.parts:
                        current.parts.append(_Node(current.level + 1, current.label, [], current.lines[1:],
                                                   current.body[1:], current.fields, kind="item"))
                        current.lines, current.body, current.fields = current.lines[:1], current.body[:1], {}
                    current.parts.append(_Node(current.level + 1, current.label, [], [line], [text], kind="item"))
                else:
                    target.lines.append(line)
                    target.body.append(text)
            else:
                front.append(line)
        self._emit_front(front)
        for node in nodes:
            self._emit_node(node)

    def _emit_front(self, lines: list[Line]) -> None:
        """Title block and preamble: long paragraphs are clauses too (001's states its targets)."""
        for line in lines:
            if is_note(line.text):
                self._add(f"{self.key}-note", "注", [], line.text, [line], "note", Fields())
            elif len(line.text) >= 40 and not _is_addressee(line.text) and not _is_title(line.text):
                self._add(f"{self.key}-p{len(self.clauses) + 1}", "", [], line.text, [line], "preamble", Fields())
            else:
                self.headings.append(Heading(line.text, (line.start, line.end)))

    def _emit_node(self, node: _Node) -> None:
        chain = [label_key(numbering(p)[1]) if numbering(p) else p for p in node.path]
        node_id = f"{self.key}-{'.'.join([*chain, label_key(node.label)])}"
        title = heading_text(node)
        if node.parts:
            self.headings.append(Heading(title, (node.lines[0].start, node.lines[0].end)))
            for n, part in enumerate(node.parts, 1):
                self._add(f"{node_id}-{n}", node.label, [*node.path, title], join_body(part.body), part.lines,
                          "item", self._prose_fields(part))
            return
        has_body = len(node.lines) > 1 or len(node.body[0]) > len(title_of(node.body[0])) or node.fields
        if node.children and not has_body:
            self.headings.append(Heading(title, (node.lines[0].start, node.lines[0].end)))
            return
        kind = "item" if node.fields else "prose"
        self._add(node_id, node.label, node.path, join_body(node.body), node.lines, kind, self._prose_fields(node))

    def _prose_fields(self, node: _Node) -> Fields:
        text = join_body(node.body)
        lead = [u for v in node.fields.get("牵头单位", []) + node.fields.get("牵头部门", []) for u in split_units(v)]
        resp = [u for k in ("责任单位", "责任部门", "配合单位") for v in node.fields.get(k, []) for u in split_units(v)]
        leaders = [u for k in ("责任领导", "牵头领导") for v in node.fields.get(k, []) for u in split_units(v)]
        deadlines = node.fields.get("完成时限", []) + node.fields.get("完成时间", [])
        bracket = _BRACKET.search(text)
        if bracket and not (lead or resp):
            lead, resp = bracket_units(bracket.group(1))
        return Fields(
            lead_units=lead,
            responsible_units=resp,
            leaders=leaders,
            deadline=parse_deadline("；".join(deadlines)) if deadlines else None,
            time_limits=find_time_limits(text),
            amounts=find_amounts(text),
        )

    # -- tables --
    def _parse_table(self, lines: list[Line], i: int, header: list[str]) -> int:
        roles = [column_role(h) for h in header]
        self.skipped.append((lines[i].start, lines[i].end))
        i += 1
        rows: list[_Row] = []
        level1 = level2 = ""
        last_number = 0
        while i < len(lines):
            line = lines[i]
            if not line.text:
                i += 1
                continue
            if table_header(line):
                self.skipped.append((line.start, line.end))
                i += 1
                continue
            if _RULE.match(line.raw):
                self.skipped.append((line.start, line.end))
                i += 1
                continue
            if "\t" not in line.raw:
                if is_note(line.text):
                    i = self._parse_legend(lines, i)
                    break
                if line.text.startswith("附件") or numbering(line.text) or not rows:
                    break
                rows[-1].add_loose(line)
                i += 1
                continue
            cells = [clean_markup(c) for c in line.raw.split("\t")]
            found = row_number(cells, last_number)
            new_l1 = next((c for c in cells if re.match(rf"^[{_CN}]+、", c)), None)
            new_l2_idx = next((k for k, c in enumerate(cells) if re.match(rf"^[（(][{_CN}]+[)）]", c)), None)
            if found is not None:
                col, label, number = found
                last_number = number
                for k, c in enumerate(cells[:col]):
                    if not c:
                        continue
                    if re.match(rf"^[{_CN}]+、", c):
                        level1, level2 = c, ""
                    elif re.match(rf"^[（(][{_CN}]+[)）]", c):
                        level2 = c
                    elif k == 0 and rows:
                        level1 = level1 + c  # the tail of a 一级指标 cell split by a page break
                    elif rows:
                        level2 = level2 + c  # likewise for a 二级指标 cell
                text_col = col + 1 if cells[col].strip() == label else col
                if text_col == col:
                    cells[col] = cells[col][len(label) + 1:].lstrip()
                rows.append(_Row([line], cells, text_col, label, level1, level2))
            elif new_l2_idx is not None and new_l2_idx + 1 < len(cells) and cells[new_l2_idx + 1]:
                # A row with no measure number of its own (001's 「(十六)电力价格」).
                if new_l1:
                    level1 = new_l1
                level2 = cells[new_l2_idx]
                rows.append(_Row([line], cells, new_l2_idx + 1, "", level1, level2))
            elif rows:
                row = rows[-1]
                row.add_continuation(line, cells)
                level1 = row.level1
            else:
                self.headings.append(Heading(line.text, (line.start, line.end)))
            i += 1
        _settle_level1(rows)
        parts = [_row_parts(row) for row in rows]
        _settle_leaders([p.leaders for p in parts], {name for row in rows for name in _heading_leaders(row.level1)})
        for row, p in zip(rows, parts):
            self._emit_row(row, roles, p)
        return i

    def _parse_legend(self, lines: list[Line], i: int) -> int:
        """「注：1.★：…」 and its numbered lines: one note clause, the source of tag meanings."""
        note = [lines[i]]
        i += 1
        while i < len(lines) and (not lines[i].text or re.match(rf"^\d+[.．]\s*[{_MARKS}]", lines[i].text)):
            if lines[i].text:
                note.append(lines[i])
            i += 1
        self._add(f"{self.key}-note", "注", ["附件"], "\n".join(x.text for x in note), note, "note", Fields())
        return i

    def _emit_row(self, row: _Row, roles: list[str], parts: _RowParts) -> None:
        text = row.cells[row.text_col]
        units, leaders, deadline_parts = parts.units, list(parts.leaders), parts.deadline
        level1 = squeeze(row.level1)
        leaders += _heading_leaders(level1)
        has_lead_column = "lead" in roles
        lead, resp = [], []
        if units:
            if has_lead_column:
                lead = split_units(units[0])
                resp = [u for cell in units[1:] for u in split_units(cell)]
            else:
                resp = [u for cell in units for u in split_units(cell)]
        tags = [{"mark": mark, "meaning": ""} for mark in _marks(text + level1 + row.level2)]
        fields = Fields(
            lead_units=lead,
            responsible_units=resp,
            leaders=list(dict.fromkeys(squeeze(x).replace(" ", "") for x in leaders)),
            deadline=parse_deadline("".join(deadline_parts)) if deadline_parts else None,
            time_limits=find_time_limits(text),
            amounts=find_amounts(text),
            tags=tags,
        )
        path = ["附件"] + [p for p in (level1, squeeze(row.level2)) if p]
        if row.label:
            clause_id, kind = f"{self.key}-a{row.label}", ("task" if has_lead_column else "measure")
        else:
            level2 = numbering(squeeze(row.level2))
            clause_id, kind = f"{self.key}-a({label_key(level2[1]) if level2 else 'row'})", "row"
        self._add(clause_id, row.label, path, text, row.lines, kind, fields)

    def _apply_legend(self) -> None:
        legend = {}
        for c in self.clauses:
            if c.kind == "note" or c.text.startswith("注"):
                for m in re.finditer(r"([★☆○◎●▲△⊙])[:：]\s*([^；;。]+)", c.text):
                    legend[m.group(1)] = m.group(2)
        for c in self.clauses:
            for tag in c.fields.tags:
                tag["meaning"] = legend.get(tag["mark"], "")

    # -- output --
    def _add(self, clause_id: str, number: str, path: list[str], text: str, lines: list[Line], kind: str,
             fields: Fields) -> None:
        base, n = clause_id, 2
        while clause_id in self._ids:
            clause_id, n = f"{base}~{n}", n + 1
        self._ids.add(clause_id)
        self.clauses.append(
            Clause(
                id=clause_id,
                source=self.source,
                number=number,
                path=path,
                text=squeeze(text),
                span=(lines[0].start, lines[-1].end),
                lines=(lines[0].number, lines[-1].number),
                kind=kind,
                fields=fields,
            )
        )


# --- helpers --------------------------------------------------------------------------

_MARKS = "★☆○◎●▲△⊙"


def _indicator_tail(cell: str) -> bool:
    """「收和缴费率」 continues a 二级指标 cut by a page break; a sentence continues the description."""
    return len(cell) <= 12 and not re.search("[，。；,;]", cell.rstrip(_MARKS + "①②③④⑤"))


def _marks(text: str) -> list[str]:
    return [m for m in _MARKS if m in text]


def _heading_leaders(level1: str) -> list[str]:
    """「六、纳税(牵头领导:常务副市长)」 → the 牵头领导 of every row under it."""
    m = re.search(r"[（(]\s*牵头领导\s*[:：]\s*([^)）]+)[)）]?", squeeze(level1))
    return [m.group(1).strip()] if m else []


class _RowParts(NamedTuple):
    """The cells after a row's description, by what they hold."""

    units: list[str]
    leaders: list[str]  # people and titles, one each (see _settle_leaders)
    deadline: list[str]  # pieces of the 完成时限 cell


def _row_parts(row: _Row) -> _RowParts:
    units: list[str] = []
    leader_cells: list[str] = []
    deadline: list[str] = []
    for cell in row.cells[row.text_col + 1:]:
        if not cell or cell == "无":
            continue
        if looks_like_deadline(cell):
            deadline.append(cell)
        elif looks_like_unit(cell) or len(cell) > 8:
            units.append(cell)
        else:
            leader_cells.append(cell)
    return _RowParts(units, _leader_names(leader_cells), deadline)


# The start of 常务副市长 with its end pushed to the next line or row by the PDF.
_UNFINISHED_TITLE = re.compile(r"(?:常务|常务副|常务副市|副市)$")


def _leader_names(cells: list[str]) -> list[str]:
    """Leader cells → one entry per person or title: 「王琪 马泽波」 names two people;
    「常务 副市」 + 「长」 is one title cut by the PDF; a lone character ends the name before it."""
    names: list[str] = []
    for piece in (p for cell in cells for p in cell.split()):
        if names and (_UNFINISHED_TITLE.search(names[-1]) or len(piece) == 1):
            names[-1] += piece
        else:
            names.append(piece)
    return names


def _settle_leaders(rows: list[list[str]], known: set[str]) -> None:
    """Join leader cells the PDF cut between rows, and part names it ran together.

    A cell spanning two rows may be cut between them (「常务」 over 「副市长」, 「王琪 马泽」 over
    「波」): it is joined back and names the leader of both rows; a lone 「长」 under a whole
    常务副市长 is the same cell's tail. The conversion also drops the space between two people
    (「王琪马泽波」): a name known from the 牵头领导 headings is parted from the rest.
    """
    for above, below in zip(rows, rows[1:]):
        if not (above and below):
            continue
        if _UNFINISHED_TITLE.search(above[-1]) or (len(below[0]) == 1 and not above[-1].endswith(below[0])):
            above[-1] += below[0]
            below[:] = list(above)
        elif len(below[0]) == 1:
            below[:] = list(above)
    for names in rows:
        names[:] = [part for name in names for part in _part_names(name, known)]


def _part_names(name: str, known: set[str]) -> list[str]:
    if name in known:
        return [name]
    for person in known:
        rest = name[len(person):]
        if name.startswith(person) and re.fullmatch(r"[\u4e00-\u9fff]{2,3}", rest):
            return [person, rest]
    return [name]


def _settle_level1(rows: list[_Row]) -> None:
    """Give every row of a 一级指标 its whole heading.

    A page break can cut the heading cell (「十二、劳动力」 on one page, 「(牵头领导：…)」 on the
    next), so rows see different pieces; the complete spelling is the one with a closed
    「(牵头领导：…)」, and it belongs to every row under that number.
    """
    groups: dict[str, list[_Row]] = {}
    for row in rows:
        m = re.match(rf"^\s*([{_CN}]+)、", row.level1)
        if m:
            groups.setdefault(m.group(1), []).append(row)
    for group in groups.values():
        spellings = Counter(squeeze(r.level1) for r in group)
        whole = [s for s in spellings if "牵头领导" in s and not _unclosed(s) and re.search(r"[)）]$", s)]
        if whole:
            best = max(whole, key=lambda s: (spellings[s], -len(s)))
            for row in group:
                own = squeeze(row.level1)
                if "牵头领导" not in own or _unclosed(own):
                    row.level1 = best  # only pieces are replaced; a whole heading stays as printed


def _unclosed(text: str) -> bool:
    return text.count("(") > text.count(")") or text.count("（") > text.count("）")


def is_note(text: str) -> bool:
    return bool(re.match(r"^注\s*[:：]", text))


def _is_title(text: str) -> bool:
    return "关于" in text and text.endswith(("通知", "意见", "方案", "要点", "措施", "办法"))


def _is_addressee(text: str) -> bool:
    return text.endswith(("：", ":")) and len(text) < 120


def document_key(source: str) -> str:
    """"001_8b28….txt" → "001": short, stable prefix for clause ids."""
    stem = source.rsplit(".", 1)[0]
    head = stem.split("_", 1)[0]
    return head if head.isdigit() else stem


def split_lines(text: str):
    pos = 0
    for n, raw in enumerate(text.split("\n"), 1):
        end = pos + len(raw)
        yield Line(n, pos, end, raw.rstrip("\r"), clean_markup(raw.rstrip("\r")))
        pos = end + 1


def split_fields(text: str) -> list[tuple[str, str]]:
    """「牵头单位：市税务局、市财政局责任单位：市工信局」 → both fields."""
    matches = list(_FIELD.finditer(text))
    out = []
    for k, m in enumerate(matches):
        end = matches[k + 1].start() if k + 1 < len(matches) else len(text)
        out.append((m.group(1), text[m.end():end].strip()))
    return out


def bracket_units(inner: str) -> tuple[list[str], list[str]]:
    """002's 〔…〕: units before the first 「，」 lead, the rest are responsible (its own legend)."""
    inner = inner.split("。")[0]
    if "，" in inner:
        lead, rest = inner.split("，", 1)
        return split_units(lead), split_units(rest)
    return split_units(inner), []


def join_body(pieces: list[str]) -> str:
    """Paragraphs keep a line break; a sentence cut by a page break is joined back."""
    out = ""
    for piece in pieces:
        if not piece:
            continue
        if out and (out[-1] in "。；：！？:;!?”" or "。" not in out):
            out += "\n"
        out += piece
    return out


def title_of(text: str) -> str:
    """The heading sentence of a numbered line: up to the first 「。」."""
    m = re.match(r"^[^。]*。", text)
    return m.group(0) if m else text


def heading_text(node: _Node) -> str:
    first = node.lines[0].text
    return title_of(first) if len(first) > len(title_of(first)) else first


_HEADER_NAMES = {
    "一级指标": "level1",
    "二级指标": "level2",
    "重点举措": "text",
    "主要任务": "text",
    "序号": "number",
    "牵头单位": "lead",
    "责任单位": "responsible",
    "责任领导": "leader",
    "市级牵头领导": "leader",
    "完成时限": "deadline",
    "完成进度时限": "deadline",
}


def table_header(line: Line) -> list[str] | None:
    if "\t" not in line.raw:
        return None
    cells = [squeeze(c).replace(" ", "") for c in line.text.split("\t")]
    known = sum(1 for c in cells if c in _HEADER_NAMES)
    return cells if known >= 3 else None


def column_role(name: str) -> str:
    return _HEADER_NAMES.get(name, "other")


def row_number(cells: list[str], last: int) -> tuple[int, str, int] | None:
    """The cell that opens a new numbered row: 「70.…」 or a bare 序号 「70」, in sequence."""
    for k, c in enumerate(cells):
        m = re.match(r"^(\d{1,3})(?:[.．、]|$)", c)
        if m and last < int(m.group(1)) <= last + 3:
            return k, m.group(1), int(m.group(1))
    return None


def parse_text(source: str, text: str):
    return DocumentParser(source, text).parse()
