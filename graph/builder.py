"""Wiring: nodes, edges and bounds. `build_graph()` takes injected services so that models and
clients are built once per process, never per request and never at import time."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, get_args

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from graph.context import Context
from graph.guard import current_guard
from graph.routing import AfterGrading, Routes, make_routes
from graph.state import InputState, OutputState, State
from nodes.answer_ask import make_answer_ask
from nodes.ask_which_law import make_ask_which_law
from nodes.check_cache import make_check_cache
from nodes.check_grounding import make_check_grounding
from nodes.choose_version import make_choose_version
from nodes.combine_answers import make_combine_answers
from nodes.fallback import make_fallback
from nodes.follow_references import make_follow_references
from nodes.generate import make_generate
from nodes.grade_documents import make_grade_documents
from nodes.rerank import make_rerank
from nodes.retrieve import make_retrieve
from nodes.rewrite_query import make_rewrite_query
from nodes.start_turn import make_start_turn
from nodes.write_cache import make_write_cache
from tools.services import Services, build_services
from tools.settings import Settings, load_settings

log = logging.getLogger(__name__)

NODE_FACTORIES: dict[str, Callable[[Services], Callable[..., dict[str, Any]]]] = {
    "start_turn": make_start_turn,
    "check_cache": make_check_cache,
    "rewrite_query": make_rewrite_query,
    "retrieve": make_retrieve,
    "rerank": make_rerank,
    "grade_documents": make_grade_documents,
    "ask_which_law": make_ask_which_law,
    "choose_version": make_choose_version,
    "follow_references": make_follow_references,
    "generate": make_generate,
    "check_grounding": make_check_grounding,
    "write_cache": make_write_cache,
    "fallback": make_fallback,
    "combine_answers": make_combine_answers,
}
# What answers one ask, from its search to its answer or the fallback: the whole graph runs
# them for a message with one ask, answer_ask for each ask of a message with several.
ANSWERING = (
    "rewrite_query",
    "retrieve",
    "rerank",
    "grade_documents",
    "choose_version",
    "follow_references",
    "generate",
    "check_grounding",
    "fallback",
)


class NodeObserver(Protocol):
    """Told about every node run: the one place metrics and timings are recorded."""

    def __call__(
        self, node: str, seconds: float, update: dict[str, Any] | None, error: bool
    ) -> None: ...


def _observed(name: str, node: Callable[..., dict[str, Any]], observers: Sequence[NodeObserver]):
    """The node, stopped before it starts when its run's guard says so (graph.guard), and
    reported to every observer."""

    def observed(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        if (guard := current_guard()) is not None:
            guard.check(name)
        start = time.perf_counter()
        try:
            update = node(state, runtime)
        except Exception:
            for observer in observers:
                observer(name, time.perf_counter() - start, None, True)
            raise
        elapsed = time.perf_counter() - start
        for observer in observers:
            observer(name, elapsed, update, False)
        return update

    observed.__name__ = name
    return observed


def _wire_answering(
    builder: StateGraph[State, Context, Any, OutputState], routes: Routes, grounded: str
) -> None:
    """The edges between the ANSWERING nodes; a grounded answer goes to `grounded`."""
    builder.add_edge("rewrite_query", "retrieve")
    builder.add_edge("retrieve", "rerank")
    builder.add_edge("rerank", "grade_documents")
    # After grading, and on from the two steps it may take first (each leaves the sources
    # non-empty, and itself nothing to do). A branch of a message with several asks has no
    # ask_which_law: it cannot stop to ask.
    after = {
        "grade_documents": get_args(AfterGrading),
        "ask_which_law": ("choose_version", "follow_references", "generate"),
        "choose_version": ("follow_references", "generate"),
    }
    for node, ways in after.items():
        if node in builder.nodes:
            builder.add_conditional_edges(
                node, routes.after_grading, [w for w in ways if w in builder.nodes]
            )
    builder.add_edge("follow_references", "generate")
    builder.add_conditional_edges("generate", routes.after_generation)
    builder.add_conditional_edges(
        "check_grounding",
        routes.after_grounding,
        {"write_cache": grounded, "generate": "generate", "fallback": "fallback"},
    )
    builder.add_edge("fallback", END)


def build_graph(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    observers: Sequence[NodeObserver] = (),
) -> CompiledStateGraph[State, Context, InputState, OutputState]:
    """`services` and `settings` both given: the services' parts, read with these settings."""
    if services is None:
        services = build_services(settings or load_settings())
    elif settings is not None:
        services = services.with_settings(settings)
    settings = services.settings
    nodes = {
        name: _observed(name, factory(services), observers)
        for name, factory in NODE_FACTORIES.items()
    }
    routes = make_routes(settings)
    ask_routes = make_routes(settings, ask_back=False)
    # answer_ask starts it with a whole fresh turn (nodes.start_turn.fresh_turn) as its input
    ask_graph = StateGraph(
        State, input_schema=State, output_schema=OutputState, context_schema=Context
    )
    for name in ANSWERING:
        ask_graph.add_node(name, nodes[name])
    ask_graph.add_conditional_edges(
        START, ask_routes.after_cache, {"rewrite_query": "rewrite_query", "retrieve": "retrieve"}
    )
    _wire_answering(ask_graph, ask_routes, grounded=END)
    answer_ask = make_answer_ask(
        ask_graph.compile(checkpointer=False, name="answer_ask").with_config(
            recursion_limit=settings.graph.recursion_limit
        )
    )

    builder = StateGraph(
        State, input_schema=InputState, output_schema=OutputState, context_schema=Context
    )
    for name, node in nodes.items():
        builder.add_node(name, node)
    builder.add_node("answer_ask", _observed("answer_ask", answer_ask, observers))
    builder.add_edge(START, "start_turn")
    builder.add_edge("start_turn", "check_cache")
    builder.add_conditional_edges(
        "check_cache",
        routes.after_cache,
        [END, "rewrite_query", "retrieve", "answer_ask"],  # Studio draws the Send edge too
    )
    _wire_answering(builder, routes, grounded="write_cache")
    builder.add_edge("answer_ask", "combine_answers")
    builder.add_edge("combine_answers", "write_cache")
    builder.add_edge("write_cache", END)
    compiled = builder.compile(checkpointer=checkpointer, name="vinarag")
    return compiled.with_config(recursion_limit=settings.graph.recursion_limit)
