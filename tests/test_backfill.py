"""The dense backfill, one owner for every writer: drained in the foreground (the command line,
syncs), run in its own thread by the server (woken by writes; a failing batch retried), and
what waits counted one way. Waits are on events the backfill sets (no sleeps)."""

from __future__ import annotations

import threading

import pytest

import tools.kb.backfill as backfill_module
from tools.corpus.documents import DocRef, Document
from tools.ingest.chunk import chunk_document
from tools.kb.backfill import DenseBackfill
from tools.kb.embedders import BundledEmbedder
from tools.kb.factory import build_knowledge_base
from tools.kb.search import DENSE_VIEW
from tools.kb.writes import ChunkedDocument

TEXTS = {
    ("default", "com"): "Cơm tấm là món ăn nổi tiếng của Sài Gòn, ăn với sườn nướng.",
    ("default", "pho"): "Phở bò Hà Nội nấu từ xương bò hầm lâu, ăn với bánh phở.",
    ("mon-hue", "bun"): "Bún bò Huế có vị cay, nước dùng nấu từ xương và sả.",
}


@pytest.fixture(scope="module")
def embedder() -> BundledEmbedder:
    return BundledEmbedder(threads=1)


@pytest.fixture
def kb(settings, embedder):
    kb = build_knowledge_base(settings, ":memory:", embedder)
    docs = [Document(d, d, text, "api", collection=c) for (c, d), text in TEXTS.items()]
    chunked = [ChunkedDocument(d, chunk_document(d, 900, 150), d.content_hash) for d in docs]
    kb.write(kb.encode(chunked))  # searchable through the sparse views, no dense vector yet
    yield kb
    kb.close()


def test_drain_embeds_the_documents_asked_then_the_rest_and_counts_one_way(kb):
    backfill = DenseBackfill(kb)
    assert backfill.by_collection() == {"default": 2, "mon-hue": 1}
    assert backfill.by_document() == {key: 1 for key in TEXTS}
    heard: list[int] = []
    assert backfill.drain({("default", "com")}, on_embedded=heard.append) == 1
    assert heard == [1]
    assert {c.key for c in backfill.waiting()} == {("default", "pho"), ("mon-hue", "bun")}
    assert backfill.by_collection() == {"default": 1, "mon-hue": 1}
    assert backfill.drain() == 2
    assert backfill.waiting() == [] and backfill.by_collection() == {}
    assert backfill.drain() == 0  # nothing waits: nothing done


def test_a_chunk_deleted_while_it_waits_is_forgotten_not_embedded(kb):
    embedded: list[list[str]] = []

    def embed(texts):
        embedded.append(list(texts))
        return kb.embed_passages(texts)

    backfill = DenseBackfill(kb, embed)
    waiting = backfill.waiting()
    kb.delete_document(DocRef("default", "pho"))
    assert backfill.embed_batch(waiting) == 3  # two embedded, one forgotten
    assert backfill.waiting() == []
    assert len(embedded) == 1 and all("Phở" not in t for t in embedded[0])


def test_a_store_without_dense_vectors_has_nothing_waiting(settings):
    kb = build_knowledge_base(settings, ":memory:", None)
    try:
        document = Document("d", "d", TEXTS[("default", "com")], "api")
        kb.write(kb.encode([ChunkedDocument(document, chunk_document(document, 900, 150), "h")]))
        assert DenseBackfill(kb).waiting() == []
        with pytest.raises(Exception, match="no dense embedder"):
            DenseBackfill(kb).drain()
    finally:
        kb.close()


def test_the_background_thread_embeds_when_woken_and_retries_a_failed_batch(kb, monkeypatch):
    monkeypatch.setattr(backfill_module, "RETRY_S", 0.01)
    failures = [RuntimeError("the worker died")]

    def embed(texts):
        if failures:
            raise failures.pop()
        return kb.embed_passages(texts)

    backfill = DenseBackfill(kb, embed)
    errors: list[str | None] = []
    drained = threading.Event()

    def progressed():
        errors.append(backfill.error)
        if not backfill.waiting():
            drained.set()

    backfill.start(on_progress=progressed)  # woken at start: chunks an earlier run left
    try:
        assert drained.wait(60)
        assert errors[0] == "RuntimeError: the worker died"  # said, then tried again
        assert errors[-1] is None and backfill.error is None
        # a later write wakes it again
        drained.clear()
        later = Document("kho", "kho", "Cá kho tộ là món ăn miền Nam.", "api")
        kb.write(kb.encode([ChunkedDocument(later, chunk_document(later, 900, 150), "k")]))
        assert backfill.waiting()
        backfill.wake()
        assert drained.wait(60)
    finally:
        backfill.close()
    assert backfill.waiting() == []
    [(point_id, _)] = kb.search(DENSE_VIEW, kb.embed_query("Cá kho tộ miền Nam"), 1)
    assert kb.payloads([point_id])[point_id].doc_id == "kho"  # found by its dense vector
