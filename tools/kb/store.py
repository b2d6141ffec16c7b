"""The knowledge base: one Qdrant collection with named sparse (BM25 views) and dense vectors.

The same code talks to the embedded store (Qdrant's engine in this process, `edge.py`: one
process per store) and to a Qdrant server or cluster (qdrant-client); both search with Qdrant's
own indexes. Corpus statistics live in a companion collection (`stats.py`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np
from qdrant_client import models

from tools.ingest.documents import DEFAULT_COLLECTION, Chunk, DocKey, DocRef, Document
from tools.ingest.metadata import payload_problem
from tools.kb.edge import edge_filter
from tools.kb.embedders import Embedder, QueryCache
from tools.kb.filters import scoped_filter
from tools.kb.qdrant import StoreError
from tools.kb.sparse import VIEWS, BM25Encoder
from tools.kb.stats import CorpusStats, CorpusStatsStore, StatsDelta

log = logging.getLogger(__name__)

DENSE_VIEW = "dense"
UpsertStatus = Literal["added", "replaced", "unchanged"]


@dataclass
class _Stored:
    """What the store holds of one document."""

    content_hash: str | None
    point_ids: list[str] = field(default_factory=list)
    tokens: dict[str, int] = field(default_factory=dict)
    expected: int | None = None  # the chunks it was written with (None: an older write)

    @property
    def complete(self) -> bool:
        """All its chunks are there: a write cut short (a killed process) left fewer."""
        return self.expected is None or len(self.point_ids) == self.expected


_CATALOGUE_FIELDS = ["doc_id", "collection", "content_hash", "n_tokens", "doc_chunks"]


def _key_of(payload: Mapping[str, Any]) -> DocKey:
    return (payload.get("collection") or DEFAULT_COLLECTION, payload["doc_id"])


def _add_point(docs: dict[DocKey, _Stored], point_id: str, payload: Mapping[str, Any]) -> None:
    entry = docs.setdefault(_key_of(payload), _Stored(payload.get("content_hash")))
    entry.point_ids.append(point_id)
    entry.expected = payload.get("doc_chunks", entry.expected)
    for view, n in (payload.get("n_tokens") or {}).items():
        entry.tokens[view] = entry.tokens.get(view, 0) + n


T = TypeVar("T")


def _slices(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class KnowledgeBase:
    def __init__(
        self,
        client: Any,  # qdrant-client's QdrantClient, or the embedded store's EdgeClient
        collection: str,
        encoder: BM25Encoder,
        embedder: Embedder | None = None,
        local: bool = True,
        query_cache_size: int = 4096,
    ) -> None:
        """`local`: the store runs in this process (embedded), which is then its only user."""
        self.client = client
        self.collection = collection
        self.encoder = encoder
        self.embedder = embedder
        self.is_local = local
        # One process owns an embedded store: its writes are serialised here.
        self._lock: AbstractContextManager[Any] = threading.RLock() if local else nullcontext()
        self._queries = QueryCache(embedder, query_cache_size) if embedder else None
        # Embedded: this process is the only writer, so the catalogue of documents and the
        # corpus statistics are kept here instead of scanning payloads for every write.
        self._docs: dict[DocKey, _Stored] | None = None
        self._stats: CorpusStats | None = None
        with self._lock:
            self.stats_store = CorpusStatsStore(client, f"{collection}_meta")
            self._ensure_collection()

    # -- collection ----------------------------------------------------------------------
    def _ensure_collection(self) -> None:
        if not self.client.collection_exists(self.collection):
            vectors = (
                {
                    DENSE_VIEW: models.VectorParams(
                        size=self.embedder.dim, distance=models.Distance.COSINE
                    )
                }
                if self.embedder
                else {}
            )
            self.client.create_collection(
                self.collection,
                vectors_config=vectors,
                sparse_vectors_config={
                    view: models.SparseVectorParams(modifier=models.Modifier.IDF) for view in VIEWS
                },
            )
            for key in ("doc_id", "source", "collection"):
                self.client.create_payload_index(
                    self.collection, key, models.PayloadSchemaType.KEYWORD
                )
            if self.embedder:
                self.stats_store.remember_build({"dense_model": self.embedder.name})
            log.info("created collection %s (dense: %s)", self.collection, bool(self.embedder))
        info = self.client.get_collection(self.collection)
        params = info.config.params.vectors
        dense_params = params.get(DENSE_VIEW) if isinstance(params, dict) else None
        self.has_dense = False
        if self.embedder is not None:
            self._check_dense(self.embedder, dense_params)
            self.has_dense = dense_params is not None
        sparse = info.config.params.sparse_vectors or {}
        self.sparse_views = tuple(v for v in VIEWS if v in sparse)
        missing = [v for v in VIEWS if v not in sparse]
        if missing:
            log.warning(
                "collection %s has no %s vectors (built by an older version): those views are "
                "off until the documents are re-ingested into a new collection",
                self.collection,
                ", ".join(missing),
            )

    def _check_dense(self, embedder: Embedder, params: models.VectorParams | None) -> None:
        if params is None:
            log.warning(
                "collection %s was built without dense vectors: dense retrieval off until the "
                "documents are re-ingested into a new collection",
                self.collection,
            )
            return
        if params.size != embedder.dim:
            raise StoreError(
                f"collection {self.collection} holds {params.size}-dim vectors but the "
                f"dense embedder {embedder.name} makes {embedder.dim}: use another "
                "qdrant.collection or the embedder the collection was built with"
            )
        built_with = self.stats_store.built_with().get("dense_model")
        if built_with and built_with != embedder.name:
            log.warning(
                "collection %s was embedded with %s, the configured embedder is %s: dense "
                "scores compare different models until the documents are re-ingested",
                self.collection,
                built_with,
                embedder.name,
            )

    def close(self) -> None:
        self.client.close()

    def _catalogue(self, point_id: str, payload: Mapping[str, Any]) -> None:
        assert self._docs is not None
        _add_point(self._docs, point_id, payload)

    # -- corpus statistics and version ---------------------------------------------------
    def stats(self) -> CorpusStats:
        with self._lock:
            if not self.is_local:
                # Not recounted here: another process may be between its points and its delta.
                return self.stats_store.read()
            if self._stats is None:
                self._stats = self._reconciled(self.stats_store.read())
            return self._stats

    def _reconciled(self, stats: CorpusStats) -> CorpusStats:
        """Statistics that agree with the points. A write cut short between storing its points
        and recording its delta leaves them off, and BM25's length normalisation drifts: when
        the chunk count disagrees with the store, they are recounted from the points (embedded:
        this process is the only writer; checked when the store is opened)."""
        actual = self.client.count(self.collection, exact=True).count
        if actual == stats.chunks:
            return stats
        tokens: dict[str, int] = {}
        for point in self._scroll(with_payload=["n_tokens"]):
            for view, n in ((point.payload or {}).get("n_tokens") or {}).items():
                tokens[view] = tokens.get(view, 0) + n
        views = set(tokens) | set(stats.tokens)
        delta = StatsDelta(
            actual - stats.chunks, {v: tokens.get(v, 0) - stats.tokens.get(v, 0) for v in views}
        )
        log.warning(
            "corpus statistics said %d chunks, the store holds %d: recounted", stats.chunks, actual
        )
        self.stats_store.record(delta)
        return CorpusStats(stats.version + 1, actual, tokens)

    @property
    def backend(self) -> str:
        return "qdrant-edge" if self.is_local else "qdrant-server"

    @property
    def corpus_version(self) -> int:
        with self._lock:
            return self.stats_store.version() if not self.is_local else self.stats().version

    def count(self) -> int:
        with self._lock:
            return self.client.count(self.collection, exact=True).count

    def _written(self, delta: StatsDelta) -> None:
        self.stats_store.record(delta)
        if self._stats is not None:  # the embedded store: the new totals follow from the delta
            tokens = dict(self._stats.tokens)
            for view, n in delta.tokens.items():
                tokens[view] = tokens.get(view, 0) + n
            self._stats = CorpusStats(
                self._stats.version + 1, self._stats.chunks + delta.chunks, tokens
            )

    # -- writes --------------------------------------------------------------------------
    def _load_catalogue(self) -> dict[DocKey, _Stored]:
        """Embedded: what each stored document holds, read once, on the first write."""
        self._docs = {}
        for point in self._scroll(with_payload=_CATALOGUE_FIELDS):
            self._catalogue(str(point.id), point.payload or {})
        return self._docs

    def _existing(self, documents: Sequence[DocKey]) -> dict[DocKey, _Stored]:
        """What the store holds of these (collection, doc id) documents, by key."""
        keys = set(documents)
        if self.is_local:
            docs = self._docs if self._docs is not None else self._load_catalogue()
            return {k: docs[k] for k in keys if k in docs}
        found: dict[DocKey, _Stored] = {}
        ids = sorted({d for _, d in documents})
        flt = models.Filter(
            must=[models.FieldCondition(key="doc_id", match=models.MatchAny(any=ids))]
        )
        for point in self._scroll(scroll_filter=flt, with_payload=_CATALOGUE_FIELDS):
            if _key_of(point.payload or {}) in keys:
                _add_point(found, str(point.id), point.payload or {})
        return found

    def _scroll(self, **kwargs: Any) -> Iterator[models.Record]:
        """Every point of the collection (matching `scroll_filter`), page by page."""
        offset = None
        while True:
            points, offset = self.client.scroll(
                self.collection, limit=2048, offset=offset, **kwargs
            )
            yield from points
            if offset is None:
                return

    def _delete_points(self, keys: Sequence[DocKey], point_ids: Sequence[str]) -> None:
        self.client.delete(
            self.collection, points_selector=models.PointIdsList(points=list(point_ids))
        )
        if self._docs is not None:
            for key in keys:
                self._docs.pop(key, None)

    def upsert(
        self,
        batch: Sequence[tuple[Document, Sequence[Chunk]]],
        on_embedded: Callable[[int], None] | None = None,
    ) -> dict[DocKey, UpsertStatus]:
        """Add or replace documents; an unchanged document (same content hash) is left alone
        (and not embedded again). `on_embedded` hears how many chunks each embedding batch did."""
        if not batch:
            return {}
        # Each document's hash once (it reads the whole text), not once per chunk.
        hashes = {doc.key: doc.content_hash for doc, _ in batch}
        with self._lock:
            statuses, todo, _ = self._plan(batch, hashes)
        if not todo:
            return statuses
        # The slow part (segmenting, embedding) holds no lock: questions are answered meanwhile.
        terms = {
            doc.key: [self.encoder.document_terms(c.title, c.text) for c in chunks]
            for doc, chunks in todo
        }
        flat = [c for _, chunks in todo for c in chunks]
        vectors = (
            self._embed([f"{c.title}. {c.text}" for c in flat], on_embedded)
            if self.has_dense
            else None
        )
        rows, offset = {}, 0
        for doc, chunks in todo:
            rows[doc.key] = range(offset, offset + len(chunks))
            offset += len(chunks)
        with self._lock:
            # Planned again: another writer may have stored one of these in the meantime.
            again, todo, existing = self._plan(todo, hashes)
            statuses.update(again)
            if todo:
                self._write(todo, existing, hashes, terms, vectors, rows)
        return statuses

    def _embed(self, texts: list[str], on_embedded: Callable[[int], None] | None) -> np.ndarray:
        assert self.embedder is not None
        out = []
        size = 32
        for start in range(0, len(texts), size):
            out.append(self.embedder.embed_passages(texts[start : start + size]))
            if on_embedded:
                on_embedded(len(texts[start : start + size]))
        return np.concatenate(out) if out else np.zeros((0, self.embedder.dim), np.float32)

    def _plan(
        self, batch: Sequence[tuple[Document, Sequence[Chunk]]], hashes: Mapping[DocKey, str]
    ) -> tuple[
        dict[DocKey, UpsertStatus], list[tuple[Document, Sequence[Chunk]]], dict[DocKey, _Stored]
    ]:
        """Each document's status, those to write (new, changed, or written in part), and what
        the store holds of them now."""
        existing = self._existing([(doc.collection, doc.doc_id) for doc, _ in batch])
        statuses: dict[DocKey, UpsertStatus] = {}
        todo: list[tuple[Document, Sequence[Chunk]]] = []
        for doc, chunks in batch:
            old = existing.get(doc.key)
            if old and not old.complete:
                log.warning(
                    "%s was written in part (%d of %d chunks): writing it again",
                    doc.doc_id,
                    len(old.point_ids),
                    old.expected,
                )
            if old and old.complete and old.content_hash == hashes[doc.key]:
                statuses[doc.key] = "unchanged"
            else:
                statuses[doc.key] = "replaced" if old else "added"
                todo.append((doc, chunks))
        return statuses, todo, existing

    def _write(
        self,
        todo: Sequence[tuple[Document, Sequence[Chunk]]],
        existing: Mapping[DocKey, _Stored],
        hashes: Mapping[DocKey, str],
        terms: Mapping[DocKey, list[dict[str, list[str]]]],
        vectors: np.ndarray | None,
        rows: Mapping[DocKey, range],
    ) -> None:
        """Store the planned documents (their old chunks removed) and the statistics' delta."""
        stats = self.stats()
        chunk_delta = 0
        token_delta: dict[str, int] = {}
        replaced_ids = [doc.key for doc, _ in todo if doc.key in existing]
        replaced = [existing[d] for d in replaced_ids]
        for old in replaced:
            chunk_delta -= len(old.point_ids)
            for view, n in old.tokens.items():
                token_delta[view] = token_delta.get(view, 0) - n
        for doc, _ in todo:
            for chunk_terms in terms[doc.key]:
                chunk_delta += 1
                for view, toks in chunk_terms.items():
                    token_delta[view] = token_delta.get(view, 0) + len(toks)
        after = CorpusStats(
            stats.version + 1,
            stats.chunks + chunk_delta,
            {
                v: stats.tokens.get(v, 0) + token_delta.get(v, 0)
                for v in set(stats.tokens) | set(token_delta)
            },
        )
        stale = [p for old in replaced for p in old.point_ids]
        if stale:
            self._delete_points(replaced_ids, stale)
        # Built and written a slice at a time: a large document never holds all its points
        # (vectors as Python lists) beside the store's own copy.
        for points in _slices(self._points(todo, hashes, terms, vectors, rows, after), 256):
            self.client.upsert(self.collection, points)
            if self._docs is not None:
                for point in points:
                    self._catalogue(str(point.id), point.payload or {})
        self._written(StatsDelta(chunk_delta, token_delta))
        self._vacuum()

    def _points(
        self,
        todo: Sequence[tuple[Document, Sequence[Chunk]]],
        hashes: Mapping[DocKey, str],
        terms: Mapping[DocKey, list[dict[str, list[str]]]],
        vectors: np.ndarray | None,
        rows: Mapping[DocKey, range],
        after: CorpusStats,
    ) -> Iterator[models.PointStruct]:
        for doc, chunks in todo:
            for chunk, chunk_terms, row in zip(chunks, terms[doc.key], rows[doc.key], strict=True):
                vector: dict[str, Any] = {
                    view: self.encoder.encode_document(toks, after.avg_len(view))
                    for view, toks in chunk_terms.items()
                    if view in self.sparse_views
                }
                if vectors is not None:
                    vector[DENSE_VIEW] = vectors[row].tolist()
                yield models.PointStruct(
                    id=chunk.point_id,
                    vector=vector,
                    payload={
                        "doc_id": doc.doc_id,
                        "collection": doc.collection,
                        "title": chunk.title,
                        "text": chunk.text,
                        "source": chunk.source,
                        "position": chunk.position,
                        "metadata": chunk.metadata,
                        "content_hash": hashes[doc.key],
                        "doc_chunks": len(chunks),
                        "n_tokens": {v: len(t) for v, t in chunk_terms.items()},
                        "ingested_at": time.time(),
                    },
                )

    def delete_document(self, ref: DocRef) -> int:
        """Remove a document's chunks; returns how many there were (0: no such document in
        that collection)."""
        with self._lock:
            old = self._existing([ref.key]).get(ref.key)
            if not old:
                return 0
            self._delete_points([ref.key], old.point_ids)
            self._written(StatsDelta(-len(old.point_ids), {v: -n for v, n in old.tokens.items()}))
            self._vacuum()
            return len(old.point_ids)

    def _vacuum(self) -> None:
        """Embedded: deleted and replaced points leave the segments now, so that IDF (which
        counts them until a vacuum) stays exact."""
        if self.is_local:
            self.client.optimize(self.collection)

    def unreadable_documents(self) -> dict[DocKey, str]:
        """Documents with a chunk that cannot be served (written by an older release that
        checked less), with the first reason: answers leave them out; an operator deletes or
        re-ingests them."""
        found: dict[DocKey, str] = {}
        with self._lock:
            for point in self._scroll(with_payload=True):
                payload = point.payload or {}
                key = _key_of({"doc_id": str(point.id), **payload})
                if key not in found and (problem := payload_problem(payload)):
                    found[key] = problem
        return found

    def list_documents(
        self, limit: int = 10_000, collections: Collection[str] | None = None
    ) -> list[dict[str, Any]]:
        """Documents (id, collection, title, source, chunks), of the given collections only
        when named."""
        with self._lock:
            docs: dict[DocKey, dict[str, Any]] = {}
            fields = ["doc_id", "collection", "title", "source", "content_hash"]
            for point in self._scroll(with_payload=fields):
                payload = {"collection": DEFAULT_COLLECTION, **(point.payload or {})}
                if collections is not None and payload["collection"] not in collections:
                    continue
                key = _key_of(payload)
                if key not in docs and len(docs) >= limit:
                    break
                entry = docs.setdefault(key, {**payload, "chunks": 0})
                entry["chunks"] += 1
            return sorted(docs.values(), key=lambda d: (d["collection"], d["doc_id"]))

    # -- reads ---------------------------------------------------------------------------
    def embed_query(self, text: str) -> np.ndarray:
        if self._queries is None:
            raise StoreError("no dense embedder is configured")
        return self._queries.embed_query(text)

    def check_filter(self, filters: Mapping[str, Any]) -> None:
        """FilterError unless this store can apply `filters` (the embedded store cannot match
        true/false values)."""
        built = scoped_filter(dict(filters), None)
        if self.is_local:
            edge_filter(built)

    def search(
        self,
        view: str,
        query: models.SparseVector | np.ndarray | Sequence[float],
        limit: int,
        filters: Mapping[str, Any] | None = None,
        collections: Collection[str] | None = None,
    ) -> list[tuple[str, float]]:
        """(point id, score) pairs, best first, as Qdrant's search would return them; only
        points of `collections` when given (None: every collection)."""
        if collections is not None and not collections:
            return []
        response = self.client.query_points(
            self.collection,
            query=query if isinstance(query, models.SparseVector) else np.asarray(query).tolist(),
            using=view,
            limit=limit,
            query_filter=scoped_filter(dict(filters) if filters else None, collections),
            with_payload=False,
        )
        return [(str(p.id), p.score) for p in response.points]

    def payloads(self, point_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        found = self.client.retrieve(self.collection, list(point_ids), with_payload=True)
        return {str(p.id): p.payload or {} for p in found}
