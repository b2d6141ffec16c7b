"""rewrite_query: with history, turn a follow-up into a standalone question; on a retry, search
again more broadly (question words dropped, filters relaxed, top_k doubled)."""

from __future__ import annotations

import logging
from typing import Any, Literal

from langgraph.runtime import Runtime

from graph.context import Context
from graph.state import RewriteStep, State
from nodes.shared import run_context, step
from tools.grade.llm import GraderError
from tools.grade.rewrite import condense, strip_question_words
from tools.services import Services

log = logging.getLogger(__name__)


def make_rewrite_query(services: Services):
    def rewrite_query(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        context = run_context(runtime, services.settings)
        attempts = state.get("retrieval_attempts", 0)
        grader = services.grader
        if attempts == 0:  # a new turn in a conversation
            history = state.get("history", [])[-services.settings.graph.history_turns :]
            question = state["question"]
            standalone = condense(question, history)
            how: Literal["terms", "llm"] = "terms"
            if grader is not None and history:
                try:
                    standalone, how = grader.condense(question, history), "llm"
                except (GraderError, ValueError) as exc:
                    log.warning("LLM condensation failed (%s): deterministic rewrite", exc)
            return {
                "query": standalone,
                "standalone_question": standalone,
                "path": step(
                    state,
                    RewriteStep(node="rewrite_query", kind="follow_up", by=how, query=standalone),
                ),
            }
        base = state.get("standalone_question") or state["question"]
        query = strip_question_words(base)
        how = "terms"
        if grader is not None:
            try:
                query, how = grader.rewrite(base), "llm"
            except (GraderError, ValueError) as exc:
                log.warning("LLM rewrite failed (%s): deterministic rewrite", exc)
        top_k = min(
            (state.get("top_k") or context.top_k) * 2, services.settings.graph.retry_max_top_k
        )
        return {
            "query": query,
            "top_k": top_k,
            "search_filters": None,
            "path": step(
                state,
                RewriteStep(node="rewrite_query", kind="retry", by=how, query=query, top_k=top_k),
            ),
        }

    return rewrite_query
