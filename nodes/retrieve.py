"""retrieve: hybrid search in the knowledge base for the current query."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import Context, run_settings
from graph.state import RetrieveStep, State
from nodes.shared import shown, step
from tools.services import Services


def make_retrieve(services: Services):
    def retrieve(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        run = run_settings(runtime, services.settings)
        top_k = state.get("top_k") or run.settings.retrieval.top_k
        unreadable: list[str] = []
        hits = services.retrieval.retriever.retrieve(
            state["query"],
            top_k=top_k,
            filters=state.get("search_filters"),
            collections=run.collections,
            on_unreadable=unreadable.append,
        )
        attempt = state.get("retrieval_attempts", 0) + 1
        taken = RetrieveStep(
            node="retrieve",
            attempt=attempt,
            hits=len(hits),
            top_score=round(hits[0]["score"], 4) if hits else None,
            mode=services.retrieval.retriever.mode,
        )
        if unreadable:  # `vinarag documents --check` lists them for the operator
            taken["unreadable"] = unreadable
        return {
            "candidates": shown(hits),
            "retrieval_attempts": attempt,
            "path": step(state, taken),
        }

    return retrieve
