"""What the app holds for its lifetime: built once in `create_app`, closed at shutdown."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field

from graph.builder import build_graph
from graph.context import resolve_context
from server.access import Keys
from server.metrics import RagMetrics
from server.runnable import RagRunnable
from server.schemas import question_input
from server.tracing import Tracing
from tools.errors import one_line
from tools.feedback import FeedbackStore, open_feedback_store
from tools.ingest.jobs import IngestJobs
from tools.ingest.worker import build_workers
from tools.memory import ThreadClock, open_checkpointer, unreachable
from tools.services import Services, build_services
from tools.settings import Settings

log = logging.getLogger("vinarag.server")


@dataclass
class AppState:
    services: Services
    metrics: RagMetrics
    tracing: Tracing
    runnable: RagRunnable
    memory_backend: str
    _resources: ExitStack = field(default_factory=ExitStack)
    owns_services: bool = True
    memory_error: str | None = None  # memory is configured but could not be opened
    feedback: FeedbackStore | None = None
    keys: Keys = field(default_factory=lambda: Keys(Settings()))
    feedback_error: str | None = None  # the feedback store is configured but could not open
    jobs: IngestJobs | None = None

    @property
    def memory_down(self) -> str | None:
        """Why conversation memory cannot be used now: it never opened, or PostgreSQL went
        away after start (threads then fail at once with 503 until it answers again)."""
        if self.memory_error:
            return self.memory_error
        stateful = self.runnable.stateful
        return unreachable(stateful.checkpointer) if stateful is not None else None

    @property
    def settings(self) -> Settings:
        """The one copy: the services' (with a promoted adapter resolved into it)."""
        return self.services.settings

    def close(self) -> None:
        if self.jobs is not None:
            self.jobs.close()
        self.tracing.flush()
        self._resources.close()
        if self.owns_services:  # services handed in are closed by whoever built them
            self.services.close()


def build_app_state(settings: Settings, services: Services | None = None) -> AppState:
    owns_services = services is None
    services = services or build_services(settings)
    settings = services.settings
    metrics = RagMetrics()
    tracing = Tracing()
    resources = ExitStack()
    memory_error = None
    try:
        checkpointer = resources.enter_context(open_checkpointer(settings))
    except Exception as exc:  # PostgreSQL unreachable: serve without threads, and say so
        if settings.memory.backend != "postgres":
            raise
        memory_error = one_line(exc, 200) or type(exc).__name__
        log.error("conversation memory (PostgreSQL) unavailable: %s", memory_error)
        checkpointer = None
    observers = [metrics.observe_node]
    stateless = build_graph(services=services, observers=observers)
    stateful = (
        build_graph(services=services, checkpointer=checkpointer, observers=observers)
        if checkpointer is not None
        else None
    )
    threads = settings.server.graph_threads or (16 if settings.generator.kind == "openai" else 1)
    runnable = RagRunnable(
        stateless=stateless,
        stateful=stateful,
        graph_threads=threads,
        graph_queue=settings.server.graph_queue,
        timeout_s=settings.server.request_timeout_s,
        input_model=question_input(settings.server, booleans=not services.retrieval.kb.is_local),
        clock=ThreadClock(checkpointer, settings.memory.thread_ttl_days) if checkpointer else None,
        defaults={**asdict(resolve_context(None, settings)), "collections": []},
    )
    backend: str = settings.memory.backend if checkpointer is not None else "off"
    state = AppState(services, metrics, tracing, runnable, backend, resources, owns_services)
    state.memory_error = memory_error
    state.keys = Keys(settings)
    try:
        state.feedback = open_feedback_store(settings)
    except Exception as exc:  # its database unreachable: answers still served, feedback 503
        state.feedback_error = f"feedback store unavailable: {one_line(exc, 200)}"
        log.error("%s", state.feedback_error)
    if state.feedback is not None:
        resources.callback(state.feedback.close)
    kb = services.retrieval.kb
    state.jobs = IngestJobs(
        kb,
        build_workers(settings, kb),
        settings.data_dir / "jobs",
        kept=settings.ingest.jobs_kept,
        encode_slice=settings.ingest.encode_slice,
        embed_batch=settings.dense.batch_size,
        on_report=metrics.count_ingest,
    )
    state.jobs.start()
    return state
