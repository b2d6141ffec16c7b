"""combine_answers: the asks' answers as one message, in the order they were asked, each under
its question; their sources merged into one numbered list (a passage two asks cite is listed
once) and every citation moved to its number there."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import Context
from graph.state import AskAnswer, CombineStep, FallbackReason, Grounding, State
from nodes.shared import step
from tools.corpus.passages import Passage
from tools.generate.base import Citation
from tools.services import Services
from tools.text.citations import renumber


def combined(asks: list[AskAnswer]) -> dict[str, Any]:
    """The answer, sources, citations and grounding of the whole message."""
    sources: list[Passage] = []
    numbers_of: dict[str, int] = {}  # passage id -> its number in the merged list
    parts: list[str] = []
    citations: list[Citation] = []
    for position, ask in enumerate(asks, start=1):
        numbers: dict[int, int] = {}
        for old, source in enumerate(ask["sources"], start=1):
            if source["id"] not in numbers_of:
                sources.append(source)
                numbers_of[source["id"]] = len(sources)
            numbers[old] = numbers_of[source["id"]]
        parts.append(f"{position}. {ask['question']}\n{renumber(ask['answer'], numbers)}")
        citations += [
            Citation(
                marker=numbers.get(c["marker"], c["marker"]),
                source_id=c["source_id"],
                doc_id=c["doc_id"],
                text=c["text"],
            )
            for c in ask["citations"]
        ]
    answered = [a for a in asks if a["fallback_reason"] is None]
    reasons: list[FallbackReason] = [r for a in asks if (r := a["fallback_reason"]) is not None]
    return {
        "answer": "\n\n".join(parts),
        "sources": sources,
        "citations": citations,
        "grounded": Grounding(
            value=all(a["grounded"]["value"] for a in asks),
            score=min((a["grounded"]["score"] for a in asks), default=0.0),
            unsupported=[u for a in asks for u in a["grounded"].get("unsupported", [])],
        ),
        # the message fell back only when none of its asks was answered
        "fallback_reason": None if answered else reasons[0],
        "notes": list(dict.fromkeys(n for a in asks for n in a.get("notes", []))),
    }


def make_combine_answers(services: Services):  # noqa: ARG001 (every node factory takes the services)
    def combine_answers(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        asks = state.get("asks", [])
        message = combined(asks)
        done = sum(a["fallback_reason"] is None for a in asks)
        return {
            **message,
            "path": step(state, CombineStep(node="combine_answers", asks=len(asks), answered=done)),
        }

    return combine_answers
