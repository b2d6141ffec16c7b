"""The Celery application both sides share: task names, queues and delivery rules. Built by
`celery_app` (never at import); the worker registers the task bodies on it
(`tools/queue/tasks.py`), a server only sends by name."""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery

from tools.settings import Settings

log = logging.getLogger(__name__)

# Writers (a job, a sync): they hold the store. Steps (read, encode, embed): any machine.
JOBS = "jobs"
STEPS = "steps"

RUN_JOB = "vinarag.job.run"
SYNC_SOURCE = "vinarag.job.sync"
BACKFILL = "vinarag.job.backfill"
READ_UPLOAD = "vinarag.step.read_upload"
READ_DOCUMENTS = "vinarag.step.read_documents"
ENCODE = "vinarag.step.encode"
EMBED = "vinarag.step.embed"


def celery_app(settings: Settings) -> Celery:
    """Acknowledged late, one message at a time per worker: a worker killed mid-task leaves
    its message to the broker, which gives it to another worker. Messages are JSON (ids,
    names, texts): nothing a broker holds can run code in a worker."""
    app = Celery("vinarag", broker=settings.ingest.broker_url)
    jobs, steps = queue_names(settings)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,  # step outcomes travel through the job store
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=jobs,
        task_routes={"vinarag.step.*": {"queue": steps}, "vinarag.job.*": {"queue": jobs}},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        # a worker killed mid-task: RabbitMQ redelivers as soon as its connection drops
        broker_transport_options={"confirm_publish": True},
    )
    return app


def queue_names(settings: Settings) -> tuple[str, str]:
    """The jobs queue and the steps queue of this deployment."""
    return f"{settings.ingest.queue_name}.{JOBS}", f"{settings.ingest.queue_name}.{STEPS}"


def queue_counts(app: Celery, queues: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """(messages waiting, consumers) of each queue as the broker counts them (a message a
    worker holds is not waiting); (0, 0) for a queue no worker has declared yet."""
    counts: dict[str, tuple[int, int]] = {}
    with app.connection_for_read() as connection:
        channel: Any = connection.default_channel
        for queue in queues:
            try:
                declared = channel.queue_declare(queue, passive=True)
            except Exception:  # noqa: BLE001 (not declared yet)
                counts[queue] = (0, 0)
                channel = connection.channel()  # a failed passive declare closes the channel
                continue
            counts[queue] = (int(declared.message_count), int(declared.consumer_count))
    return counts


def queue_depths(app: Celery, queues: tuple[str, ...]) -> dict[str, int]:
    return {queue: waiting for queue, (waiting, _) in queue_counts(app, queues).items()}
