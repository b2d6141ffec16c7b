"""Ingestion jobs: an upload answers at once with a job id, and its documents become searchable
through their sparse views as soon as they are chunked and written; dense vectors follow in
the background (the dense backfill's thread, `tools/kb/backfill.py`, which syncs wake too).

Jobs run on one thread of the server (it only writes to the store; the slow steps run in the
ingestion worker, each bounded in time), a file at a time, and fairly: the next file is taken
from the key that was served longest ago, so one key's 2,000-file upload does not hold another
key's one-page upload for its whole length. A job's record and its files are kept under
`data_dir/jobs/ID/` until it ends, so a restart resumes it (documents already written are
`unchanged`); a job that was under way at `max_attempts` starts fails instead of running into
the same wall again. The backfill resumes from the store itself (chunks marked `dense_pending`).
"""

from __future__ import annotations

import copy
import json
import logging
import shutil
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from tools.corpus.documents import DocKey, Document
from tools.ingest.pipeline import IngestReport, record
from tools.ingest.worker import IngestWorkers, Prepared, WorkerStopped, WorkerTimedOut
from tools.kb.backfill import DenseBackfill
from tools.kb.store import KnowledgeBase
from tools.kb.writes import EncodedDocument

log = logging.getLogger(__name__)

JobState = Literal["queued", "running", "searchable", "done", "failed"]
ENDED: frozenset[str] = frozenset({"done", "failed"})
_JOB_FILE = "job.json"
_INPUT = "input"  # the job's files (or documents.json), kept until the job has written them


@dataclass
class Job:
    id: str
    collection: str
    kind: Literal["files", "documents"]
    names: list[str]  # file names as uploaded, or document ids
    state: JobState = "queued"
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    searchable_at: float | None = None  # every document written (sparse views)
    ended_at: float | None = None
    files_done: int = 0
    chunks_total: int = 0  # known once each file is read
    chunks_written: int = 0
    chunks_embedded: int = 0
    error: str | None = None
    report: IngestReport | None = None  # once its documents are written
    written: list[DocKey] = field(default_factory=list)  # documents whose vectors it awaits
    refused: list[tuple[str, str]] = field(default_factory=list)  # (name, reason) at upload
    actor: str = ""  # who submitted it (the key's name), for the audit trail
    attempts: int = 0  # times it was started (a crash mid-job leaves it under way)
    current: str | None = None  # the file being read, for the reason when a crash repeats

    @property
    def chunks_per_s(self) -> float:
        """Sparse writing speed while running; embedding speed after."""
        now = self.ended_at or time.time()
        if self.searchable_at is None and self.started_at is not None:
            spent = now - self.started_at
            return round(self.chunks_written / spent, 1) if spent > 0 else 0.0
        if self.searchable_at is not None and self.chunks_embedded:
            spent = now - self.searchable_at
            return round(self.chunks_embedded / spent, 1) if spent > 0 else 0.0
        return 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds until the job is done at the current speed (None: not known yet)."""
        rate = self.chunks_per_s
        if self.state in ENDED or rate <= 0:
            return 0.0 if self.state in ENDED else None
        left = (
            self.chunks_total - self.chunks_written
            if self.searchable_at is None
            else self.chunks_written - self.chunks_embedded
        )
        return round(max(left, 0) / rate, 1)

    def to_json(self) -> dict[str, object]:
        return {
            **asdict(self),
            "report": self.report.to_dict() if self.report else None,
            "written": [list(k) for k in self.written],
            "refused": [list(r) for r in self.refused],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        data = {
            **data,
            "written": [tuple(k) for k in data.get("written", [])],
            "refused": [tuple(r) for r in data.get("refused", [])],
            # a job saved before its report was written holds an empty one
            "report": IngestReport.from_dict(data["report"]) if data.get("report") else None,
        }
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class _Stopping(Exception):
    """The server is stopping: the job is left as it is, to resume at the next start."""


@dataclass
class _Progress:
    """A job between two of its steps."""

    report: IngestReport
    began: float


class IngestJobs:
    """The server's queue of ingestion jobs and the dense backfill."""

    def __init__(
        self,
        kb: KnowledgeBase,
        workers: IngestWorkers,
        root: Path,
        kept: int = 200,
        encode_slice: int = 256,
        on_report: Callable[[Job], None] | None = None,
        max_attempts: int = 3,
    ) -> None:
        """`on_report`: hears each job once its documents are written (its report: metrics,
        the audit trail)."""
        self.kb = kb
        self.workers = workers
        self.root = root
        self.kept = kept
        self.encode_slice = encode_slice
        # the server's backfill: embeds in the ingestion workers, woken by jobs and syncs
        self.backfill = DenseBackfill(kb, workers.embed)
        self.on_report = on_report
        self.max_attempts = max_attempts
        self._jobs: dict[str, Job] = {}
        self._done: dict[str, threading.Event] = {}
        self._queue: deque[str] = deque()  # jobs not ended, in the order they came
        self._progress: dict[str, _Progress] = {}
        self._served: dict[str, int] = {}  # actor -> the step at which it was last served
        self._steps = 0
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        root.mkdir(parents=True, exist_ok=True)
        self._load()

    # -- lifecycle -------------------------------------------------------------------------
    def _load(self) -> None:
        """Jobs of an earlier run: the unfinished ones run again from their kept input."""
        found = []
        for path in self.root.glob(f"*/{_JOB_FILE}"):
            try:
                found.append(Job.from_json(json.loads(path.read_text("utf-8"))))
            except (OSError, ValueError, TypeError) as exc:
                log.warning("job record %s unreadable (%s): left out", path, exc)
        for job in sorted(found, key=lambda j: j.created_at):
            self._jobs[job.id] = job
            self._done[job.id] = threading.Event()
            if job.state == "running" and job.attempts >= self.max_attempts:
                where = f" while reading {job.current}" if job.current else ""
                self._end(
                    job,
                    "failed",
                    f"the server stopped {job.attempts} times during this job{where}: not "
                    f"tried again (ingest.max_job_attempts={self.max_attempts})",
                )
                log.error("job %s: %s", job.id, job.error)
            elif job.state in ("queued", "running"):
                log.info("job %s was %s when the server stopped: resumed", job.id, job.state)
                job.state = "queued"
                self._queue.append(job.id)
            elif job.state in ENDED:
                self._done[job.id].set()

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
        with self._lock:
            running = [j for j in self._jobs.values() if j.state == "running"]
        for job in running:
            job.attempts = max(job.attempts - 1, 0)
            self._save(job)

    # -- submitting and reading ------------------------------------------------------------
    def _folder(self, job_id: str) -> Path:
        return self.root / job_id

    def submit_files(
        self,
        files: Sequence[tuple[str, bytes]],
        collection: str,
        refused: Sequence[tuple[str, str]] = (),
        actor: str = "",
    ) -> Job:
        """A job for uploaded files (name, content), saved under the job's folder first;
        `refused`: files of the request that will not be read, with the reason (reported)."""
        job = Job(str(uuid.uuid4()), collection, "files", [name for name, _ in files])
        job.actor = actor
        job.refused = list(refused)
        folder = self._folder(job.id) / _INPUT
        folder.mkdir(parents=True)
        for i, (name, data) in enumerate(files):
            _saved(folder, i, name).write_bytes(data)
        return self._enqueue(job)

    def submit_documents(
        self, documents: Sequence[Document], collection: str, actor: str = ""
    ) -> Job:
        job = Job(str(uuid.uuid4()), collection, "documents", [d.doc_id for d in documents])
        job.actor = actor
        folder = self._folder(job.id) / _INPUT
        folder.mkdir(parents=True)
        rows = [
            {
                "id": d.doc_id,
                "title": d.title,
                "text": d.text,
                "source": d.source,
                "metadata": d.metadata,
            }  # fmt: skip
            for d in documents
        ]
        (folder / "documents.json").write_text(json.dumps(rows, ensure_ascii=False), "utf-8")
        return self._enqueue(job)

    def _enqueue(self, job: Job) -> Job:
        with self._wake:
            self._jobs[job.id] = job
            self._done[job.id] = threading.Event()
            self._save(job)
            self._queue.append(job.id)
            self._wake.notify_all()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def recent(self, limit: int = 50) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: -j.created_at)[:limit]

    def wait(self, job_id: str, timeout: float | None = None) -> bool:
        """Blocks until the job has ended (its dense vectors included); a job no longer kept
        has ended."""
        with self._lock:
            done = self._done.get(job_id)
        return done.wait(timeout) if done is not None else True

    def _save(self, job: Job) -> None:
        path = self._folder(job.id) / _JOB_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(job.to_json(), ensure_ascii=False), "utf-8")
        temporary.replace(path)

    def _end(self, job: Job, state: JobState, error: str | None = None) -> None:
        job.state, job.error, job.ended_at = state, error, time.time()
        self._save(job)
        shutil.rmtree(self._folder(job.id) / _INPUT, ignore_errors=True)
        done = self._done.get(job.id)
        self._prune()  # before waiters wake: what they see next is what is kept
        if done is not None:
            done.set()

    def _prune(self) -> None:
        with self._lock:
            ended = [j for j in self._jobs.values() if j.state in ENDED]
            old = sorted(ended, key=lambda j: j.created_at)[: max(len(ended) - self.kept, 0)]
            for job in old:
                self._jobs.pop(job.id, None)
                self._done.pop(job.id, None)
        for job in old:
            shutil.rmtree(self._folder(job.id), ignore_errors=True)

    # -- the job thread --------------------------------------------------------------------
    def _next(self) -> Job | None:
        """The job whose next step runs now: the oldest job of the key served longest ago.
        Called with the lock held."""
        if not self._queue:
            return None
        firsts: dict[str, str] = {}
        for job_id in self._queue:
            firsts.setdefault(self._jobs[job_id].actor, job_id)
        actor = min(firsts, key=lambda a: self._served.get(a, -1))
        self._steps += 1
        self._served[actor] = self._steps
        return self._jobs[firsts[actor]]

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
            except _Stopping:
                return
            except Exception as exc:  # one job's failure never stops the queue
                if self._stopping.is_set():
                    return
                log.exception("job %s failed", job.id)
                self._end(job, "failed", f"{type(exc).__name__}: {exc}")
                finished = True
            if finished:
                with self._wake:
                    self._queue.remove(job.id)
                    self._progress.pop(job.id, None)

    def _step(self, job: Job) -> bool:
        """One file of the job (or its documents), True once the job is past its writes."""
        progress = self._progress.get(job.id)
        if progress is None:
            job.state, job.started_at = "running", time.time()
            job.files_done = job.chunks_total = job.chunks_written = 0  # resumed: starts over
            job.written = []
            job.attempts += 1
            self._save(job)
            progress = self._progress[job.id] = _Progress(
                IngestReport(skipped=list(job.refused)), time.perf_counter()
            )
        report = progress.report
        folder = self._folder(job.id) / _INPUT
        if job.kind == "files":
            i = job.files_done
            name = job.names[i]
            path = _saved(folder, i, name)
            job.current = name
            self._save(job)
            try:
                prepared = self.workers.read_files([path], {path: name}, job.collection)
            except WorkerStopped as exc:
                if self._stopping.is_set():
                    raise _Stopping from None
                if isinstance(exc, WorkerTimedOut):
                    log.warning("job %s: %s %s", job.id, name, exc)
                report.failed.append((name, str(exc)))
                prepared = Prepared([], IngestReport())
            self._write(job, prepared, report, {str(path): name})
            job.files_done += 1
            job.current = None
            self._save(job)
            if job.files_done < len(job.names):
                return False
        else:
            rows = json.loads((folder / "documents.json").read_text("utf-8"))
            documents = [
                Document(
                    r["id"],
                    r["title"],
                    r["text"],
                    r["source"],
                    r["metadata"],
                    collection=job.collection,
                )  # fmt: skip
                for r in rows
            ]
            try:
                prepared = self.workers.read_documents(documents)
            except WorkerStopped:
                if self._stopping.is_set():
                    raise _Stopping from None
                raise
            self._write(job, prepared, report, {})
            job.files_done = 1
        self._finish(job, progress)
        return True

    def _finish(self, job: Job, progress: _Progress) -> None:
        report = progress.report
        self.kb.optimize()
        report.seconds = time.perf_counter() - progress.began
        report.corpus_version = self.kb.corpus_version
        job.report = copy.deepcopy(report)  # a snapshot: readers never see it grow
        job.searchable_at = time.time()
        if self.on_report is not None:
            self.on_report(job)
        if report.nothing_went_in:
            self._end(job, "failed", "nothing went in")
            return
        self._refresh(job)

    def _write(
        self, job: Job, prepared: Prepared, report: IngestReport, names: dict[str, str]
    ) -> None:
        """One file's documents: encoded a slice at a time (progress), then written whole."""
        for bucket in ("skipped", "failed", "warnings"):  # known by the names they were sent as
            getattr(report, bucket).extend(
                (names.get(source, source), reason)
                for source, reason in getattr(prepared.report, bucket)
            )
        statuses, todo = self.kb.plan(prepared.chunked)
        for item in prepared.chunked:
            if statuses[item.key] == "unchanged":
                record(report, item, "unchanged")
        job.chunks_total += sum(len(item.chunks) for item in todo)
        for item in todo:
            terms = []
            try:
                for start in range(0, len(item.chunks), self.encode_slice):
                    terms += self.workers.encode(item.chunks[start : start + self.encode_slice])
                    job.chunks_written += min(self.encode_slice, len(item.chunks) - start)
            except WorkerStopped as exc:
                if self._stopping.is_set():
                    raise _Stopping from None
                report.failed.append(
                    (names.get(item.document.source, item.document.source), str(exc))
                )
                continue
            # optimised once the job's documents are all in (below), not after each
            status = self.kb.write([EncodedDocument(item, terms)], optimize=False)[item.key]
            record(report, item, status)
            if status != "unchanged" and self.kb.has_dense:
                job.written.append(item.key)
            self.backfill.wake()
        job.report = copy.deepcopy(report)
        self._save(job)

    def _refresh(self, job: Job, waiting: Counter[DocKey] | None = None) -> None:
        """A job past its sparse writes: embedding progress, done when none of its chunks
        waits for a dense vector."""
        if waiting is None:
            waiting = self.backfill.by_document()
        left = sum(waiting.get(key, 0) for key in job.written)
        job.chunks_embedded = max(job.chunks_written - left, 0) if job.written else 0
        if left == 0:
            self._end(job, "done")
        elif job.state != "searchable":
            job.state = "searchable"
            self._save(job)

    def _refresh_searchable(self) -> None:
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.state == "searchable"]
        if jobs:
            waiting = self.backfill.by_document()
            for job in jobs:
                self._refresh(job, waiting)


def _saved(folder: Path, i: int, name: str) -> Path:
    """Where an upload is kept: by position (the name is the user's), with its type."""
    return folder / f"{i}{Path(name).suffix.lower()}"
