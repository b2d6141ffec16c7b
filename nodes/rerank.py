"""rerank: reorder the candidates (proximity, or a cross-encoder when configured)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import Context, run_settings
from graph.state import RerankStep, State
from nodes.shared import shown, step
from tools.services import Services


def make_rerank(services: Services):
    def rerank(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        run = run_settings(runtime, services.settings)
        reranker = services.retrieval.reranker
        ranked = reranker.rerank(
            state["query"], state.get("candidates", []), run.settings.rerank.top_n
        )
        return {
            "candidates": shown(ranked),
            "path": step(
                state,
                RerankStep(
                    node="rerank",
                    reranker=reranker.name,
                    top_score=round(ranked[0]["score"], 4) if ranked else None,
                ),
            ),
        }

    return rerank
