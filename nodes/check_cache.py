"""check_cache: answer from the cache when the same question (same settings, same corpus
version) was answered and grounded before."""

from __future__ import annotations

import logging
from typing import Any, cast

from langgraph.runtime import Runtime

from graph.context import Context, answer_settings, run_settings
from graph.state import CachedAnswer, CacheStep, State
from nodes.shared import remember_turn
from tools.cache.keys import cache_key, cache_scope
from tools.services import Services

log = logging.getLogger(__name__)


def make_check_cache(services: Services):
    def check_cache(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        run = run_settings(runtime, services.settings)
        question = state["question"].strip()
        cache = services.cache
        if cache is None or not run.use_cache or state.get("history"):
            # Follow-ups depend on the conversation: never answered from the shared cache.
            skipped = CacheStep(
                node="check_cache",
                looked_up=False,
                hit=False,
                reason="off" if cache is None or not run.use_cache else "conversation",
            )
            return {"path": [skipped]}
        version = services.retrieval.kb.corpus_version
        cache.retire(version)
        if services.semantic is not None:
            services.semantic.retire(version)
        scope = cache_scope(answer_settings(run, state.get("search_filters")), version)
        key = cache_key(question, scope)
        value = cache.get(key)
        similarity = 1.0
        if value is None and services.semantic is not None:
            near = services.semantic.nearest(scope, question)
            if near is not None:
                value = cache.get(near[0])
                similarity = near[1]
        if value is None:
            miss = CacheStep(node="check_cache", looked_up=True, hit=False)
            _show_version(miss, version, run.collections)
            return {"cache_key": key, "cache_scope": scope, "path": [miss]}
        cached = cast(CachedAnswer, value)  # written by write_cache
        hit = CacheStep(
            node="check_cache",
            looked_up=True,
            hit=True,
            answered_by=[p["node"] for p in cached.get("path", [])],
        )
        _show_version(hit, version, run.collections)
        if similarity < 1.0:
            hit["similarity"] = round(similarity, 3)
        # The turn joins the thread's history like any other: its follow-ups are rewritten.
        answered = cast(State, {**state, "sources": cached["sources"]})
        history = remember_turn(answered, cached["answer"], run.settings)
        return {**cached, "cache_hit": True, "path": [hit], "history": history}

    return check_cache


def _show_version(step: CacheStep, version: int, collections: tuple[str, ...] | None) -> None:
    """The store's version counts writes to every collection: shown only to runs that read
    them all (a scoped key learns nothing of the others' writes)."""
    if collections is None:
        step["corpus_version"] = version
