"""What LangServe serves at /rag: the graph, stateless by default and with conversation memory
when the request names a thread. `stream` sends the answer's tokens from the generate node only
({"token": ...}), then one chunk with the rest of the output (sources, citations, grounded, path),
so the chunks add up to the full output."""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import fields, replace
from types import UnionType
from typing import Annotated, Any, Union, cast, get_args, get_origin, get_type_hints

from langchain_core.runnables import ConfigurableFieldSpec, RunnableConfig, RunnableSerializable
from langchain_core.runnables.utils import AddableDict
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StreamMode
from pydantic import BaseModel, ConfigDict, SkipValidation

from graph.context import CONTEXT_FIELDS, Context, parse_context
from graph.guard import RunGuard, current_guard, guarded
from graph.resume import as_text, stopped_on, turn_input, waiting
from graph.state import Clarification, InputState, OutputState, State
from server.answers import OnAnswer
from tools.errors import ServiceError, one_line
from tools.records.checkpoints import ThreadClock, prune_thread
from tools.records.database import memory_unavailable

log = logging.getLogger(__name__)

# Where the server puts the collections a request may search (the caller's scope, narrowed by
# what the request named): not a run setting, so no client can set it.
READ_SCOPE = "vinarag_read_scope"
# Where the server puts what a question back needs to wait for its reply: (the thread id the
# client named, or "" for a new one per run; whose threads they are: thread_owner).
CLARIFY_THREAD = "vinarag_clarify_thread"


def thread_key(owner: str, thread: str) -> str:
    """The stored thread of a caller's thread id: another key (or user) naming the same id
    gets a conversation of its own, never this one's history."""
    return hashlib.sha256(f"{owner}\x00{thread}".encode()).hexdigest()[:32]


class ServerBusy(ServiceError):
    """Too many runs waiting: answered 503 with Retry-After."""

    retry_after_s = 2


class RunTimedOut(Exception):
    """A run past server.request_timeout_s: answered 504."""


def named_settings(config: Any) -> dict[str, Any]:
    """The run settings a config names (`configurable`); an empty collections list is none."""
    configurable = config.get("configurable") if isinstance(config, dict) else None
    if not isinstance(configurable, dict):
        return {}
    return {
        k: v
        for k, v in configurable.items()
        if k in CONTEXT_FIELDS and v is not None and not (k == "collections" and v == [])
    }


def _required(hint: Any) -> Any:
    """`Annotated[X | None, bounds]` as `Annotated[X, bounds]`: the playground cannot render a
    field that may be null (config_specs give each one a value as its default)."""
    inner, *bounds = get_args(hint) if get_origin(hint) is Annotated else (hint,)
    kept = (
        [a for a in get_args(inner) if a is not type(None)]
        if get_origin(inner) in (Union, UnionType)
        else [inner]
    )
    base = kept[0] if len(kept) == 1 else Union[tuple(kept)]  # noqa: UP007
    return Annotated[base, *bounds] if bounds else base


_STREAM_MODES: list[StreamMode] = ["custom", "values"]  # the answer's tokens, then the output
CompiledGraph = CompiledStateGraph[State, Context, InputState, OutputState]
Graph = SkipValidation[CompiledGraph]


class RagRunnable(RunnableSerializable[dict, dict]):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    stateless: Graph
    stateful: Graph | None = None
    name: str = "vinarag"
    # Threads for graph runs (server.graph_threads): CPU-bound Python gains nothing from more
    # threads than the GIL lets run (measured: 6 threads halved cache-hit throughput).
    graph_threads: int = 1
    # The published input (server.schemas); the graph's own if None.
    input_model: SkipValidation[type[BaseModel]] | None = None
    on_answer: SkipValidation[OnAnswer] | None = None  # the feedback store's recorder
    clock: SkipValidation[ThreadClock] | None = None  # the threads' last turns, for expiry
    # What config_specs publish as each run setting's default: the settings' own values, so
    # that the playground's form starts valid (and a value equal to them changes nothing).
    defaults: dict[str, Any] = {}
    # Runs waiting or running at once (server.graph_queue), and the time each may take
    # (server.request_timeout_s), queueing included.
    graph_queue: int = 64
    timeout_s: float | None = None
    _executor: ThreadPoolExecutor | None = None
    _pending: int = 0

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.graph_threads, thread_name_prefix="graph")
        return self._executor

    async def _in_pool(self, fn: Callable[[], Any]) -> Any:
        """`fn` in a graph thread, under the request's guard (graph.guard): refused at once past
        the queue's bound, stopped at its next node when its client goes away (the awaiting
        task is cancelled) or its time is up (504 here; the thread stops at the next node)."""
        self.admit()
        guard = current_guard() or RunGuard(self.timeout_s)
        with guarded(guard):
            context = contextvars.copy_context()
        self._pending += 1
        future = asyncio.get_running_loop().run_in_executor(self._pool(), context.run, fn)
        future.add_done_callback(self._release)
        remaining = None if guard.deadline is None else max(guard.deadline - time.monotonic(), 0)
        try:
            return await asyncio.wait_for(asyncio.shield(future), remaining)
        except TimeoutError:
            guard.cancel("its time limit passed")
            raise RunTimedOut("no answer within server.request_timeout_s") from None
        except asyncio.CancelledError:
            guard.cancel("its client went away")
            raise

    def admit(self) -> None:
        """Refuse a new run now (503) when the queue is full, before any response starts."""
        if self._pending >= self.graph_queue + self.graph_threads:
            raise ServerBusy(
                f"{self._pending} questions are being answered or waiting: "
                f"at most {self.graph_queue} wait (server.graph_queue); ask again shortly"
            )

    def _release(self, future: asyncio.Future) -> None:
        self._pending -= 1
        if not future.cancelled():
            future.exception()  # a run nobody waits for any more (timed out): seen, not logged

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return False

    def _pick(self, config: RunnableConfig | None) -> CompiledGraph:
        thread = ((config or {}).get("configurable") or {}).get("thread_id")
        return self.stateful if thread and self.stateful is not None else self.stateless

    @property
    def config_specs(self) -> list[ConfigurableFieldSpec]:
        """The thread and the run settings a request may set in `config.configurable`
        (published in the config schema with their bounds)."""
        hints = get_type_hints(Context, include_extras=True)
        return [
            ConfigurableFieldSpec(
                id="thread_id", annotation=str, default="", name="conversation id"
            ),
            *(ConfigurableFieldSpec(id=f.name, annotation=_required(hints[f.name]),
                                    default=self.defaults.get(f.name, f.default))
              for f in fields(Context)),
        ]  # fmt: skip

    @staticmethod
    def run_context(config: RunnableConfig | None) -> Context | None:
        """The run settings a request named in `config.configurable` (None: all from settings)."""
        named = named_settings(config)
        context = parse_context(named) if named else None
        configurable = (config or {}).get("configurable") or {}
        if READ_SCOPE not in configurable:  # in-process callers: as they named it
            return context
        scope = configurable[READ_SCOPE]  # set by the server for the caller: [] reads nothing
        return replace(context or Context(), collections=scope)

    def _turn_done(self, input: dict, output: dict, config: RunnableConfig | None) -> None:
        """A thread keeps its latest checkpoint only (it holds the whole conversation); the
        answer is recorded for feedback."""
        thread = ((config or {}).get("configurable") or {}).get("thread_id")
        saver = self.stateful.checkpointer if self.stateful is not None else None
        if thread and isinstance(saver, BaseCheckpointSaver):
            prune_thread(saver, str(thread))
            if self.clock is not None:
                self.clock.touch(str(thread))
        if self.on_answer is not None and not output.get("clarification"):
            self.on_answer(input, output, config or {})

    @property
    def InputType(self) -> type:  # noqa: N802 (LangChain's name)
        return InputState

    @property
    def OutputType(self) -> type:  # noqa: N802
        return OutputState

    def get_input_schema(self, config: RunnableConfig | None = None):
        return self.input_model or self.stateless.get_input_schema(config)

    def get_output_schema(self, config: RunnableConfig | None = None):
        return self.stateless.get_output_schema(config)

    @contextmanager
    def _memory_reachable(self, graph: CompiledGraph) -> Iterator[None]:
        """Memory lost while serving (PostgreSQL restarting): a turn in a thread fails with a
        reason the server answers as 503; turns without a thread never touch it."""
        try:
            yield
        except Exception as exc:
            if graph is not self.stateful or not memory_unavailable(exc):
                raise
            raise ServiceError(
                f"conversation memory unavailable ({one_line(exc)}); "
                "ask without a thread, or retry later"
            ) from None

    def waiting(self, config: RunnableConfig) -> Clarification | None:
        """The clarification the config's thread is stopped on, if any."""
        if self.stateful is None or not (config.get("configurable") or {}).get("thread_id"):
            return None
        return waiting(self.stateful, config)

    def _start(self, graph: CompiledGraph, input: dict, config: RunnableConfig | None) -> Any:
        """A thread stopped on a clarification resumes with a message that picks one of its
        options; any other message is a new question (the clarification is dropped)."""
        if graph is not self.stateful or config is None:
            return input
        return turn_input(graph, input, config)

    def _stopped(
        self,
        graph: CompiledGraph,
        input: dict,
        result: dict[str, Any],
        config: RunnableConfig | None,
    ) -> dict[str, Any]:
        """A run stopped to ask which law: the question back as the answer, and the thread it
        waits in. A run without a thread is run again in a new one (the server names it), so
        that the reply can resume it; without conversation memory, there is nothing to
        resume, and the user asks again naming the law."""
        clarification = stopped_on(result)
        if clarification is None:
            return result
        configurable = (config or {}).get("configurable") or {}
        named, owner = configurable.get(CLARIFY_THREAD) or ("", None)
        resumable = graph is self.stateful
        if graph is self.stateless and self.stateful is not None and owner is not None:
            named = named or uuid.uuid4().hex  # each run of a batch waits in its own thread
            stored = thread_key(owner, named)
            parked = {**(config or {}), "configurable": {**configurable, "thread_id": stored}}
            try:
                again = self.stateful.invoke(
                    cast(InputState, input),
                    cast(RunnableConfig, parked),
                    context=self.run_context(config),
                    version="v1",
                )
            except Exception as exc:  # memory lost meanwhile: asked back, with nothing to resume
                if not memory_unavailable(exc):
                    raise
                log.warning("question back not kept for a reply: %s", one_line(exc))
            else:
                parked_on = stopped_on(again)
                if parked_on is None:  # the knowledge base changed in between
                    return again
                self._turn_done(input, {}, cast(RunnableConfig, parked))
                clarification, resumable = parked_on, True
        if named and resumable:
            clarification["thread_id"] = named
        return {
            **{k: v for k, v in result.items() if k in OutputState.__annotations__},
            "answer": as_text(clarification),
            "sources": clarification.pop("sources", []),
            "clarification": clarification,
        }

    def invoke(self, input: dict, config: RunnableConfig | None = None, **kwargs: Any) -> dict:
        graph = self._pick(config)
        with self._memory_reachable(graph):
            result: dict[str, Any] = graph.invoke(
                self._start(graph, input, config),
                config,
                context=self.run_context(config),
                version="v1",
                **kwargs,
            )
            result = self._stopped(graph, input, result, config)
            self._turn_done(input, result, config)
        return result

    async def ainvoke(
        self, input: dict, config: RunnableConfig | None = None, **kwargs: Any
    ) -> dict:
        # Nodes and checkpointers (SQLite) are synchronous: run the graph in a worker thread.
        return await self._in_pool(lambda: self.invoke(input, config, **kwargs))

    def stream(
        self, input: dict, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[dict]:
        final: dict[str, Any] = {}
        graph = self._pick(config)
        with self._memory_reachable(graph):
            stream = graph.stream(
                self._start(graph, input, config),
                config,
                context=self.run_context(config),
                stream_mode=_STREAM_MODES,
                version="v1",
            )
            for mode, chunk in stream:
                if not isinstance(chunk, dict):
                    continue
                if mode == "custom" and chunk.get("node") == "generate":
                    yield AddableDict(token=chunk["token"])
                elif mode == "values":
                    final = chunk
            final = self._stopped(graph, input, dict(final), config)
            self._turn_done(input, final, config)
        yield AddableDict({k: final[k] for k in OutputState.__annotations__ if k in final})

    async def astream(
        self, input: dict, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[dict]:
        """The synchronous stream, run in a worker thread, handed over chunk by chunk."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        done = object()

        def pump() -> None:
            try:
                for chunk in self.stream(input, config, **kwargs):
                    loop.call_soon_threadsafe(queue.put_nowait, chunk)
            except BaseException as exc:  # re-raised in the request's task
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, done)

        worker = asyncio.create_task(self._in_pool(pump))
        try:
            while (item := await queue.get()) is not done:
                if isinstance(item, BaseException):
                    raise item
                yield item
            await worker
        finally:  # the client went away mid-stream: the run stops at its next node
            if not worker.done():
                worker.cancel()
