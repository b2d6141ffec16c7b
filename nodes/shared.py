"""Small helpers every node uses: the run's resolved context, path entries, source records."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import Context, ResolvedContext, resolve_context
from graph.state import Source, State
from tools.kb.results import RetrievedChunk
from tools.settings import Settings


def run_context(runtime: Runtime[Context] | None, settings: Settings) -> ResolvedContext:
    return resolve_context(runtime.context if runtime is not None else None, settings)


def step(state: State, node: str, **details: Any) -> list[dict[str, Any]]:
    """The path with one more entry; check_cache starts a new path each turn."""
    return [*state.get("path", []), {"node": node, **details}]


def to_source(chunk: RetrievedChunk) -> Source:
    return Source(
        id=chunk.point_id,
        doc_id=chunk.doc_id,
        title=chunk.title,
        text=chunk.text,
        score=round(float(chunk.score), 4),
        source=chunk.source,
        position=chunk.position,
        metadata=chunk.metadata,
    )


def to_chunk(source: Source) -> RetrievedChunk:
    return RetrievedChunk(
        point_id=source["id"],
        doc_id=source["doc_id"],
        title=source["title"],
        text=source["text"],
        source=source.get("source", ""),
        position=source.get("position", 0),
        score=source["score"],
        metadata=source.get("metadata", {}),
    )
