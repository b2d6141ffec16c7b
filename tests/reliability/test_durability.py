"""A write cut short: a document is all or nothing, and the corpus statistics follow the points
that are really there."""

import os
import signal
import subprocess
import sys
import time

import pytest

from tools.ingest.documents import Document
from tools.ingest.pipeline import ingest_documents
from tools.kb.factory import build_knowledge_base
from tools.settings import load_settings

TEXT = "Câu số {n} nói về Hà Nội, thủ đô của Việt Nam, và các hồ nước ở trung tâm. "


def _documents(count: int = 6) -> list[Document]:
    return [
        Document(f"doc{i}", f"Tài liệu {i}", TEXT.format(n=i) * 40, f"d{i}") for i in range(count)
    ]


def _settings(tmp_path):
    return load_settings(
        data_dir=str(tmp_path / "data"),
        dense={"backend": "none"},
        chunking={"size": 300, "overlap": 0},
    )


def test_a_document_written_in_part_is_written_again(tmp_path):
    settings = _settings(tmp_path)
    kb = build_knowledge_base(settings, None, None)
    try:
        ingest_documents(_documents(), kb, settings)
        stored = kb._existing(["doc2"])["doc2"]
        assert stored.complete and len(stored.point_ids) > 2
        kb.client.delete(kb.collection, points_selector=stored.point_ids[1:])  # the kill
    finally:
        kb.close()
    kb = build_knowledge_base(settings, None, None)
    try:
        report = ingest_documents(_documents(), kb, settings)
        assert report.replaced == ["doc2"] and len(report.unchanged) == 5
        assert kb._existing(["doc2"])["doc2"].complete
        assert kb.stats().chunks == kb.count()
    finally:
        kb.close()


def test_statistics_that_drifted_from_the_points_are_recounted(tmp_path):
    from tools.kb.stats import StatsDelta

    settings = _settings(tmp_path)
    kb = build_knowledge_base(settings, None, None)
    try:
        ingest_documents(_documents(), kb, settings)
        right = kb.stats()
        kb.stats_store.record(StatsDelta(-7, {"bm25": -100}))  # a delta that never happened
    finally:
        kb.close()
    kb = build_knowledge_base(settings, None, None)
    try:
        stats = kb.stats()
        assert stats.chunks == kb.count() == right.chunks
        assert stats.tokens == right.tokens
    finally:
        kb.close()


INGEST = """
import sys
from tools.ingest.documents import Document
from tools.ingest.pipeline import ingest_documents
from tools.kb.factory import build_knowledge_base
from tools.settings import load_settings
settings = load_settings(data_dir=sys.argv[1], dense={"backend": "none"},
                         chunking={"size": 300, "overlap": 0}, ingest={"batch_size": 1})
kb = build_knowledge_base(settings, None, None)
text = "Câu số {n} nói về Hà Nội, thủ đô của Việt Nam, và các hồ nước ở trung tâm. "
docs = [Document(f"doc{i}", f"Tài liệu {i}", text.format(n=i) * 40, f"d{i}") for i in range(400)]
print("ready", flush=True)
ingest_documents(docs, kb, settings)
"""


@pytest.mark.slow
def test_kill_9_during_an_ingest_leaves_no_half_document(tmp_path):
    """The ingest is killed at several points; each time the store opens, the statistics match
    the points, and the next ingest completes every document without duplicates."""
    settings = _settings(tmp_path)
    for wait in (0.3, 0.9, 1.7):
        process = subprocess.Popen(
            [sys.executable, "-c", INGEST, settings.data_dir.__str__()],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        time.sleep(wait)  # bounded: the kill lands somewhere inside the 400 writes
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        kb = build_knowledge_base(settings, None, None)
        try:
            assert kb.stats().chunks == kb.count()
            report = ingest_documents(_documents(400), kb, settings)
            assert report.accepted == 400 and not report.failed
            docs = kb._existing([f"doc{i}" for i in range(400)])
            assert len(docs) == 400 and all(d.complete for d in docs.values())
            assert kb.count() == sum(len(d.point_ids) for d in docs.values())
        finally:
            kb.close()
