"""A job's slow steps sent to the workers of the steps queue: the same `IngestWorkers` a server
runs in its own processes, answered through the job store (the broker's result backends are
not safe across the threads a job reads ahead with)."""

from __future__ import annotations

import pickle
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from celery import Celery

from tools.corpus.documents import Chunk, Document
from tools.ingest.jobs import document_rows
from tools.ingest.progress import PageProgress
from tools.ingest.uploads import StoredUpload, Uploads
from tools.ingest.worker import Prepared, WorkerStopped
from tools.kb.writes import Terms
from tools.queue.app import EMBED, ENCODE, READ_DOCUMENTS, READ_UPLOAD
from tools.records.jobs import PostgresJobStore

POLL_S = (0.05, 0.5)  # waiting on an outcome: first poll, longest interval


@dataclass(frozen=True)
class Outcome:
    """What a step came to: its value, or the error it raised (raised again by the caller).
    Pickled into the job store (PostgreSQL, written only by the service's own processes)."""

    value: Any = None
    error: BaseException | None = None

    def dumps(self) -> bytes:
        try:
            return pickle.dumps(self)
        except (pickle.PicklingError, TypeError, AttributeError):  # an error that will not pickle
            return pickle.dumps(Outcome(error=RuntimeError(f"{self.error!r}")))


class QueuedSteps:
    """`IngestWorkers` over the steps queue. Each call blocks its thread until a worker has
    answered; a worker killed meanwhile is replaced by another (the broker redelivers)."""

    def __init__(
        self, app: Celery, store: PostgresJobStore, stopping: Callable[[], bool] = lambda: False
    ) -> None:
        self.app = app
        self.store = store
        self.stopping = stopping
        self._closed = threading.Event()

    def _call(self, task: str, *args: Any) -> Any:
        task_id = str(uuid.uuid4())
        self.app.send_task(task, args=args, task_id=task_id)
        wait = POLL_S[0]
        while (payload := self.store.take_outcome(task_id)) is None:
            if self._closed.wait(wait) or self.stopping():
                raise WorkerStopped("stopping: the step is left to the queue")
            wait = min(wait * 1.5, POLL_S[1])
        outcome: Outcome = pickle.loads(payload)
        if outcome.error is not None:
            raise outcome.error
        return outcome.value

    def read_upload(
        self, uploads: Uploads, upload: StoredUpload, on_pages: PageProgress | None = None
    ) -> Prepared:
        """Read and encoded by the worker (its own view of the uploads' storage); OCR's pages
        are not reported back from another machine."""
        u = upload
        prepared: Prepared = self._call(READ_UPLOAD, u.job_id, u.stored, u.name, u.collection)
        return prepared

    def read_documents(self, documents: Sequence[Document]) -> Prepared:
        prepared: Prepared = self._call(READ_DOCUMENTS, document_rows(documents))
        return prepared

    def encode(self, chunks: Sequence[Chunk]) -> list[Terms]:
        """Only what encoding reads travels: each chunk's title and text."""
        terms: list[Terms] = self._call(ENCODE, [[c.title, c.text] for c in chunks])
        return terms

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors: np.ndarray = self._call(EMBED, list(texts))
        return vectors

    def close(self) -> None:
        self._closed.set()
