"""Ingestion jobs: an upload answers at once with a job id, and its documents become searchable
through their sparse views as soon as they are chunked and written; dense vectors follow in
the background (the dense backfill, `tools/kb/backfill.py`, which syncs wake too).

`JobRunner` runs one job, wherever it runs. `IngestJobs` is the embedded default: jobs on one
thread of the server (it only writes to the store; the slow steps run in the ingestion worker,
each bounded in time), a file at a time, and fairly: the next file is taken from the key that
was served longest ago, so one key's 2,000-file upload does not hold another key's one-page
upload for its whole length. A job's record and its files are kept under `data_dir/jobs/ID/`
until it ends, so a restart resumes it (documents already written are `unchanged`); a job that
was under way at `max_attempts` starts fails instead of running into the same wall again. The
backfill resumes from the store itself (chunks marked `dense_pending`). On a task queue
(`ingest.queue: celery`) the same runner runs in `vinarag worker` processes: `tools/queue/`.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tools.corpus.documents import DocKey, Document
from tools.ingest.job import ENDED, FileJobStore, Job, JobState, JobStore
from tools.ingest.originals import Originals, originals_of, release_unnamed
from tools.ingest.pipeline import IngestReport, record
from tools.ingest.uploads import StoredUpload, Uploads, folder_uploads
from tools.ingest.worker import (
    IngestWorkers,
    Prepared,
    WorkerStopped,
    WorkerTimedOut,
    encoded,
)
from tools.kb.backfill import DenseBackfill
from tools.kb.store import KnowledgeBase
from tools.kb.writes import EncodedDocument

log = logging.getLogger(__name__)

DOCUMENTS = "documents.json"  # a documents job's input


class Jobs(Protocol):
    """What the server asks of its jobs, wherever they run. A job's input is stored first
    (`uploads`), then the job is accepted: run here, or sent to the queue's workers."""

    kept: int
    backfill: DenseBackfill  # what waits for dense vectors, read by the pages and /readyz
    uploads: Uploads

    def start(self) -> None: ...

    def close(self, timeout_s: float = 10.0) -> None: ...

    def accept(self, job: Job) -> Job:
        """A job whose input is stored, to run."""
        ...

    def get(self, job_id: str) -> Job | None: ...

    def recent(self, limit: int = 50) -> list[Job]: ...

    def wait(self, job_id: str, timeout: float | None = None) -> bool: ...

    def submit_files(
        self,
        files: Sequence[tuple[str, bytes]],
        collection: str,
        refused: Sequence[tuple[str, str]] = (),
        actor: str = "",
    ) -> Job:
        """Uploaded files (name, content); `refused`: files of the request that will not be
        read, with the reason (reported)."""
        return self.accept(files_job(self.uploads, files, collection, refused, actor))

    def submit_documents(
        self, documents: Sequence[Document], collection: str, actor: str = ""
    ) -> Job:
        return self.accept(documents_job(self.uploads, documents, collection, actor))


def stored_name(i: int, name: str) -> str:
    """Where an upload is kept: by position (the name is the user's), with its type."""
    return f"{i}{Path(name).suffix.lower()}"


def files_job(
    uploads: Uploads,
    files: Sequence[tuple[str, bytes]],
    collection: str,
    refused: Sequence[tuple[str, str]] = (),
    actor: str = "",
) -> Job:
    """A job for uploaded files (name, content), its input stored first; `refused`: files of
    the request that will not be read, with the reason (reported)."""
    job = Job(str(uuid.uuid4()), collection, "files", [name for name, _ in files])
    job.actor = actor
    job.refused = list(refused)
    for i, (name, data) in enumerate(files):
        uploads.put(job.id, stored_name(i, name), data)
    return job


def document_rows(documents: Sequence[Document]) -> list[dict[str, Any]]:
    """Documents as JSON: a documents job's stored input, a step's message."""
    return [
        {"id": d.doc_id, "title": d.title, "text": d.text, "source": d.source,
         "metadata": d.metadata, "collection": d.collection}
        for d in documents
    ]  # fmt: skip


def row_documents(rows: Sequence[dict[str, Any]], collection: str | None = None) -> list[Document]:
    """`document_rows` read back, into `collection` when named (rows stored by an earlier
    release carry none)."""
    return [
        Document(r["id"], r["title"], r["text"], r["source"], r["metadata"],
                 collection=collection or r["collection"])
        for r in rows
    ]  # fmt: skip


def documents_job(
    uploads: Uploads, documents: Sequence[Document], collection: str, actor: str = ""
) -> Job:
    job = Job(str(uuid.uuid4()), collection, "documents", [d.doc_id for d in documents])
    job.actor = actor
    rows = document_rows(documents)
    uploads.put(job.id, DOCUMENTS, json.dumps(rows, ensure_ascii=False).encode())
    return job


class Stopping(Exception):
    """The process is stopping: the job is left as it is, to resume at the next start."""


@dataclass
class Progress:
    """A job between two of its steps."""

    report: IngestReport
    began: float
    reads: dict[int, Future[Prepared]] = field(default_factory=dict)  # files read ahead


class JobRunner:
    """Runs a job's steps: each file read in the ingestion workers, its documents written
    searchable first, the report kept; the job ends once none of its chunks waits for a dense
    vector."""

    def __init__(
        self,
        kb: KnowledgeBase,
        workers: IngestWorkers,
        store: JobStore,
        uploads: Uploads,
        backfill: DenseBackfill,
        *,
        encode_slice: int = 256,
        reads_ahead: int = 0,
        on_report: Callable[[Job], None] | None = None,
        on_end: Callable[[Job], None] | None = None,
        stopping: Callable[[], bool] = lambda: False,
        originals: Originals | None = None,
    ) -> None:
        """`reads_ahead`: files of a job read at once while one is written (workers on other
        machines); `on_report` hears each job once its documents are written (metrics, the
        audit trail), `on_end` once it has ended; `originals`: the files a new version
        replaces are removed."""
        self.kb = kb
        self.workers = workers
        self.store = store
        self.uploads = uploads
        self.backfill = backfill
        self.encode_slice = encode_slice
        self.on_report = on_report
        self.on_end = on_end
        self.stopping = stopping
        self.originals = originals
        self._reader = ThreadPoolExecutor(reads_ahead, "job-read") if reads_ahead > 0 else None
        self.reads_ahead = reads_ahead

    def close(self) -> None:
        if self._reader is not None:
            self._reader.shutdown(wait=False, cancel_futures=True)

    def run(self, job: Job) -> None:
        """The whole job, up to its documents written (the queue's task)."""
        progress = self.begin(job)
        while not self.step(job, progress):
            pass

    def begin(self, job: Job) -> Progress:
        job.state, job.started_at = "running", time.time()
        job.files_done = job.chunks_total = job.chunks_written = 0  # resumed: starts over
        job.written = []
        job.attempts += 1
        self.store.save(job)
        return Progress(IngestReport(skipped=list(job.refused)), time.perf_counter())

    def give_up(self, job: Job, stopped: str, setting: str) -> None:
        """A job whose process (`stopped`: server, worker) died under it as often as `setting`
        allows: failed, naming the file it was reading, instead of running into it again."""
        where = f" while reading {job.current}" if job.current else ""
        self.end(
            job,
            "failed",
            f"the {stopped} stopped {job.attempts} times during this job{where}: not tried "
            f"again ({setting})",
        )
        log.error("job %s: %s", job.id, job.error)

    def end(self, job: Job, state: JobState, error: str | None = None) -> None:
        job.state, job.error, job.ended_at = state, error, time.time()
        self.store.save(job)
        self.uploads.remove(job.id)
        if self.on_end is not None:
            self.on_end(job)

    def step(self, job: Job, progress: Progress) -> bool:
        """One file of the job (or its documents), True once the job is past its writes."""
        report = progress.report
        if job.kind == "files":
            i = job.files_done
            name = job.names[i]
            job.current = name
            self.store.save(job)
            try:
                prepared = self._read(job, progress, i)
            except WorkerStopped as exc:
                if self.stopping():
                    raise Stopping from None
                if isinstance(exc, WorkerTimedOut):
                    log.warning("job %s: %s %s", job.id, name, exc)
                report.failed.append((name, str(exc)))
                prepared = Prepared([], IngestReport())
            self._write(job, prepared, report)
            job.files_done += 1
            job.current = None
            self.store.save(job)
            if job.files_done < len(job.names):
                return False
        else:
            with self.uploads.local(job.id, DOCUMENTS) as path:
                documents = row_documents(json.loads(path.read_text("utf-8")), job.collection)
            try:
                prepared = self.workers.read_documents(documents)
            except WorkerStopped:
                if self.stopping():
                    raise Stopping from None
                raise
            self._write(job, prepared, report)
            job.files_done = 1
        self._finish(job, progress)
        return True

    def _read(self, job: Job, progress: Progress, i: int) -> Prepared:
        if self._reader is None:
            return self._read_one(job, i)
        for ahead in range(i, min(i + self.reads_ahead, len(job.names))):
            if ahead not in progress.reads:
                progress.reads[ahead] = self._reader.submit(self._read_one, job, ahead)
        return progress.reads.pop(i).result()

    def _read_one(self, job: Job, i: int) -> Prepared:
        name = job.names[i]

        def pages(done: int, total: int) -> None:
            if job.ocr_pages.get(name) != [done, total]:
                job.ocr_pages = {**job.ocr_pages, name: [done, total]}
                self.store.save(job)

        try:
            upload = StoredUpload(job.id, stored_name(i, name), name, job.collection)
            return self.workers.read_upload(self.uploads, upload, pages)
        finally:
            if name in job.ocr_pages:  # read: the file's phase is its chunks' from here
                job.ocr_pages = {k: v for k, v in job.ocr_pages.items() if k != name}

    def _finish(self, job: Job, progress: Progress) -> None:
        report = progress.report
        self.kb.optimize()
        report.seconds = time.perf_counter() - progress.began
        report.corpus_version = self.kb.corpus_version
        job.report = copy.deepcopy(report)  # a snapshot: readers never see it grow
        job.searchable_at = time.time()
        if self.on_report is not None:
            self.on_report(job)
        if report.nothing_went_in:
            self.end(job, "failed", "nothing went in")
            return
        self.refresh(job)

    def _write(self, job: Job, prepared: Prepared, report: IngestReport) -> None:
        """One file's documents: encoded a slice at a time (progress), then written whole."""
        for bucket in ("skipped", "failed", "warnings"):
            getattr(report, bucket).extend(getattr(prepared.report, bucket))
        statuses, todo = self.kb.plan(prepared.chunked)
        for item in prepared.chunked:
            if statuses[item.key] == "unchanged":
                record(report, item, "unchanged")
        job.chunks_total += sum(len(item.chunks) for item in todo)
        keys = [item.key for item in todo]
        before = originals_of(self.kb, keys) if self.originals is not None else set()
        for item in todo:
            terms = list(prepared.terms.get(item.key, [])) if prepared.terms else []
            if len(terms) == len(item.chunks):
                job.chunks_written += len(terms)
            else:
                terms = []
                try:
                    for part in encoded(self.workers, item.chunks, self.encode_slice):
                        terms += part
                        job.chunks_written += len(part)
                except WorkerStopped as exc:
                    if self.stopping():
                        raise Stopping from None
                    report.failed.append((item.document.source, str(exc)))
                    continue
            # optimised once the job's documents are all in (below), not after each
            status = self.kb.write([EncodedDocument(item, terms)], optimize=False)[item.key]
            record(report, item, status)
            if status != "unchanged" and self.kb.has_dense:
                job.written.append(item.key)
            self.backfill.wake()
        if self.originals is not None:
            release_unnamed(self.kb, self.originals, before)
        job.report = copy.deepcopy(report)
        self.store.save(job)

    def refresh(self, job: Job, waiting: Counter[DocKey] | None = None) -> None:
        """A job past its sparse writes: embedding progress, done when none of its chunks
        waits for a dense vector."""
        if job.state in ENDED:
            return
        if waiting is None:
            waiting = self.backfill.by_document()
        left = sum(waiting.get(key, 0) for key in job.written)
        job.chunks_embedded = max(job.chunks_written - left, 0) if job.written else 0
        if left == 0:
            self.end(job, "done")
        else:
            job.state = "searchable"
            self.store.save(job)  # its progress, for every process that reads the record


class IngestJobs(Jobs):
    """The embedded default: the server's queue of ingestion jobs and its dense backfill."""

    def __init__(
        self,
        kb: KnowledgeBase,
        workers: IngestWorkers,
        root: Path,
        kept: int = 200,
        encode_slice: int = 256,
        on_report: Callable[[Job], None] | None = None,
        max_attempts: int = 3,
        originals: Originals | None = None,
    ) -> None:
        """`on_report`: hears each job once its documents are written (its report: metrics,
        the audit trail); `originals`: where the files a new version replaces are removed."""
        self.kb = kb
        self.workers = workers
        self.kept = kept
        # the server's backfill: embeds in the ingestion workers, woken by jobs and syncs
        self.backfill = DenseBackfill(kb, workers.embed)
        self.max_attempts = max_attempts
        self.store = FileJobStore(root)
        self.uploads = folder_uploads(root)
        self._stopping = threading.Event()
        self.runner = JobRunner(
            kb, workers, self.store, self.uploads, self.backfill,
            encode_slice=encode_slice, on_report=on_report, on_end=self._ended,
            stopping=self._stopping.is_set, originals=originals,
        )  # fmt: skip
        self._done: dict[str, threading.Event] = {}
        self._queue: deque[str] = deque()  # jobs not ended, in the order they came
        self._progress: dict[str, Progress] = {}
        self._served: dict[str, int] = {}  # actor -> the step at which it was last served
        self._steps = 0
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._threads: list[threading.Thread] = []
        self._load()

    # -- lifecycle -------------------------------------------------------------------------
    def _load(self) -> None:
        """Jobs of an earlier run: the unfinished ones run again from their kept input."""
        for job in self.store.unfinished():  # an ended job needs no event: wait() sees it
            self._done[job.id] = threading.Event()
            if job.state == "running" and job.attempts >= self.max_attempts:
                self.runner.give_up(job, "server", f"ingest.max_job_attempts={self.max_attempts}")
            else:
                log.info("job %s was %s when the server stopped: resumed", job.id, job.state)
                job.state = "queued"
                self._queue.append(job.id)

    def start(self) -> None:
        thread = threading.Thread(target=self._run_jobs, name="ingest-jobs", daemon=True)
        thread.start()
        self._threads.append(thread)
        self.backfill.start(on_progress=self._refresh_searchable)

    def close(self, timeout_s: float = 10.0) -> None:
        """Stops within about `timeout_s`: the workers are stopped at once, a job under way is
        left as it is (it resumes at the next start, and this stop does not count against its
        attempts)."""
        self._stopping.set()
        self.backfill.stop()
        with self._wake:
            self._wake.notify_all()
        self.workers.close()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(timeout=max(deadline - time.monotonic(), 0.1))
        self.backfill.close(max(deadline - time.monotonic(), 0.1))
        self.runner.close()
        for job in self.store.unfinished():
            if job.state == "running":
                job.attempts = max(job.attempts - 1, 0)
                self.store.save(job)

    # -- submitting and reading ------------------------------------------------------------
    def accept(self, job: Job) -> Job:
        with self._wake:
            self._done[job.id] = threading.Event()
            self.store.save(job)
            self._queue.append(job.id)
            self._wake.notify_all()
        return job

    def get(self, job_id: str) -> Job | None:
        return self.store.get(job_id)

    def recent(self, limit: int = 50) -> list[Job]:
        return self.store.recent(limit)

    def wait(self, job_id: str, timeout: float | None = None) -> bool:
        """Blocks until the job has ended (its dense vectors included); a job no longer kept
        has ended."""
        with self._lock:
            done = self._done.get(job_id)
        return done.wait(timeout) if done is not None else True

    def _ended(self, job: Job) -> None:
        # pruned before waiters wake: what they see next is what is kept
        forgotten = self.store.prune(self.kept)
        with self._lock:
            done = self._done.get(job.id)
            for job_id in forgotten:
                self._done.pop(job_id, None)
        if done is not None:
            done.set()

    # -- the job thread --------------------------------------------------------------------
    def _next(self) -> Job | None:
        """The job whose next step runs now: the oldest job of the key served longest ago.
        Called with the lock held."""
        jobs = [j for j in (self.store.get(i) for i in self._queue) if j is not None]
        if not jobs:
            return None
        firsts: dict[str, Job] = {}
        for job in jobs:
            firsts.setdefault(job.actor, job)
        actor = min(firsts, key=lambda a: self._served.get(a, -1))
        self._steps += 1
        self._served[actor] = self._steps
        return firsts[actor]

    def _run_jobs(self) -> None:
        while not self._stopping.is_set():
            with self._wake:
                while not self._queue and not self._stopping.is_set():
                    self._wake.wait()
                if self._stopping.is_set():
                    return
                job = self._next()
            if job is None:
                continue
            try:
                finished = self._step(job)
            except Stopping:
                return
            except Exception as exc:  # one job's failure never stops the queue
                if self._stopping.is_set():
                    return
                log.exception("job %s failed", job.id)
                self.runner.end(job, "failed", f"{type(exc).__name__}: {exc}")
                finished = True
            if finished:
                with self._wake:
                    self._queue.remove(job.id)
                    self._progress.pop(job.id, None)

    def _step(self, job: Job) -> bool:
        progress = self._progress.get(job.id)
        if progress is None:
            progress = self._progress[job.id] = self.runner.begin(job)
        return self.runner.step(job, progress)

    def _refresh_searchable(self) -> None:
        jobs = [j for j in self.store.unfinished() if j.state == "searchable"]
        if jobs:
            waiting = self.backfill.by_document()
            for job in jobs:
                self.runner.refresh(job, waiting)
