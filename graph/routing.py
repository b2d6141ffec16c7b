"""Routing functions. Each returns a Literal so Studio draws every edge; the attempt counters in
state bound each loop (and recursion_limit bounds the whole run)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from langgraph.runtime import Runtime
from langgraph.types import Send

from graph.context import Context, run_settings
from graph.state import NO_LAW_DECISION, AskTask, State
from nodes.shared import unheld_law
from tools.corpus.references import references_in
from tools.settings import Settings

AfterGrading = Literal[
    "ask_which_law", "choose_version", "follow_references", "generate", "rewrite_query", "fallback"
]


@dataclass(frozen=True)
class Routes:
    after_cache: Callable[..., Literal["__end__", "rewrite_query", "retrieve"] | list[Send]]
    after_grading: Callable[..., AfterGrading]
    after_generation: Callable[..., Literal["check_grounding", "fallback"]]
    after_grounding: Callable[..., Literal["write_cache", "generate", "fallback"]]


def make_routes(settings: Settings, *, ask_back: bool = True) -> Routes:
    """`ask_back` False: a graph that cannot stop to ask (a branch of a message with several
    asks) answers from every law it found."""

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

    def route_after_grading(state: State, runtime: Runtime[Context]) -> AfterGrading:
        """Also the way on from ask_which_law and choose_version: each leaves nothing for
        itself to do (asked once; one version per law). What the sources call for among laws
        was decided by the node that set them (`law_decision`): read here, not decided again."""
        run = run_settings(runtime, settings).settings.graph
        if unheld_law(state) is not None:
            return "fallback"
        if relevant := state.get("relevant"):
            decided = state.get("law_decision", NO_LAW_DECISION)
            if ask_back and decided["ask"] is not None:
                return "ask_which_law"
            if decided["versions"] is not None:
                return "choose_version"
            if run.max_references and any(references_in(p["metadata"]) for p in relevant):
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
