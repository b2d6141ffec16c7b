"""LangServe routes for the graph at /rag, with request limits, API keys and a per-request
config: Langfuse handler at the root, request id, thread id, session and user from headers."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request, status
from langserve import add_routes
from langserve.server import EndpointName

from server.deps import ReadKey, get_state

# stream_log and config_schema are what the playground itself calls.
ENDPOINTS: tuple[EndpointName, ...] = (
    "invoke",
    "batch",
    "stream",
    "stream_log",
    "stream_events",
    "input_schema",
    "output_schema",
    "config_schema",
    "playground",
)


async def check_limits(request: Request) -> None:
    """Question length and batch size, with answers that say what to change."""
    if request.method != "POST":
        return
    settings = get_state(request).settings.server
    try:
        body = json.loads(await request.body() or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY, detail="body is not JSON"
        ) from None
    inputs = (
        body.get("inputs") if isinstance(body, dict) and "inputs" in body else [body.get("input")]
    )
    if not isinstance(inputs, list):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail="'inputs' must be a list")
    if len(inputs) > settings.max_batch_size:
        raise HTTPException(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            detail=f"batch of {len(inputs)}: at most {settings.max_batch_size} questions a request",
        )
    for item in inputs:
        question = item.get("question") if isinstance(item, dict) else None
        if isinstance(question, str) and not question.strip():
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail="question is empty")
        if isinstance(question, str) and len(question) > settings.max_question_chars:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                detail=f"question of {len(question)} characters: "
                f"at most {settings.max_question_chars}",
            )


def per_request_config(config: dict[str, Any], request: Request) -> dict[str, Any]:
    state = get_state(request)
    config = dict(config)
    metadata = dict(config.get("metadata") or {})
    metadata["request_id"] = getattr(request.state, "request_id", None)
    if session := request.headers.get("x-session-id"):
        metadata["langfuse_session_id"] = session
    if user := request.headers.get("x-user-id"):
        metadata["langfuse_user_id"] = user
    metadata["langfuse_tags"] = ["vinarag", state.services.running.generator]
    config["metadata"] = metadata
    configurable = dict(config.get("configurable") or {})
    if thread := request.headers.get("x-thread-id"):
        configurable["thread_id"] = thread
    config["configurable"] = configurable
    handler = state.tracing.handler()
    if handler is not None:
        config["callbacks"] = [*(config.get("callbacks") or []), handler]
    return config


def add_rag_routes(app: FastAPI) -> None:
    add_routes(
        app,
        app.state.vinarag.runnable,
        path="/rag",
        enabled_endpoints=list(ENDPOINTS),
        per_req_config_modifier=per_request_config,
        dependencies=[ReadKey, Depends(check_limits)],
    )
