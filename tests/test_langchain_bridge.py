"""The knowledge base in LangChain users' own chains: the retriever searches as the graph does,
and langchain-qdrant's vector store reads the same collection on a Qdrant server."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document as LCDocument

from tools.corpus.documents import Document
from tools.errors import StoreError
from tools.ingest.pipeline import ingest_documents
from tools.kb.filters import FilterError
from tools.kb.langchain_bridge import KnowledgeBaseRetriever, qdrant_vector_store

QUESTION = "Vịnh Hạ Long có bao nhiêu hòn đảo?"
TEXTS = {
    "fansipan": "Fansipan là ngọn núi cao nhất Việt Nam. Đỉnh núi cao khoảng 3.143 mét.",
    "ha-long": "Vịnh Hạ Long thuộc tỉnh Quảng Ninh. Vịnh có gần 2.000 hòn đảo đá vôi.",
    "hue": "Huế là kinh đô của Việt Nam dưới triều Nguyễn, bên bờ sông Hương.",
}


def test_the_retriever_returns_what_the_graph_retrieves(demo_services):
    stack = demo_services.retrieval
    retriever = KnowledgeBaseRetriever(stack=stack, top_k=3)
    documents = retriever.invoke("Thủ đô của Việt Nam là gì?")
    expected = stack.reranker.rerank(
        "Thủ đô của Việt Nam là gì?",
        stack.retriever.retrieve(
            "Thủ đô của Việt Nam là gì?", top_k=stack.retriever.retrieval.top_k
        ),
        3,
    )
    assert [d.id for d in documents] == [p["id"] for p in expected]
    assert all(isinstance(d, LCDocument) for d in documents)
    first = documents[0]
    assert first.page_content == expected[0]["text"]
    assert first.metadata["doc_id"] == expected[0]["doc_id"]
    assert first.metadata["score"] == expected[0]["score"]


def test_the_retriever_keeps_to_its_filters_and_collections(demo_services):
    stack = demo_services.retrieval
    some = KnowledgeBaseRetriever(stack=stack).invoke("Việt Nam")
    assert len({d.metadata["doc_id"] for d in some}) > 1
    one = some[0].metadata["doc_id"]
    filtered = KnowledgeBaseRetriever(stack=stack, filters={"doc_id": one}).invoke("Việt Nam")
    assert filtered and {d.metadata["doc_id"] for d in filtered} == {one}
    assert KnowledgeBaseRetriever(stack=stack, collections=["nobody"]).invoke("Việt Nam") == []
    with pytest.raises(FilterError):
        KnowledgeBaseRetriever(stack=stack, filters={"year": {"near": 3}}).invoke("Việt Nam")


def test_the_vector_store_reads_the_collection_on_a_qdrant_server(settings):
    """qdrant-client's local mode speaks the server's API: the store is the one a
    QDRANT_URL deployment writes, searched through langchain-qdrant."""
    from qdrant_client import QdrantClient

    from tools.kb.backends import ServerStore
    from tools.kb.embedders import BundledEmbedder
    from tools.kb.sparse import BM25Encoder
    from tools.kb.store import KnowledgeBase

    client = QdrantClient(location=":memory:")
    try:
        kb = KnowledgeBase(
            client,
            "vinarag",
            BM25Encoder(),
            embedder=BundledEmbedder(threads=1),
            backend=ServerStore(),
        )
        documents = [Document(key, key, text, key) for key, text in TEXTS.items()]
        ingest_documents(documents, kb, settings)
        store = qdrant_vector_store(kb)
        found = store.similarity_search(QUESTION, k=2)
        assert found[0].page_content == TEXTS["ha-long"]
        assert found[0].metadata["_collection_name"] == "vinarag"
        with pytest.raises(StoreError, match="only searches"):
            store.add_texts(["Một đoạn văn không qua ingest."])
        assert kb.count() == 3  # nothing was written past the project's ingestion
    finally:
        client.close()


def test_the_embedded_store_points_to_the_retriever(memory_kb):
    with pytest.raises(StoreError, match="KnowledgeBaseRetriever"):
        qdrant_vector_store(memory_kb)
