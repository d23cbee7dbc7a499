"""The knowledge base: hybrid (dense + lexical) retrieval over the CS manual and learned answers.

The database (`manual_articles`, active `learned_answers`) is the source of truth. From it the
knowledge base keeps two derived indexes per database:

- dense: chunk vectors in a Chroma collection (`PersistentClient` under the data dir, `HttpClient`
  when `CHROMA_URL` is set) filled with our cached embeddings, never Chroma's default function;
- lexical: Kiwi content morphemes of every chunk + a `bm25s` index, persisted under the data dir.

Every search first compares a cheap DB signature with the one the indexes were built from and
applies the difference (only changed documents are re-chunked; their vectors come from the
embedding cache), so an article imported or a learned answer deactivated by another process counts
from the very next search.

The Chroma collection is shared by every process on one database (replicas on a Chroma server, workers on
one data dir): a process adds and deletes only its own chunks' vectors and never drops the collection at
start; when the collection is gone under it (another process's `sajang kb rebuild`, a Chroma server that lost
its data) it opens it again and puts its vectors back (from the embedding cache) instead of failing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import numpy as np
from sqlalchemy import Engine, func, select

from sajang.config import Settings
from sajang.db.engine import autocommit_connection, get_engine, session_scope
from sajang.db.errors import DataError
from sajang.db.models import LearnedAnswer, ManualArticle, Product
from sajang.db.queries import audit
from sajang.db.types import utcnow
from sajang.errors import NotFound

from .embeddings import CachedEmbeddings, get_embeddings
from .fusion import DENSE_CHUNKS, FusionConfig, IndexView, calibrated_confidence, fuse
from .normalize import NormalizedMessage, normalize_for_shop, register_shop_words, shop_words_registered
from .text import (
    best_passage,
    chunk_article,
    compound_words,
    lead_sentence,
    text_language,
    tokenize,
    topic_nouns,
    with_bigrams,
    without_greeting,
)

log = logging.getLogger(__name__)
_T = TypeVar("_T")

DOC_VIEW_CHARS = 1200
INDEX_VERSION = 12  # bump when chunking or tokenising changes: indexes are rebuilt from the DB


@dataclass
class Hit:
    id: str
    title: str
    score: float
    kind: str  # manual | learned
    text: str  # best-matching passage
    body: str  # the whole article / answer
    category: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    confidence: float
    mode: str = "hybrid"
    features: dict[str, float] = field(default_factory=dict)
    # Korean nouns of the query that no indexed document contains ("새벽 배송", "칼로리"): the manual
    # covers the topic around them at best, not what was asked
    unknown_terms: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"query": self.query, "hits": [h.as_dict() for h in self.hits], "confidence": self.confidence,
                "mode": self.mode, "unknown_terms": self.unknown_terms}


@dataclass
class _Doc:
    key: str  # manual:<id> | learned:<id>
    kind: str
    ref: str  # hit id: the article id, or learned:<id>
    title: str
    body: str
    category: str | None
    hash: str
    chunk_ids: list[str] = field(default_factory=list)


@dataclass
class _Chunk:
    id: str
    doc: str
    text: str
    tokens: list[str]
    role: str = "body"  # body | title | question | doc | lead


def _sha(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode())
        h.update(b"\x00")
    return h.hexdigest()


def article_hash(title: str, body: str, category: str | None = None) -> str:
    return _sha(title, body, category or "")


def _doc_chunks(doc: _Doc) -> list[tuple[str, str]]:
    """(role, text) of a document's chunks. A learned answer is found by its question first."""
    if doc.kind == "learned":
        parts = [("question", doc.title)]
        parts += [("body", c.text) for c in chunk_article(doc.title, doc.body)]
        return parts
    parts = [("body", c.text) for c in chunk_article(doc.title, doc.body)]
    lead = lead_sentence(doc.body)
    if lead:
        # The first sentence alone (dense only): it states the topic without the detail around it
        # (+3 points hit@1 on the FAQ dev split, mixed into the article's dense score).
        parts.insert(0, ("lead", lead))
    if len(parts) > 2 or (len(parts) > 1 and not lead):
        # The whole article as one more vector (the model reads its first ~512 tokens): the lead of a
        # help article usually restates what it is about, which single passages miss.
        whole = f"{doc.title}\n{doc.body}" if doc.title else doc.body
        parts.insert(0, ("doc", whole[:DOC_VIEW_CHARS]))
        if doc.title:
            parts.insert(0, ("title", doc.title))  # a short title-only vector: titles read like questions
    return parts


class _Index(NamedTuple):
    """One state of both indexes, never changed once published: `refresh` builds the next one beside it and
    swaps it in with one assignment, so a search reads one consistent state without the index lock (which
    serialised every search of the process: BM25, the query vector, the Chroma query, the fusion)."""

    docs: dict[str, _Doc]
    chunks: dict[str, _Chunk]
    doc_keys: list[str]  # document order = BM25 row order
    view: IndexView
    bm25: Any


def _empty_index() -> _Index:
    return _Index({}, {}, [], IndexView([], {}, {}), None)


CATALOGUE_TTL_S = 60.0  # how old the product names the answer gate knows may be
KNOWN_NOUNS_KEPT = 5_000  # nouns whose lookup is remembered until the vocabulary changes


class _Vocabulary(NamedTuple):
    """What the shop talks about: the content morphemes of every indexed passage, the text of every
    document and of the product catalogue (nouns Kiwi splits differently there: 냉동식품 / 냉동 식품), and
    the nouns already looked up (a substring scan of a large manual takes ~0.6 ms a noun at 1,000
    articles)."""

    tokens: frozenset[str]
    documents: str
    catalogue: str
    known: dict[str, bool]


# a word the manual answers by stating its opposite: «선물 포장 유료예요?» is answered by «무료 포장해 드립니다»
# («무상» is 무료 said another way, not its opposite: «무상 AS» the manual never speaks of)
STATED_AS_OPPOSITE = {"유료": "무료", "유상": "무료", "수수료": "무료"}  # («취소 수수료 있어요?»: «무료로 취소»)


def _unknown_terms(query: str, vocabulary: _Vocabulary) -> list[str]:
    """The topic nouns of `query` that none of the shop's documents or products contains (nor, for a word of
    `STATED_AS_OPPOSITE`, its opposite)."""
    known = vocabulary.known
    if len(known) > KNOWN_NOUNS_KEPT:
        known.clear()
    out: list[str] = []
    for noun in dict.fromkeys(topic_nouns(query)):
        hit = known.get(noun)
        if hit is None:  # two searches may both look a noun up: same answer, written twice
            said = STATED_AS_OPPOSITE.get(noun, noun)
            hit = known[noun] = (said in vocabulary.tokens or said in vocabulary.documents
                                 or noun in vocabulary.catalogue or _joined_known_words(noun, vocabulary.tokens))
        if not hit:
            out.append(noun)
    return out


def name_words(name: str) -> list[str]:
    """The Korean words of a product name that can name it, its head noun last («고기 왕만두 (1.4kg)» → 고기, 왕만두);
    not what is in brackets, nor a count («5종 세트»)."""
    return [w for w in re.findall(r"[가-힣]{2,}", re.sub(r"\([^)]*\)", " ", name)) if not w.endswith("세트")]


def product_kinds_of(products: list[tuple[str, str]]) -> dict[str, str]:
    """{word: category} of (product name, category) pairs: the head noun of each name («스테인리스 찜기 (28cm)» →
    찜기), unless it is the category's own word or two categories share it (it names neither)."""
    seen: dict[str, set[str]] = {}
    for name, category in products:
        # the head noun, Korean compounds ending with it («고기 왕만두», «무농약 들기름»)
        words = [w for w in name_words(name) if w not in category]
        if words:
            seen.setdefault(words[-1], set()).add(category)
    return {w: next(iter(c)) for w, c in seen.items() if len(c) == 1}


def _joined_known_words(noun: str, tokens: frozenset[str]) -> bool:
    """«부대찌개밀키트물»: words of the shop typed together (the spacing model left them joined), each of two
    syllables or more, the last one possibly of one («물»). A word the shop never uses stays unknown."""
    reachable = [True] + [False] * len(noun)  # reachable[i]: noun[:i] is known words joined
    for end in range(2, len(noun) + 1):
        reachable[end] = any(reachable[start] and noun[start:end] in tokens
                             for start in range(0, end - 1))
    if reachable[-1]:
        return True
    return len(noun) >= 3 and reachable[-2] and noun[-1] in tokens


_active = LearnedAnswer.active.is_(True)
# built once: SQLAlchemy reuses its compiled form (it runs before every search)
_DB_SIGNATURE = select(
    select(func.count()).select_from(ManualArticle).scalar_subquery(),
    select(func.max(ManualArticle.updated_at)).scalar_subquery(),
    select(func.max(ManualArticle.created_at)).scalar_subquery(),
    select(func.count()).select_from(LearnedAnswer).where(_active).scalar_subquery(),
    select(func.max(LearnedAnswer.id)).where(_active).scalar_subquery(),
)


class KnowledgeBase:
    """One per database per process (see `get_knowledge`). Thread-safe."""

    def __init__(self, settings: Settings, *, embeddings: CachedEmbeddings | None = None,
                 fusion: FusionConfig | None = None) -> None:
        self.settings = settings
        if not settings.database_url:
            settings.ensure_data_dir()
        self.engine: Engine = get_engine(settings.resolved_database_url)
        self.embeddings = embeddings or get_embeddings(settings)
        self.fusion = fusion or FusionConfig.load()
        ns_source = f"{settings.resolved_database_url}|{self.embeddings.model_name}|{INDEX_VERSION}"
        self.namespace = hashlib.sha256(ns_source.encode()).hexdigest()[:16]
        self.index_dir = Path(settings.data_dir) / "knowledge" / self.namespace
        self.collection_name = f"sajang_{self.namespace}"
        self._lock = threading.RLock()  # the writers: refresh, rebuild, the compounds' registration
        self._index = _empty_index()
        # what the shop talks about, for `SearchResult.unknown_terms` (see `_Vocabulary`); a new one replaces
        # it whenever the index or the catalogue changes, so a search reads it without the index lock
        self._vocabulary = _Vocabulary(frozenset(), "", "", {})
        self._vocabulary_lock = threading.Lock()  # the two writers: `_publish` and the catalogue reload
        self._catalogue_lock = threading.Lock()  # one catalogue reload at a time
        self._catalogue_at = -math.inf
        self._product_kinds: dict[str, str] = {}  # a product's own word («찜기») → its category («주방용품»)
        self._product_words: frozenset[str] = frozenset()  # each name's head noun («왕만두»), with or without a category
        # compound words of each manual article (by content hash) and of the catalogue, for the spacing of
        # customers' messages (`register_shop_words`)
        self._compounds: dict[str, frozenset[str]] = {}
        self._catalogue_names: tuple[str, ...] = ()
        self._catalogue_compounds: frozenset[str] = frozenset()
        self._signature: tuple[Any, ...] | None = None
        self._store = self._make_store()
        self._load_manifest()

    @property
    def _docs(self) -> dict[str, _Doc]:
        return self._index.docs

    @property
    def _chunks(self) -> dict[str, _Chunk]:
        return self._index.chunks

    # -- stores --------------------------------------------------------------------------------------
    def _make_store(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        url = self.settings.chroma_url
        if url:
            from urllib.parse import urlparse

            parsed = urlparse(url if "://" in url else f"http://{url}")
            client = chromadb.HttpClient(host=parsed.hostname or "127.0.0.1",
                                         port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                                         ssl=parsed.scheme == "https", settings=chroma_settings)
        else:
            path = Path(self.settings.data_dir) / "chroma"
            path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        return Chroma(client=client, collection_name=self.collection_name, embedding_function=self.embeddings,
                      collection_metadata={"hnsw:space": "cosine"})

    @property
    def _collection(self) -> Any:
        return self._store._collection

    def _manifest_path(self) -> Path:
        return self.index_dir / "manifest.json"

    def _load_manifest(self) -> None:
        """Load the persisted lexical index; if the vector store lost its vectors, refill it."""
        path = self._manifest_path()
        if not path.exists():
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # a broken manifest is rebuilt from the DB on the next search
        if data.get("version") != INDEX_VERSION or data.get("model") != self.embeddings.model_name:
            return
        self._load_bm25({k: _Doc(**v) for k, v in data["docs"].items()},
                        {c["id"]: _Chunk(**c) for c in data["chunks"]})
        try:
            stored = self._on_collection(lambda: self._collection.count())
        except Exception:  # any store error means: refill from our chunks
            stored = -1
        if stored != len(self._chunks):
            # lost vectors, or another process's too (a shared collection, newer than this manifest): put ours
            # back, deleting nothing (dropping the collection would cut the other processes' handles to it)
            self._upsert_vectors(list(self._chunks.values()))

    def _save_manifest(self) -> None:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        data = {"version": INDEX_VERSION, "model": self.embeddings.model_name,
                "docs": {k: asdict(d) for k, d in self._docs.items()},
                "chunks": [asdict(c) for c in self._chunks.values()]}
        tmp = self._manifest_path().with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self._manifest_path())
        self._save_bm25()

    def _load_bm25(self, docs: dict[str, _Doc], chunks: dict[str, _Chunk]) -> None:
        import bm25s

        order = list(docs)
        bm_dir = self.index_dir / "bm25"
        ids_path = bm_dir / "doc_keys.json"
        if ids_path.exists():
            try:
                if json.loads(ids_path.read_text(encoding="utf-8")) == order:
                    self._publish(docs, chunks, bm25s.BM25.load(str(bm_dir)) if order else None)
                    return
            except (OSError, ValueError):
                pass
        self._build_bm25(docs, chunks)

    def _save_bm25(self) -> None:
        bm_dir = self.index_dir / "bm25"
        bm_dir.mkdir(parents=True, exist_ok=True)
        index = self._index
        if index.bm25 is not None:
            index.bm25.save(str(bm_dir))
        (bm_dir / "doc_keys.json").write_text(json.dumps(index.doc_keys, ensure_ascii=False), encoding="utf-8")

    def _publish(self, docs: dict[str, _Doc], chunks: dict[str, _Chunk], bm25: Any) -> None:
        """Make (docs, chunks, bm25) the index searches read, with its view and the vocabulary."""
        doc_keys = list(docs)
        doc_index = {k: i for i, k in enumerate(doc_keys)}
        view = IndexView(
            doc_kinds=[docs[k].kind for k in doc_keys],
            chunk_doc={c.id: doc_index[c.doc] for c in chunks.values()},
            chunk_role={c.id: c.role for c in chunks.values()},
            doc_langs=[text_language(f"{d.title} {d.body[:400]}") for d in docs.values()],
        )
        self._index = _Index(docs, chunks, doc_keys, view, bm25)
        tokens = frozenset(t for c in chunks.values() for t in c.tokens)
        documents = "\n".join(f"{d.title}\n{d.body}" for d in docs.values())
        with self._vocabulary_lock:
            self._vocabulary = _Vocabulary(tokens, documents, self._vocabulary.catalogue, {})
        self._register_compounds()

    def _register_compounds(self) -> None:
        """The compounds of the manual's Korean articles and of the product names, kept whole when a
        customer's unspaced message is spaced (`normalize_for_shop`). Each article is analysed once."""
        manual = {d.hash: d for d in self._docs.values() if d.kind == "manual"}
        for key in set(self._compounds) - set(manual):
            del self._compounds[key]
        for key, doc in manual.items():
            if key not in self._compounds:
                body = doc.body if text_language(doc.body[:400]) == "ko" else ""
                self._compounds[key] = frozenset(compound_words([doc.title, body]))
        words = frozenset().union(self._catalogue_compounds, *self._compounds.values())
        register_shop_words(self.settings.data_dir, words)

    def _reload_catalogue(self) -> None:
        """The names and descriptions of the products on sale or sold out, into the vocabulary: at the first
        search, then at most every `CATALOGUE_TTL_S` (a product import is another process). Outside the index
        lock: searches go on meanwhile; a search that finds another reload running does not wait for it."""
        if not self._catalogue_lock.acquire(blocking=False):
            return
        try:
            with autocommit_connection(self.engine) as conn:
                rows = list(conn.execute(select(Product.name, Product.description, Product.category)
                                         .where(Product.status != "hidden")))
            products = [(name, desc) for name, desc, _category in rows]
            kinds = product_kinds_of([(name, category) for name, _desc, category in rows if category])
            # a name also without its spaces: «고기왕만두» is the shop's «고기 왕만두», typed together
            catalogue = "\n".join(f"{name}\n{''.join(name.split())}\n{desc or ''}" for name, desc in products)
            with self._vocabulary_lock:
                self._vocabulary = self._vocabulary._replace(catalogue=catalogue, known={})
                self._product_kinds = kinds
                self._product_words = frozenset(words[-1] for name, _desc in products if (words := name_words(name)))
            names = tuple(sorted(name for name, _desc in products))
            if names != self._catalogue_names:  # Kiwi reads the names again only when they changed
                self._catalogue_names = names
                self._catalogue_compounds = frozenset(compound_words(names))
                with self._lock:
                    self._register_compounds()
            self._catalogue_at = time.monotonic()
        finally:
            self._catalogue_lock.release()

    def product_kinds(self) -> dict[str, str]:
        """The catalogue's products by their own word («찜기», «주방세제», «왕만두») with their category («주방용품»,
        «생활용품», «냉동식품»): the kind of goods a manual rule is written for («사용한 주방용품은 …»)."""
        if time.monotonic() - self._catalogue_at > CATALOGUE_TTL_S:
            self._reload_catalogue()
        return self._product_kinds

    def product_words(self) -> frozenset[str]:
        """The head noun of each product name on sale or sold out («고기 왕만두 (1.4kg)» → 왕만두, «명절 한우 선물세트»
        → 한우): what a customer calls the product, with or without the shop's category of it."""
        if time.monotonic() - self._catalogue_at > CATALOGUE_TTL_S:
            self._reload_catalogue()
        return self._product_words

    @staticmethod
    def _doc_tokens(doc: _Doc, chunks: dict[str, _Chunk]) -> list[str]:
        out: list[str] = []
        for cid in doc.chunk_ids:
            out.extend(with_bigrams(chunks[cid].tokens))
        return out

    def _build_bm25(self, docs: dict[str, _Doc], chunks: dict[str, _Chunk]) -> None:
        """BM25 over whole articles (title + body, i.e. every passage's morphemes): on help-centre data
        it ranks better than passage-level BM25; passages still give the quoted text."""
        import bm25s

        bm = None
        if docs:
            bm = bm25s.BM25(k1=self.fusion.bm25_k1, b=self.fusion.bm25_b)
            # bm25s needs at least one token per document; an empty one gets a placeholder.
            bm.index([self._doc_tokens(d, chunks) or ["\x00"] for d in docs.values()], show_progress=False)
        self._publish(docs, chunks, bm)

    def _reset_collection(self) -> None:
        with contextlib.suppress(Exception):  # a missing collection is fine
            self._store._client.delete_collection(self.collection_name)
        self._store = self._make_store()

    def _on_collection(self, op: Callable[[], _T]) -> _T:
        """`op` on the collection; when the collection was dropped under this process (another process's
        rebuild, a Chroma server that lost its data), open it again, put this process's vectors back, retry."""
        from chromadb.errors import NotFoundError

        try:
            return op()
        except NotFoundError:
            log.warning("Chroma collection %s was gone: opened again, %d vectors put back",
                        self.collection_name, len(self._chunks))
            self._store = self._make_store()
            self._add_texts(list(self._chunks.values()))
            return op()

    def _add_texts(self, chunks: list[_Chunk], docs: dict[str, _Doc] | None = None) -> None:
        """`chunks`' vectors into the collection; `docs`: their documents (default: the published index's)."""
        docs = self._docs if docs is None else docs
        for start in range(0, len(chunks), 1000):
            part = chunks[start : start + 1000]
            self._store.add_texts(
                [c.text for c in part],
                metadatas=[{"doc": c.doc, "kind": docs[c.doc].kind, "role": c.role} for c in part],
                ids=[c.id for c in part],
            )

    def _upsert_vectors(self, chunks: list[_Chunk], docs: dict[str, _Doc] | None = None) -> None:
        self._on_collection(lambda: self._add_texts(chunks, docs))

    def _delete_vectors(self, ids: list[str]) -> None:
        def delete() -> None:
            for start in range(0, len(ids), 1000):
                self._store.delete(ids=ids[start : start + 1000])

        self._on_collection(delete)

    # -- DB → indexes --------------------------------------------------------------------------------
    def _db_signature(self) -> tuple[Any, ...]:
        """One round trip: counts and newest stamps of articles and active learned answers."""
        # autocommit: one statement, no BEGIN / ROLLBACK round trips (this runs before every search)
        with autocommit_connection(self.engine) as conn:
            return tuple(conn.execute(_DB_SIGNATURE).one())

    def _db_docs(self) -> dict[str, _Doc]:
        docs: dict[str, _Doc] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(select(ManualArticle.id, ManualArticle.title, ManualArticle.body,
                                           ManualArticle.category, ManualArticle.content_hash)):
                docs[f"manual:{row.id}"] = _Doc(f"manual:{row.id}", "manual", row.id, row.title, row.body,
                                                row.category, row.content_hash)
            for learned in conn.execute(select(LearnedAnswer.id, LearnedAnswer.question, LearnedAnswer.answer,
                                               LearnedAnswer.category).where(LearnedAnswer.active.is_(True))):
                key = f"learned:{learned.id}"
                docs[key] = _Doc(key, "learned", key, learned.question, learned.answer, learned.category,
                                 _sha(learned.question, learned.answer, learned.category or ""))
        return docs

    def refresh(self, *, force: bool = False) -> dict[str, int]:
        """Bring the indexes to the DB state; only changed documents are re-chunked and re-indexed."""
        # the usual case, nothing changed, is decided outside the lock: concurrent searches must not
        # queue behind each other's database round trip
        if not force and self._db_signature() == self._signature:
            return {"added": 0, "updated": 0, "removed": 0, "unchanged": len(self._docs), "embedded": 0}
        with self._lock:
            sig = self._db_signature()
            if not force and sig == self._signature:
                return {"added": 0, "updated": 0, "removed": 0, "unchanged": len(self._docs), "embedded": 0}
            before = self.embeddings.stats.texts_embedded
            target = self._db_docs()
            # the next index, built beside the published one (searches go on reading that one)
            docs, chunks = dict(self._index.docs), dict(self._index.chunks)
            removed = [k for k in docs if k not in target]
            added = [k for k in target if k not in docs]
            updated = [k for k in target if k in docs and docs[k].hash != target[k].hash]
            stale_chunks: list[str] = []
            for key in removed + updated:
                stale_chunks.extend(docs[key].chunk_ids)
                del docs[key]
            new_chunks: list[_Chunk] = []
            for key in added + updated:
                doc = target[key]
                digest = hashlib.sha256(key.encode()).hexdigest()[:12]
                doc.chunk_ids = []
                for i, (role, text) in enumerate(_doc_chunks(doc)):
                    cid = f"{digest}:{doc.hash[:12]}:{i}"
                    doc.chunk_ids.append(cid)
                    # Only passages feed BM25; the title and whole-article views are dense-only.
                    toks = tokenize(text) if role in ("body", "question") else []
                    new_chunks.append(_Chunk(cid, key, text, toks, role))
                docs[key] = doc
            for cid in stale_chunks:
                chunks.pop(cid, None)
            for c in new_chunks:
                chunks[c.id] = c
            if stale_chunks:
                self._delete_vectors(stale_chunks)
            if new_chunks:
                self._upsert_vectors(new_chunks, docs)
            if stale_chunks or new_chunks or force or self._index.bm25 is None:
                self._build_bm25(docs, chunks)
                self._save_manifest()
            self._signature = sig
            return {"added": len(added), "updated": len(updated), "removed": len(removed),
                    "unchanged": len(target) - len(added) - len(updated),
                    "embedded": self.embeddings.stats.texts_embedded - before}

    def rebuild(self) -> dict[str, Any]:
        """Drop both indexes and build them again from the DB (vectors come from the embedding cache)."""
        with self._lock:
            self._index = _empty_index()
            self._signature = None
            self._reset_collection()
            summary = self.refresh(force=True)
            return {"documents": len(self._docs), "chunks": len(self._chunks),
                    "embedded": summary["embedded"], "model": self.embeddings.model_name,
                    "collection": self.collection_name}

    def stats(self) -> dict[str, Any]:
        index = self._index
        kinds: dict[str, int] = {}
        for d in index.docs.values():
            kinds[d.kind] = kinds.get(d.kind, 0) + 1
        return {"documents": len(index.docs), "chunks": len(index.chunks), "by_kind": kinds,
                "collection": self.collection_name, "vectors": self._on_collection(lambda: self._collection.count())}

    # -- search --------------------------------------------------------------------------------------
    def search(self, query: str, k: int = 5, kinds: set[str] | None = None, *, mode: str = "hybrid",
               fresh: bool = True, language: str | None = None) -> SearchResult:
        """Top-k article-level hits for `query` and a calibrated confidence that hit 1 answers it.

        mode: hybrid (weighted score fusion, the default), rrf, lexical, dense. `language` ("ko" | "en"):
        only the documents written in it, when the index has some.
        """
        if fresh:
            self.refresh()
        query = without_greeting(query or "")
        index = self._index  # one state for the whole search, whatever `refresh` publishes meanwhile
        if not query or not index.chunks:
            return SearchResult(query, [], 0.0, mode)
        vocabulary = self._vocabulary
        lex = self._lexical_scores(index, query) if mode != "dense" else None
        dense = self._dense_scores(index, query, kinds) if mode != "lexical" else None
        ranked, feats = self._rank(index, query, mode, lex, dense, kinds, language=language)
        hits: list[Hit] = []
        for doc_idx, score, chunk_id in ranked[:k]:
            doc = index.docs[index.doc_keys[doc_idx]]
            text = doc.body if doc.kind == "learned" else self._passage(index, doc, chunk_id, lex)
            hits.append(Hit(doc.ref, doc.title, round(float(score), 4), doc.kind, text, doc.body, doc.category))
        if time.monotonic() - self._catalogue_at > CATALOGUE_TTL_S:
            self._reload_catalogue()
            vocabulary = self._vocabulary
        unknown = _unknown_terms(query, vocabulary)
        feats["unknown"] = float(bool(unknown))
        conf = calibrated_confidence(feats, self.fusion) if hits else 0.0
        return SearchResult(query, hits, round(conf, 4), mode, feats, unknown)

    @staticmethod
    def _passage(index: _Index, doc: _Doc, chunk_id: str | None, lex: tuple[np.ndarray, list[str]] | None) -> str:
        """The passage to quote: the best dense passage, else the one sharing most query morphemes."""
        chunks = index.chunks
        if chunk_id is None or chunks[chunk_id].role not in ("body",):
            body = [chunks[c] for c in doc.chunk_ids if chunks[c].role == "body"]
            if not body:
                return doc.body
            qt = set(lex[1]) if lex else set()
            best = max(body, key=lambda c: len(qt & set(c.tokens)))
            return best_passage(best.text, doc.title)
        return best_passage(chunks[chunk_id].text, doc.title)

    def _rank(self, index: _Index, query: str, mode: str, lex: tuple[np.ndarray, list[str]] | None,
              dense: list[tuple[str, float]] | None, kinds: set[str] | None, exclude: int | None = None,
              language: str | None = None) -> tuple[list[tuple[int, float, str | None]], dict[str, float]]:
        ranked, feats = fuse(mode, lex[0] if lex is not None else None, dense, index.view, self.fusion, kinds,
                             exclude, language)
        if ranked:
            qlist = lex[1] if lex is not None else tokenize(query)
            qtoks = set(qlist)
            feats["query_terms"] = math.log1p(len(qlist))
            if qtoks:
                doc = index.docs[index.doc_keys[ranked[0][0]]]
                dtoks: set[str] = set()
                for cid in doc.chunk_ids:
                    dtoks.update(index.chunks[cid].tokens)
                feats["coverage"] = len(qtoks & dtoks) / len(qtoks)
        return ranked, feats

    @staticmethod
    def _lexical_scores(index: _Index, query: str) -> tuple[np.ndarray, list[str]]:
        tokens = tokenize(query)
        if not tokens or index.bm25 is None:
            return np.zeros(len(index.doc_keys), dtype=np.float32), tokens
        return np.asarray(index.bm25.get_scores(with_bigrams(tokens)), dtype=np.float32), tokens

    def _dense_scores(self, index: _Index, query: str, kinds: set[str] | None) -> list[tuple[str, float]]:
        vec = self.embeddings.embed([query], "query", persist=False)[0]
        return self._dense_by_vector(index, vec, kinds)

    def _dense_by_vector(self, index: _Index, vec: np.ndarray, kinds: set[str] | None) -> list[tuple[str, float]]:
        n = min(DENSE_CHUNKS, len(index.chunks))
        where = {"kind": next(iter(kinds))} if kinds and len(kinds) == 1 else None
        res = self._on_collection(lambda: self._collection.query(query_embeddings=[vec.tolist()], n_results=n,
                                                                 where=where, include=["distances"]))
        ids = res["ids"][0]
        dists = res["distances"][0]
        return [(cid, 1.0 - float(d)) for cid, d in zip(ids, dists, strict=True)]

    # -- manual articles -----------------------------------------------------------------------------
    def sync_articles(self, articles: list[dict[str, Any]], source: str | None = None,
                      remove_missing: bool = False) -> dict[str, Any]:
        """Upsert articles (id, title, body, category[, source]) in one transaction, then index.

        Unchanged articles (same content hash) are not touched; with `remove_missing`, articles of the
        same `source` (a file, or a directory and everything below it; all when None) that are not in
        `articles` are removed.
        """
        from .ingest import validate_articles

        articles = validate_articles(articles)
        now = utcnow()
        counts = {"added": 0, "updated": 0, "unchanged": 0, "removed": 0}
        with session_scope(self.engine) as s:
            existing = {a.id: a for a in s.scalars(select(ManualArticle))}
            for art in articles:
                h = article_hash(art["title"], art["body"], art.get("category"))
                src = art.get("source") or source
                row = existing.get(art["id"])
                if row is None:
                    s.add(ManualArticle(id=art["id"], title=art["title"], body=art["body"],
                                        category=art.get("category"), content_hash=h, source=src,
                                        created_at=now, updated_at=now))
                    counts["added"] += 1
                elif row.content_hash != h:
                    row.title, row.body, row.category = art["title"], art["body"], art.get("category")
                    row.content_hash, row.source, row.updated_at = h, src, now
                    counts["updated"] += 1
                else:
                    if src and row.source != src:
                        row.source = src
                    counts["unchanged"] += 1
            if remove_missing:
                keep = {a["id"] for a in articles}
                for row in existing.values():
                    if row.id in keep:
                        continue
                    if source is None or row.source == source or (row.source or "").startswith(
                            source.rstrip("/") + "/"):
                        s.delete(row)
                        counts["removed"] += 1
            if counts["added"] or counts["updated"] or counts["removed"]:
                audit(s, "system", "manual.sync", "manual", source, **counts)
        index = self.refresh()
        return {**counts, "embedded": index["embedded"], "source": source}

    def import_manual_file(self, path: str | Path, mapping: dict[str, str] | None = None) -> dict[str, Any]:
        """Import one file (md, txt, json, jsonl, csv, pdf); re-importing it syncs that file's articles."""
        from .ingest import read_manual_file

        path = Path(path)
        articles = read_manual_file(path, mapping=mapping)
        src = str(path.resolve())
        return {**self.sync_articles(articles, source=src, remove_missing=True), "files": 1}

    def import_manual_dir(self, path: str | Path) -> dict[str, Any]:
        """Import every supported file below `path`; articles of files that are gone are removed."""
        from .ingest import read_manual_dir

        path = Path(path)
        articles, files = read_manual_dir(path)
        src = str(path.resolve())
        return {**self.sync_articles(articles, source=src, remove_missing=True), "files": files}

    def list_articles(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(ManualArticle.id, ManualArticle.title, ManualArticle.category,
                                       ManualArticle.source, ManualArticle.updated_at).order_by(ManualArticle.id))
            return [dict(r._mapping) for r in rows]

    def article_audiences(self) -> list[dict[str, Any]]:
        """Every article's id, title, category and whether its text says it is for agents only (front matter
        `audience: agents`, kept as `AGENTS_ONLY_MARK`): only the start of each body is read."""
        from .ingest import AGENTS_ONLY_MARK, is_agents_only

        head = func.substr(ManualArticle.body, 1, len(AGENTS_ONLY_MARK) + 200).label("head")
        with autocommit_connection(self.engine) as conn:
            rows = conn.execute(select(ManualArticle.id, ManualArticle.title, ManualArticle.category, head)
                                .order_by(ManualArticle.id)).all()
        return [{"id": r.id, "title": r.title, "category": r.category, "agents_only": is_agents_only(r.head or "")}
                for r in rows]

    def get_article(self, article_id: str) -> dict[str, Any] | None:
        with session_scope(self.engine) as s:
            row = s.get(ManualArticle, article_id)
            if row is None:
                return None
            return {"id": row.id, "title": row.title, "body": row.body, "category": row.category}

    # -- learned answers -----------------------------------------------------------------------------
    def add_learned(self, question: str, answer: str, author_name: str, author_id: int | None = None,
                    source_conversation_id: int | None = None, source_thread_id: str | None = None,
                    category: str | None = None) -> int:
        """Store an agent's correction; it ranks with the manual from the next search on."""
        question, answer = (question or "").strip(), (answer or "").strip()
        if not question or not answer:
            raise DataError("learned answer: question and answer must not be empty")
        if len(question) > 2000 or len(answer) > 10000:
            raise DataError("learned answer: question (2,000) or answer (10,000 chars) too long")
        with session_scope(self.engine) as s:
            row = LearnedAnswer(question=question, answer=answer, author_name=author_name, author_id=author_id,
                                source_conversation_id=source_conversation_id,
                                source_thread_id=source_thread_id, category=category, active=True)
            s.add(row)
            s.flush()
            audit(s, author_name, "learned.add", "learned_answer", row.id, thread_id=source_thread_id)
            new_id = int(row.id)
        self.refresh()
        return new_id

    def deactivate_learned(self, learned_id: int | str, actor: str) -> None:
        """Undo a learned answer: it is never returned again (the row stays for the audit trail)."""
        lid = int(str(learned_id).removeprefix("learned:"))
        with session_scope(self.engine) as s:
            row = s.get(LearnedAnswer, lid)
            if row is None:
                raise NotFound(f"learned answer {lid} not found")
            if row.active:
                row.active = False
                row.deactivated_at = utcnow()
                row.deactivated_by = actor
                audit(s, actor, "learned.deactivate", "learned_answer", lid)
        self.refresh()

    def list_learned(self, active_only: bool = False, query: str | None = None) -> list[dict[str, Any]]:
        stmt = select(LearnedAnswer).order_by(LearnedAnswer.id.desc())
        if active_only:
            stmt = stmt.where(LearnedAnswer.active.is_(True))
        if query:
            like = f"%{query.strip()}%"
            stmt = stmt.where(LearnedAnswer.question.ilike(like) | LearnedAnswer.answer.ilike(like))
        with session_scope(self.engine) as s:
            return [
                {"id": r.id, "hit_id": f"learned:{r.id}", "question": r.question, "answer": r.answer,
                 "category": r.category, "active": r.active, "author_name": r.author_name,
                 "author_id": r.author_id, "source_conversation_id": r.source_conversation_id,
                 "source_thread_id": r.source_thread_id, "created_at": r.created_at,
                 "deactivated_at": r.deactivated_at, "deactivated_by": r.deactivated_by}
                for r in s.scalars(stmt)
            ]

    # -- batch helpers for evaluation ------------------------------------------------------------------
    def search_many(self, queries: Iterable[str], k: int = 5, modes: Iterable[str] = ("hybrid",),
                    exclude: list[str] | None = None, language: str | None = None,
                    ) -> dict[str, list[tuple[SearchResult, float]]]:
        """Run each query in each mode; query vectors are embedded once in a batch (and cached).
        Returns mode → [(result, seconds)] where seconds excludes the shared query embedding.
        `exclude[i]`: a hit id left out of query i's ranking (for calibration); `language` as in `search`."""
        queries = list(queries)
        modes = list(modes)
        self.refresh()
        index = self._index
        doc_idx = {index.docs[key].ref: i for i, key in enumerate(index.doc_keys)}
        vecs = self.embeddings.embed(queries, "query") if any(m != "lexical" for m in modes) else None
        out: dict[str, list[tuple[SearchResult, float]]] = {m: [] for m in modes}
        for i, q in enumerate(queries):
            for mode in modes:
                t0 = time.perf_counter()
                lex = self._lexical_scores(index, q) if mode != "dense" else None
                dense = self._dense_by_vector(index, vecs[i], None) if vecs is not None and mode != "lexical" else None
                ex = doc_idx.get(exclude[i]) if exclude else None
                ranked, feats = self._rank(index, q, mode, lex, dense, None, ex, language)
                hits = [Hit(index.docs[index.doc_keys[d]].ref, index.docs[index.doc_keys[d]].title,
                            float(sc), index.docs[index.doc_keys[d]].kind, "", "")
                        for d, sc, _row in ranked[:k]]
                feats["unknown"] = float(bool(_unknown_terms(q, self._vocabulary)))
                conf = calibrated_confidence(feats, self.fusion) if hits else 0.0
                out[mode].append((SearchResult(q, hits, conf, mode, feats), time.perf_counter() - t0))
        return out


_kbs: dict[tuple[str, str, str | None], KnowledgeBase] = {}
_kbs_lock = threading.Lock()


def read_chat(settings: Settings, text: str) -> NormalizedMessage:
    """`normalize_for_shop` with the shop's words known: they are registered when the knowledge base first loads its
    index, which a process otherwise does at its first search, after the first message was read (that message was
    spaced without them: «상품 준비 중이에요», every later one «상품준비 중이에요»)."""
    if not shop_words_registered(settings.data_dir):
        get_knowledge(settings).refresh()
    return normalize_for_shop(text, settings.data_dir, settings.chat_lexicon)


def get_knowledge(settings: Settings) -> KnowledgeBase:
    """The knowledge base of this database (one per DB URL, data dir and vector store per process)."""
    key = (settings.resolved_database_url, str(Path(settings.data_dir).resolve()), settings.chroma_url)
    with _kbs_lock:
        kb = _kbs.get(key)
        if kb is None:
            kb = _kbs[key] = KnowledgeBase(settings)
    return kb


def reset_knowledge_cache() -> None:
    """Forget the per-process knowledge bases (a restart; tests use it)."""
    with _kbs_lock:
        _kbs.clear()
