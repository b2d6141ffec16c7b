"""Ingestion jobs: an upload answers at once with a job id, and its documents become searchable
through their sparse views as soon as they are chunked and written; dense vectors follow in
the background (the backfill thread).

One job runs at a time, in order (a thread of the server: it only writes to the store, the
slow steps run in the ingestion worker). A job's record and its files are kept under
`data_dir/jobs/ID/` until it ends, so a restart resumes it (documents already written are
`unchanged`); the backfill resumes from the store itself (chunks marked `dense_pending`).
"""

from __future__ import annotations

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

from tools.ingest.documents import DocKey, Document
from tools.ingest.pipeline import IngestReport, record
from tools.ingest.worker import IngestWorkers, Prepared, WorkerStopped
from tools.kb.store import KnowledgeBase, PendingChunk
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
    report: dict[str, object] = field(default_factory=dict)
    written: list[DocKey] = field(default_factory=list)  # documents whose vectors it awaits
    refused: list[tuple[str, str]] = field(default_factory=list)  # (name, reason) at upload
    actor: str = ""  # who submitted it (the key's name), for the audit trail

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
            "written": [list(k) for k in self.written],
            "refused": [list(r) for r in self.refused],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        data = {
            **data,
            "written": [tuple(k) for k in data.get("written", [])],
            "refused": [tuple(r) for r in data.get("refused", [])],
        }
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class IngestJobs:
    """The server's queue of ingestion jobs and the dense backfill."""

    def __init__(
        self,
        kb: KnowledgeBase,
        workers: IngestWorkers,
        root: Path,
        kept: int = 200,
        encode_slice: int = 256,
        embed_batch: int = 32,
        on_report: Callable[[Job], None] | None = None,
    ) -> None:
        """`on_report`: hears each job once its documents are written (its report: metrics,
        the audit trail)."""
        self.kb = kb
        self.workers = workers
        self.root = root
        self.kept = kept
        self.encode_slice = encode_slice
        self.embed_batch = embed_batch
        self.on_report = on_report
        self._jobs: dict[str, Job] = {}
        self._done: dict[str, threading.Event] = {}
        self._queue: deque[str] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._backfill_wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.backfill_error: str | None = None
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
            if job.state in ("queued", "running"):
                log.info("job %s was %s when the server stopped: resumed", job.id, job.state)
                job.state = "queued"
                self._queue.append(job.id)
            elif job.state in ENDED:
                self._done[job.id].set()

    def start(self) -> None:
        for name, target in (("ingest-jobs", self._run_jobs), ("dense-backfill", self._backfill)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        self._backfill_wake.set()  # chunks left waiting by an earlier run

    def close(self) -> None:
        self._stopping.set()
        self._backfill_wake.set()
        with self._wake:
            self._wake.notify_all()
        self.workers.close()
        for thread in self._threads:
            thread.join(timeout=30)

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
    def _run_jobs(self) -> None:
        while not self._stopping.is_set():
            with self._wake:
                while not self._queue and not self._stopping.is_set():
                    self._wake.wait()
                if self._stopping.is_set():
                    return
                job = self._jobs[self._queue.popleft()]
            try:
                self._run(job)
            except Exception as exc:  # one job's failure never stops the queue
                log.exception("job %s failed", job.id)
                self._end(job, "failed", f"{type(exc).__name__}: {exc}")

    def _run(self, job: Job) -> None:
        job.state, job.started_at = "running", time.time()
        job.files_done = job.chunks_total = job.chunks_written = 0  # a resumed job starts over
        job.written = []
        self._save(job)
        report = IngestReport(skipped=list(job.refused))
        folder = self._folder(job.id) / _INPUT
        began = time.perf_counter()
        if job.kind == "files":
            for i, name in enumerate(job.names):
                path = _saved(folder, i, name)
                try:
                    prepared = self.workers.read_files([path], {path: name}, job.collection)
                except WorkerStopped as exc:
                    report.failed.append((name, str(exc)))
                    prepared = Prepared([], IngestReport())
                self._write(job, prepared, report, {str(path): name})
                job.files_done += 1
                self._save(job)
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
            self._write(job, self.workers.read_documents(documents), report, {})
            job.files_done = 1
        self.kb.optimize()
        report.seconds = time.perf_counter() - began
        report.corpus_version = self.kb.corpus_version
        job.report = report.to_dict()
        job.searchable_at = time.time()
        if self.on_report is not None:
            self.on_report(job)
        if not report.accepted:
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
            for start in range(0, len(item.chunks), self.encode_slice):
                terms += self.workers.encode(item.chunks[start : start + self.encode_slice])
                job.chunks_written += min(self.encode_slice, len(item.chunks) - start)
            # optimised once the job's documents are all in (below), not after each
            status = self.kb.write([EncodedDocument(item, terms)], optimize=False)[item.key]
            record(report, item, status)
            if status != "unchanged" and self.kb.has_dense:
                job.written.append(item.key)
            self._backfill_wake.set()
        job.report = report.to_dict()
        self._save(job)

    def _refresh(self, job: Job, waiting: Counter[DocKey] | None = None) -> None:
        """A job past its sparse writes: embedding progress, done when none of its chunks
        waits for a dense vector."""
        if waiting is None:
            waiting = _waiting_by_document(self.kb.pending_dense())
        left = sum(waiting.get(key, 0) for key in job.written)
        job.chunks_embedded = max(job.chunks_written - left, 0) if job.written else 0
        if left == 0:
            self._end(job, "done")
        elif job.state != "searchable":
            job.state = "searchable"
            self._save(job)

    # -- the dense backfill ----------------------------------------------------------------
    def _backfill(self) -> None:
        """Chunks written without a dense vector get one, oldest first."""
        while not self._stopping.is_set():
            self._backfill_wake.wait()
            self._backfill_wake.clear()
            while not self._stopping.is_set() and self.kb.has_dense:
                pending = self.kb.pending_dense()
                if not pending:
                    break
                try:
                    self._embed(pending[: self.embed_batch])
                    self.backfill_error = None
                except Exception as exc:  # the worker died, a model failed: tried again later
                    self.backfill_error = f"{type(exc).__name__}: {exc}"
                    log.exception("dense backfill failed; trying again in 10 s")
                    self._stopping.wait(10)
                self._refresh_searchable()
            self._refresh_searchable()

    def _embed(self, chunks: Sequence[PendingChunk]) -> None:
        texts = self.kb.passage_texts([c.point_id for c in chunks])
        ready = [c for c in chunks if c.point_id in texts]
        if len(ready) < len(chunks):  # deleted meanwhile: nothing to embed
            self.kb.drop_pending([c for c in chunks if c.point_id not in texts])
        if ready:
            vectors = self.workers.embed([texts[c.point_id] for c in ready])
            self.kb.add_dense(ready, vectors)

    def _refresh_searchable(self) -> None:
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.state == "searchable"]
        if jobs:
            waiting = _waiting_by_document(self.kb.pending_dense())
            for job in jobs:
                self._refresh(job, waiting)

    def dense_waiting(self) -> dict[str, int]:
        """Chunks waiting for their dense vector, by collection."""
        return dict(Counter(chunk.key[0] for chunk in self.kb.pending_dense()))


def _saved(folder: Path, i: int, name: str) -> Path:
    """Where an upload is kept: by position (the name is the user's), with its type."""
    return folder / f"{i}{Path(name).suffix.lower()}"


def _waiting_by_document(pending: Sequence[PendingChunk]) -> Counter[DocKey]:
    return Counter(chunk.key for chunk in pending)
