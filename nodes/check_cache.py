"""check_cache: answer from the cache when the same question (same settings, same corpus
version) was answered and grounded before; otherwise start a fresh turn."""

from __future__ import annotations

import logging
from typing import Any

from langgraph.runtime import Runtime

from graph.context import Context, answer_settings
from graph.state import State
from nodes.shared import run_context
from tools.cache.keys import cache_key, cache_scope
from tools.services import Services

log = logging.getLogger(__name__)


def make_check_cache(services: Services):
    def check_cache(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        question = state["question"].strip()
        if not question:
            raise ValueError("question is empty")
        context = run_context(runtime, services.settings)
        fresh: dict[str, Any] = {
            "query": question,
            "standalone_question": question,
            "candidates": [],
            "relevant": [],
            "sources": [],
            "citations": [],
            "answer": "",
            "retrieval_attempts": 0,
            "generation_attempts": 0,
            "top_k": None,
            "relax_filters": False,
            "fallback_reason": None,
            "cache_hit": False,
            "cache_key": None,
            "cache_scope": None,
        }
        cache = services.cache
        if cache is None or not context.use_cache or state.get("history"):
            # Follow-ups depend on the conversation: never answered from the shared cache.
            reason = "off" if cache is None or not context.use_cache else "conversation"
            return {**fresh, "path": [{"node": "check_cache", "hit": False, "reason": reason}]}
        version = services.retrieval.kb.corpus_version
        scope = cache_scope(
            answer_settings(context, services.settings, state.get("filters")), version
        )
        key = cache_key(question, scope)
        cached = cache.get(key)
        similarity = 1.0
        if cached is None and services.semantic is not None:
            near = services.semantic.nearest(scope, question)
            if near is not None:
                cached = cache.get(near[0])
                similarity = near[1]
        if cached is None:
            return {
                **fresh,
                "cache_key": key,
                "cache_scope": scope,
                "path": [{"node": "check_cache", "hit": False, "corpus_version": version}],
            }
        entry = {
            "node": "check_cache",
            "hit": True,
            "corpus_version": version,
            "answered_by": [p["node"] for p in cached.get("path", [])],
        }
        if similarity < 1.0:
            entry["similarity"] = round(similarity, 3)
        return {
            **fresh,
            **cached,
            "cache_hit": True,
            "path": [entry],
        }

    return check_cache
