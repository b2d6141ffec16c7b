"""write_cache: keep a grounded answer for the next asker, and the turn for follow-ups. A message
with several asks comes here whether or not every ask was answered: only a grounded whole is
kept. An answer that followed the user's choice of law (ask_which_law) is not kept: the next
asker of the same question is asked too."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import Context, run_settings
from graph.state import CachedAnswer, State, WriteCacheStep
from nodes.shared import remember_turn, step
from tools.services import Services


def make_write_cache(services: Services):
    def write_cache(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        key, written = state.get("cache_key"), False
        chosen = any(p["node"] == "ask_which_law" for p in state.get("path", []))
        if services.cache is not None and key and state["grounded"]["value"] and not chosen:
            value = CachedAnswer(
                answer=state.get("answer", ""),
                sources=state.get("sources", []),
                citations=state.get("citations", []),
                grounded=state["grounded"],  # write_cache follows a grounded check
                standalone_question=state.get("standalone_question") or state["question"],
                # What produced the answer, shown after a hit.
                path=[p for p in state.get("path", []) if p["node"] != "check_cache"],
            )
            if asks := state.get("asks"):
                value["asks"] = asks
            if notes := state.get("notes"):
                value["notes"] = notes
            services.cache.set(key, dict(value))
            scope = state.get("cache_scope")
            if services.semantic is not None and scope:
                services.semantic.add(scope, state["question"], key)
            written = True
        settings = run_settings(runtime, services.settings).settings
        return {
            "path": step(state, WriteCacheStep(node="write_cache", written=written)),
            "history": remember_turn(state, state.get("answer", ""), settings),
        }

    return write_cache
