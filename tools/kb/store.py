"""The knowledge base: one Qdrant collection with named dense and sparse vectors.

The same code talks to the embedded local store (one process per path) and to a Qdrant server or
cluster. A small companion collection keeps the corpus version (caches key on it) and the token
totals BM25 needs for its average document length.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Literal

from qdrant_client import QdrantClient, models
from qdrant_client.local.qdrant_local import QdrantLocal

from tools.ingest.documents import Chunk, Document
from tools.kb.dense import DenseModel
from tools.kb.filters import build_filter
from tools.kb.sparse import VIEWS, BM25Encoder
from tools.settings import Settings

log = logging.getLogger(__name__)

DENSE_VIEW = "dense"
_META_POINT = 1
UpsertStatus = Literal["added", "replaced", "unchanged"]


class StoreError(RuntimeError):
    """The store cannot be used as configured; the message says what to change."""


def build_qdrant_client(settings: Settings, location: str | None = None) -> QdrantClient:
    """A client for QDRANT_URL, the given location (":memory:"), or the local store on disk."""
    if location is not None:
        return QdrantClient(location=location)
    if settings.qdrant.url:
        return QdrantClient(
            url=settings.qdrant.url,
            api_key=settings.qdrant.api_key,
            timeout=settings.qdrant.timeout_s,
        )
    path = settings.qdrant_path
    path.mkdir(parents=True, exist_ok=True)
    try:
        return QdrantClient(path=str(path))
    except RuntimeError as exc:
        if "already accessed" in str(exc):
            raise StoreError(
                f"the local store {path} is open in another process (a running server?): "
                "stop it, or use a Qdrant server (QDRANT_URL) for several processes"
            ) from None
        raise


@dataclass
class CorpusStats:
    version: int = 0
    chunks: int = 0
    tokens: dict[str, int] | None = None

    def avg_len(self, view: str) -> float:
        if not self.chunks or not self.tokens:
            return 0.0
        return self.tokens.get(view, 0) / self.chunks


class KnowledgeBase:
    def __init__(
        self,
        client: QdrantClient,
        collection: str,
        encoder: BM25Encoder,
        dense: DenseModel | None = None,
    ) -> None:
        self.client = client
        self.collection = collection
        self.meta_collection = f"{collection}_meta"
        self.encoder = encoder
        self.dense = dense
        self.has_dense = False
        # Local mode is a single-threaded Python engine: one call at a time. A server is not.
        self.is_local = isinstance(client._client, QdrantLocal)
        self._lock = threading.RLock() if self.is_local else nullcontext()
        with self._lock:
            self._ensure_collections()

    # -- collections ---------------------------------------------------------------------
    def _ensure_collections(self) -> None:
        if not self.client.collection_exists(self.collection):
            vectors = (
                {
                    DENSE_VIEW: models.VectorParams(
                        size=self.dense.dim, distance=models.Distance.COSINE
                    )
                }
                if self.dense
                else {}
            )
            self.client.create_collection(
                self.collection,
                vectors_config=vectors,
                sparse_vectors_config={
                    view: models.SparseVectorParams(modifier=models.Modifier.IDF) for view in VIEWS
                },
            )
            if not self.is_local:  # local mode has no payload indexes
                for field in ("doc_id", "source"):
                    self.client.create_payload_index(
                        self.collection, field, models.PayloadSchemaType.KEYWORD
                    )
            log.info("created collection %s (dense: %s)", self.collection, bool(self.dense))
        info = self.client.get_collection(self.collection)
        vectors = info.config.params.vectors
        dense_params = vectors.get(DENSE_VIEW) if isinstance(vectors, dict) else None
        if self.dense and dense_params is None:
            log.warning(
                "collection %s was built without dense vectors: dense retrieval off until the "
                "documents are re-ingested into a new collection",
                self.collection,
            )
        elif self.dense and dense_params.size != self.dense.dim:
            raise StoreError(
                f"collection {self.collection} holds {dense_params.size}-dim vectors but "
                f"dense.model {self.dense.name} makes {self.dense.dim}: use another "
                "qdrant.collection or the model the collection was built with"
            )
        self.has_dense = bool(self.dense and dense_params is not None)
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
        if not self.client.collection_exists(self.meta_collection):
            self.client.create_collection(
                self.meta_collection,
                vectors_config=models.VectorParams(size=1, distance=models.Distance.DOT),
            )

    # -- corpus statistics and version ---------------------------------------------------
    def stats(self) -> CorpusStats:
        with self._lock:
            return self._stats()

    def _stats(self) -> CorpusStats:
        found = self.client.retrieve(self.meta_collection, [_META_POINT], with_payload=True)
        if not found:
            return CorpusStats(tokens={})
        payload = found[0].payload or {}
        return CorpusStats(
            payload.get("version", 0), payload.get("chunks", 0), payload.get("tokens", {})
        )

    def _save_stats(self, stats: CorpusStats) -> None:
        self.client.upsert(
            self.meta_collection,
            [
                models.PointStruct(
                    id=_META_POINT,
                    vector=[1.0],
                    payload={
                        "version": stats.version,
                        "chunks": stats.chunks,
                        "tokens": stats.tokens or {},
                        "updated_at": time.time(),
                    },
                )
            ],
        )

    @property
    def backend(self) -> str:
        return "qdrant-local" if self.is_local else "qdrant-server"

    @property
    def corpus_version(self) -> int:
        return self.stats().version

    def count(self) -> int:
        with self._lock:
            return self.client.count(self.collection, exact=True).count

    # -- writes --------------------------------------------------------------------------
    def _existing(self, doc_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """doc_id -> {"hash", "chunks", "tokens"} for the documents already stored."""
        found: dict[str, dict[str, Any]] = {}
        flt = models.Filter(
            must=[models.FieldCondition(key="doc_id", match=models.MatchAny(any=list(doc_ids)))]
        )
        offset = None
        while True:
            points, offset = self.client.scroll(
                self.collection,
                scroll_filter=flt,
                limit=512,
                offset=offset,
                with_payload=["doc_id", "content_hash", "n_tokens"],
            )
            for point in points:
                payload = point.payload or {}
                entry = found.setdefault(
                    payload["doc_id"],
                    {"hash": payload.get("content_hash"), "chunks": 0, "tokens": {}},
                )
                entry["chunks"] += 1
                for view, n in (payload.get("n_tokens") or {}).items():
                    entry["tokens"][view] = entry["tokens"].get(view, 0) + n
            if offset is None:
                return found

    def _delete_points(self, doc_ids: Sequence[str]) -> None:
        self.client.delete(
            self.collection,
            points_selector=models.FilterSelector(
                filter=models.Filter(
                    must=[
                        models.FieldCondition(
                            key="doc_id", match=models.MatchAny(any=list(doc_ids))
                        )
                    ]
                )
            ),
        )

    def upsert(self, batch: Sequence[tuple[Document, Sequence[Chunk]]]) -> dict[str, UpsertStatus]:
        """Add or replace documents; an unchanged document (same content hash) is left alone."""
        if not batch:
            return {}
        with self._lock:
            return self._upsert(batch)

    def _upsert(self, batch: Sequence[tuple[Document, Sequence[Chunk]]]) -> dict[str, UpsertStatus]:
        existing = self._existing([doc.doc_id for doc, _ in batch])
        statuses: dict[str, UpsertStatus] = {}
        todo: list[tuple[Document, Sequence[Chunk]]] = []
        for doc, chunks in batch:
            old = existing.get(doc.doc_id)
            if old and old["hash"] == doc.content_hash:
                statuses[doc.doc_id] = "unchanged"
            else:
                statuses[doc.doc_id] = "replaced" if old else "added"
                todo.append((doc, chunks))
        if not todo:
            return statuses

        stats = self._stats()
        tokens = dict(stats.tokens or {})
        chunk_count = stats.chunks
        replaced = [doc.doc_id for doc, _ in todo if statuses[doc.doc_id] == "replaced"]
        for doc_id in replaced:
            chunk_count -= existing[doc_id]["chunks"]
            for view, n in existing[doc_id]["tokens"].items():
                tokens[view] = tokens.get(view, 0) - n
        terms = [
            [self.encoder.document_terms(c.title, c.text) for c in chunks] for _, chunks in todo
        ]
        for doc_terms in terms:
            for chunk_terms in doc_terms:
                chunk_count += 1
                for view, toks in chunk_terms.items():
                    tokens[view] = tokens.get(view, 0) + len(toks)
        new_stats = CorpusStats(stats.version + 1, chunk_count, tokens)

        texts = [f"{c.title}. {c.text}" for _, chunks in todo for c in chunks]
        vectors = self.dense.embeddings.embed_documents(texts) if self.has_dense and texts else None
        points: list[models.PointStruct] = []
        i = 0
        for (doc, chunks), doc_terms in zip(todo, terms, strict=True):
            for chunk, chunk_terms in zip(chunks, doc_terms, strict=True):
                vector: dict[str, Any] = {
                    view: self.encoder.encode_document(toks, new_stats.avg_len(view))
                    for view, toks in chunk_terms.items()
                    if view in self.sparse_views
                }
                if vectors is not None:
                    vector[DENSE_VIEW] = vectors[i]
                i += 1
                points.append(
                    models.PointStruct(
                        id=chunk.point_id,
                        vector=vector,
                        payload={
                            "doc_id": doc.doc_id,
                            "title": chunk.title,
                            "text": chunk.text,
                            "source": chunk.source,
                            "position": chunk.position,
                            "metadata": chunk.metadata,
                            "content_hash": doc.content_hash,
                            "n_tokens": {v: len(t) for v, t in chunk_terms.items()},
                            "ingested_at": time.time(),
                        },
                    )
                )
        if replaced:
            self._delete_points(replaced)
        for start in range(0, len(points), 256):
            self.client.upsert(self.collection, points[start : start + 256])
        self._save_stats(new_stats)
        return statuses

    def delete_document(self, doc_id: str) -> int:
        """Remove a document's chunks; returns how many there were (0: unknown id)."""
        with self._lock:
            return self._delete_document(doc_id)

    def _delete_document(self, doc_id: str) -> int:
        old = self._existing([doc_id]).get(doc_id)
        if not old:
            return 0
        self._delete_points([doc_id])
        stats = self._stats()
        tokens = {v: n - old["tokens"].get(v, 0) for v, n in (stats.tokens or {}).items()}
        self._save_stats(CorpusStats(stats.version + 1, stats.chunks - old["chunks"], tokens))
        return old["chunks"]

    def list_documents(self, limit: int = 10_000) -> list[dict[str, Any]]:
        with self._lock:
            return self._list_documents(limit)

    def _list_documents(self, limit: int) -> list[dict[str, Any]]:
        docs: dict[str, dict[str, Any]] = {}
        offset = None
        while len(docs) < limit:
            points, offset = self.client.scroll(
                self.collection,
                limit=512,
                offset=offset,
                with_payload=["doc_id", "title", "source"],
            )
            for p in points:
                payload = p.payload or {}
                entry = docs.setdefault(payload["doc_id"], {**payload, "chunks": 0})
                entry["chunks"] += 1
            if offset is None:
                break
        return sorted(docs.values(), key=lambda d: d["doc_id"])

    # -- reads ---------------------------------------------------------------------------
    def search(
        self,
        view: str,
        query: models.SparseVector | list[float],
        limit: int,
        filters: dict[str, Any] | None = None,
    ) -> list[models.ScoredPoint]:
        with self._lock:
            response = self.client.query_points(
                self.collection,
                query=query,
                using=view,
                limit=limit,
                query_filter=build_filter(filters),
                with_payload=True,
            )
        return response.points
