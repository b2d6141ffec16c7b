"""start_turn: begin a turn with every per-turn field at its empty value, so that nothing of a
thread's previous turn (answer, sources, attempts, widened top_k, filters, path) leaks into this
one. Only `history` carries over."""

from __future__ import annotations

import uuid
from typing import Any

from langgraph.runtime import Runtime

from graph.context import Context, run_settings
from graph.state import NO_LAW_DECISION, State
from tools.services import Services
from tools.text.asks import split_asks


def fresh_turn(
    question: str, filters: dict[str, Any] | None = None, split: list[str] | None = None
) -> dict[str, Any]:
    """Every output and per-turn field (a test checks this covers graph.state's TypedDicts) but
    `clarification`, which no node writes: the server reads it from a run's interrupt."""
    return {
        "answer_id": uuid.uuid4().hex,
        "query": question,
        "split": split or [question],
        "asks": None,  # emptied (graph.state.gather_asks)
        "standalone_question": question,
        "candidates": [],
        "relevant": [],
        "sources": [],
        "citations": [],
        "answer": "",
        "grounded": {"value": False, "score": 0.0, "unsupported": []},
        "retrieval_attempts": 0,
        "generation_attempts": 0,
        "generation_error": None,
        "top_k": None,
        "search_filters": filters or None,
        "graded_question": None,
        "clarified": False,
        "law_decision": NO_LAW_DECISION,
        "notes": [],
        "filters": {},  # input of this turn only: a later turn that gives none has none
        "fallback_reason": None,
        "cache_hit": False,
        "cache_key": None,
        "cache_scope": None,
        "path": [],
    }


def make_start_turn(services: Services):
    def start_turn(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        question = state["question"].strip()
        if not question:
            raise ValueError("question is empty")
        graph = run_settings(runtime, services.settings).settings.graph
        split = split_asks(question, graph.max_asks)
        return fresh_turn(question, state.get("filters"), split)

    return start_turn
