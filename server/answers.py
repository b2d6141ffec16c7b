"""What every answer leaves behind once it is given: its record, for the feedback a user may
send on it later (`POST /feedback` names the answer by its id)."""

from __future__ import annotations

from typing import Any, Protocol

from langchain_core.runnables import RunnableConfig

from graph.context import CONTEXT_FIELDS
from tools.records.feedback import AnswerRecord, FeedbackStore, rated_sources


class OnAnswer(Protocol):
    """Told about every answer the runnable gives: its input, its output and the run's config."""

    def __call__(
        self, graph_input: dict[str, Any], output: dict[str, Any], config: RunnableConfig
    ) -> None: ...


def answer_recorder(store: FeedbackStore, generator: str) -> OnAnswer:
    """Every answer recorded under its id (queued: a store that fails costs the feedback on
    that answer, never the answer)."""

    def record(graph_input: dict[str, Any], output: dict[str, Any], config: RunnableConfig):
        if not output.get("answer_id"):
            return
        metadata = config.get("metadata") or {}
        configurable = config.get("configurable") or {}
        trace_id = next(
            (
                getattr(h, "last_trace_id", None)
                for h in config.get("callbacks") or []  # type: ignore[union-attr]
                if getattr(h, "last_trace_id", None)
            ),
            None,
        )
        named = {k: v for k, v in configurable.items() if k in CONTEXT_FIELDS}
        store.record_answer(
            AnswerRecord(
                answer_id=output["answer_id"],
                route=str(metadata.get("route") or "python"),
                question=output.get("standalone_question") or graph_input.get("question", ""),
                answer=output.get("answer", ""),
                grounded=bool((output.get("grounded") or {}).get("value")),
                sources=rated_sources(output.get("sources", [])),
                settings={
                    "run": named,
                    "filters": graph_input.get("filters") or {},
                    "generator": generator,
                },
                trace_id=trace_id,
            )
        )

    return record
