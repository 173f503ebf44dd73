"""index/: the built search index, written atomically and checked when read.

Layout: `index/CURRENT` names the live build folder (`index/build-<time>/`) holding
manifest.json, documents.json, clauses.jsonl, passages.jsonl and vectors.faiss; the
embedding cache sits in `index/cache/`. A build is written to a temporary folder and made
live by replacing CURRENT in one rename, so a crash mid-build (or a reader during a
rebuild) only ever sees the previous complete build.

Storage sits behind three small classes (ClauseStore, VectorIndex, keyword BM25) so that a
distributed engine can later stand in for files on one machine.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from .models import Clause

FORMAT_VERSION = 1
_FILES = ("manifest.json", "documents.json", "clauses.jsonl", "passages.jsonl", "vectors.faiss")


class IndexProblem(RuntimeError):
    """The index is missing, damaged or built for other settings; the message says what to run."""


class ClauseStore:
    """Clauses by id, in corpus order, with their documents' metadata."""

    def __init__(self, clauses: list[Clause], documents: list[dict]):
        self.clauses = clauses
        self.documents = {d["source"]: d for d in documents}
        self._by_id = {c.id: i for i, c in enumerate(clauses)}

    def get(self, clause_id: str) -> Clause | None:
        i = self._by_id.get(clause_id)
        return None if i is None else self.clauses[i]

    def position(self, clause_id: str) -> int:
        return self._by_id[clause_id]

    def document(self, source: str) -> dict:
        return self.documents.get(source, {"source": source, "title": source, "city": None, "year": None})


class VectorIndex:
    """Normalised passage vectors in FAISS; inner product = cosine similarity."""

    def __init__(self, index: faiss.Index, passage_clause: list[str]):
        self.index = index
        self.passage_clause = passage_clause

    @classmethod
    def from_vectors(cls, vectors: np.ndarray, passage_clause: list[str]) -> "VectorIndex":
        index = faiss.IndexFlatIP(vectors.shape[1])
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index, passage_clause)

    def clause_scores(self, query: np.ndarray, positions: np.ndarray, n_clauses: int) -> np.ndarray:
        """Best passage cosine per clause; `positions[p]` is the clause position of passage p.
        A clause with no passage scores -1."""
        out = np.full(n_clauses, -1.0, dtype=np.float32)
        if self.index.ntotal == 0:
            return out
        scores, ids = self.index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32),
                                        self.index.ntotal)
        valid = ids[0] >= 0
        np.maximum.at(out, positions[ids[0][valid]], scores[0][valid])
        return out


@dataclass
class StoredIndex:
    manifest: dict
    clauses: ClauseStore
    vectors: VectorIndex
    passages: list[dict]
    path: Path


def write_index(index_dir: Path, manifest: dict, documents: list[dict], clauses: list[Clause],
                passages: list[dict], vectors: np.ndarray) -> Path:
    """Write a complete build beside the live one, then switch CURRENT to it in one rename."""
    index_dir.mkdir(parents=True, exist_ok=True)
    name = f"build-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp = index_dir / f".{name}.tmp"
    tmp.mkdir()
    try:
        _write_json(tmp / "documents.json", documents)
        _write_lines(tmp / "clauses.jsonl", [c.to_dict() for c in clauses])
        _write_lines(tmp / "passages.jsonl", passages)
        faiss.write_index(VectorIndex.from_vectors(vectors, [p["clause_id"] for p in passages]).index,
                          str(tmp / "vectors.faiss"))
        checksums = {f: _sha256(tmp / f) for f in _FILES if f != "manifest.json"}
        _write_json(tmp / "manifest.json", {**manifest, "format": FORMAT_VERSION, "checksums": checksums})
        final = index_dir / name
        os.replace(tmp, final)
        pointer = index_dir / f".CURRENT.{os.getpid()}.tmp"
        pointer.write_text(name + "\n", encoding="utf-8")
        _fsync(pointer)
        os.replace(pointer, index_dir / "CURRENT")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(index_dir, keep={name})
    return final


def current_build(index_dir: Path) -> Path | None:
    pointer = index_dir / "CURRENT"
    if not pointer.exists():
        return None
    build = index_dir / pointer.read_text(encoding="utf-8").strip()
    return build if build.is_dir() else None


def read_manifest(index_dir: Path) -> dict | None:
    build = current_build(index_dir)
    if build is None:
        return None
    try:
        return json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_index(index_dir: Path) -> StoredIndex:
    build = current_build(index_dir)
    rebuild = f"run `assistant build` to rebuild it"
    if build is None:
        raise IndexProblem(f"no index in {index_dir}/: {rebuild}")
    try:
        manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
        for f, digest in manifest.get("checksums", {}).items():
            if _sha256(build / f) != digest:
                raise IndexProblem(f"index file {build / f} is damaged (checksum mismatch): {rebuild}")
        documents = json.loads((build / "documents.json").read_text(encoding="utf-8"))
        clauses = [Clause.from_dict(d) for d in _read_lines(build / "clauses.jsonl")]
        passages = _read_lines(build / "passages.jsonl")
        vectors = faiss.read_index(str(build / "vectors.faiss"))
    except IndexProblem:
        raise
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise IndexProblem(f"index in {build} cannot be read ({error}): {rebuild}") from None
    if manifest.get("format") != FORMAT_VERSION or vectors.ntotal != len(passages):
        raise IndexProblem(f"index in {build} is from another version or incomplete: {rebuild}")
    return StoredIndex(manifest, ClauseStore(clauses, documents),
                       VectorIndex(vectors, [p["clause_id"] for p in passages]), passages, build)


def _prune(index_dir: Path, keep: set[str]) -> None:
    """Keep the live build and the one before it (a reader may still hold it open)."""
    builds = sorted((p for p in index_dir.glob("build-*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in builds[:-2]:
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)
    for tmp in index_dir.glob(".build-*.tmp"):
        if time.time() - tmp.stat().st_mtime > 3600:  # left by a crashed build
            shutil.rmtree(tmp, ignore_errors=True)


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def _write_lines(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read_lines(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fsync(path: Path) -> None:
    with path.open("rb") as f:
        os.fsync(f.fileno())
