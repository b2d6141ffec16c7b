"""The knowledge base for LangChain users' own chains: a `BaseRetriever` that searches the way
the graph does (the same views, fusion, rerank, filters and collections), and, over a Qdrant
server, langchain-qdrant's `QdrantVectorStore` on the same collection.

Documents go in through the project's ingestion (`vinarag ingest`, `POST /documents`), which
writes the payload, the five BM25 views and the statistics; the vector store here is for
searching, and refuses to write points that would lack them."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_qdrant import QdrantVectorStore, RetrievalMode, SparseEmbeddings, SparseVector
from pydantic import ConfigDict, Field, SkipValidation

from tools.corpus.passages import Passage
from tools.errors import StoreError
from tools.kb.embedders import Embedder
from tools.kb.factory import RetrievalStack
from tools.kb.search import DENSE_VIEW
from tools.kb.sparse import SYLLABLE_VIEW, BM25Encoder, query_terms
from tools.kb.store import KnowledgeBase

WRITE_ELSEWHERE = (
    "this vector store only searches: add documents with `vinarag ingest` or POST /documents "
    "(they write the BM25 views, the payload and the corpus statistics)"
)


def passage_document(passage: Passage) -> Document:
    """A passage as LangChain's Document: the text, and where it came from in the metadata."""
    return Document(
        page_content=passage["text"],
        id=passage["id"],
        metadata={
            **passage["metadata"],
            "doc_id": passage["doc_id"],
            "title": passage["title"],
            "source": passage["source"],
            "location": passage["location"],
            "score": passage["score"],
        },
    )


class KnowledgeBaseRetriever(BaseRetriever):
    """`retriever.invoke("câu hỏi")` -> the best passages as Documents, best first."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    stack: SkipValidation[RetrievalStack]
    top_k: int = Field(5, ge=1, le=100, description="passages returned, after reranking")
    filters: Mapping[str, Any] | None = None  # the same filters as /rag's `filters`
    collections: Collection[str] | None = None  # None: every collection

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        if self.filters:
            self.stack.kb.check_filter(self.filters)
        candidates = self.stack.retriever.retrieve(
            query,
            top_k=max(self.top_k, self.stack.retriever.retrieval.top_k),
            filters=self.filters,
            collections=self.collections,
        )
        ranked = self.stack.reranker.rerank(query, candidates, self.top_k)
        return [passage_document(p) for p in ranked]


class _DenseEmbeddings(Embeddings):
    """The knowledge base's dense embedder, with its query and passage forms."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_queries([text])[0].tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_passages(texts).tolist()


class _SyllableQueries(SparseEmbeddings):
    """A question as the syllable view's sparse vector (the store applies IDF)."""

    def embed_query(self, text: str) -> SparseVector:
        vector = BM25Encoder.encode_query(query_terms(text)[SYLLABLE_VIEW])
        return SparseVector(indices=list(vector.indices), values=list(vector.values))

    def embed_documents(self, texts: list[str]) -> list[SparseVector]:
        """Only a query has a sparse vector here: a document's needs the corpus statistics,
        which ingestion keeps (so a vector store write stops before anything is written)."""
        raise StoreError(WRITE_ELSEWHERE)


def qdrant_vector_store(kb: KnowledgeBase) -> QdrantVectorStore:
    """langchain-qdrant's vector store over the knowledge base's collection on a Qdrant server:
    the dense view and the syllable view (Qdrant's own fusion), page_content the chunk text and
    metadata the document's. The embedded store is not a qdrant-client: use the retriever."""
    if not kb.backend.many_processes:  # the embedded store: no qdrant-client to hand over
        raise StoreError(
            "QdrantVectorStore needs a Qdrant server (QDRANT_URL); the embedded store is "
            "searched through KnowledgeBaseRetriever"
        )
    dense = kb.embedder if kb.has_dense else None
    return QdrantVectorStore(
        client=kb.client,
        collection_name=kb.collection,
        embedding=_DenseEmbeddings(dense) if dense is not None else None,
        retrieval_mode=RetrievalMode.HYBRID if dense is not None else RetrievalMode.SPARSE,
        vector_name=DENSE_VIEW,
        sparse_embedding=_SyllableQueries(),
        sparse_vector_name=SYLLABLE_VIEW,
        content_payload_key="text",
        metadata_payload_key="metadata",
    )
