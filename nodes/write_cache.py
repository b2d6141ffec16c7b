"""write_cache: keep a grounded answer for the next asker, and the turn for follow-ups."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import Context
from graph.state import State
from nodes.shared import step
from tools.services import Services

CACHED_FIELDS = ("answer", "sources", "citations", "grounded", "standalone_question")


def remember_turn(state: State, answer: str, services: Services) -> list[dict[str, str]]:
    keep = services.settings.graph.history_turns
    turn = {"question": state.get("standalone_question") or state["question"], "answer": answer}
    return [*state.get("history", []), turn][-keep:] if keep else []


def make_write_cache(services: Services):
    def write_cache(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        key, written = state.get("cache_key"), False
        path = step(state, "write_cache")
        if services.cache is not None and key:
            value = {name: state.get(name) for name in CACHED_FIELDS}
            # The cached path is what produced the answer, shown after the hit.
            value["path"] = [p for p in state.get("path", []) if p["node"] != "check_cache"]
            services.cache.set(key, value)
            scope = state.get("cache_scope")
            if services.semantic is not None and scope:
                services.semantic.add(scope, state["question"], key)
            written = True
        path[-1]["written"] = written
        return {"path": path, "history": remember_turn(state, state.get("answer", ""), services)}

    return write_cache
