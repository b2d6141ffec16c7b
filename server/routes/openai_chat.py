"""An OpenAI-compatible chat API at /v1, for the clients people point at a service (Open WebUI,
LibreChat, the openai SDKs, LangChain's ChatOpenAI): the last user message is the question, the
earlier turns are the conversation (no server-side thread), and the same graph answers.

The answer text keeps its [n] markers and ends with the numbered sources; the structured output
(sources, citations, grounding, path, answer id) comes in a top-level `vinarag` field that OpenAI
clients ignore. Errors use OpenAI's error object."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from graph.context import CONTEXT_FIELDS
from graph.resume import as_text
from graph.state import OutputState
from server.access import Caller, caller_of
from server.deps import get_state
from server.openai_schemas import (
    MODEL,
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    Delta,
    ModelCard,
    ModelList,
    Usage,
)
from server.rag import check_run, per_request_config, thread_owner
from server.runnable import CLARIFY_THREAD, thread_key
from server.state import AppState
from tools.conversation import Turn
from tools.errors import validation_problems
from tools.kb.filters import filter_problems

router = APIRouter(prefix="/v1", tags=["openai"])

# What the `vinarag` field of a request may hold: the run settings and the filters.
VINARAG_FIELDS = frozenset({*CONTEXT_FIELDS, "filters"})
SOURCES_HEADING = "Nguồn:"
# a stream whose tokens the graph did not keep (a regenerated or withheld answer) goes on
# after this rule with the whole final answer: sent tokens cannot be taken back
RESTART = "\n\n---\n"


class OpenAIError(Exception):
    """Answered as OpenAI's error object, with the status code OpenAI would use."""

    def __init__(
        self, status: int, message: str, kind: str = "invalid_request_error", **extra: Any
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind
        self.code: str | None = extra.get("code")
        self.param: str | None = extra.get("param")

    def response(self) -> JSONResponse:
        body = {"message": self.message, "type": self.kind, "code": self.code, "param": self.param}
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse({"error": body}, status_code=self.status, headers=headers)


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_call_id...: not used

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        texts = []
        for part in self.content:
            if part.get("type") != "text":
                raise OpenAIError(
                    400,
                    f"message content of type {part.get('type')!r} is not supported: "
                    "this service answers text questions from its documents",
                    code="unsupported_content",
                    param="messages",
                )
            try:
                texts.append(TextPart.model_validate(part).text)
            except ValidationError as exc:
                problems = validation_problems(exc.errors(), "part")
                raise OpenAIError(
                    400, f"a text part of a message: {problems}", param="messages"
                ) from None
        return "\n".join(texts)


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatRequest(BaseModel):
    """OpenAI's chat request. Honoured: model, messages, stream, stream_options, temperature,
    max_tokens / max_completion_tokens; `user` goes to tracing; other sampling parameters
    (top_p, stop, seed, penalties...) are accepted and ignored; tools, n>1 and non-text content
    are refused. `vinarag`: this service's run settings and filters."""

    model_config = ConfigDict(extra="allow")

    model: str
    messages: Annotated[list[Message], Field(min_length=1)]
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: Annotated[float | None, Field(ge=0, le=2)] = None
    max_tokens: Annotated[int | None, Field(ge=1)] = None
    max_completion_tokens: Annotated[int | None, Field(ge=1)] = None
    n: int | None = None
    user: Annotated[str | None, Field(max_length=256)] = None
    tools: list[Any] | None = None
    functions: list[Any] | None = None
    vinarag: dict[str, Any] | None = None


def _refuse_unsupported(request: ChatRequest) -> None:
    if request.model != MODEL:
        raise OpenAIError(
            404,
            f"model {request.model!r} does not exist: GET /v1/models lists {MODEL!r}",
            code="model_not_found",
            param="model",
        )
    if request.n not in (None, 1):
        raise OpenAIError(400, "n must be 1: one answer per request", param="n")
    if request.tools or request.functions:
        raise OpenAIError(
            400, "tools and functions are not supported by this service", param="tools"
        )


def _conversation(
    messages: list[Message], most_chars: int, turns: int, question_chars: int
) -> tuple[str, list[Turn]]:
    """The question (the last user message) and the earlier user/assistant pairs: at most
    `most_chars` of earlier text (server.max_conversation_chars, else 400), of which the last
    `turns` pairs are kept, each cut to what a question may hold (the follow-up rewrite reads
    them: an unbounded turn would be an unbounded query)."""
    if messages[-1].role != "user":
        raise OpenAIError(400, "the last message must be the user's question", param="messages")
    question = messages[-1].text().strip()
    if not question:
        raise OpenAIError(400, "the question (last user message) is empty", param="messages")
    earlier = [(m.role, m.text()) for m in messages[:-1]]
    size = sum(len(text) for _, text in earlier)
    if size > most_chars:
        raise OpenAIError(
            400,
            f"the earlier messages hold {size} characters: at most {most_chars} "
            "(server.max_conversation_chars); start a new conversation",
            code="context_length_exceeded",
            param="messages",
        )
    history: list[Turn] = []
    asked: str | None = None
    for role, text in earlier:
        if role == "user":
            asked = text.strip()[:question_chars]
        elif role == "assistant" and asked:
            answer = _without_sources(text)[: question_chars * 2]
            history.append(Turn(question=asked, answer=answer))
            asked = None
    return question, history[-turns:] if turns else []


def _without_sources(answer: str) -> str:
    """An earlier answer as the client echoes it back, without the sources block we added."""
    return answer.split(f"\n\n{SOURCES_HEADING}\n", 1)[0].strip()


def sources_block(output: OutputState) -> str:
    """What follows the answer: its notes (the version of a law it comes from), then the
    numbered sources."""
    notes = "".join(f"\n\n{note}" for note in output.get("notes", []))
    if output.get("clarification"):  # a question back: the reply to it is a pick, not sources
        return notes
    lines = []
    for number, source in enumerate(output.get("sources", []), start=1):
        where = source.get("location") or source["doc_id"]
        lines.append(f"[{number}] {source['title']} ({where})")
    return notes + (f"\n\n{SOURCES_HEADING}\n" + "\n".join(lines) if lines else "")


def _words(text: str) -> int:
    return len(text.split())


def _usage(question_words: int, content: str, output: OutputState) -> Usage:
    """Model tokens when a model generated the answer; words otherwise (the extractive
    answerer has no tokenizer): the README says which."""
    generated = next(
        (p.get("tokens", 0) for p in reversed(output.get("path", [])) if p["node"] == "generate"),
        0,
    )
    completion = generated or _words(content)
    return Usage(
        prompt_tokens=question_words,
        completion_tokens=completion,
        total_tokens=question_words + completion,
    )


def _extra(output: OutputState) -> dict[str, Any]:
    """Every output field but the answer text (which is the message's content)."""
    return {k: v for k, v in output.items() if k in OutputState.__annotations__ and k != "answer"}


def _conversation_id(messages: list[Message]) -> str:
    said = [(m.role, m.text()) for m in messages]
    return "chat-" + hashlib.sha256(json.dumps(said, ensure_ascii=False).encode()).hexdigest()[:32]


def _waiting_clarification(messages: list[Message], state: AppState, owner: str) -> str | None:
    """The stored thread of the clarification the last assistant message asked, when it waits
    there still: the user's message is the reply that resumes it."""
    if len(messages) < 3 or messages[-2].role != "assistant":
        return None
    stored = thread_key(owner, _conversation_id(messages[:-2]))
    waiting = state.runnable.waiting({"configurable": {"thread_id": stored}})
    if waiting is None or as_text(waiting) != messages[-2].text().strip():
        return None
    return stored


def _caller(request: Request, state: AppState) -> Caller:
    """`Authorization: Bearer <key>` (or X-API-Key), as an OpenAI error when refused."""
    try:
        return caller_of(request, state.keys)
    except HTTPException as exc:
        raise OpenAIError(exc.status_code, str(exc.detail), code="invalid_api_key") from None


async def _parse(request: Request) -> ChatRequest:
    try:
        body = json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise OpenAIError(400, "body is not JSON") from None
    except RecursionError:
        raise OpenAIError(400, "body is JSON nested too deeply") from None
    try:
        return ChatRequest.model_validate(body)
    except ValidationError as exc:
        problems = validation_problems(exc.errors(), "body")
        raise OpenAIError(400, f"invalid request: {problems}") from None


def _graph_call(
    chat: ChatRequest, request: Request, state: AppState, caller: Caller
) -> tuple[dict[str, Any], RunnableConfig, int]:
    """The graph's input and config for a chat request, checked as /rag checks its own."""
    _refuse_unsupported(chat)
    settings = state.settings
    limit = settings.server.max_question_chars
    question, history = _conversation(
        chat.messages, settings.server.max_conversation_chars, settings.graph.history_turns, limit
    )
    if len(question) > limit:
        raise OpenAIError(
            400, f"question of {len(question)} characters: at most {limit}", param="messages"
        )
    options = dict(chat.vinarag or {})
    if unknown := sorted(set(options) - VINARAG_FIELDS):
        known = ", ".join(sorted(VINARAG_FIELDS))
        raise OpenAIError(
            400,
            f"vinarag.{unknown[0][:64]}: not a field this service reads (fields: {known})",
            param=f"vinarag.{unknown[0][:64]}",
        )
    filters = options.pop("filters", None)
    if filters is not None:
        try:
            state.requests.filters.validate_python(filters)
        except ValidationError as exc:
            raise OpenAIError(400, filter_problems(exc.errors()), param="vinarag.filters") from None
    if chat.temperature is not None:
        options.setdefault("temperature", chat.temperature)
    if (most := chat.max_completion_tokens or chat.max_tokens) is not None:
        options.setdefault("max_tokens", min(most, 4096))
    try:
        checked = state.requests.config.model_validate({"configurable": options})
    except ValidationError as exc:
        problems = validation_problems(exc.errors(), "vinarag")
        raise OpenAIError(400, f"invalid run settings: {problems}", param="vinarag") from None
    try:
        check_run(checked.configurable, caller, state.services.generators)
    except HTTPException as exc:
        if exc.status_code == 403:  # a collection the key may not read
            raise OpenAIError(
                403, str(exc.detail), kind="permission_error", param="vinarag.collections"
            ) from None
        raise OpenAIError(400, str(exc.detail), param="vinarag") from None
    graph_input: dict[str, Any] = {"question": question, "history": history}
    if filters:
        graph_input["filters"] = filters
    config = per_request_config({"configurable": options}, request, caller)
    configurable = config["configurable"]
    # A clarification waits in a thread named by the conversation up to its question, so that
    # the next request (the same messages, the clarification and the user's pick) finds it.
    owner = thread_owner(request, caller)
    configurable[CLARIFY_THREAD] = (_conversation_id(chat.messages), owner)
    if waiting := _waiting_clarification(chat.messages, state, owner):
        graph_input, configurable["thread_id"] = {"question": question}, waiting
    if chat.user:
        config["metadata"]["langfuse_user_id"] = chat.user
    prompt_words = sum(_words(m.text()) for m in chat.messages if m.role in ("user", "system"))
    return graph_input, cast(RunnableConfig, config), prompt_words


@router.get("/models")
async def list_models(request: Request) -> ModelList:
    _caller(request, get_state(request))
    return ModelList(data=[ModelCard(id=MODEL)])


@router.post(
    "/chat/completions",
    response_model=None,
    responses={
        200: {
            "model": ChatCompletion,
            "description": "the answer (or, with stream, "
            "`chat.completion.chunk` server-sent events)",
        }
    },
)
async def chat_completions(request: Request) -> JSONResponse | StreamingResponse:
    state = get_state(request)
    caller = _caller(request, state)
    chat = await _parse(request)
    # in a worker thread: it may read conversation memory (a question back waiting)
    graph_input, config, prompt_words = await run_in_threadpool(
        _graph_call, chat, request, state, caller
    )
    state.runnable.admit()  # a full queue refuses now, before a stream has started
    created = int(time.time())
    if chat.stream:
        include_usage = bool(chat.stream_options and chat.stream_options.include_usage)
        return StreamingResponse(
            _stream(state, graph_input, config, created, prompt_words, include_usage),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache"},
        )
    output = cast(OutputState, await state.runnable.ainvoke(graph_input, config))
    content = output.get("answer", "") + sources_block(output)
    completion = ChatCompletion(
        id=f"chatcmpl-{output.get('answer_id', '')}",
        created=created,
        choices=[Choice(message=AssistantMessage(content=content))],
        usage=_usage(prompt_words, content, output),
        vinarag=_extra(output),
    )
    return JSONResponse(completion.model_dump())


async def _stream(
    state: AppState,
    graph_input: dict[str, Any],
    config: RunnableConfig,
    created: int,
    prompt_words: int,
    include_usage: bool,
) -> AsyncIterator[str]:
    """`chat.completion.chunk` events: the generate node's tokens as they come, then the
    sources block, then the closing chunk (with the `vinarag` field), usage if asked, [DONE].
    If the grounding check replaced the streamed answer (a regeneration, or the honest
    fallback), the replacement follows a separator: the client never shows an answer that
    was rejected without the one that replaced it."""
    chunk_id = f"chatcmpl-{uuid.uuid4().hex}"

    def event(delta: Delta, finish: Literal["stop"] | None = None, **extra: Any) -> str:
        choice = ChunkChoice(delta=delta, finish_reason=finish)
        return ChatCompletionChunk(id=chunk_id, created=created, choices=[choice], **extra).event()

    streamed: list[str] = []
    output: OutputState = {}
    try:
        yield event(Delta(role="assistant", content=""))
        async for chunk in state.runnable.astream(graph_input, config):
            if "token" in chunk:
                streamed.append(chunk["token"])
                yield event(Delta(content=chunk["token"]))
            else:
                output = chunk  # type: ignore[assignment]
    except Exception as exc:  # the stream has started: say so in the stream, as OpenAI does
        error = {"message": str(exc) or "internal error", "type": "server_error", "code": None}
        yield f"event: error\ndata: {json.dumps({'error': error}, ensure_ascii=False)}\n\n"
        return
    answer = output.get("answer", "")
    sent = "".join(streamed)
    tail = answer[len(sent) :] if answer.startswith(sent) else f"{RESTART}{answer}"
    tail += sources_block(output)
    if tail:
        yield event(Delta(content=tail))
    yield event(Delta(), "stop", vinarag=_extra(output))
    if include_usage:
        usage = _usage(prompt_words, sent + tail, output)
        yield ChatCompletionChunk(id=chunk_id, created=created, choices=[], usage=usage).event()
    yield "data: [DONE]\n\n"


def install(app: FastAPI) -> None:
    app.include_router(router)

    async def as_openai_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, OpenAIError)
        return exc.response()

    app.add_exception_handler(OpenAIError, as_openai_error)
