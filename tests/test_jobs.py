"""Ingestion as jobs: 202 and progress, per-file failures, documents searchable through their
sparse views before their dense vectors exist, the dense backfill, restarts and a killed
worker. Every wait is on the job's own end (no sleeps)."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from server.main import create_app
from tests.helpers import write_pdf
from tools.corpus.documents import Document
from tools.ingest.chunk import chunk_document
from tools.ingest.jobs import IngestJobs
from tools.ingest.worker import ProcessWorkers, ThreadWorkers
from tools.kb.embedders import BundledEmbedder
from tools.kb.search import DENSE_VIEW
from tools.kb.writes import ChunkedDocument
from tools.services import build_services
from tools.settings import ApiKey

KEY, HR = "admin-0123456789abcdef", "hr-key-0123456789abcdef"
TEXT = "Cơm tấm là món ăn nổi tiếng của Sài Gòn, ăn với sườn nướng và nước mắm chua ngọt."
OTHER = "Phở bò Hà Nội nấu từ xương bò hầm lâu, ăn với bánh phở và hành lá."


def _files(*named: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, data, "text/plain")) for name, data in named]


def _app(settings, services):
    return TestClient(create_app(settings, services=services), raise_server_exceptions=False)


@pytest.fixture
def services(settings):
    built = build_services(settings, location=":memory:", embedder=None)
    yield built
    built.close()


def _finished(client: TestClient, job_id: str) -> dict:
    assert client.app.state.vinarag.jobs.wait(job_id, timeout=120)
    return client.get(f"/jobs/{job_id}").json()


def test_an_upload_answers_202_and_its_job_reports_progress_and_failures(
    settings, services, tmp_path
):
    broken = write_pdf(tmp_path / "broken.pdf", ["x"]).read_bytes()[:40]
    with _app(settings, services) as client:
        response = client.post(
            "/documents/files",
            files=[
                *_files(("com-tam.txt", TEXT.encode())),
                ("files", ("broken.pdf", broken, "application/pdf")),
                *_files(("com-tam.txt", b"the same name again")),
            ],  # fmt: skip
        )
        assert response.status_code == 202
        job = response.json()
        assert response.headers["location"] == job["url"] == f"/jobs/{job['id']}"
        assert job["files"] == ["com-tam.txt", "broken.pdf"]
        done = _finished(client, job["id"])
        assert done["state"] == "done" and done["files_done"] == 2
        assert done["chunks_written"] == done["chunks_total"] == done["report"]["chunks"] == 1
        report = done["report"]
        assert len(report["added"]) == 1 and report["failed"][0]["source"] == "broken.pdf"
        assert report["skipped"] == [
            {"source": "com-tam.txt", "reason": "another file of the same name is in this request"}
        ]
        assert done["eta_s"] == 0.0 and done["searchable_at"] >= done["started_at"]
        answer = client.post("/rag/invoke", json={"input": {"question": "Cơm tấm ăn với gì?"}})
        assert "sườn" in answer.json()["output"]["answer"]
        listed = client.get("/jobs").json()["jobs"]
        assert [j["id"] for j in listed] == [job["id"]]
        texts = client.post("/documents", json={"documents": [{"id": "pho", "text": OTHER}]})
        assert texts.status_code == 202
        assert _finished(client, texts.json()["id"])["report"]["added"] == ["pho"]
        assert client.get("/jobs/no-such-job").status_code == 404


def test_jobs_are_seen_only_by_keys_of_their_collection(settings, services):
    configured = settings.model_copy(
        update={"api_keys": [KEY, ApiKey(name="hr", key=HR, read=["hr"], write=["hr"])]}
    )
    with _app(configured, services) as client:
        admin, hr = {"X-API-Key": KEY}, {"X-API-Key": HR}
        body = {"documents": [{"id": "pho", "text": OTHER}]}
        default_job = client.post("/documents", json=body, headers=admin).json()
        hr_job = client.post("/documents?collection=hr", json=body, headers=hr).json()
        for job in (default_job, hr_job):
            _finished(client, job["id"])
        assert client.get(f"/jobs/{default_job['id']}", headers=hr).status_code == 404
        assert client.get(f"/jobs/{hr_job['id']}", headers=hr).json()["state"] == "done"
        assert [j["id"] for j in client.get("/jobs", headers=hr).json()["jobs"]] == [hr_job["id"]]
        assert len(client.get("/jobs", headers=admin).json()["jobs"]) == 2


class HeldEmbedding(ThreadWorkers):
    """The server's own steps, with the embedding held until the test lets it go: the moment
    between a document being searchable and its dense vectors existing."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.release = threading.Event()

    def embed(self, texts):
        assert self.release.wait(60)
        return super().embed(texts)


@pytest.fixture(scope="module")
def embedder() -> BundledEmbedder:
    return BundledEmbedder(threads=1)


@pytest.fixture
def hybrid(settings, embedder):
    """Services with the bundled dense model, fused with the sparse views."""
    configured = settings.model_copy(
        update={"retrieval": settings.retrieval.model_copy(update={"mode": "hybrid"})}
    )
    built = build_services(configured, location=":memory:", embedder=embedder)
    yield built
    built.close()


def test_a_document_answers_before_its_dense_vectors_and_the_cache_moves_on(hybrid):
    services, configured = hybrid, hybrid.settings
    held = HeldEmbedding(configured, services.retrieval.kb)
    app = create_app(configured, services=services, workers=held)
    with TestClient(app) as client:
        job = client.post("/documents", json={"documents": [{"id": "com", "text": TEXT}]})
        job_id = job.json()["id"]
        deadline = time.monotonic() + 60  # polled until written: no sleep
        while (seen := client.get(f"/jobs/{job_id}").json())["state"] in ("queued", "running"):
            assert time.monotonic() < deadline
        # held: written, its dense vectors do not exist yet
        assert seen["state"] == "searchable" and seen["chunks_embedded"] == 0
        question = {"input": {"question": "Cơm tấm ăn với gì?"}}
        first = client.post("/rag/invoke", json=question).json()["output"]
        assert "sườn" in first["answer"]
        (collection,) = client.get("/collections").json()["collections"]
        assert collection["dense_waiting"] == 1
        assert client.get("/readyz").json()["knowledge_base"]["dense_waiting"] == 1
        version = client.get("/collections/stats").json()["corpus_version"]
        held.release.set()
        done = _finished(client, job_id)
        assert done["state"] == "done" and done["chunks_embedded"] == 1
        assert client.get("/collections/stats").json()["corpus_version"] > version
        again = client.post("/rag/invoke", json=question).json()["output"]
        assert again["cache_hit"] is False  # the answer before the vectors is not final
        final = client.post("/rag/invoke", json=question).json()["output"]
        assert final["cache_hit"] is True


def test_a_chunk_waiting_for_its_dense_vector_is_fused_over_its_sparse_views(hybrid, embedder):
    stack = hybrid.retrieval
    kb, retriever = stack.kb, stack.retriever
    docs = [Document(f"d{i}", f"Món {i}", t, "api") for i, t in enumerate([TEXT, OTHER])]
    chunked = [ChunkedDocument(d, chunk_document(d, 900, 150), d.content_hash) for d in docs]
    kb.write(kb.encode(chunked))  # no vectors: searchable through the sparse views only
    (hit, *_) = retriever.retrieve("cơm tấm sườn nướng")
    assert hit["doc_id"] == "d0" and DENSE_VIEW not in hit["view_scores"]
    sparse_only = retriever.retrieve("cơm tấm sườn nướng", weights={
        v: w for v, w in retriever.weights().items() if v != DENSE_VIEW})  # fmt: skip
    weight = retriever.weights()[DENSE_VIEW]
    # the same fused score a sparse-only search gives, scaled back to the views it is in
    assert hit["score"] == pytest.approx(sparse_only[0]["score"] / (1 - weight))
    pending = kb.pending_dense()
    assert {p.key for p in pending} == {("default", "d0"), ("default", "d1")}
    vectors = embedder.embed_passages([kb.passage_texts([p.point_id])[p.point_id]
                                       for p in pending])  # fmt: skip
    version = kb.corpus_version
    assert kb.add_dense(pending, vectors) == 2 and kb.pending_dense() == []
    assert kb.corpus_version == version + 1
    (hit, *_) = retriever.retrieve("cơm tấm sườn nướng")
    assert hit["doc_id"] == "d0" and DENSE_VIEW in hit["view_scores"]
    assert kb.add_dense(pending, vectors) == 0  # nothing waits any more


def test_a_vector_for_a_replaced_chunk_is_not_applied(hybrid, embedder):
    stack = hybrid.retrieval
    kb = stack.kb
    first = Document("d", "Món", TEXT, "api")
    kb.write(kb.encode([ChunkedDocument(first, chunk_document(first, 900, 150),
                                        first.content_hash)]))  # fmt: skip
    stale = kb.pending_dense()
    second = Document("d", "Món", OTHER, "api")
    kb.write(kb.encode([ChunkedDocument(second, chunk_document(second, 900, 150),
                                        second.content_hash)]))  # fmt: skip
    assert kb.add_dense(stale, np.ones((1, embedder.dim), np.float32)) == 0
    assert len(kb.pending_dense()) == 1  # the new text still waits for its own vector


def test_an_unfinished_job_resumes_after_a_restart(settings, services):
    jobs = IngestJobs(services.retrieval.kb, ThreadWorkers(settings, services.retrieval.kb),
                      settings.data_dir / "jobs")  # fmt: skip
    job = jobs.submit_files([("com-tam.txt", TEXT.encode())], "default")  # never started
    jobs.close()
    with _app(settings, services) as client:  # the server comes back over the same folder
        done = _finished(client, job.id)
        assert done["state"] == "done" and len(done["report"]["added"]) == 1
        assert not (settings.data_dir / "jobs" / job.id / "input").exists()
        answer = client.post("/rag/invoke", json={"input": {"question": "Cơm tấm ăn với gì?"}})
        assert "sườn" in answer.json()["output"]["answer"]


@pytest.mark.slow
def test_worker_processes_read_encode_and_embed_and_a_killed_one_fails_only_its_file(
    settings,
):
    configured = settings.model_copy(
        update={
            "ingest": settings.ingest.model_copy(update={"worker": "process"}),
            "dense": settings.dense.model_copy(update={"backend": "bundled", "threads": 1}),
            "retrieval": settings.retrieval.model_copy(update={"mode": "hybrid"}),
        }
    )
    services = build_services(configured, location=":memory:")
    try:
        with _app(configured, services) as client:
            jobs = client.app.state.vinarag.jobs
            assert isinstance(jobs.workers, ProcessWorkers)
            first = client.post("/documents/files", files=_files(("com.txt", TEXT.encode())))
            done = _finished(client, first.json()["id"])
            assert done["state"] == "done" and done["chunks_embedded"] == 1
            pool = jobs.workers._pools["prepare"]
            (pid,) = [p.pid for p in pool._processes.values()]
            assert pid != os.getpid()
            os.kill(pid, signal.SIGKILL)  # the worker dies (out of memory, an operator)
            second = client.post(
                "/documents/files",
                files=_files(
                    ("a.txt", OTHER.encode()), ("b.txt", "Bánh mì Sài Gòn giòn.".encode())
                ),
            )
            report = _finished(client, second.json()["id"])["report"]
            assert report["failed"] == [
                {
                    "source": "a.txt",
                    "reason": "the ingestion worker stopped (killed, or out of memory)",
                }
            ]
            assert len(report["added"]) == 1  # a new worker took the next file
            assert services.retrieval.kb.pending_dense() == []
    finally:
        services.close()


def test_chunks_waiting_for_dense_vectors_are_found_again_when_the_store_reopens(
    settings, embedder
):
    """The backfill resumes after a restart from the store itself (chunks marked waiting)."""
    from tools.kb.factory import build_knowledge_base

    document = Document("d", "Món", TEXT, "api")
    chunked = [ChunkedDocument(document, chunk_document(document, 900, 150),
                               document.content_hash)]  # fmt: skip
    kb = build_knowledge_base(settings, embedder=embedder)
    kb.write(kb.encode(chunked))
    kb.close()
    kb = build_knowledge_base(settings, embedder=embedder)
    try:
        (waiting,) = kb.pending_dense()
        assert waiting.key == ("default", "d")
        vector = embedder.embed_passages([kb.passage_texts([waiting.point_id])[waiting.point_id]])
        assert kb.add_dense([waiting], vector) == 1
    finally:
        kb.close()
    kb = build_knowledge_base(settings, embedder=embedder)
    try:
        assert kb.pending_dense() == []
        (stored,) = kb.client.retrieve(kb.collection, [waiting.point_id], with_vectors=True)
        assert np.allclose(stored.vector[DENSE_VIEW], vector[0], atol=1e-6)
    finally:
        kb.close()


def test_only_the_newest_ended_jobs_are_kept(settings, services):
    kb = services.retrieval.kb
    jobs = IngestJobs(kb, ThreadWorkers(settings, kb), settings.data_dir / "jobs", kept=1)
    jobs.start()
    try:
        first = jobs.submit_documents([Document("a", "", TEXT, "api")], "default")
        second = jobs.submit_documents([Document("b", "", OTHER, "api")], "default")
        assert jobs.wait(second.id, 60) and jobs.wait(first.id, 60)
        assert [j.id for j in jobs.recent()] == [second.id]
        assert not (settings.data_dir / "jobs" / first.id).exists()
        assert (settings.data_dir / "jobs" / second.id / "job.json").is_file()
    finally:
        jobs.close()
