"""What a `vinarag worker` runs: the bodies of the queue's tasks, on what the worker built once
(`WorkerContext`). A writer (the jobs queue) holds the store and runs jobs and syncs with the
same `JobRunner` and `sync_folder` as one machine does, its slow steps sent to the steps queue;
a steps worker reads, encodes and embeds, and needs no store."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import Celery
from celery.exceptions import Reject
from prometheus_client import CollectorRegistry, Counter, Histogram

from tools.corpus.documents import Chunk
from tools.ingest.job import ENDED, Job
from tools.ingest.jobs import JobRunner, row_documents
from tools.ingest.originals import open_originals
from tools.ingest.sync import sync_folder
from tools.ingest.uploads import StoredUpload, Uploads, open_uploads
from tools.ingest.worker import IngestWorkers, Prepared, WorkerStopped, build_workers, encoded
from tools.kb.backfill import DenseBackfill
from tools.kb.store import KnowledgeBase
from tools.queue.app import (
    BACKFILL,
    EMBED,
    ENCODE,
    READ_DOCUMENTS,
    READ_UPLOAD,
    RUN_JOB,
    SYNC_SOURCE,
)
from tools.queue.steps import Outcome, QueuedSteps
from tools.records.audit import AuditLog, job_entry, sync_entry
from tools.records.feedback import open_feedback_store
from tools.records.jobs import PostgresJobStore
from tools.settings import Settings

log = logging.getLogger(__name__)


class TaskMetrics:
    """Tasks run by this worker: how many, how they ended, how long they took."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.tasks = Counter(
            "vinarag_queue_tasks_total",
            "Queue tasks run by this worker",
            ["task", "outcome"],
            registry=self.registry,
        )
        self.seconds = Histogram(
            "vinarag_queue_task_seconds",
            "Time a queue task took in this worker",
            ["task"],
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
            registry=self.registry,
        )


@dataclass
class Writer:
    """A writer's store and what runs jobs on it."""

    kb: KnowledgeBase
    steps: QueuedSteps
    backfill: DenseBackfill
    runner: JobRunner
    audit: AuditLog | None


class WorkerContext:
    def __init__(self, settings: Settings, app: Celery, metrics: TaskMetrics | None = None) -> None:
        self.settings = settings
        self.app = app
        self.metrics = metrics or TaskMetrics()
        self.store = PostgresJobStore.open(settings)
        self.uploads: Uploads = open_uploads(settings, settings.data_dir / "uploads")
        self.stopping = threading.Event()
        self._lock = threading.Lock()  # the writer and the steps built once, whichever thread
        self._steps: IngestWorkers | None = None
        self._writer: Writer | None = None
        self._feedback: Any = None

    @property
    def steps(self) -> IngestWorkers:
        """This worker's own steps, bounded in time as a server's are."""
        with self._lock:
            if self._steps is None:
                self._steps = build_workers(self.settings)
            return self._steps

    @property
    def writer(self) -> Writer:
        """The store, opened by the first job this worker runs (a steps worker never does)."""
        with self._lock:
            if self._writer is None:
                self._writer = self._open_writer()
            return self._writer

    def _open_writer(self) -> Writer:
        from tools.kb.factory import build_knowledge_base, configured_embedder

        kb = build_knowledge_base(self.settings, embedder=configured_embedder(self.settings))
        steps = QueuedSteps(self.app, self.store, self.stopping.is_set)
        ingest = self.settings.ingest
        backfill = DenseBackfill(kb, steps.embed, parallel=ingest.parallel_steps)
        audit = self._audit()

        def reported(job: Job) -> None:
            if audit is not None:
                audit.record(job_entry(job))

        def ended(job: Job) -> None:
            self.store.prune(ingest.jobs_kept)

        runner = JobRunner(
            kb, steps, self.store, self.uploads, backfill,
            encode_slice=ingest.encode_slice, reads_ahead=ingest.parallel_steps,
            on_report=reported, on_end=ended,
            stopping=self.stopping.is_set, originals=open_originals(self.settings),
        )  # fmt: skip
        return Writer(kb, steps, backfill, runner, audit)

    def _audit(self) -> AuditLog | None:
        try:
            self._feedback = open_feedback_store(self.settings)
        except Exception as exc:  # noqa: BLE001 (the writes stand without their trail)
            log.error("audit trail unavailable: %s", exc)
            return None
        return AuditLog(self._feedback) if self._feedback is not None else None

    def close(self) -> None:
        self.stopping.set()
        if self._writer is not None:
            self._writer.steps.close()
            self._writer.runner.close()
            self._writer.kb.close()
        if self._steps is not None:
            self._steps.close()
        if self._feedback is not None:
            self._feedback.close()
        self.store.close()

    # -- the writers' tasks ----------------------------------------------------------------
    def run_job(self, job_id: str) -> None:
        """A job from wherever it stopped: a redelivered job whose worker died mid-write starts
        its writes over (documents already written are unchanged), one that died while its
        vectors were embedded goes on embedding; past `task_attempts` starts it fails."""
        job = self.store.get(job_id)
        if job is None or job.state in ENDED:
            return  # pruned, or ended by a worker that died before acknowledging it
        writer = self.writer
        attempts = self.settings.ingest.task_attempts
        if job.state in ("running", "searchable") and job.attempts >= attempts:
            writer.runner.give_up(job, "worker", f"ingest.task_attempts={attempts}")
            return
        try:
            if job.state != "searchable":
                with self.store.collection_lock(job.collection):
                    writer.runner.run(job)
            if job.state == "searchable":
                writer.backfill.drain(set(job.written), lambda _: writer.runner.refresh(job))
                writer.runner.refresh(job)
        except Exception as exc:
            if self.stopping.is_set() or job.attempts < attempts:
                raise  # left to the queue: run again (here or by another worker)
            log.exception("job %s failed", job.id)
            writer.runner.end(job, "failed", f"{type(exc).__name__}: {exc}")

    def sync_source(self, claim: str, path: str, collection: str, actor: str) -> str:
        """One run of a configured folder; its status is what the claim comes to."""
        writer = self.writer
        try:
            with self.store.collection_lock(collection):
                report = sync_folder(
                    Path(path), collection, writer.kb, self.settings, progress=False,
                    dense="later",
                )  # fmt: skip
        except Exception as exc:  # a source that fails waits for its next run
            log.exception("source %s: sync failed", path)
            self.store.settle(claim, f"failed: {type(exc).__name__}: {exc}"[:500])
            return "failed"
        written = {(collection, doc_id) for doc_id in report.documents_written}
        if written and writer.kb.has_dense:
            writer.backfill.drain(written)
        self.store.settle(claim, report.status)
        self.app.send_task(BACKFILL)  # anything else left waiting (a writer that died, say)
        if writer.audit is not None:
            writer.audit.record(sync_entry(report, actor))
        return report.status

    def backfill(self) -> int:
        """Every chunk still waiting for its dense vector, whoever wrote it (sent when a writer
        starts and after each sync): the queue's dense backfill."""
        writer = self.writer
        if not writer.kb.has_dense:
            return 0
        return writer.backfill.drain()

    # -- the steps' tasks ------------------------------------------------------------------
    def step(self, task_id: str, work: Callable[[], Any]) -> None:
        """Runs `work` and leaves its outcome for the job that waits on it; a step whose
        worker died under it `task_attempts` times answers that instead of running again."""
        attempts = self.settings.ingest.task_attempts
        started = self.store.attempt(f"step:{task_id}")
        if started > attempts:
            outcome = Outcome(
                error=WorkerStopped(
                    f"the ingestion worker stopped {started - 1} times during this step "
                    f"(killed, or out of memory): not tried again (ingest.task_attempts="
                    f"{attempts})"
                )
            )
        else:
            try:
                outcome = Outcome(value=work())
            except Exception as exc:  # noqa: BLE001 (raised again where the job waits)
                outcome = Outcome(error=exc)
        self.store.put_outcome(task_id, outcome.dumps())

    def read_upload(self, upload: StoredUpload) -> Prepared:
        prepared = self.steps.read_upload(self.uploads, upload)
        size = self.settings.ingest.encode_slice
        prepared.terms = {  # encoded here too: one round trip a file
            item.key: [t for part in encoded(self.steps, item.chunks, size) for t in part]
            for item in prepared.chunked
        }
        return prepared


def register(app: Celery, context: WorkerContext) -> None:
    """The task bodies on `app`, each counted and timed."""

    def timed(name: str, body: Callable[..., Any]) -> Callable[..., Any]:
        def run(task: Any, *args: Any) -> Any:
            began = time.perf_counter()
            outcome = "ok"
            try:
                return body(task, *args)
            except Exception:
                outcome = "error"
                raise
            finally:
                context.metrics.tasks.labels(name, outcome).inc()
                context.metrics.seconds.labels(name).observe(time.perf_counter() - began)

        run.__name__ = name.rsplit(".", 1)[-1]
        return run

    def run_job(task: Any, job_id: str) -> None:
        try:
            context.run_job(job_id)
        except Exception as exc:
            if context.stopping.is_set():  # this worker stops: the job goes back to the queue
                raise Reject(str(exc), requeue=True) from exc
            log.warning("job %s: %s: %s; tried again", job_id, type(exc).__name__, exc)
            raise task.retry(exc=exc, countdown=1) from exc

    def sync(task: Any, claim: str, path: str, collection: str, actor: str) -> str:
        return context.sync_source(claim, path, collection, actor)

    def backfill(task: Any) -> int:
        return context.backfill()

    def read_upload(task: Any, job_id: str, stored: str, name: str, collection: str) -> None:
        upload = StoredUpload(job_id, stored, name, collection)
        context.step(task.request.id, lambda: context.read_upload(upload))

    def read_documents(task: Any, rows: list[dict[str, Any]]) -> None:
        documents = row_documents(rows)
        context.step(task.request.id, lambda: context.steps.read_documents(documents))

    def encode(task: Any, pairs: list[list[str]]) -> None:
        chunks = [Chunk("", i, text, title, "") for i, (title, text) in enumerate(pairs)]
        context.step(task.request.id, lambda: context.steps.encode(chunks))

    def embed(task: Any, texts: list[str]) -> None:
        context.step(task.request.id, lambda: context.steps.embed(texts))

    for name, body in (
        (RUN_JOB, run_job),
        (SYNC_SOURCE, sync),
        (BACKFILL, backfill),
        (READ_UPLOAD, read_upload),
        (READ_DOCUMENTS, read_documents),
        (ENCODE, encode),
        (EMBED, embed),
    ):
        app.task(name=name, bind=True, max_retries=None)(timed(name, body))
