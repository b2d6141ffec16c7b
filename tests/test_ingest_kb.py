"""Ingestion into a real Qdrant (local mode): ids, idempotency, replacement, deletion, filters."""

import json
import re

import pytest

from tests.helpers import write_pdf
from tools.corpus.documents import DocRef, Document
from tools.errors import StoreError
from tools.ingest.pipeline import ingest_documents, ingest_paths
from tools.kb.factory import build_knowledge_base
from tools.kb.filters import FilterError
from tools.kb.retriever import HybridRetriever

FANSIPAN = "Fansipan là ngọn núi cao nhất Việt Nam. Đỉnh núi cao khoảng 3.143 mét."
HA_LONG = "Vịnh Hạ Long thuộc tỉnh Quảng Ninh. Vịnh có gần 2.000 hòn đảo đá vôi."


def _write_folder(folder):
    folder.mkdir()
    (folder / "fansipan.txt").write_text(FANSIPAN, "utf-8")
    (folder / "halong.md").write_text("# Hạ Long\n\n" + HA_LONG, "utf-8")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 nothing here")
    (folder / "latin.txt").write_bytes(b"\x81\x8d\x8f\x90\x9d" * 10)
    (folder / "notes.xyz").write_text("?", "utf-8")
    (folder / ".hidden.txt").write_text(FANSIPAN, "utf-8")
    return folder


def test_batch_with_broken_files_reports_and_keeps_the_rest(tmp_path, settings, memory_kb):
    folder = _write_folder(tmp_path / "docs")
    report = ingest_paths([folder, tmp_path / "missing.txt"], memory_kb, settings, progress=False)
    assert len(report.added) == 2 and report.accepted == 2
    failed = dict(report.failed)
    assert failed[str(folder / "empty.txt")] == "empty: 0 bytes"
    assert "PDF" in failed[str(folder / "broken.pdf")]
    assert "mis-encoded" in failed[str(folder / "latin.txt")]
    assert failed[str(tmp_path / "missing.txt")] == "no such file or folder"
    assert dict(report.skipped)[str(folder / "notes.xyz")] == "unsupported file type .xyz"
    assert all(".hidden" not in s for s, _ in report.failed + report.skipped)
    assert memory_kb.count() == 2
    assert "ingested 2 new" in report.summary() and "failed 4" in report.summary()


@pytest.mark.slow
def test_reingest_is_idempotent_and_a_change_replaces(tmp_path, settings, memory_kb):
    folder = _write_folder(tmp_path / "docs")
    first = ingest_paths([folder], memory_kb, settings, progress=False)
    version = memory_kb.corpus_version
    points = memory_kb.count()

    again = ingest_paths([folder], memory_kb, settings, progress=False)
    assert again.unchanged == first.added and not again.added and not again.replaced
    assert memory_kb.count() == points and memory_kb.corpus_version == version

    (folder / "fansipan.txt").write_text("Fansipan có cáp treo từ Sa Pa.", "utf-8")
    changed = ingest_paths([folder], memory_kb, settings, progress=False)
    assert len(changed.replaced) == 1 and len(changed.unchanged) == 1
    assert memory_kb.corpus_version == version + 1
    texts = [d.title for d in memory_kb.list_documents()]
    assert len(texts) == 2
    retriever = HybridRetriever(memory_kb, settings.retrieval, settings.sparse)
    assert "cáp treo" in retriever.retrieve("cáp treo Sa Pa")[0]["text"]
    assert all("3.143" not in hit["text"] for hit in retriever.retrieve("núi cao 3.143 mét"))


def test_replacing_a_longer_document_leaves_no_stale_chunks(settings, memory_kb):
    long_text = " ".join(f"Câu số {i} kể về lịch sử Hà Nội qua các thời kỳ." for i in range(60))
    ingest_documents([Document("hn", "Hà Nội", long_text, "x")], memory_kb, settings)
    assert memory_kb.count() > 2
    ingest_documents([Document("hn", "Hà Nội", "Hà Nội là thủ đô.", "x")], memory_kb, settings)
    assert memory_kb.count() == 1
    assert memory_kb.stats().chunks == 1


def test_delete_document_and_version(settings, memory_kb):
    ingest_documents(
        [Document("a", "A", FANSIPAN, "a"), Document("b", "B", HA_LONG, "b")], memory_kb, settings
    )
    version = memory_kb.corpus_version
    assert memory_kb.delete_document(DocRef("default", "a")) == 1
    assert memory_kb.delete_document(DocRef("default", "a")) == 0
    assert [d.doc_id for d in memory_kb.list_documents()] == ["b"]
    assert memory_kb.corpus_version == version + 1
    assert memory_kb.stats().chunks == 1


def test_language_check_flags_or_skips(settings, memory_kb):
    english = Document("en", "EN", "The quick brown fox jumps over the lazy dog again.", "en.txt")
    report = ingest_documents([english], memory_kb, settings)
    assert report.added == ["en"] and "not Vietnamese" in report.warnings[0][1]
    strict = settings.model_copy(
        update={"ingest": settings.ingest.model_copy(update={"skip_non_vietnamese": True})}
    )
    other = Document("en2", "EN", "Another English text about foxes and dogs.", "en2.txt")
    report = ingest_documents([other], memory_kb, strict)
    assert not report.added and "not Vietnamese" in report.skipped[0][1]


def test_filters_on_metadata_and_doc_id(settings, memory_kb):
    docs = [
        Document("a", "A", FANSIPAN, "a", {"topic": "núi", "year": 2016, "nơi [x]": "Lào Cai"}),
        Document("b", "B", HA_LONG, "b", {"topic": "biển", "year": 1994}),
    ]
    ingest_documents(docs, memory_kb, settings)
    retriever = HybridRetriever(memory_kb, settings.retrieval, settings.sparse)
    question = "núi cao và vịnh đảo đá vôi"
    assert {h["doc_id"] for h in retriever.retrieve(question)} == {"a", "b"}
    assert {h["doc_id"] for h in retriever.retrieve(question, filters={"topic": "biển"})} == {"b"}
    assert {h["doc_id"] for h in retriever.retrieve(question, filters={"year": {"gte": 2000}})} == {
        "a"
    }
    assert {h["doc_id"] for h in retriever.retrieve(question, filters={"doc_id": ["a"]})} == {"a"}
    with pytest.raises(FilterError, match="'year'"):
        retriever.retrieve(question, filters={"year": {"between": 1}})
    # Any stored metadata key can be filtered on (quoted in the store's path); a key that is no
    # path is refused with its name, never an error from inside the search.
    assert {h["doc_id"] for h in retriever.retrieve(question, filters={"nơi [x]": "Lào Cai"})} == {
        "a"
    }
    for bad in ("metadata.a b", 'a"b'):
        with pytest.raises(FilterError, match=re.escape(repr(bad))):
            retriever.retrieve(question, filters={bad: "x"})


def test_local_store_persists_and_refuses_a_second_process(settings):
    kb = build_knowledge_base(settings)
    try:
        ingest_documents([Document("a", "A", FANSIPAN, "a")], kb, settings)
        with pytest.raises(StoreError, match="another process"):
            build_knowledge_base(settings)
    finally:
        kb.client.close()
    reopened = build_knowledge_base(settings)
    try:
        assert reopened.count() == 1 and reopened.corpus_version == 1
    finally:
        reopened.client.close()


def test_pdf_and_jsonl_end_to_end(tmp_path, settings, memory_kb):
    write_pdf(tmp_path / "r.pdf", ["Nha may thuy dien Hoa Binh tren song Da."])
    (tmp_path / "d.jsonl").write_text(
        json.dumps(
            {"id": "x1", "title": "Phở", "text": "Phở là món ăn Hà Nội."}, ensure_ascii=False
        ),
        "utf-8",
    )
    report = ingest_paths([tmp_path], memory_kb, settings, progress=False)
    assert sorted(report.added)[1] == "x1" and len(report.added) == 2


def test_corpus_statistics_from_several_writers_add_up(settings):
    """Two processes on one Qdrant server (here: two knowledge bases in server mode on one
    client) each append their own change; neither overwrites the other's counts."""
    from qdrant_client import QdrantClient

    from tools.kb.backends import ServerStore
    from tools.kb.sparse import BM25Encoder
    from tools.kb.store import KnowledgeBase

    client = QdrantClient(location=":memory:")
    try:
        first = KnowledgeBase(client, "shared", BM25Encoder(), backend=ServerStore())
        second = KnowledgeBase(client, "shared", BM25Encoder(), backend=ServerStore())
        stale = first.stats()  # what a read-modify-write writer would have started from
        ingest_documents([Document("a", "A", FANSIPAN, "a")], second, settings)
        ingest_documents([Document("b", "B", HA_LONG, "b")], first, settings)
        totals = first.stats()
        assert stale.version == 0 and totals.version == second.corpus_version == 2
        assert totals.chunks == first.count() == 2
        points, _ = client.scroll("shared", with_payload=["n_tokens"], limit=10)
        for view in ("bm25", "bm25_plain"):
            assert totals.tokens[view] == sum(p.payload["n_tokens"][view] for p in points)
        assert first.delete_document(DocRef("default", "a")) == 1
        assert second.stats().chunks == 1 and second.corpus_version == 3
    finally:
        client.close()


def test_statistics_of_a_store_the_previous_version_wrote_count_on_from_its_totals():
    """One totals record (how the previous version kept them) is where appended changes start."""
    from qdrant_client import QdrantClient, models

    from tools.kb.stats import CorpusStats, CorpusStatsStore, StatsDelta

    client = QdrantClient(location=":memory:")
    try:
        legacy = "legacy_meta"
        store = CorpusStatsStore(client, legacy)
        client.upsert(
            legacy,
            [
                models.PointStruct(
                    id=1, vector=[1.0], payload={"version": 7, "chunks": 4, "tokens": {"bm25": 40}}
                )
            ],
        )
        store.record(StatsDelta(1, {"bm25": 5}))
        assert store.read() == CorpusStats(8, 5, {"bm25": 45}) and store.version() == 8
    finally:
        client.close()
