"""`vinarag worker`: a process of the ingestion queue (`ingest.queue: celery`), on any machine
that reaches the broker, the job records and the store."""

from __future__ import annotations

import argparse
import logging
import os
import socket
from typing import Any

from tools.settings import Settings

log = logging.getLogger(__name__)


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    if settings.ingest.queue != "celery":
        log.error(
            "vinarag worker runs the queue's tasks: set ingest.queue: celery and "
            "ingest.broker_url (or CELERY_BROKER_URL, with POSTGRES_URL for the job records)"
        )
        return 2
    from celery.signals import worker_ready, worker_shutting_down
    from prometheus_client import start_http_server

    from tools.queue.app import BACKFILL, celery_app, queue_names
    from tools.queue.tasks import WorkerContext, register

    app = celery_app(settings)
    context = WorkerContext(settings, app)
    register(app, context)

    def stopping(**_: Any) -> None:
        context.stopping.set()

    def ready(**_: Any) -> None:
        if args.role == "jobs":  # chunks an earlier writer left waiting: embedded now
            app.send_task(BACKFILL)

    worker_shutting_down.connect(stopping, weak=False)
    worker_ready.connect(ready, weak=False)
    if args.metrics_port:
        start_http_server(
            args.metrics_port, addr=args.metrics_host, registry=context.metrics.registry
        )
    name = args.name or f"vinarag-{args.role}-{os.getpid()}@{socket.gethostname()}"
    log.info("worker %s: %s queue, %d at once", name, args.role, args.concurrency)
    try:
        app.worker_main(
            [
                "worker",
                "--pool=threads",
                f"--concurrency={args.concurrency}",
                f"--queues={queue_names(settings)[0 if args.role == 'jobs' else 1]}",
                f"--hostname={name}",
                f"--loglevel={logging.getLevelName(logging.getLogger().level)}",
                "--without-gossip",
                "--without-mingle",
            ]
        )
    finally:
        context.close()
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "worker",
        help="run ingestion tasks from the queue (ingest.queue: celery)",
        description="A worker of the ingestion queue. steps (the default): reads, chunks, "
        "encodes and embeds files for the jobs, and needs no store: run as many as the "
        "machines have cores. jobs: runs uploads, syncs and the dense backfill, writing to the "
        "store (with the embedded store, exactly one such worker, on the machine that holds "
        "it; with a Qdrant server, as many as wanted). A worker killed mid-task leaves it to "
        "another; SIGTERM finishes the tasks under way first.",
    )
    p.add_argument("--role", choices=("steps", "jobs"), default="steps", help="(default: steps)")
    p.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="tasks at once (steps: one per core it may use; jobs: jobs and syncs at once)",
    )
    p.add_argument("--name", default=None, help="the worker's name (default: role-pid@host)")
    p.add_argument(
        "--metrics-port", type=int, default=None, help="serve this worker's Prometheus metrics"
    )
    p.add_argument("--metrics-host", default="127.0.0.1", help="(default: 127.0.0.1)")
    p.set_defaults(func=_worker)
