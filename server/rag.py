"""LangServe routes for the graph at /rag, with request limits, API keys and a per-request
config: Langfuse handler at the root, request id, thread id, session and user from headers."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request, status
from langserve import add_routes
from langserve.lzstring import LZString
from langserve.server import EndpointName
from pydantic import ValidationError

from graph.context import ContextError, parse_context
from server.access import Caller, caller_of
from server.deps import ReadKey, get_state
from server.runnable import READ_SCOPE, named_settings
from server.safe_json import json_problem
from tools.errors import validation_problems
from tools.kb.filters import FilterError
from tools.kb.store import KnowledgeBase

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
    return HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=detail)


def check_filters(filters: Any, most: int, kb: KnowledgeBase) -> None:
    """The filter's shape and size here, before a graph thread is spent on it, as the store
    will apply it."""
    if filters is None:
        return
    if not isinstance(filters, dict):
        raise _unprocessable('\'filters\' must be an object, e.g. {"topic": "lịch sử"}')
    values = sum(len(v) if isinstance(v, list | dict) else 1 for v in filters.values())
    if len(filters) + values > most:
        raise HTTPException(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            detail=f"filters with {values} values: at most {most} (server.max_filter_values)",
        )
    try:
        kb.check_filter(filters)
    except FilterError as exc:
        raise _unprocessable(str(exc)) from None


def check_run_settings(config: Any, caller: Caller, generators: frozenset[str]) -> None:
    """Run settings in `config.configurable`, checked before a graph thread is spent: within
    bounds, a generator this server runs, and naming only collections the caller may read
    (403)."""
    try:
        context = parse_context(named_settings(config))
    except ContextError as exc:
        raise _unprocessable(str(exc)) from None
    if context.generator is not None and context.generator not in generators:
        raise _unprocessable(
            f"invalid run settings: generator {context.generator!r} is not configured here "
            f"(this server runs {', '.join(sorted(generators))})"
        )
    caller.searched(context.collections)
    configurable = config.get("configurable") if isinstance(config, dict) else None
    if isinstance(configurable, dict) and configurable.get("thread_id"):
        _check_thread(configurable["thread_id"])


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


MAX_THREAD_CHARS = 128


def _check_thread(thread: Any) -> None:
    if not isinstance(thread, str) or not 1 <= len(thread) <= MAX_THREAD_CHARS:
        raise _unprocessable(f"thread id: a string of 1 to {MAX_THREAD_CHARS} characters")
    if not thread.isprintable():
        raise _unprocessable("thread id: printable characters only")


def thread_key(owner: str, thread: str) -> str:
    """The stored thread of a caller's thread id: another key (or user) naming the same id
    gets a conversation of its own, never this one's history."""
    return hashlib.sha256(f"{owner}\x00{thread}".encode()).hexdigest()[:32]


def _owner(request: Request, caller: Caller) -> str:
    if caller.key_digest is not None:
        return f"key:{caller.key_digest}"
    return f"user:{request.headers.get('x-user-id') or 'anonymous'}"


async def check_limits(request: Request) -> None:
    """Every request to /rag checked for what the graph needs, with answers that say what to
    change: a JSON object; one `input` (or a list of `inputs` for /batch), each an object with a
    non-empty `question` string of bounded length and optional `filters` the store can apply."""
    if request.method != "POST":
        return
    state = get_state(request)
    settings = state.settings.server
    try:
        body = json.loads(await request.body() or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _unprocessable("body is not JSON") from None
    except RecursionError:
        raise _unprocessable("body is JSON nested too deeply") from None
    if not isinstance(body, dict):
        raise _unprocessable('body must be a JSON object: {"input": {"question": "..."}}')
    caller = caller_of(request, state.keys)
    request.state.caller = caller
    config = body.get("config")
    configs = config if isinstance(config, list) else [config]
    configurable = config.get("configurable") if isinstance(config, dict) else None
    if config_hash := request.path_params.get("config_hash"):
        hashed = _hashed_config(config_hash)
        configs.append(hashed)
        configurable = configurable or hashed.get("configurable")
    for one in configs:
        check_run_settings(one, caller, state.services.generators)
    if header := request.headers.get("x-thread-id"):
        _check_thread(header)
    thread = header or (configurable.get("thread_id") if isinstance(configurable, dict) else None)
    if thread and (down := state.memory_down):
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"conversation memory unavailable ({down}): ask without a thread, "
            "or again once it is back",
            headers={"Retry-After": "5"},
        )
    if request.url.path.endswith("/batch"):
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise _unprocessable("'inputs' must be a non-empty list of {\"question\": ...}")
    else:
        inputs = [body.get("input")]
    if len(inputs) > settings.max_batch_size:
        raise HTTPException(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            detail=f"batch of {len(inputs)}: at most {settings.max_batch_size} questions a request",
        )
    published = state.runnable.get_input_schema()
    for item in inputs:
        if not isinstance(item, dict):
            raise _unprocessable('each input must be an object: {"question": "..."}')
        question = item.get("question")
        if not isinstance(question, str):
            raise _unprocessable("'question' must be a string")
        if not question.strip():
            raise _unprocessable("question is empty")
        if len(question) > settings.max_question_chars:
            raise _unprocessable(
                f"question of {len(question)} characters: at most {settings.max_question_chars}"
            )
        check_filters(item.get("filters"), settings.max_filter_values, state.services.retrieval.kb)
        try:  # what the published schema says beyond that: no other fields, filters an object
            published.model_validate(item)
        except ValidationError as exc:
            raise _unprocessable(validation_problems(exc.errors(), "input")) from None
    state.runnable.admit()  # a full queue refuses now, before a stream has started


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
    configurable = dict(config.get("configurable") or {})
    configurable.pop("collections", None)
    configurable[READ_SCOPE] = caller.searched(named_settings(config).get("collections"))
    thread = request.headers.get("x-thread-id") or configurable.get("thread_id")
    if thread:
        configurable["thread_id"] = thread_key(_owner(request, caller), str(thread))
    else:
        configurable.pop("thread_id", None)
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
