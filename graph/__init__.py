"""The VinaSmol RAG graph. `build_graph(settings, checkpointer=...)` builds one with injected
services; `graph` is the compiled default, built on first use (never at import time)."""

from __future__ import annotations

from functools import lru_cache
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graph.builder import build_graph
    from graph.context import Context
    from graph.state import InputState, OutputState, State

__all__ = ["Context", "InputState", "OutputState", "State", "build_graph", "default_graph", "graph"]

# Imported on first use: `vinarag --help` loads this package (its commands) without LangGraph.
_LAZY = {
    "build_graph": "graph.builder",
    "Context": "graph.context",
    "InputState": "graph.state",
    "OutputState": "graph.state",
    "State": "graph.state",
}


@lru_cache(maxsize=1)
def default_graph():
    """The process-wide default graph on embedded defaults (built once)."""
    from graph.builder import build_graph

    return build_graph()


def __getattr__(name: str) -> Any:
    if name == "graph":
        return default_graph()
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(name)
