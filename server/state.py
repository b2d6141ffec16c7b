"""What the app holds for its lifetime: built once in `create_app`, closed at shutdown."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass

from graph.builder import build_graph
from graph.context import context_defaults
from server.access import Keys
from server.answers import answer_recorder
from server.metrics import RagMetrics
from server.runnable import RagRunnable
from server.schemas import RagRequests
from server.tracing import Tracing
from tools.errors import one_line
from tools.ingest.job import Job
from tools.ingest.jobs import IngestJobs, Jobs
from tools.ingest.originals import Originals, open_originals
from tools.ingest.sources import Dispatch, SourceScheduler
from tools.ingest.sync import SyncReport
from tools.ingest.uploads import open_uploads
from tools.ingest.worker import IngestWorkers, build_workers
from tools.pages.viewer import PageViewer
from tools.records.audit import AuditLog, job_entry, sync_entry
from tools.records.checkpoints import ThreadClock, open_checkpointer
from tools.records.database import unreachable
from tools.records.feedback import FeedbackStore, open_feedback_store
from tools.services import Services, build_services
from tools.settings import Settings

log = logging.getLogger("vinarag.server")


@dataclass(frozen=True)
class StartedBackend:
    """A backend as start-up left it: what runs ("off" when not configured), or why the one
    configured could not open (the service then runs without it and /readyz says so)."""

    name: str
    error: str | None = None


@dataclass(frozen=True)
class AppState:
    """Everything the routes use, built once by `build_app_state` and never changed after."""

    services: Services
    metrics: RagMetrics
    tracing: Tracing
    runnable: RagRunnable
    keys: Keys
    requests: RagRequests  # what /rag and /v1 accept, bounded by the settings
    jobs: Jobs
    memory: StartedBackend
    feedback: FeedbackStore | None
    feedback_status: StartedBackend
    audit: AuditLog | None  # in the feedback database; None when it is off
    sources: SourceScheduler  # the folders kept in sync (settings.sources)
    originals: Originals | None  # the files documents were read from (None: not kept)
    pages: PageViewer | None  # their pages, highlighted (None: originals not kept)
    resources: ExitStack
    owns_services: bool  # services handed in are closed by whoever built them

    @property
    def memory_down(self) -> str | None:
        """Why conversation memory cannot be used now: it never opened, or PostgreSQL went
        away after start (threads then fail at once with 503 until it answers again)."""
        if self.memory.error:
            return self.memory.error
        stateful = self.runnable.stateful
        return unreachable(stateful.checkpointer) if stateful is not None else None

    @property
    def settings(self) -> Settings:
        """The one copy: the services' (with a promoted adapter resolved into it)."""
        return self.services.settings

    def close(self) -> None:
        bound = self.settings.server.shutdown_timeout_s / 2  # uvicorn takes the other half
        self.sources.close(bound / 2)
        self.jobs.close(bound / 2)
        self.tracing.flush()
        self.resources.close()
        if self.owns_services:
            self.services.close()


def _open_feedback(
    settings: Settings, resources: ExitStack
) -> tuple[FeedbackStore | None, StartedBackend]:
    try:
        store = open_feedback_store(settings)
    except Exception as exc:  # its database unreachable: answers still served, feedback 503
        error = f"feedback store unavailable: {one_line(exc, 200)}"
        log.error("%s", error)
        return None, StartedBackend("off", error)
    if store is None:
        return None, StartedBackend("off")
    resources.callback(store.close)
    return store, StartedBackend(store.backend)


def build_app_state(
    settings: Settings, services: Services | None = None, workers: IngestWorkers | None = None
) -> AppState:
    """`services` handed in (tests, an embedding application) are used with `settings`: the
    app and its graph runs read these settings, the services' parts stay as they were built.
    `workers`: where uploads are read and embedded (default: as `ingest.worker` says)."""
    owns_services = services is None
    services = build_services(settings) if services is None else services.with_settings(settings)
    settings = services.settings
    metrics = RagMetrics()
    resources = ExitStack()
    try:
        checkpointer = resources.enter_context(open_checkpointer(settings))
        memory = StartedBackend(settings.memory.backend if checkpointer is not None else "off")
    except Exception as exc:  # PostgreSQL unreachable: serve without threads, and say so
        if settings.memory.backend != "postgres":
            raise
        memory = StartedBackend("off", one_line(exc, 200) or type(exc).__name__)
        log.error("conversation memory (PostgreSQL) unavailable: %s", memory.error)
        checkpointer = None
    feedback, feedback_status = _open_feedback(settings, resources)
    observers = [metrics.observe_node]
    requests = RagRequests(settings.server, booleans=services.retrieval.kb.backend.matches_booleans)
    runnable = RagRunnable(
        stateless=build_graph(services=services, observers=observers),
        stateful=build_graph(services=services, checkpointer=checkpointer, observers=observers)
        if checkpointer is not None
        else None,
        graph_threads=settings.graph_threads,
        graph_queue=settings.server.graph_queue,
        timeout_s=settings.server.request_timeout_s,
        input_model=requests.question,
        clock=ThreadClock(checkpointer, settings.memory.thread_ttl_days) if checkpointer else None,
        defaults=context_defaults(settings),
        on_answer=answer_recorder(feedback, services.running.generator) if feedback else None,
    )
    kb = services.retrieval.kb
    audit = AuditLog(feedback) if feedback is not None else None

    def job_done(job: Job) -> None:
        if job.report is not None:
            metrics.count_ingest(job.report)
        if audit is not None:
            audit.record(job_entry(job))

    def synced(report: SyncReport, actor: str) -> None:
        jobs.backfill.wake()  # the sync wrote its files searchable first: embed them now
        if audit is not None:
            audit.record(sync_entry(report, actor))

    jobs: Jobs
    dispatch: Dispatch | None = None
    originals = open_originals(settings)
    if settings.ingest.queue == "celery":  # the workers run jobs and syncs: tools/queue/
        from tools.queue.app import celery_app, queue_depths, queue_names
        from tools.queue.jobs import QueuedJobs
        from tools.queue.schedule import replica_name, source_dispatch
        from tools.records.jobs import PostgresJobStore

        app = celery_app(settings)
        store = PostgresJobStore.open(settings)
        uploads = open_uploads(settings, settings.data_dir / "uploads")
        jobs = QueuedJobs(app, store, uploads, kb, settings.ingest.jobs_kept)
        dispatch = source_dispatch(app, store, replica_name())
        metrics.watch_queue(lambda: queue_depths(app, queue_names(settings)))
    else:
        jobs = IngestJobs(
            kb,
            workers or build_workers(settings, kb),
            settings.data_dir / "jobs",
            kept=settings.ingest.jobs_kept,
            encode_slice=settings.ingest.encode_slice,
            on_report=job_done,
            max_attempts=settings.ingest.max_job_attempts,
            originals=originals,
        )
    jobs.start()
    sources = SourceScheduler(kb, settings, on_synced=synced, dispatch=dispatch)
    sources.start()
    return AppState(
        services=services,
        metrics=metrics,
        tracing=Tracing(),
        runnable=runnable,
        keys=Keys(settings),
        requests=requests,
        jobs=jobs,
        memory=memory,
        feedback=feedback,
        feedback_status=feedback_status,
        audit=audit,
        sources=sources,
        originals=originals,
        pages=PageViewer(originals, settings.ingest) if originals is not None else None,
        resources=resources,
        owns_services=owns_services,
    )
