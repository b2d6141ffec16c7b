"""Build the knowledge base, retriever and reranker once per process, from settings."""

from __future__ import annotations

from dataclasses import dataclass

from tools.kb.dense import DenseModel, build_dense_model
from tools.kb.retriever import HybridRetriever
from tools.kb.sparse import BM25Encoder
from tools.kb.store import KnowledgeBase, build_qdrant_client
from tools.rerank.base import Reranker
from tools.rerank.factory import build_reranker
from tools.settings import Settings


@dataclass
class RetrievalStack:
    kb: KnowledgeBase
    retriever: HybridRetriever
    reranker: Reranker

    def close(self) -> None:
        self.kb.client.close()


def build_knowledge_base(
    settings: Settings, location: str | None = None, dense: DenseModel | None | bool = True
) -> KnowledgeBase:
    """`dense=True` builds the configured model; pass a model (or None) to inject one."""
    model = build_dense_model(settings.dense) if dense is True else (dense or None)
    encoder = BM25Encoder(settings.sparse.k1, settings.sparse.b, settings.sparse.index_title)
    client = build_qdrant_client(settings, location)
    return KnowledgeBase(client, settings.qdrant.collection, encoder, model)


def build_retrieval_stack(
    settings: Settings, location: str | None = None, dense: DenseModel | None | bool = True
) -> RetrievalStack:
    kb = build_knowledge_base(settings, location, dense)
    retriever = HybridRetriever(kb, settings.retrieval, settings.sparse)
    return RetrievalStack(kb, retriever, build_reranker(settings))
