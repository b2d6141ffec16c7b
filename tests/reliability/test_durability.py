"""A write cut short: a document is all or nothing, and the corpus statistics follow the points
that are really there."""

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import DEEP
from tools.corpus.documents import Document
from tools.ingest.pipeline import ingest_documents
from tools.kb.factory import build_knowledge_base
from tools.settings import load_settings

TEXT = "Câu số {n} nói về Hà Nội, thủ đô của Việt Nam, và các hồ nước ở trung tâm. "
# An ingest killed after this many one-document batches (while the next is written), of DOCS
KILLED_AFTER, DOCS = ((5, 60, 150), 400) if DEEP else ((3, 12, 30), 40)


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


@pytest.mark.slow
def test_a_document_written_in_part_is_written_again(tmp_path):
    settings = _settings(tmp_path)
    kb = build_knowledge_base(settings, None, None)
    try:
        ingest_documents(_documents(), kb, settings)
        stored = kb.existing([("default", "doc2")])[("default", "doc2")]
        assert stored.complete and len(stored.point_ids) > 2
        kb.client.delete(kb.collection, points_selector=stored.point_ids[1:])  # the kill
    finally:
        kb.close()
    kb = build_knowledge_base(settings, None, None)
    try:
        report = ingest_documents(_documents(), kb, settings)
        assert report.replaced == ["doc2"] and len(report.unchanged) == 5
        assert kb.existing([("default", "doc2")])[("default", "doc2")].complete
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
from tools.corpus.documents import Document
from tools.ingest.pipeline import ingest_documents
from tools.kb.factory import build_knowledge_base
from tools.settings import load_settings
settings = load_settings(data_dir=sys.argv[1], dense={"backend": "none"},
                         chunking={"size": 300, "overlap": 0}, ingest={"batch_size": 1})
kb = build_knowledge_base(settings, None, None)
write = kb.write


def told(*args, **kwargs):  # each batch written is told, so the test kills at a known point
    statuses = write(*args, **kwargs)
    print("written", flush=True)
    return statuses


kb.write = told
# each run's own words (argv[2]): every run replaces the documents, so each kill lands in a write
text = "Câu số {n} nói về Hà Nội, thủ đô của Việt Nam, và các hồ nước ở trung tâm. " + sys.argv[2]
count = int(sys.argv[3])
docs = [Document(f"doc{i}", f"Tài liệu {i}", text.format(n=i) * 40, f"d{i}") for i in range(count)]
ingest_documents(docs, kb, settings)
"""


@pytest.mark.slow
def test_kill_9_during_an_ingest_leaves_no_half_document(tmp_path):
    """The ingest is killed at several points; each time the store opens, the statistics match
    the points, and the next ingest completes every document without duplicates."""
    settings = _settings(tmp_path)
    for batches in KILLED_AFTER:
        process = subprocess.Popen(
            [sys.executable, "-c", INGEST, str(settings.data_dir), f"lần {batches}.", str(DOCS)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        for _ in range(batches):
            assert process.stdout.readline().strip() == "written"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        kb = build_knowledge_base(settings, None, None)
        try:
            assert kb.stats().chunks == kb.count()
            report = ingest_documents(_documents(DOCS), kb, settings)
            assert report.accepted == DOCS and not report.failed
            docs = kb.existing([("default", f"doc{i}") for i in range(DOCS)])
            assert len(docs) == DOCS and all(d.complete for d in docs.values())
            assert kb.count() == sum(len(d.point_ids) for d in docs.values())
        finally:
            kb.close()


@pytest.mark.slow
def test_kill_9_of_the_server_during_a_post_of_documents(tmp_path):
    """The server is killed while it writes a posted batch; the store opens with statistics
    that match its points, and posting the batch again completes every document once."""
    import threading

    from tests.helpers import serve_process

    settings = _settings(tmp_path)
    env = {
        **os.environ,
        "VINARAG_DATA_DIR": str(settings.data_dir),
        "VINARAG_DENSE__BACKEND": "none",
        "VINARAG_CHUNKING__SIZE": "300",
        "VINARAG_CHUNKING__OVERLAP": "0",
        "VINARAG_INGEST__BATCH_SIZE": "1",
        "VINARAG_SERVER__MAX_DOCUMENTS": "1000",
    }
    server, url = serve_process(env)
    try:
        documents = [{"id": d.doc_id, "title": d.title, "text": d.text} for d in _documents(300)]
        posting = threading.Thread(
            target=lambda: _post_quietly(f"{url}/documents", {"documents": documents})
        )
        posting.start()
        deadline = time.monotonic() + 120
        while _documents_in(url) < 60:  # killed once some of the batch is in, mid-write
            assert time.monotonic() < deadline, "the batch did not start going in"
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        posting.join(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
    kb = build_knowledge_base(settings, None, None)
    try:
        assert kb.stats().chunks == kb.count()
        report = ingest_documents(_documents(300), kb, settings)
        assert report.accepted == 300
        docs = kb.existing([("default", f"doc{i}") for i in range(300)])
        assert len(docs) == 300 and all(d.complete for d in docs.values())
        assert kb.count() == sum(len(d.point_ids) for d in docs.values())
    finally:
        kb.close()


def _post_quietly(url: str, body: dict) -> None:
    import contextlib

    import httpx

    with contextlib.suppress(httpx.HTTPError):  # the server is killed under it
        httpx.post(url, json=body, timeout=120)


def _documents_in(url: str) -> int:
    import httpx

    try:
        return httpx.get(f"{url}/collections/stats", timeout=10).json()["documents"]
    except httpx.HTTPError:
        return 0
