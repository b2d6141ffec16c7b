"""/metrics in Prometheus' text format."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response

from server.deps import State

router = APIRouter(tags=["metrics"])


@router.get("/metrics")
def metrics(state: State) -> Response:
    body, content_type = state.metrics.exposition()
    return Response(body, media_type=content_type)


def install(app: FastAPI) -> None:
    app.include_router(router)
