"""The server's side of queued jobs: a job is recorded in PostgreSQL, its input stored where
every worker reads it, and a task sent; any replica answers for any job from the records."""

from __future__ import annotations

import logging
import time

from celery import Celery

from tools.errors import one_line
from tools.ingest.job import ENDED, Job
from tools.ingest.jobs import Jobs
from tools.ingest.uploads import Uploads
from tools.kb.backfill import DenseBackfill
from tools.kb.store import KnowledgeBase
from tools.queue.app import RUN_JOB
from tools.records.jobs import PostgresJobStore

log = logging.getLogger(__name__)
WAIT_POLL_S = (0.1, 1.0)


class QueuedJobs(Jobs):
    def __init__(
        self, app: Celery, store: PostgresJobStore, uploads: Uploads, kb: KnowledgeBase, kept: int
    ) -> None:
        self.app = app
        self.store = store
        self.uploads = uploads
        self.kept = kept
        # what waits for dense vectors, read from the shared store (the workers embed it)
        self.backfill = DenseBackfill(kb)

    def start(self) -> None:
        return None  # the workers run the jobs

    def close(self, timeout_s: float = 10.0) -> None:
        self.store.close()

    def accept(self, job: Job) -> Job:
        """Recorded before it is sent: a worker never receives a job it cannot read."""
        self.store.save(job)
        try:
            self.app.send_task(RUN_JOB, args=[job.id])
        except Exception as exc:  # noqa: BLE001 (the broker unreachable: said on the job)
            job.state, job.ended_at = "failed", time.time()
            job.error = f"the task queue cannot be reached: {one_line(exc, 200)}"
            log.error("job %s: %s", job.id, job.error)
            self.store.save(job)
            self.uploads.remove(job.id)
        return job

    def get(self, job_id: str) -> Job | None:
        return self.store.get(job_id)

    def recent(self, limit: int = 50) -> list[Job]:
        return self.store.recent(limit)

    def wait(self, job_id: str, timeout: float | None = None) -> bool:
        """Until the job has ended, as its record says (polled); a job no longer kept has."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = WAIT_POLL_S[0]
        while True:
            job = self.store.get(job_id)
            if job is None or job.state in ENDED:
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            left = pause if deadline is None else min(pause, deadline - time.monotonic())
            time.sleep(max(left, 0.0))
            pause = min(pause * 1.5, WAIT_POLL_S[1])
