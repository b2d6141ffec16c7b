"""What LangServe serves at /rag: the graph, stateless by default and with conversation memory
when the request names a thread. `stream` sends the answer's tokens from the generate node only
({"token": ...}), then one chunk with the rest of the output (sources, citations, grounded, path),
so the chunks add up to the full output."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.runnables import RunnableConfig, RunnableSerializable
from langchain_core.runnables.utils import AddableDict
from langgraph.graph.state import CompiledStateGraph

from graph.state import InputState, OutputState


class RagRunnable(RunnableSerializable[dict, dict]):
    stateless: Any
    stateful: Any | None = None
    name: str = "vinarag"

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return False

    def _pick(self, config: RunnableConfig | None) -> CompiledStateGraph:
        thread = ((config or {}).get("configurable") or {}).get("thread_id")
        return self.stateful if thread and self.stateful is not None else self.stateless

    @property
    def InputType(self) -> type:  # noqa: N802 (LangChain's name)
        return InputState

    @property
    def OutputType(self) -> type:  # noqa: N802
        return OutputState

    def get_input_schema(self, config: RunnableConfig | None = None):
        return self.stateless.get_input_schema(config)

    def get_output_schema(self, config: RunnableConfig | None = None):
        return self.stateless.get_output_schema(config)

    def invoke(self, input: dict, config: RunnableConfig | None = None, **kwargs: Any) -> dict:
        return self._pick(config).invoke(input, config, **kwargs)

    async def ainvoke(
        self, input: dict, config: RunnableConfig | None = None, **kwargs: Any
    ) -> dict:
        return await self._pick(config).ainvoke(input, config, **kwargs)

    def stream(
        self, input: dict, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[dict]:
        final: dict[str, Any] = {}
        for mode, chunk in self._pick(config).stream(
            input, config, stream_mode=["custom", "values"]
        ):
            if mode == "custom" and chunk.get("node") == "generate":
                yield AddableDict(token=chunk["token"])
            elif mode == "values":
                final = chunk
        yield AddableDict(_output(self.stateless, final))

    async def astream(
        self, input: dict, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[dict]:
        final: dict[str, Any] = {}
        graph = self._pick(config)
        async for mode, chunk in graph.astream(input, config, stream_mode=["custom", "values"]):
            if mode == "custom" and chunk.get("node") == "generate":
                yield AddableDict(token=chunk["token"])
            elif mode == "values":
                final = chunk
        yield AddableDict(_output(self.stateless, final))


def _output(graph: CompiledStateGraph, state: dict[str, Any]) -> dict[str, Any]:
    """Only the output fields (the state's internals stay inside)."""
    keys = OutputState.__annotations__.keys()
    return {k: state[k] for k in keys if k in state}
