"""/healthz (the process answers) and /readyz (what runs, and whether it can answer)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from server.deps import State
from server.state import AppState

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(state: State) -> JSONResponse:
    services = state.services
    kb = services.retrieval.kb
    checks: dict[str, dict[str, Any]] = {}
    try:
        chunks = kb.count()
        stats = kb.stats()
        checks["knowledge_base"] = {
            "reachable": True,
            "backend": kb.backend,
            "collection": kb.collection,
            "chunks": chunks,
            "corpus_version": stats.version,
            # chunks searchable through their sparse views only, until the backfill reaches them
            "dense_waiting": len(kb.pending_dense()),
            "dense_backfill": state.jobs.backfill_error or "ok",
        }
    except Exception as exc:  # the store is down: not ready, and say why
        chunks = 0
        checks["knowledge_base"] = {"reachable": False, "error": str(exc)[:200]}
    cache = services.cache
    ready = bool(checks["knowledge_base"].get("reachable")) and chunks > 0
    body = {
        "ready": ready,
        "documents_present": chunks > 0,
        **checks,
        **{
            key: value
            for key, value in services.running.describe().items()
            if key in ("generator", "retrieval", "dense_model", "reranker", "graders")
        },
        "cache": {
            "backend": cache.backend if cache else "off",
            "healthy": cache.healthy() if cache else None,
        },
        "checkpointer": f"unavailable: {down}"
        if (down := state.memory_down)
        else state.memory.name,
        "feedback": _feedback_status(state),
        "tracing": state.tracing.status,
        "auth": "api keys" if state.settings.api_keys else "open (no api_keys set)",
    }
    return JSONResponse(body, status_code=200 if ready else 503)


def _feedback_status(state: AppState) -> str:
    if state.feedback is None:
        return state.feedback_status.error or "off (feedback.backend none)"
    if down := state.feedback.unavailable:
        return f"unavailable: {down}"
    return state.feedback.backend
