"""The VinaSmol RAG graph. `build_graph(settings, checkpointer=...)` builds one with injected
services; `graph` is the compiled default, built on first use (never at import time)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from graph.builder import build_graph
from graph.context import Context
from graph.state import InputState, OutputState, State

__all__ = ["Context", "InputState", "OutputState", "State", "build_graph", "default_graph", "graph"]


@lru_cache(maxsize=1)
def default_graph():
    """The process-wide default graph on embedded defaults (built once)."""
    return build_graph()


def __getattr__(name: str) -> Any:
    if name == "graph":
        return default_graph()
    raise AttributeError(name)
