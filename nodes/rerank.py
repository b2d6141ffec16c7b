"""rerank: reorder the candidates (proximity, or a cross-encoder when configured); a chunk of a
long law article becomes its article (`tools/kb/articles.py`), the unit the graph grades and
answers from."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import Context, run_settings
from graph.state import RerankStep, State
from nodes.shared import shown, step
from tools.kb.articles import widen_articles
from tools.services import Services


def make_rerank(services: Services):
    def rerank(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        run = run_settings(runtime, services.settings)
        reranker = services.retrieval.reranker
        top_n = run.settings.rerank.top_n
        candidates = state.get("candidates", [])
        chars = run.settings.retrieval.article_chars
        # chunks of one article become one source: ranked twice as deep, then cut
        ranked = reranker.rerank(state["query"], candidates, top_n * 2 if chars else top_n)
        if chars:
            kb = services.retrieval.kb
            query = state["query"]
            ranked = widen_articles(kb, ranked, chars, query, run.collections)[:top_n]
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
