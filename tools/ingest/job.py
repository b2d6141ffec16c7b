"""An ingestion job's record, and where records are kept: files beside the store on one
machine (`FileJobStore`), PostgreSQL when jobs run on a task queue (`tools/records/jobs.py`,
which also holds what several processes must decide once), so that every replica answers
`GET /jobs/{id}` the same way."""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from tools.corpus.documents import DocKey
from tools.ingest.pipeline import IngestReport

log = logging.getLogger(__name__)

JobState = Literal["queued", "running", "searchable", "done", "failed"]
ENDED: frozenset[str] = frozenset({"done", "failed"})
JOB_FILE = "job.json"


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
    # pages read by OCR of each file whose scan is being read: name -> [read, to read]
    ocr_pages: dict[str, list[int]] = field(default_factory=dict)

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


class JobStore(Protocol):
    """Where job records live."""

    def save(self, job: Job) -> None: ...

    def get(self, job_id: str) -> Job | None: ...

    def recent(self, limit: int) -> list[Job]:
        """Newest first."""
        ...

    def unfinished(self) -> list[Job]:
        """Jobs queued or under way, oldest first."""
        ...

    def prune(self, kept: int) -> list[str]:
        """Forgets all but the `kept` newest ended jobs; the ids forgotten."""
        ...


class FileJobStore:
    """One process's job records: `root/ID/job.json`, read back at start."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        root.mkdir(parents=True, exist_ok=True)
        for path in root.glob(f"*/{JOB_FILE}"):
            try:
                job = Job.from_json(json.loads(path.read_text("utf-8")))
            except (OSError, ValueError, TypeError) as exc:
                log.warning("job record %s unreadable (%s): left out", path, exc)
                continue
            self._jobs[job.id] = job

    def save(self, job: Job) -> None:
        path = self.root / job.id / JOB_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(job.to_json(), ensure_ascii=False), "utf-8")
        temporary.replace(path)
        with self._lock:
            self._jobs[job.id] = job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def recent(self, limit: int) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: -j.created_at)[:limit]

    def unfinished(self) -> list[Job]:
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.state not in ENDED]
        return sorted(jobs, key=lambda j: j.created_at)

    def prune(self, kept: int) -> list[str]:
        with self._lock:
            ended = [j for j in self._jobs.values() if j.state in ENDED]
            old = sorted(ended, key=lambda j: j.created_at)[: max(len(ended) - kept, 0)]
            for job in old:
                self._jobs.pop(job.id, None)
        for job in old:
            shutil.rmtree(self.root / job.id, ignore_errors=True)
        return [job.id for job in old]
