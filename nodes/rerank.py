"""rerank: reorder the candidates (proximity, or a cross-encoder when configured)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import Context
from graph.state import State
from nodes.shared import run_context, step, to_chunk, to_source
from tools.services import Services


def make_rerank(services: Services):
    def rerank(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        context = run_context(runtime, services.settings)
        reranker = services.retrieval.reranker
        chunks = [to_chunk(s) for s in state.get("candidates", [])]
        ranked = reranker.rerank(state["query"], chunks, context.rerank_top_n)
        return {
            "candidates": [to_source(c) for c in ranked],
            "path": step(
                state,
                "rerank",
                reranker=reranker.name,
                top_score=round(ranked[0].score, 4) if ranked else None,
            ),
        }

    return rerank
