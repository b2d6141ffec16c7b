"""LangServe routes for the graph at /rag, with request limits, API keys and a per-request
config: Langfuse handler at the root, request id, thread id, session and user from headers."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request, status
from langserve import add_routes
from langserve.lzstring import LZString
from langserve.server import EndpointName
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from server.access import Caller, caller_of
from server.deps import ReadKey, get_state
from server.runnable import CLARIFY_THREAD, READ_SCOPE, named_settings, thread_key
from server.safe_json import json_problem
from tools.errors import clipped, field_path
from tools.kb.filters import filter_problems

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
    "config_hashes",
)


def _unprocessable(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail)


def _problem(error: ErrorDetails) -> str:
    loc = list(error["loc"])
    if "filters" in loc and loc.index("filters") < len(loc) - 1:
        return filter_problems([{**error, "loc": tuple(loc[loc.index("filters") + 1 :])}])
    if error["type"] == "too_long" and loc == ["inputs"]:
        context = error.get("ctx") or {}
        return (
            f"batch of {context.get('actual_length')}: at most {context.get('max_length')} "
            "questions a request (server.max_batch_size)"
        )
    if loc[-1:] == ["question"] and error["type"] in (
        "string_too_short",
        "string_pattern_mismatch",
    ):
        return f"{'.'.join(str(p) for p in loc)}: question is empty"
    if error["type"] == "json_invalid":
        return f"body is not JSON ({error['msg'].removeprefix('Invalid JSON: ')})"
    if not loc and error["type"] in ("model_type", "model_attributes_type"):
        return 'body must be a JSON object: {"input": {"question": "..."}}'
    where = field_path(loc) or "body"
    return f"{where}: {clipped(error['msg'].removeprefix('Value error, '), 200)}"


def request_problem(exc: ValidationError) -> HTTPException:
    """A body's validation errors as the answer, each naming its field: 413 where a bound on
    size was passed (questions in a batch, values in a filter), else 422."""
    errors = exc.errors()
    too_large = any(
        e["type"] == "too_many_filter_values"
        or (e["type"] == "too_long" and e["loc"] == ("inputs",))
        for e in errors
    )
    code = status.HTTP_413_CONTENT_TOO_LARGE if too_large else status.HTTP_422_UNPROCESSABLE_CONTENT
    return HTTPException(code, detail=clipped("; ".join(_problem(e) for e in errors)))


def check_run(configurable: Any, caller: Caller, generators: frozenset[str]) -> None:
    """What only this server knows of a run's (validated) settings: the generator must be one
    it runs, and the collections named ones the caller may read (403)."""
    if configurable is None:
        return
    if configurable.generator is not None and configurable.generator not in generators:
        raise _unprocessable(
            f"invalid run settings: generator {configurable.generator!r} is not configured here "
            f"(this server runs {', '.join(sorted(generators))})"
        )
    if configurable.collections:  # [] names none: the caller's whole scope
        caller.searched(configurable.collections)


def _hashed_config(config_hash: str) -> dict[str, Any]:
    """The config a `/rag/c/{config_hash}/...` route carries in its path (the playground's
    links): checked like the body's own."""
    try:
        config = json.loads(LZString.decompressFromEncodedURIComponent(config_hash) or "")
    except Exception:  # LZString fails in many ways on text it did not write
        raise _unprocessable("the config hash in the path cannot be read") from None
    if not isinstance(config, dict):
        raise _unprocessable("the config hash in the path: not an object")
    if problem := json_problem(json.dumps(config).encode()):
        raise _unprocessable(f"the config hash in the path: {problem}")
    return config


def thread_owner(request: Request, caller: Caller) -> str:
    """Whose threads these are: the key's (its digest), else the user a header names."""
    if caller.key_digest is not None:
        return f"key:{caller.key_digest}"
    return f"user:{request.headers.get('x-user-id') or 'anonymous'}"


async def check_request(request: Request) -> None:
    """A /rag request validated once, against its route's model (server.schemas), before a
    graph thread is spent; then what only the server knows: who asks, the generators it runs,
    the thread's memory, and room in the queue."""
    if request.method != "POST":
        return
    state = get_state(request)
    requests = state.requests
    model = requests.batch if request.url.path.endswith("/batch") else requests.single
    try:
        body: Any = model.model_validate_json(await request.body() or b"{}")
    except ValidationError as exc:
        raise request_problem(exc) from None
    caller = caller_of(request, state.keys)
    request.state.caller = caller
    configs = body.config if isinstance(body.config, list) else [body.config]
    if config_hash := request.path_params.get("config_hash"):
        try:
            configs.append(requests.config.model_validate(_hashed_config(config_hash)))
        except ValidationError as exc:
            raise request_problem(exc) from None
    for config in configs:
        check_run(config.configurable if config else None, caller, state.services.generators)
    if header := request.headers.get("x-thread-id"):
        try:
            requests.thread.validate_python(header)
        except ValidationError as exc:
            message = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise _unprocessable(f"X-Thread-Id: {message}") from None
    named = next((c.configurable.thread_id for c in configs if c and c.configurable), None)
    if (header or named) and (down := state.memory_down):
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"conversation memory unavailable ({down}): ask without a thread, "
            "or again once it is back",
            headers={"Retry-After": "5"},
        )
    state.runnable.admit()  # a full queue refuses now, before a stream has started


def scoped_configurable(
    config: dict[str, Any], caller: Caller, owner: str, thread: str
) -> dict[str, Any]:
    """A run's configurable as the server sets it, whatever the caller sent: the collections
    the caller may search (a request can only narrow them), its thread among the owner's, and
    where a question back waits."""
    configurable = dict(config.get("configurable") or {})
    configurable.pop("collections", None)
    configurable[READ_SCOPE] = caller.searched(named_settings(config).get("collections"))
    if thread:
        configurable["thread_id"] = thread_key(owner, thread)
    else:
        configurable.pop("thread_id", None)
    configurable[CLARIFY_THREAD] = (thread, owner)
    return configurable


def per_request_config(
    config: dict[str, Any], request: Request, caller: Caller | None = None
) -> dict[str, Any]:
    """The run's config: request metadata for tracing, the collections the caller may search
    (set here, whatever the request said: it can only narrow them), the caller's own thread."""
    state = get_state(request)
    caller = caller or getattr(request.state, "caller", None) or caller_of(request, state.keys)
    config = dict(config)
    metadata = dict(config.get("metadata") or {})
    metadata["request_id"] = getattr(request.state, "request_id", None)
    metadata["route"] = "/v1" if request.url.path.startswith("/v1/") else "/rag"
    if session := request.headers.get("x-session-id"):
        metadata["langfuse_session_id"] = session
    if user := request.headers.get("x-user-id"):
        metadata["langfuse_user_id"] = user
    metadata["langfuse_tags"] = ["vinarag", state.services.running.generator]
    config["metadata"] = metadata
    thread = request.headers.get("x-thread-id") or (config.get("configurable") or {}).get(
        "thread_id"
    )
    config["configurable"] = scoped_configurable(
        config, caller, thread_owner(request, caller), str(thread or "")
    )
    handler = state.tracing.handler()
    if handler is not None:
        config["callbacks"] = [*(config.get("callbacks") or []), handler]
    return config


def install(app: FastAPI) -> None:
    add_routes(
        app,
        app.state.vinarag.runnable,
        path="/rag",
        enabled_endpoints=list(ENDPOINTS),
        per_req_config_modifier=per_request_config,
        dependencies=[ReadKey, Depends(check_request)],
    )
