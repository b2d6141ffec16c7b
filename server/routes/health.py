"""/healthz (the process answers) and /readyz (what runs, and whether it can answer)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import BaseModel

from server.access import given_key
from server.deps import State
from server.state import AppState

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class KnowledgeBaseStatus(BaseModel):
    reachable: Literal[True] = True
    backend: str
    collection: str
    chunks: int
    corpus_version: int
    # chunks searchable through their sparse views only, until the backfill reaches them
    dense_waiting: int
    dense_backfill: str  # "ok", or why the backfill stopped


class KnowledgeBaseDown(BaseModel):
    reachable: Literal[False] = False
    error: str


class CacheStatus(BaseModel):
    backend: str  # or "off"
    healthy: bool | None


class ReadinessBrief(BaseModel):
    """What a caller without a key that reads everything learns: ready or not (a load
    balancer's probe needs no more, and the corpus is nobody else's business), and whether
    answers can be rated (the chat page shows its buttons by it)."""

    ready: bool
    feedback: bool


class Readiness(BaseModel):
    ready: bool
    documents_present: bool
    knowledge_base: KnowledgeBaseStatus | KnowledgeBaseDown
    generator: str
    retrieval: str
    dense_model: str
    reranker: str
    graders: str
    cache: CacheStatus
    checkpointer: str  # its backend, "off", or "unavailable: why"
    feedback: str
    tracing: str
    auth: str


@router.get("/healthz")
async def healthz() -> Health:
    return Health()


def _sees_everything(request: Request, state: AppState) -> bool:
    """The open service (no keys), or a key that reads every collection."""
    if not state.keys:
        return True
    given = given_key(request)
    caller = state.keys.identify(given) if given else None
    return caller is not None and caller.read is None


@router.get(
    "/readyz",
    responses={503: {"model": Readiness, "description": "not ready: the body says why"}},
)
def readyz(request: Request, state: State, response: Response) -> Readiness | ReadinessBrief:
    """Everything that runs and how it is, for the open service or a key that reads every
    collection; only `ready` for anyone else."""
    full = _readiness(state)
    response.status_code = 200 if full.ready else 503
    if _sees_everything(request, state):
        return full
    rated = state.feedback is not None and not state.feedback.unavailable
    return ReadinessBrief(ready=full.ready, feedback=rated)


def _readiness(state: AppState) -> Readiness:
    services = state.services
    kb = services.retrieval.kb
    store: KnowledgeBaseStatus | KnowledgeBaseDown
    try:
        stats = kb.stats()
        store = KnowledgeBaseStatus(
            backend=kb.backend.name,
            collection=kb.collection,
            chunks=kb.count(),
            corpus_version=stats.version,
            dense_waiting=len(state.jobs.backfill.waiting()),
            dense_backfill=state.jobs.backfill.error or "ok",
        )
    except Exception as exc:  # the store is down: not ready, and say why
        store = KnowledgeBaseDown(error=str(exc)[:200])
    running = services.running.describe()
    cache = services.cache
    chunks = store.chunks if isinstance(store, KnowledgeBaseStatus) else 0
    return Readiness(
        ready=chunks > 0,
        documents_present=chunks > 0,
        knowledge_base=store,
        generator=running["generator"],
        retrieval=running["retrieval"],
        dense_model=running["dense_model"],
        reranker=running["reranker"],
        graders=running["graders"],
        cache=CacheStatus(
            backend=cache.backend if cache else "off",
            healthy=cache.healthy() if cache else None,
        ),
        checkpointer=f"unavailable: {down}" if (down := state.memory_down) else state.memory.name,
        feedback=_feedback_status(state),
        tracing=state.tracing.status,
        auth="api keys" if state.settings.api_keys else "open (no api_keys set)",
    )


def _feedback_status(state: AppState) -> str:
    if state.feedback is None:
        return state.feedback_status.error or "off (feedback.backend none)"
    if down := state.feedback.unavailable:
        return f"unavailable: {down}"
    return state.feedback.backend


def install(app: FastAPI) -> None:
    app.include_router(router)
