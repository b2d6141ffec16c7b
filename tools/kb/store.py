"""The knowledge base: one Qdrant collection with named sparse (BM25 views) and dense vectors.

The same code talks to the embedded store (Qdrant's engine in this process, `edge.py`: one
process per store) and to a Qdrant server or cluster (qdrant-client); both search with Qdrant's
own indexes. What the store holds is read by the catalogue (`catalogue.py`), writes are planned
by `writes.py`, corpus statistics live in a companion collection (`stats.py`).

A document can be written before its dense vectors exist (searchable through its sparse views
within seconds); its chunks are then marked `dense_pending` until `add_dense` (the backfill,
`backfill.py`, embeds them). Readers need only `search.PassageSearch`; where the two backends
differ is in `backends.py`.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from qdrant_client import models

from tools.corpus.documents import DocKey, DocRef, chunk_point_id
from tools.corpus.metadata import payload_problem
from tools.errors import StoreError
from tools.kb.backends import EmbeddedStore, StoreBackend
from tools.kb.catalogue import Catalogue, ListedDocument, StoredDocument
from tools.kb.embedders import Embedder, QueryCache
from tools.kb.filters import scoped_filter
from tools.kb.payload import ChunkPayload
from tools.kb.qdrant import DenseIndex
from tools.kb.search import DENSE_VIEW, passage_text
from tools.kb.sparse import VIEWS, BM25Encoder
from tools.kb.stats import CorpusStats, CorpusStatsStore, StatsDelta, applied
from tools.kb.writes import ChunkedDocument, EncodedDocument, UpsertStatus, delta_of, plan

log = logging.getLogger(__name__)

_INDEXED = ("doc_id", "source", "collection", "metadata.dieu")  # keyword payload indexes
_POINTS_PER_CALL = 256  # a large document never holds all its points beside the store's copy


@dataclass(frozen=True)
class PendingChunk:
    """A chunk waiting for its dense vector, as of one write: a vector computed for an older
    write of the same chunk id (the document replaced meanwhile) is not applied."""

    point_id: str
    key: DocKey
    write: int


def _slices(items: Iterator[models.PointStruct], size: int) -> Iterator[list[models.PointStruct]]:
    while batch := list(itertools.islice(items, size)):
        yield batch


class KnowledgeBase:
    def __init__(
        self,
        client: Any,  # qdrant-client's QdrantClient, or the embedded store's EdgeClient
        collection: str,
        encoder: BM25Encoder,
        embedder: Embedder | None = None,
        backend: StoreBackend | None = None,
        query_cache_size: int = 4096,
        embed_batch: int = 32,
        dense_index: DenseIndex | None = None,
    ) -> None:
        """`backend`: where the store runs (default: embedded in this process);
        `embed_batch`: passages per call to the embedder; `dense_index`: for a collection
        created now (an existing one keeps its own)."""
        self.client = client
        self.dense_index = dense_index or DenseIndex()
        self.collection = collection
        self.encoder = encoder
        self.embedder = embedder
        self.backend: StoreBackend = backend or EmbeddedStore()
        self.embed_batch = embed_batch
        self.catalogue = Catalogue(client, collection)
        self._lock = self.backend.lock()
        self._write_lock = threading.RLock()  # writes are serialised in this process
        self._queries = QueryCache(embedder, query_cache_size) if embedder else None
        self._pending: dict[str, PendingChunk] | None = None
        self._writes = 0
        with self._lock:
            self.stats_store = CorpusStatsStore(client, f"{collection}_meta")
            self._stats = self.backend.stats(self.stats_store, self._reconciled)
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
                hnsw_config=self.dense_index.hnsw_config(self.embedder.dim)
                if self.embedder
                else None,
            )
            if self.embedder:
                self.stats_store.remember_build({"dense_model": self.embedder.name})
            log.info("created collection %s (dense: %s)", self.collection, bool(self.embedder))
        # ensured on every open (a no-op when there): a store written by an older release
        # gets the index on an article's number that small-to-big looks chunks up by
        for key in _INDEXED:
            self.client.create_payload_index(self.collection, key, models.PayloadSchemaType.KEYWORD)
        info = self.client.get_collection(self.collection)
        params = info.config.params.vectors
        dense_params = params.get(DENSE_VIEW) if isinstance(params, dict) else None
        # the collection's own index decides (one created before keeps its graph, or none)
        graph = getattr(info.config, "hnsw_config", None)
        links = graph.m if graph is not None and graph.m is not None else 0
        if self.embedder is not None and links != self.dense_index.m:
            log.info(
                "collection %s was created with hnsw m=%d (qdrant.hnsw_m=%d applies to "
                "collections created from now on)",
                self.collection,
                links,
                self.dense_index.m,
            )
        # what every dense search sends (a benchmark sets exact=True to compare against it)
        self.dense_search = models.SearchParams(hnsw_ef=self.dense_index.ef, exact=links == 0)
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

    # -- corpus statistics and version ---------------------------------------------------
    def stats(self) -> CorpusStats:
        with self._lock:
            return self._stats.current()

    def _reconciled(self, stats: CorpusStats) -> CorpusStats:
        """Statistics that agree with the points. A write cut short between storing its points
        and recording its delta leaves them off, and BM25's length normalisation drifts: when
        the chunk count disagrees with the store, they are recounted from the points (by a
        backend whose process is the only writer; checked when the store is opened)."""
        actual = self.client.count(self.collection, exact=True).count
        if actual == stats.chunks:
            return stats
        tokens: dict[str, int] = {}
        for point in self.catalogue.scroll(with_payload=["n_tokens"]):
            for view, n in ChunkPayload.read(point.payload).n_tokens.items():
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
    def corpus_version(self) -> int:
        with self._lock:
            return self._stats.version()

    def count(self) -> int:
        with self._lock:
            return self.client.count(self.collection, exact=True).count

    def _written(self, delta: StatsDelta) -> None:
        self._stats.record(delta)

    # -- writes --------------------------------------------------------------------------
    def existing(self, keys: Sequence[DocKey]) -> dict[DocKey, StoredDocument]:
        with self._lock:
            return self.catalogue.existing(keys)

    def plan(
        self, batch: Sequence[ChunkedDocument]
    ) -> tuple[dict[DocKey, UpsertStatus], list[ChunkedDocument]]:
        """Each document's status and those that need writing (unchanged ones are never
        encoded or embedded again)."""
        return plan(batch, self.existing([item.key for item in batch]))

    def encode(self, batch: Sequence[ChunkedDocument]) -> list[EncodedDocument]:
        """Each chunk's sparse terms (word segmentation: the slow part of a sparse write)."""
        return [
            EncodedDocument(
                item, [self.encoder.document_counts(c.title, c.text) for c in item.chunks]
            )
            for item in batch
        ]

    def embed_passages(
        self, texts: Sequence[str], on_embedded: Callable[[int], None] | None = None
    ) -> np.ndarray:
        if self.embedder is None:
            raise StoreError("no dense embedder is configured")
        out = []
        size = self.embed_batch
        for start in range(0, len(texts), size):
            part = list(texts[start : start + size])
            out.append(self.embedder.embed_passages(part))
            if on_embedded:
                on_embedded(len(part))
        return np.concatenate(out) if out else np.zeros((0, self.embedder.dim), np.float32)

    def write(
        self,
        encoded: Sequence[EncodedDocument],
        vectors: np.ndarray | None = None,
        optimize: bool = True,
    ) -> dict[DocKey, UpsertStatus]:
        """Store encoded documents (their old chunks removed) and the statistics' delta.
        `vectors`: one dense vector per chunk, in order; None with a dense store: the chunks are
        searchable through their sparse views and wait for `add_dense`. `optimize`: the
        embedded store's segments are optimised after the write (smaller and faster to open);
        a writer of many documents in a row passes False and calls `optimize()` at the end (a
        write that replaced or deleted points is always vacuumed: IDF counts them until then)."""
        rows: dict[DocKey, int] = {}
        offset = 0
        for item in encoded:
            rows[item.key] = offset
            offset += len(item.chunked.chunks)
        with self._lock, self._write_lock:
            # Planned again: another writer may have stored one of these in the meantime.
            statuses, todo = self.plan([item.chunked for item in encoded])
            keep = {item.key for item in todo}
            todo_encoded = [item for item in encoded if item.key in keep]
            if todo_encoded:
                self._write(todo_encoded, vectors, rows, optimize)
        return statuses

    def _write(
        self,
        encoded: Sequence[EncodedDocument],
        vectors: np.ndarray | None,
        rows: Mapping[DocKey, int],
        optimize: bool,
    ) -> None:
        existing = self.catalogue.existing([item.key for item in encoded])
        replaced = [existing[item.key] for item in encoded if item.key in existing]
        delta = delta_of(encoded, replaced)
        after = applied(self.stats(), delta)
        stale = [p for old in replaced for p in old.point_ids]
        kept = self._kept_vectors(stale) if self.has_dense and vectors is None else {}
        if stale:
            self.client.delete(self.collection, points_selector=models.PointIdsList(points=stale))
        self._writes += 1
        waiting: list[tuple[str, DocKey]] = []
        points = self._points(encoded, vectors, rows, after, kept, waiting)
        for batch in _slices(points, _POINTS_PER_CALL):
            self.client.upsert(self.collection, batch)
            time.sleep(0)  # a large write lets the threads answering questions in between
        self._written(delta)
        if stale or optimize:
            self.optimize()
        if self._pending is not None:
            for point_id in stale:
                self._pending.pop(point_id, None)
            for point_id, key in waiting:
                self._pending[point_id] = PendingChunk(point_id, key, self._writes)

    def _kept_vectors(self, point_ids: Sequence[str]) -> dict[str, list[float]]:
        """The dense vectors of chunks about to be replaced, by what the dense view embedded
        (title and text): a chunk of the new version that says the same keeps its vector, so
        an edit embeds only the chunks it touched."""
        kept: dict[str, list[float]] = {}
        for start in range(0, len(point_ids), _POINTS_PER_CALL):
            found = self.client.retrieve(
                self.collection,
                list(point_ids[start : start + _POINTS_PER_CALL]),
                with_payload=True,
                with_vectors=True,
            )
            for record in found:
                payload = ChunkPayload.read(record.payload, str(record.id))
                vector = record.vector.get(DENSE_VIEW) if isinstance(record.vector, dict) else None
                if vector is not None and not payload.dense_pending:
                    kept[passage_text(payload)] = list(vector)
        return kept

    def _points(
        self,
        encoded: Sequence[EncodedDocument],
        vectors: np.ndarray | None,
        rows: Mapping[DocKey, int],
        after: CorpusStats,
        kept: Mapping[str, list[float]],
        waiting: list[tuple[str, DocKey]],
    ) -> Iterator[models.PointStruct]:
        """The points to write; a chunk of a dense store with no vector given nor kept is
        written waiting for one (added to `waiting`)."""
        now = time.time()
        for item in encoded:
            doc = item.chunked.document
            for i, (chunk, terms) in enumerate(zip(item.chunked.chunks, item.terms, strict=True)):
                vector: dict[str, Any] = {
                    view: self.encoder.weigh(counted, after.avg_len(view))
                    for view, counted in terms.items()
                    if view in self.sparse_views
                }
                pending = False
                if vectors is not None:
                    vector[DENSE_VIEW] = vectors[rows[item.key] + i].tolist()
                elif (same := kept.get(passage_text(chunk))) is not None:
                    vector[DENSE_VIEW] = same
                elif self.has_dense:
                    pending = True
                    waiting.append((chunk.point_id, item.key))
                payload = ChunkPayload(
                    doc_id=doc.doc_id,
                    collection=doc.collection,
                    title=chunk.title,
                    text=chunk.text,
                    source=chunk.source,
                    position=chunk.position,
                    metadata=chunk.metadata,
                    content_hash=item.chunked.content_hash,
                    doc_chunks=len(item.chunked.chunks),
                    n_tokens={v: t.length for v, t in terms.items()},
                    ingested_at=now,
                    dense_pending=int(pending),
                )
                yield models.PointStruct.model_construct(
                    id=chunk.point_id, vector=vector, payload=payload.stored()
                )

    # -- dense vectors written later -------------------------------------------------------
    def _waiting(self) -> dict[str, PendingChunk]:
        """The chunks waiting for a dense vector, in the order written (a rewritten chunk
        leaves and joins at the end); read from the store when first asked, so a restart
        resumes the backfill."""
        with self._lock:
            if self._pending is None:
                self._pending = {
                    point_id: PendingChunk(point_id, key, 0)
                    for point_id, key in self.catalogue.pending_dense().items()
                }
            return self._pending

    def pending_dense(self) -> list[PendingChunk]:
        """Chunks searchable through their sparse views only, oldest write first."""
        with self._lock:
            return list(self._waiting().values())

    def pending_ids(self) -> Collection[str]:
        """The ids of those chunks, as a live view: every search asks, so nothing is copied."""
        return self._waiting().keys()

    def passage_texts(self, point_ids: Sequence[str]) -> dict[str, str]:
        """What the dense view embeds of each chunk (title and text)."""
        return {pid: passage_text(p) for pid, p in self.payloads(point_ids).items()}

    def add_dense(self, chunks: Sequence[PendingChunk], vectors: np.ndarray) -> int:
        """Give waiting chunks their dense vectors; returns how many were still waiting (a
        chunk deleted or rewritten since is left alone). The corpus version moves on, so no
        answer computed before is served as if it were final."""
        with self._lock, self._write_lock:
            pending = self._waiting()
            rows = [
                (chunk, row)
                for row, chunk in enumerate(chunks)
                if (now := pending.get(chunk.point_id)) is not None and now.write == chunk.write
            ]
            if not rows:
                return 0
            self.client.update_vectors(
                self.collection,
                [
                    models.PointVectors(
                        id=chunk.point_id, vector={DENSE_VIEW: vectors[row].tolist()}
                    )
                    for chunk, row in rows
                ],
            )
            ids = [chunk.point_id for chunk, _ in rows]
            self.client.set_payload(self.collection, {"dense_pending": 0}, points=ids)
            for point_id in ids:
                pending.pop(point_id, None)
            self._written(StatsDelta(0, {}))
            return len(rows)

    def drop_pending(self, chunks: Sequence[PendingChunk]) -> None:
        """Forget waiting chunks that are gone from the store (deleted meanwhile)."""
        with self._lock:
            waiting = self._waiting()
            for chunk in chunks:
                waiting.pop(chunk.point_id, None)

    def delete_document(self, ref: DocRef, optimize: bool = True) -> int:
        """Remove a document's chunks; returns how many there were (0: no such document in
        that collection). `optimize`: as for `write` (a caller deleting many documents in a row
        passes False and calls `optimize()` once at the end)."""
        with self._lock, self._write_lock:
            old = self.catalogue.existing([ref.key]).get(ref.key)
            if not old:
                return 0
            self.client.delete(
                self.collection, points_selector=models.PointIdsList(points=old.point_ids)
            )
            if self._pending is not None:
                for point_id in old.point_ids:
                    self._pending.pop(point_id, None)
            self._written(StatsDelta(-len(old.point_ids), {v: -n for v, n in old.tokens.items()}))
            if optimize:
                self.optimize()
            return len(old.point_ids)

    def move_document(
        self,
        old: DocRef,
        new: DocRef,
        source: str,
        metadata: Mapping[str, Any],
        optimize: bool = True,
    ) -> bool:
        """A document under another id (a renamed file: the id follows the path), with its
        vectors as stored: nothing is embedded again; `new` may be `old` (its metadata only).
        `metadata` is merged into every chunk's.
        False when there is nothing to move, or a chunk still waits for its dense vector (the
        caller ingests the file again)."""
        with self._lock, self._write_lock:
            stored = self.catalogue.existing([old.key]).get(old.key)
            waiting = self._pending.keys() if self._pending is not None else ()
            if not stored or any(p in waiting for p in stored.point_ids):
                return False
            records = self.client.retrieve(
                self.collection, stored.point_ids, with_payload=True, with_vectors=True
            )
            points = []
            for record in records:
                payload = ChunkPayload.read(record.payload, str(record.id)).stored()
                payload.update(doc_id=new.doc_id, collection=new.collection, source=source)
                payload["metadata"] = {**payload["metadata"], **metadata}
                point_id = chunk_point_id(new.key, int(payload["position"]))
                points.append(
                    models.PointStruct(id=point_id, vector=record.vector, payload=payload)
                )
            self.client.upsert(self.collection, points)
            if new.key != old.key:
                self.client.delete(
                    self.collection, points_selector=models.PointIdsList(points=stored.point_ids)
                )
            self._written(StatsDelta(0, {}))
            if optimize:
                self.optimize()
            return True

    def optimize(self) -> None:
        """Deleted and replaced points leave the segments now, so that IDF (which counts them
        until a vacuum) stays exact, and new points move into optimised segments (embedded: it
        holds the interpreter about a second after 8,000 new chunks; a server does its own)."""
        with self._lock:
            self.backend.optimize(self.client, self.collection)

    def unreadable_documents(self) -> dict[DocKey, str]:
        """Documents with a chunk that cannot be served (written by an older release that
        checked less), with the first reason: answers leave them out; an operator deletes or
        re-ingests them."""
        found: dict[DocKey, str] = {}
        with self._lock:
            for point in self.catalogue.scroll(with_payload=True):
                payload = point.payload or {}
                key = ChunkPayload.read(payload, str(point.id)).key
                if key not in found and (problem := payload_problem(payload)):
                    found[key] = problem
        return found

    def list_documents(
        self, limit: int = 10_000, collections: Collection[str] | None = None
    ) -> list[ListedDocument]:
        """Documents (id, collection, title, source, chunks), of the given collections only
        when named."""
        with self._lock:
            return self.catalogue.documents(collections, limit)

    # -- reads ---------------------------------------------------------------------------
    def embed_query(self, text: str) -> np.ndarray:
        if self._queries is None:
            raise StoreError("no dense embedder is configured")
        return self._queries.embed_query(text)

    def check_filter(self, filters: Mapping[str, Any]) -> None:
        """FilterError unless this store can apply `filters` (the embedded store cannot match
        true/false values)."""
        self.backend.check_filter(scoped_filter(dict(filters), None))

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
            search_params=None if isinstance(query, models.SparseVector) else self.dense_search,
        )
        return [(str(p.id), p.score) for p in response.points]

    def find(
        self, filters: Mapping[str, Any], collections: Collection[str] | None, limit: int
    ) -> list[tuple[str, ChunkPayload]]:
        """Chunks that match the filters (no ranking), at most `limit`: a known article of a
        known document."""
        points, _ = self.client.scroll(
            self.collection,
            scroll_filter=scoped_filter(dict(filters), collections),
            limit=limit,
            with_payload=True,
        )
        return [(str(p.id), ChunkPayload.read(p.payload, str(p.id))) for p in points]

    def raw_payloads(self, point_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Payloads as stored (to check what an older release may have stored)."""
        found = self.client.retrieve(self.collection, list(point_ids), with_payload=True)
        return {str(p.id): p.payload or {} for p in found}

    def payloads(self, point_ids: Sequence[str]) -> dict[str, ChunkPayload]:
        return {pid: ChunkPayload.read(p, pid) for pid, p in self.raw_payloads(point_ids).items()}
