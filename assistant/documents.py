"""corpus/ → documents: decode each file, read its metadata, parse its clauses.

A user adds a document by dropping a .txt file into corpus/; `corpus/manifest.json` may
give its title, city, issuer, 文号 and date, and whatever it lacks is read from the text.
A file that cannot be read is reported by name and the others still load.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .fields import squeeze
from .models import Document
from .parser import clean_markup, parse_text

MANIFEST = "manifest.json"


class CorpusError(ValueError):
    """A document that cannot be used, with the file it came from."""

    def __init__(self, source: str, problem: str):
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


@dataclass
class Corpus:
    documents: list[Document] = field(default_factory=list)
    errors: list[CorpusError] = field(default_factory=list)

    @property
    def clauses(self):
        return [c for d in self.documents for c in d.clauses]

    def document(self, source: str) -> Document | None:
        return next((d for d in self.documents if d.source == source), None)

    def fingerprint(self) -> str:
        """Changes whenever a document's text or metadata changes: the index is built for one."""
        h = hashlib.sha256()
        for d in self.documents:
            h.update(json.dumps(d.summary(), ensure_ascii=False, sort_keys=True).encode())
            h.update(json.dumps([c.to_dict() for c in d.clauses], ensure_ascii=False).encode())
        return h.hexdigest()[:16]


def decode(source: str, data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030, the other encoding Chinese offices use."""
    if not data.strip():
        raise CorpusError(source, "the file is empty")
    if b"\x00" in data[:4096]:
        raise CorpusError(source, "the file is binary, not text (save it as UTF-8 .txt)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise CorpusError(source, "the file is neither UTF-8 nor GB18030 text") from None
    if not re.search(r"[\u4e00-\u9fff]", text):
        raise CorpusError(source, "the file decodes to no Chinese text; save it as UTF-8")
    return text


def load_corpus(directory: str | Path) -> Corpus:
    directory = Path(directory)
    if not directory.is_dir():
        raise CorpusError(str(directory), "the corpus folder does not exist")
    manifest = read_manifest(directory)
    corpus = Corpus()
    for path in sorted(directory.glob("*.txt")):
        try:
            corpus.documents.append(load_document(path.name, path.read_bytes(), manifest.get(path.name, {})))
        except CorpusError as error:
            corpus.errors.append(error)
    return corpus


def read_manifest(directory: Path) -> dict[str, dict]:
    path = directory / MANIFEST
    if not path.exists():
        return {}
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise CorpusError(MANIFEST, f"not valid JSON: {error}") from None
    return {e["source"]: e for e in entries.get("documents", []) if isinstance(e, dict) and "source" in e}


def load_document(source: str, data: bytes, meta: dict | None = None) -> Document:
    text = decode(source, data)
    clauses, headings, skipped = parse_text(source, text)
    if not clauses:
        raise CorpusError(source, "no clauses found: the text has no numbered clauses, items or table rows")
    found = read_metadata(text)
    meta = {k: v for k, v in (meta or {}).items() if v not in (None, "")}
    found.update(meta)
    date = found.get("date")
    return Document(
        source=source,
        title=found.get("title") or Path(source).stem,
        city=found.get("city"),
        issuer=found.get("issuer"),
        doc_number=found.get("doc_number"),
        date=date,
        year=found.get("year") or (int(date[:4]) if date else None),
        clauses=clauses,
        headings=headings,
        skipped=skipped,
    )


_DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,8}〔\d{4}〕\d+号")
_ISSUE_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$")
_QUOTED_TITLE = re.compile(r"《([^》]{6,60})》")
_CITY = re.compile(r"([\u4e00-\u9fff]{2}(?<![我本全城该各])|XX)市")
_ISSUER = re.compile(r"^(中共[\u4e00-\u9fff]{2,4}市委办公室|[\u4e00-\u9fff]{2,4}市人民政府(?:办公室)?)")


def read_metadata(text: str) -> dict:
    """Title, city, issuer, 文号 and date as the document states them in its first lines."""
    head = [squeeze(clean_markup(line)) for line in text.split("\n")[:60]]
    head = [line for line in head if line]
    found: dict = {}
    for line in head:
        if "doc_number" not in found and (m := _DOC_NUMBER.search(line)) and len(line) < 40:
            found["doc_number"] = m.group(0)
        if "date" not in found and (m := _ISSUE_DATE.match(line)):
            found["date"] = f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
        if "issuer" not in found and (m := _ISSUER.match(line)):
            found["issuer"] = m.group(1)
        if "title" not in found and "印发" in line and (m := _QUOTED_TITLE.search(line)):
            found["title"] = m.group(1)
    if "title" not in found:
        # No 《…》 in a 印发 line: the first heading-like line that names the policy.
        for line in head:
            if 6 <= len(line) <= 60 and not re.search("[：:。，]", line) and not _DOC_NUMBER.search(line) \
                    and not re.match(r"^[一二三四五六七八九十（(\d]", line):
                found["title"] = re.sub(r"^.*?关于印发(.*)的通知$", r"\1", line)
                break
    for line in [found.get("title", ""), found.get("issuer", ""), *[h for h in head[:10] if len(h) < 40]]:
        if m := _CITY.search(line or ""):
            found["city"] = m.group(0) if m.group(1) == "XX" else m.group(1)
            break
    if "year" not in found:
        if m := re.search(r"(20\d{2})年", found.get("title", "")):
            found["year"] = int(m.group(1))
    return found
