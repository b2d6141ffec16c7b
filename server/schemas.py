"""What /rag accepts, as types: one question with its filters (the published input, so that a
client or a fuzzer generating requests from the schema reaches the graph), and the request
bodies of the single and batch routes with their run settings. A request is validated once,
against these, before a graph thread is spent; their errors are the 4xx answers."""

from __future__ import annotations

from dataclasses import fields
from typing import Annotated, Any, get_type_hints

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    TypeAdapter,
    create_model,
)

from graph.context import Context
from tools.kb.filters import bounded_filters
from tools.settings import ServerSettings

MAX_THREAD_CHARS = 128


def _thread(thread: str) -> str:
    if not thread.isprintable():
        raise ValueError("thread id: printable characters only")
    return thread


ThreadId = Annotated[
    StrictStr, Field(min_length=1, max_length=MAX_THREAD_CHARS), AfterValidator(_thread)
]


def _no_thread(thread: object) -> object:
    return None if thread == "" else thread


# The playground's config form sends thread_id "" when the field is left blank: no conversation.
OptionalThreadId = Annotated[ThreadId | None, BeforeValidator(_no_thread)]


def question_input(server: ServerSettings, booleans: bool = True) -> type[BaseModel]:
    """One question and its optional filters ({"topic": "lịch sử", "nam": {"gte": 2000}}),
    bounded as the server's settings bound them; true/false values only where the store can
    match them (`booleans`)."""
    question = Annotated[
        StrictStr, Field(min_length=1, max_length=server.max_question_chars, pattern=r"\S")
    ]
    filters: Any = bounded_filters(server.max_filter_values, booleans)
    return create_model(
        "QuestionInput",
        __config__=ConfigDict(extra="forbid"),
        question=(question, ...),
        filters=(filters, {}),  # not "| None": the playground cannot render a nullable field
    )


def _configurable() -> type[BaseModel]:
    """`config.configurable`: the conversation id and the run settings (Context's fields, with
    their bounds), nothing else: any other key would reach LangGraph's own config
    (`__pregel_checkpointer`, `checkpoint_id`), which is no request's to set."""
    hints = get_type_hints(Context, include_extras=True)
    run_settings: dict[str, Any] = {f.name: (hints[f.name], f.default) for f in fields(Context)}
    return create_model(
        "Configurable",
        __config__=ConfigDict(extra="forbid"),
        thread_id=(OptionalThreadId, None),
        **run_settings,
    )


class RunConfig(BaseModel):
    """A request's `config`; LangServe reads the rest (tags, metadata, run_name, ...)."""

    model_config = ConfigDict(extra="allow")

    configurable: Any = None  # replaced by the Configurable model in `rag_requests`


class RagRequests:
    """The request bodies of /rag's routes, bounded by the server's settings (built once)."""

    def __init__(self, server: ServerSettings, booleans: bool) -> None:
        self.question: Any = question_input(server, booleans)
        self.filters: TypeAdapter[dict[str, Any]] = TypeAdapter(
            bounded_filters(server.max_filter_values, booleans)
        )
        self.thread: TypeAdapter[str] = TypeAdapter(ThreadId)
        configurable: Any = _configurable() | None
        config: Any = create_model(
            "RunConfig", __base__=RunConfig, configurable=(configurable, None)
        )
        self.config: type[RunConfig] = config
        self.single = create_model(
            "RagRequest",
            __config__=ConfigDict(extra="allow"),  # stream_log's own options
            input=(self.question, ...),
            config=(config | None, None),
        )
        question = self.question
        inputs = Annotated[list[question], Field(min_length=1, max_length=server.max_batch_size)]  # type: ignore[valid-type]
        self.batch = create_model(
            "RagBatchRequest",
            __config__=ConfigDict(extra="allow"),
            inputs=(inputs, ...),
            config=(config | list[config] | None, None),
        )
