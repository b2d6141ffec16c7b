"""The FastAPI app: `create_app()` only wires state, middleware, routers and the lifespan.
Run with `vinarag serve` (uvicorn factory mode: nothing is built at import)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from server import mcp_server, middleware, rag
from server.routes import (
    chat_page,
    documents,
    documents_page,
    feedback,
    health,
    metrics,
    openai_chat,
    pages,
    sources,
)
from server.state import build_app_state
from tools.ingest.worker import IngestWorkers
from tools.logs import configure_logging, disable_telemetry
from tools.services import Services
from tools.settings import Settings, load_settings

log = logging.getLogger("vinarag.server")
# Every route module registers itself the same way: `install(app)` (its router, and what else
# it needs: an error handler, static files); /rag last, after the routes it must not shadow.
ROUTES = (
    health,
    metrics,
    documents,
    documents_page,
    pages,
    sources,
    feedback,
    openai_chat,
    chat_page,
    mcp_server,
    rag,
)


def create_app(
    settings: Settings | None = None,
    services: Services | None = None,
    workers: IngestWorkers | None = None,
) -> FastAPI:
    """`services` handed in are used with `settings` when both are given (the app reads the
    settings; the services' parts stay as built), else with their own; `workers` replace the
    ingestion workers `ingest.worker` names."""
    if settings is None:
        settings = services.settings if services is not None else load_settings()
    if services is None:
        disable_telemetry()
        configure_logging(settings.log_level)
    state = build_app_state(settings, services, workers)
    settings = state.settings
    if not settings.api_keys:
        log.warning("no api_keys set: the API is open to anyone who can reach it")
    if settings.server.workers > 1 and not state.services.retrieval.kb.backend.many_processes:
        log.error(
            "several workers need a Qdrant server (QDRANT_URL): the local store admits one process"
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info(
            "ready: %s", ", ".join(f"{k}={v}" for k, v in state.services.running.describe().items())
        )
        async with AsyncExitStack() as running:
            for start in app.state.running:  # what routes keep running (MCP's sessions)
                await running.enter_async_context(start())
            yield
        state.close()

    app = FastAPI(
        title="VinaSmol RAG",
        description="Vietnamese question answering over your own documents.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.vinarag = state
    app.state.running = []
    middleware.install(app)
    if settings.server.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.server.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["*"],
        )
    for routes in ROUTES:
        routes.install(app)
    return app
