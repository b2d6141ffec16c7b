"""The embedded store on Qdrant Edge: BM25 scores equal to the formula (with and without
filters, after deletes and replacements: IDF counts no deleted point), boolean filters refused
with a clear message, a previous release's store converted with everything carried over, and
backups that restore."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest
from qdrant_client import models

from tests.helpers import write_previous_release_store
from tools.corpus.documents import DocRef, Document
from tools.ingest.pipeline import ingest_documents
from tools.kb.edge import EdgeClient
from tools.kb.factory import build_knowledge_base
from tools.kb.filters import FilterError
from tools.kb.qdrant import DenseIndex
from tools.kb.sparse import SYLLABLE_VIEW, BM25Encoder, query_terms
from tools.kb.store import KnowledgeBase

TEXTS = [
    "Vịnh Hạ Long có gần hai nghìn hòn đảo đá vôi lớn nhỏ.",
    "Fansipan là đỉnh núi cao nhất Đông Dương, ở tỉnh Lào Cai.",
    "Phở là món ăn nổi tiếng của Hà Nội, nấu từ xương bò.",
    "Hồ Hoàn Kiếm nằm giữa Hà Nội, có tháp Rùa trên đảo nhỏ.",
    "Sa Pa có ruộng bậc thang và cáp treo lên đỉnh Fansipan.",
    "Đảo Phú Quốc ở vịnh Thái Lan, nổi tiếng với nước mắm.",
]


def _documents(texts=TEXTS, collection="default") -> list[Document]:
    return [
        Document(
            f"d{i}",
            f"Tài liệu {i}",
            text,
            f"d{i}",
            {"nam": 2000 + i, "loai": f"l{i % 2}"},
            collection=collection,
        )  # fmt: skip
        for i, text in enumerate(texts)
    ]


def _formula_scores(kb: KnowledgeBase, view: str, terms: list[int], flt=None) -> dict[str, float]:
    """BM25 as Qdrant defines it over the stored document values: sum over the query's terms of
    idf * value, idf = ln(1 + (N - n + 0.5) / (n + 0.5)) over every point holding the view."""
    points = kb.client.scroll(kb.collection, limit=10_000, with_payload=False, with_vectors=[view])
    vectors = {str(p.id): dict(zip(p.vector[view].indices, p.vector[view].values, strict=True))
               for p in points[0] if view in (p.vector or {})}  # fmt: skip
    n_docs = len(vectors)
    holding = Counter(t for v in vectors.values() for t in v)
    allowed = None
    if flt is not None:
        found, _ = kb.client.scroll(
            kb.collection, scroll_filter=flt, limit=10_000, with_payload=False
        )
        allowed = {str(p.id) for p in found}
    scores = {}
    for point_id, values in vectors.items():
        if allowed is not None and point_id not in allowed:
            continue
        score = sum(
            math.log(1 + (n_docs - holding[t] + 0.5) / (holding[t] + 0.5)) * values[t]
            for t in terms
            if t in values
        )
        if score > 0:
            scores[point_id] = score
    return scores


def _check_parity(kb: KnowledgeBase, question: str, filters=None) -> None:
    terms = query_terms(question)[SYLLABLE_VIEW]
    query = BM25Encoder.encode_query(terms)
    found = dict(kb.search(SYLLABLE_VIEW, query, 100, filters))
    from tools.kb.filters import scoped_filter

    expected = _formula_scores(kb, SYLLABLE_VIEW, list(query.indices), scoped_filter(filters, None))
    assert found.keys() == expected.keys()
    for point_id, score in expected.items():
        assert found[point_id] == pytest.approx(score, rel=1e-5), point_id


@pytest.mark.parametrize("question", ["đảo đá vôi ở vịnh", "đỉnh Fansipan Lào Cai", "Hà Nội"])
def test_scores_are_the_formula_before_and_after_deletes_and_replacements(
    settings, memory_kb, question
):
    ingest_documents(_documents(), memory_kb, settings)
    _check_parity(memory_kb, question)
    _check_parity(memory_kb, question, {"nam": {"gte": 2002}})
    _check_parity(memory_kb, question, {"loai": "l1"})
    assert memory_kb.delete_document(DocRef("default", "d0")) == 1
    changed = Document("d1", "Tài liệu 1", "Đảo Cát Bà ở vịnh Lan Hạ, gần Hạ Long.", "d1")
    assert ingest_documents([changed], memory_kb, settings).replaced == ["d1"]
    _check_parity(memory_kb, question)  # IDF counts neither the deleted nor the replaced
    _check_parity(memory_kb, question, {"loai": "l0"})


def test_a_true_false_filter_is_refused_with_a_reason(settings, memory_kb, demo_services):
    from fastapi.testclient import TestClient

    from server.main import create_app

    with pytest.raises(FilterError, match="'da_duyet': true/false values cannot be filtered"):
        memory_kb.check_filter({"da_duyet": True})
    memory_kb.check_filter({"nam": 2001, "loai": ["l0", "l1"]})  # the rest applies
    with TestClient(create_app(settings, services=demo_services)) as client:
        body = {"input": {"question": "Phở là gì?", "filters": {"da_duyet": False}}}
        refused = client.post("/rag/invoke", json=body)
        assert refused.status_code == 422 and "true/false" in refused.json()["detail"]


def test_a_previous_release_store_is_converted_with_everything_it_held(settings):
    from tools.kb.embedders import BundledEmbedder

    embedder = BundledEmbedder(threads=1)
    hr = _documents(TEXTS[:3], collection="hr")
    write_previous_release_store(settings, [], [*_documents(TEXTS[3:]), *hr], embedder)
    old_folder = settings.qdrant_path
    before = _old_points(settings)
    kb = build_knowledge_base(settings, embedder=embedder)  # converted on open
    try:
        listed = {(d.collection, d.doc_id): d for d in kb.list_documents()}
        assert set(listed) == {("hr", "d0"), ("hr", "d1"), ("hr", "d2"),
                               ("default", "d0"), ("default", "d1"), ("default", "d2")}  # fmt: skip
        after = {str(p.id): p for p in kb.client.scroll(kb.collection, limit=1000,
                                                        with_vectors=True)[0]}  # fmt: skip
        assert after.keys() == before.keys()
        for point_id, old in before.items():
            new = after[point_id]
            # metadata, collection, counts: all of it (the write time to the last bit a
            # float keeps through the new store's JSON)
            stamp = new.payload.pop("ingested_at")
            assert stamp == pytest.approx(old.payload.pop("ingested_at"), rel=1e-12)
            assert new.payload == old.payload
            assert np.allclose(new.vector["dense"], old.vector["dense"], atol=1e-6)
            assert new.vector[SYLLABLE_VIEW].indices == old.vector[SYLLABLE_VIEW].indices
        assert kb.stats().chunks == len(before) and kb.has_dense
        hits = kb.search("dense", embedder.embed_queries(["núi cao nhất"])[0], 3, None, ["hr"])
        assert hits and all(after[p].payload["collection"] == "hr" for p, _ in hits)
    finally:
        kb.close()
    assert old_folder.is_dir()  # kept until the user deletes it
    assert (settings.edge_path / "migrated-from-local-mode.json").is_file()


def _old_points(settings) -> dict:
    from qdrant_client import QdrantClient

    client = QdrantClient(path=str(settings.qdrant_path))
    try:
        return {
            str(p.id): p
            for p in client.scroll(settings.qdrant.collection, limit=1000, with_vectors=True)[0]
        }
    finally:
        client.close()


@pytest.mark.slow
def test_backup_and_restore(vinarag, tmp_path):
    docs = tmp_path / "docs.jsonl"
    docs.write_text(
        "\n".join(f'{{"id": "d{i}", "text": "{text}"}}' for i, text in enumerate(TEXTS)), "utf-8"
    )
    assert vinarag("ingest", str(docs), "--quiet").returncode == 0
    backup = tmp_path / "backup"
    made = vinarag("kb", "backup", str(backup))
    assert made.returncode == 0 and "6 documents, 6 chunks" in made.stdout
    assert vinarag("kb", "backup", str(backup)).returncode == 2  # not into a full folder
    assert vinarag("delete", "d0").returncode == 0
    refused = vinarag("kb", "restore", str(backup))
    assert refused.returncode == 2 and "--force" in refused.stderr
    restored = vinarag("kb", "restore", str(backup), "--force")
    assert restored.returncode == 0 and "6 documents" in restored.stdout
    assert "d0" in vinarag("documents").stdout
    nothing = vinarag("kb", "migrate")
    assert nothing.returncode == 2 and "nothing to convert" in nothing.stderr
    # the whole store replaced is in the audit trail; the refused restore and migration are not
    entries = json.loads(vinarag("audit", "--json").stdout)
    assert [e["action"] for e in entries] == ["restore", "delete", "ingest"]
    assert entries[0]["collection"] == "*" and entries[0]["counts"] == {"documents": 6, "chunks": 6}
    assert entries[0]["source"] == str(backup) and entries[0]["actor"].startswith("cli")


def test_the_server_path_is_qdrant_client(settings):
    from qdrant_client import QdrantClient

    from tools.kb.qdrant import build_qdrant_client

    remote = settings.model_copy(
        update={"qdrant": settings.qdrant.model_copy(update={"url": "http://127.0.0.1:1"})}
    )
    client = build_qdrant_client(remote)
    assert isinstance(client, QdrantClient)
    client.close()


def test_ids_and_filters_keep_their_shape(settings, memory_kb):
    """Edge hands ids back as UUID objects: the store speaks strings, as before."""
    ingest_documents(_documents(), memory_kb, settings)
    hits = memory_kb.search(SYLLABLE_VIEW, BM25Encoder.encode_query(["đảo"]), 5)
    assert hits and all(isinstance(p, str) for p, _ in hits)
    payloads = memory_kb.payloads([p for p, _ in hits])
    assert set(payloads) == {p for p, _ in hits}
    flt = models.Filter(
        must=[models.FieldCondition(key="doc_id", match=models.MatchAny(any=["d1"]))]
    )
    assert memory_kb.client.count(memory_kb.collection, count_filter=flt).count == 1


def _recall(client, vectors: np.ndarray, params: models.SearchParams | None) -> float:
    def top(query: np.ndarray, search: models.SearchParams | None) -> set:
        found = client.query_points("c", query, "d", 30, search_params=search)
        return {p.id for p in found.points}

    exact = models.SearchParams(exact=True)
    queries = vectors[:40] + 0.1
    return float(np.mean([len(top(q, params) & top(q, exact)) / 30 for q in queries]))


def test_the_dense_index_is_the_collections_own_hnsw_above_its_exact_size(tmp_path):
    """A graph is built only for a collection created with one (the index is fixed then, as on
    a server) and only past its exact size; searched with a small ef it is approximate, with a
    large one it finds what exact search finds; a collection created without one is exact."""
    vectors = np.random.default_rng(3).standard_normal((4000, 24)).astype(np.float32)

    def filled(folder, index: DenseIndex | None) -> EdgeClient:
        client = EdgeClient(folder)
        client.create_collection(
            "c",
            vectors_config={"d": models.VectorParams(size=24, distance=models.Distance.COSINE)},
            hnsw_config=index.hnsw_config(24) if index else None,
        )
        client.upsert(
            "c",
            [
                models.PointStruct(id=i + 1, vector={"d": v.tolist()}, payload={})
                for i, v in enumerate(vectors)
            ],
        )
        client.optimize("c")
        return client

    graph = filled(tmp_path / "graph", DenseIndex(m=8, ef_construct=16, exact_below=500))
    graph.release()  # reopened: the collection keeps its graph
    assert graph.get_collection("c").config.hnsw_config.m == 8
    assert _recall(graph, vectors, models.SearchParams(hnsw_ef=30)) < 0.97
    assert _recall(graph, vectors, models.SearchParams(hnsw_ef=1000)) > 0.99
    graph.close()
    small = filled(tmp_path / "small", DenseIndex(m=8, ef_construct=16, exact_below=5000))
    assert _recall(small, vectors, models.SearchParams(hnsw_ef=30)) == 1.0  # under exact_below
    small.close()
    plain = filled(tmp_path / "plain", None)
    assert plain.get_collection("c").config.hnsw_config.m == 0
    assert _recall(plain, vectors, models.SearchParams(hnsw_ef=30)) == 1.0
    plain.close()
