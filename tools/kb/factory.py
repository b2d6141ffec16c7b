"""Build the knowledge base, retriever and reranker once per process, from settings."""

from __future__ import annotations

from dataclasses import dataclass

from tools.kb.backends import configured_backend
from tools.kb.embedders import Embedder, build_embedder
from tools.kb.laws import LawDirectory
from tools.kb.qdrant import DenseIndex, build_qdrant_client
from tools.kb.retriever import HybridRetriever
from tools.kb.sparse import BM25Encoder
from tools.kb.store import KnowledgeBase
from tools.rerank.base import Reranker
from tools.rerank.factory import build_reranker
from tools.settings import Settings


@dataclass
class RetrievalStack:
    kb: KnowledgeBase
    retriever: HybridRetriever
    reranker: Reranker
    laws: LawDirectory

    def close(self) -> None:
        self.kb.close()


def configured_embedder(settings: Settings) -> Embedder | None:
    """The embedder the settings ask for; none when retrieval is sparse-only (fast ingest)."""
    if settings.retrieval.mode == "sparse":
        return None
    return build_embedder(settings.dense)


def build_knowledge_base(
    settings: Settings, location: str | None = None, embedder: Embedder | None = None
) -> KnowledgeBase:
    """A knowledge base with the given embedder (build it with `configured_embedder`, or pass
    None for sparse-only: listing and deleting never need one)."""
    return KnowledgeBase(
        build_qdrant_client(settings, location),
        settings.qdrant.collection,
        BM25Encoder.configured(settings.sparse),
        embedder,
        backend=configured_backend(settings, location),
        query_cache_size=settings.dense.query_cache_size,
        embed_batch=settings.dense.batch_size,
        dense_index=DenseIndex.configured(settings.qdrant),
    )


def build_retrieval_stack(
    settings: Settings, location: str | None = None, embedder: Embedder | None = None
) -> RetrievalStack:
    kb = build_knowledge_base(settings, location, embedder)
    retriever = HybridRetriever(kb, settings.retrieval, settings.sparse)
    return RetrievalStack(kb, retriever, build_reranker(settings), LawDirectory(kb))
