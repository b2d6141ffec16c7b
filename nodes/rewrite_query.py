"""rewrite_query: with history, turn a follow-up into a standalone question; on a retry, search
again more broadly (question words dropped, filters relaxed, top_k doubled)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import Context, run_settings
from graph.state import RewriteStep, State
from nodes.shared import step
from tools.services import Services


def make_rewrite_query(services: Services):
    def rewrite_query(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        run = run_settings(runtime, services.settings)
        if state.get("retrieval_attempts", 0) == 0:  # a new turn in a conversation
            history = state.get("history", [])[-services.settings.graph.history_turns :]
            standalone = services.rewriter.condense(state["question"], history)
            return {
                "query": standalone.query,
                "standalone_question": standalone.query,
                "path": step(
                    state,
                    RewriteStep(
                        node="rewrite_query",
                        kind="follow_up",
                        by=standalone.by,
                        query=standalone.query,
                    ),
                ),
            }
        broader = services.rewriter.broaden(state.get("standalone_question") or state["question"])
        top_k = min(
            (state.get("top_k") or run.settings.retrieval.top_k) * 2,
            services.settings.graph.retry_max_top_k,
        )
        return {
            "query": broader.query,
            "top_k": top_k,
            "search_filters": None,
            "path": step(
                state,
                RewriteStep(
                    node="rewrite_query",
                    kind="retry",
                    by=broader.by,
                    query=broader.query,
                    top_k=top_k,
                ),
            ),
        }

    return rewrite_query
