"""Entry for LangGraph Studio / `langgraph dev` (see langgraph.json). The platform brings its
own checkpointer, so the graph is built without one; services are built once per process."""

from __future__ import annotations

from graph import default_graph
from tools.logs import configure_logging, disable_telemetry
from tools.settings import load_settings

disable_telemetry()
configure_logging(load_settings().log_level)
graph = default_graph()
