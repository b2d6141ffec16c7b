"""The in-process index answers exactly what Qdrant's own search answers for the same vectors:
scores, order and hits, with and without payload filters, after inserts, replacements and
deletes; and on random vectors loaded from an existing store."""

from __future__ import annotations

import random

import numpy as np
import pytest
from qdrant_client import models

from tools.ingest.documents import DocRef, Document
from tools.ingest.pipeline import ingest_documents, ingest_paths
from tools.kb.factory import build_knowledge_base
from tools.kb.filters import build_filter
from tools.kb.qdrant import build_qdrant_client
from tools.kb.sparse import VIEWS, BM25Encoder, query_terms
from tools.kb.store import DENSE_VIEW, KnowledgeBase


def qdrant_search(kb: KnowledgeBase, view, query, limit, filters=None):
    """Qdrant's own local search, bypassing the in-process index."""
    response = kb.client.query_points(
        kb.collection,
        query=query if isinstance(query, models.SparseVector) else list(query),
        using=view,
        limit=limit,
        query_filter=build_filter(filters),
        with_payload=False,
    )
    return [(str(p.id), p.score) for p in response.points]


def assert_same(ours, theirs):
    assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=1e-6, abs=1e-6)
    # the same points; equal scores may come in either order, and a tie at the cut-off may
    # keep either point
    scores = dict(theirs)
    for point_id, score in ours:
        if point_id in scores:
            assert score == pytest.approx(scores[point_id], rel=1e-6, abs=1e-6)
        else:
            assert score == pytest.approx(theirs[-1][1], rel=1e-6, abs=1e-6)


def _questions() -> list[str]:
    return [
        "Vịnh Hạ Long có bao nhiêu hòn đảo?",
        "vinh ha long co bao nhieu hon dao",
        "Ai dời đô về Thăng Long năm nào?",
        "núi cao nhất Việt Nam",
        "phở bò Hà Nội",
        "sông Mê Kông chảy qua những nước nào",
        "di sản thế giới UNESCO",
        "cà phê Tây Nguyên",
    ]


def _check_all(kb: KnowledgeBase, filters=None, limit=50):
    checked = 0
    for question in _questions():
        terms = query_terms(question)
        for view in kb.sparse_views:
            if not terms[view]:
                continue
            query = BM25Encoder.encode_query(terms[view])
            theirs = qdrant_search(kb, view, query, limit, filters)
            assert_same(kb.search(view, query, limit, filters), theirs)
            checked += len(theirs)
    return checked


@pytest.fixture
def demo_kb(settings):
    from tools.commands import DEMO_DIR

    kb = build_knowledge_base(settings, ":memory:")
    ingest_paths([DEMO_DIR / "documents.jsonl"], kb, settings, progress=False)
    yield kb
    kb.client.close()


def test_parity_on_real_documents_with_and_without_filters(demo_kb):
    assert demo_kb.index is not None and len(demo_kb.index) == demo_kb.count()
    assert _check_all(demo_kb) > 100
    doc_ids = sorted({d["doc_id"] for d in demo_kb.list_documents()})
    for filters in ({"doc_id": doc_ids[:7]}, {"doc_id": doc_ids[3]}, {"position": {"gte": 0}}):
        _check_all(demo_kb, filters)
    # small limits cut inside the ranking
    _check_all(demo_kb, limit=3)


def test_parity_after_replace_and_delete(demo_kb, settings):
    docs = demo_kb.list_documents()
    first, second = docs[0]["doc_id"], docs[1]["doc_id"]
    assert demo_kb.delete_document(DocRef("default", first)) > 0
    replaced = Document(
        second, "Thay thế", "Vịnh Hạ Long có hòn đảo Ti Tốp và hang Sửng Sốt.", second
    )
    ingest_documents([replaced], demo_kb, settings)
    added = Document("new", "Mới", "Phở bò là món ăn sáng của người Hà Nội. " * 3, "new")
    ingest_documents([added], demo_kb, settings)
    assert len(demo_kb.index) == demo_kb.count()
    _check_all(demo_kb)
    hits = demo_kb.search("bm25", BM25Encoder.encode_query(["phở"]), 50)
    assert "new" in {demo_kb.payloads([p])[p]["doc_id"] for p, _ in hits}
    assert first not in {demo_kb.payloads([p])[p]["doc_id"] for p, _ in hits}


def test_parity_on_random_vectors_loaded_from_an_existing_store(settings):
    rng = random.Random(7)
    dim = 8
    kb = build_knowledge_base(settings)  # on disk: the index is built from the stored points
    try:
        kb.client.delete_collection(kb.collection)
        kb.client.create_collection(
            kb.collection,
            vectors_config={
                DENSE_VIEW: models.VectorParams(size=dim, distance=models.Distance.COSINE)
            },
            sparse_vectors_config={
                v: models.SparseVectorParams(modifier=models.Modifier.IDF) for v in VIEWS
            },
        )
        points = []
        for i in range(400):
            vector = {DENSE_VIEW: [rng.gauss(0, 1) for _ in range(dim)]}
            for view in VIEWS[: 1 + i % len(VIEWS)]:  # not every point has every view
                terms = rng.sample(range(60), rng.randint(1, 12))
                vector[view] = models.SparseVector(
                    indices=terms, values=[rng.uniform(0.1, 3.0) for _ in terms]
                )
            payload = {"doc_id": f"d{i % 37}", "metadata": {"group": i % 5, "n": i}}
            points.append(models.PointStruct(id=i, vector=vector, payload=payload))
        kb.client.upsert(kb.collection, points)
        kb.client.delete(kb.collection, models.PointIdsList(points=list(range(0, 400, 9))))
    finally:
        kb.client.close()

    class _Dense:
        name, dim = "random", 8

    reopened = KnowledgeBase(
        build_qdrant_client(settings),
        settings.qdrant.collection,
        BM25Encoder(),
        _Dense(),  # type: ignore[arg-type]
    )
    try:
        assert reopened.has_dense and len(reopened.index) == 400 - len(range(0, 400, 9))
        for _ in range(60):
            view = rng.choice(VIEWS)
            terms = sorted(rng.sample(range(70), rng.randint(1, 6)))
            query = models.SparseVector(indices=terms, values=[rng.uniform(0.5, 2) for _ in terms])
            filters = rng.choice([None, {"group": rng.randrange(5)}, {"n": {"lt": 200}}])
            limit = rng.choice([5, 20, 400])
            assert_same(
                reopened.search(view, query, limit, filters),
                qdrant_search(reopened, view, query, limit, filters),
            )
            dense = np.array([rng.gauss(0, 1) for _ in range(dim)])
            assert_same(
                reopened.search(DENSE_VIEW, dense, limit, filters),
                qdrant_search(reopened, DENSE_VIEW, dense.tolist(), limit, filters),
            )
    finally:
        reopened.client.close()


def test_the_index_snapshot_restores_and_a_stale_one_is_rebuilt(settings, caplog):
    import logging

    from tools.commands import DEMO_DIR

    kb = build_knowledge_base(settings)  # on disk: a snapshot beside the store
    ingest_paths([DEMO_DIR / "documents.jsonl"], kb, settings, progress=False)
    kb.close()
    assert kb.snapshot is not None and kb.snapshot.is_file()

    reopened = build_knowledge_base(settings)
    try:
        with caplog.at_level(logging.INFO, logger="tools.kb.store"):
            assert len(reopened.index) == reopened.count()
        assert "restored from" in caplog.text
        _check_all(reopened)  # the restored index still answers exactly as Qdrant
        ingest_documents([Document("new", "Mới", "Phở bò Nam Định.", "new")], reopened, settings)
    finally:
        reopened.client.close()  # closed without writing a new snapshot: the old one is stale

    caplog.clear()
    again = build_knowledge_base(settings)
    try:
        with caplog.at_level(logging.INFO, logger="tools.kb.store"):
            assert len(again.index) == again.count()
        assert "stale" in caplog.text and "restored" not in caplog.text
        _check_all(again)
    finally:
        again.close()
