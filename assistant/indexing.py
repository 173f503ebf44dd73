"""Build the index from corpus/, and open it for search only when it matches the settings.

An index records the encoder that embedded it and a fingerprint of the corpus it was built
from; opening it with another encoder or after the corpus changed is refused with the
command that fixes it, never silently mixed.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass, field

from tqdm import tqdm

from .config import Settings
from .documents import Corpus, CorpusError, load_corpus
from .encoders import CachedEncoder, Encoder, load_encoder
from .passages import passages_for
from .search import Searcher
from .store import IndexProblem, current_build, read_index, read_manifest, write_index

log = logging.getLogger("assistant.index")


@dataclass
class BuildReport:
    documents: int
    clauses: int
    passages: int
    embedded: int  # passages the encoder had to embed
    reused: int  # passages found in the embedding cache
    seconds: float
    errors: list[str] = field(default_factory=list)


def build_index(settings: Settings, encoder: Encoder | None = None, progress: bool | None = None,
                corpus: Corpus | None = None) -> BuildReport:
    """Parse, embed (reusing cached embeddings) and write a new index atomically."""
    started = time.perf_counter()
    corpus = corpus or load_corpus(settings.corpus_dir)
    if not corpus.documents:
        problems = "; ".join(str(e) for e in corpus.errors) or "no .txt files"
        raise CorpusError(str(settings.corpus_dir), f"nothing to index ({problems})")
    encoder = encoder or load_encoder(settings.encoder)
    cached = CachedEncoder(encoder, settings.index_dir / "cache")
    passages = [p for d in corpus.documents for c in d.clauses for p in passages_for(c, d)]
    texts = [p.text for p in passages]
    # tqdm draws only on a terminal unless asked (disable=None); CI logs stay clean.
    with tqdm(total=len(texts), desc="嵌入 embedding passages", unit="段", disable=None if progress is None
              else not progress, file=sys.stderr) as bar:
        vectors = cached.embed_passages(texts, progress=bar.update)
    manifest = {
        "encoder": encoder.name,
        "encoder_setting": settings.encoder,
        "dim": encoder.dim,
        "corpus_fingerprint": corpus.fingerprint(),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "documents": len(corpus.documents),
        "clauses": len(corpus.clauses),
        "passages": len(passages),
        "corpus_errors": [str(e) for e in corpus.errors],
    }
    write_index(settings.index_dir, manifest, [d.summary() for d in corpus.documents], corpus.clauses,
                [{"clause_id": p.clause_id, "text": p.text} for p in passages], vectors)
    cached.save(keep=set(texts))
    return BuildReport(len(corpus.documents), len(corpus.clauses), len(passages), cached.misses, cached.hits,
                       round(time.perf_counter() - started, 2), [str(e) for e in corpus.errors])


def index_status(settings: Settings, corpus: Corpus | None = None) -> str | None:
    """None when the index is ready for these settings, else what is wrong and how to fix it."""
    manifest = read_manifest(settings.index_dir)
    if manifest is None:
        return f"no index in {settings.index_dir}/: run `assistant build`"
    if manifest.get("encoder_setting") != settings.encoder:
        return (f"the index was built with encoder {manifest.get('encoder_setting')!r} but the settings ask for "
                f"{settings.encoder!r}: run `assistant build` to rebuild it with the new encoder")
    corpus = corpus or load_corpus(settings.corpus_dir)
    if manifest.get("corpus_fingerprint") != corpus.fingerprint():
        return "the documents in the corpus changed since the index was built: run `assistant build`"
    return None


def open_searcher(settings: Settings, encoder: Encoder | None = None, build_if_needed: bool = False,
                  progress: bool | None = None) -> Searcher:
    """A Searcher over a matching index; with build_if_needed, (re)build first instead of refusing."""
    problem = index_status(settings)
    if problem and not build_if_needed:
        raise IndexProblem(problem)
    encoder = encoder or load_encoder(settings.encoder)
    if problem:
        build_index(settings, encoder=encoder, progress=progress)
    index = read_index(settings.index_dir)
    if index.manifest.get("encoder") != encoder.name:
        raise IndexProblem(f"the index was built by {index.manifest.get('encoder')!r}, not {encoder.name!r}: "
                           f"run `assistant build`")
    return Searcher(index, CachedEncoder(encoder))


class LiveIndex:
    """The searcher a server answers with, swapped atomically when a new build goes live.

    `assistant build` (from any process) replaces index/CURRENT; at most every `check_every`
    seconds a request notices, and the new build is loaded in a background thread while
    requests keep using the old one. The swap is one reference assignment: a request sees the
    old index or the new one, never a half-built one. A new build that cannot be used (damaged,
    another encoder) is logged and the old one keeps serving.
    """

    def __init__(self, settings: Settings, searcher: Searcher, check_every: float = 2.0):
        self.settings, self.check_every = settings, check_every
        self.searcher = searcher
        self.build = current_build(settings.index_dir)
        self._checked = time.monotonic()
        self._loading = threading.Lock()
        self.error: str | None = None

    def get(self) -> Searcher:
        now = time.monotonic()
        if now - self._checked >= self.check_every:
            self._checked = now
            build = current_build(self.settings.index_dir)
            if build is not None and build != self.build and self._loading.acquire(blocking=False):
                threading.Thread(target=self._load, args=(build,), daemon=True).start()
        return self.searcher

    def _load(self, build) -> None:
        try:
            index = read_index(self.settings.index_dir)
            encoder = self.searcher.encoder
            if index.manifest.get("encoder") != encoder.name:
                raise IndexProblem(f"new build {build.name} was made by {index.manifest.get('encoder')!r}, "
                                   f"this server embeds with {encoder.name!r}; restart the server to switch")
            fresh = Searcher(index, encoder)  # shares the query cache
            self.searcher, self.build, self.error = fresh, index.path, None
            log.info("switched to index build %s", index.path.name)
        except (IndexProblem, OSError, ValueError) as error:
            self.error = str(error)
            self.build = build  # do not retry a bad build on every request
            log.error("kept the previous index: %s", error)
        finally:
            self._loading.release()
