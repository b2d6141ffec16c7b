"""Configured sources on a task queue: each period's run is claimed in the job records by the
first replica that reaches it, which alone sends it to the workers."""

from __future__ import annotations

import os
import socket

from celery import Celery

from tools.ingest.sources import Dispatch, SourceState
from tools.queue.app import SYNC_SOURCE
from tools.records.jobs import PostgresJobStore


def replica_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def source_dispatch(app: Celery, store: PostgresJobStore, replica: str) -> Dispatch:
    def send(state: SourceState, run: str, actor: str) -> bool:
        if not store.claim(run, replica):
            return False  # another replica sent this period's run
        entry = state.entry
        app.send_task(SYNC_SOURCE, args=[run, str(entry.path), entry.collection, actor])
        return True

    return send
