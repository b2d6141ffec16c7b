"""Routing functions. Each returns a Literal so Studio draws every edge; the attempt counters in
state bound each loop (and recursion_limit bounds the whole run)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from langgraph.runtime import Runtime
from langgraph.types import Send

from graph.context import Context, run_settings
from graph.state import AskTask, State
from nodes.follow_references import referred
from tools.settings import Settings


@dataclass(frozen=True)
class Routes:
    after_cache: Callable[..., Literal["__end__", "rewrite_query", "retrieve"] | list[Send]]
    after_grading: Callable[
        ..., Literal["follow_references", "generate", "rewrite_query", "fallback"]
    ]
    after_generation: Callable[..., Literal["check_grounding", "fallback"]]
    after_grounding: Callable[..., Literal["write_cache", "generate", "fallback"]]


def make_routes(settings: Settings) -> Routes:
    def route_after_cache(
        state: State,
    ) -> Literal["__end__", "rewrite_query", "retrieve"] | list[Send]:
        """A message with several asks: one branch per ask (answer_ask), in parallel."""
        if state.get("cache_hit"):
            return "__end__"
        if len(asks := state.get("split", [])) > 1:
            filters, history = state.get("search_filters"), state.get("history", [])
            return [
                Send("answer_ask", AskTask(index=i, question=q, filters=filters, history=history))
                for i, q in enumerate(asks)
            ]
        return "rewrite_query" if state.get("history") else "retrieve"

    def route_after_grading(
        state: State, runtime: Runtime[Context]
    ) -> Literal["follow_references", "generate", "rewrite_query", "fallback"]:
        run = run_settings(runtime, settings).settings.graph
        if relevant := state.get("relevant"):
            if run.max_references and any(referred(p) for p in relevant):
                return "follow_references"
            return "generate"
        bound = run.max_retrieval_attempts
        return "rewrite_query" if state.get("retrieval_attempts", 0) < bound else "fallback"

    def route_after_generation(state: State) -> Literal["check_grounding", "fallback"]:
        return "fallback" if state.get("generation_error") else "check_grounding"

    def route_after_grounding(
        state: State, runtime: Runtime[Context]
    ) -> Literal["write_cache", "generate", "fallback"]:
        if state.get("grounded", {}).get("value"):
            return "write_cache"
        bound = run_settings(runtime, settings).settings.graph.max_generation_attempts
        return "generate" if state.get("generation_attempts", 0) < bound else "fallback"

    return Routes(
        route_after_cache, route_after_grading, route_after_generation, route_after_grounding
    )
