"""What reading the knowledge base takes, as a narrow interface: the retriever, the law
directory, the article lookups and the LangChain bridge need these and nothing else of the
store (writes, backups and the backfill are the store's own business)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
from qdrant_client import models

from tools.corpus.documents import Chunk
from tools.kb.catalogue import ListedDocument
from tools.kb.payload import ChunkPayload
from tools.kb.stats import CorpusStats

DENSE_VIEW = "dense"


def passage_text(chunk: Chunk | ChunkPayload) -> str:
    """What the dense view embeds of a chunk."""
    return f"{chunk.title}. {chunk.text}"


class PassageSearch(Protocol):
    """Searches by view, filters and ids over one collection of chunks; `KnowledgeBase` is the
    one implementation, on either backend."""

    @property
    def has_dense(self) -> bool:
        """Whether the collection has a dense view and an embedder to query it."""
        ...

    @property
    def sparse_views(self) -> tuple[str, ...]: ...

    @property
    def corpus_version(self) -> int:
        """Moves on with every write: what caches key on."""
        ...

    def stats(self) -> CorpusStats: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def check_filter(self, filters: Mapping[str, Any]) -> None:
        """FilterError unless the backend can apply `filters`."""
        ...

    def search(
        self,
        view: str,
        query: models.SparseVector | np.ndarray | Sequence[float],
        limit: int,
        filters: Mapping[str, Any] | None = None,
        collections: Collection[str] | None = None,
    ) -> list[tuple[str, float]]:
        """(point id, score) pairs, best first; only points of `collections` when given."""
        ...

    def find(
        self, filters: Mapping[str, Any], collections: Collection[str] | None, limit: int
    ) -> list[tuple[str, ChunkPayload]]:
        """Chunks that match the filters, unranked."""
        ...

    def payloads(self, point_ids: Sequence[str]) -> dict[str, ChunkPayload]: ...

    def raw_payloads(self, point_ids: Sequence[str]) -> dict[str, dict[str, Any]]: ...

    def pending_ids(self) -> Collection[str]:
        """Chunks without their dense vector yet (found by their sparse views only)."""
        ...

    def list_documents(
        self, limit: int = 10_000, collections: Collection[str] | None = None
    ) -> list[ListedDocument]: ...
