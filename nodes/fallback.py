"""fallback: say honestly, in Vietnamese, that the documents do not answer the question, and
show what was found. Reached when nothing relevant came back or no answer was grounded, after
the attempts allowed, or when the generator failed (then it says that, and lists the relevant
sources it had)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import Context, run_settings
from graph.state import FallbackReason, FallbackStep, Grounding, State
from nodes.shared import remember_turn, step, unheld_law
from tools.generate.prompts import (
    FALLBACK_ANSWER,
    FALLBACK_FOUND,
    GENERATION_FAILED_ANSWER,
    GENERATION_FAILED_FOUND,
    LAW_NOT_HELD_ANSWER,
    LAW_NOT_HELD_CLOSEST,
)
from tools.services import Services


def make_fallback(services: Services):
    def fallback(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        settings = run_settings(runtime, services.settings).settings
        grounded = state.get("grounded")
        answer, listed = FALLBACK_ANSWER, FALLBACK_FOUND
        if (unheld := unheld_law(state)) is not None:
            reason: FallbackReason = "law_not_held"
            answer = LAW_NOT_HELD_ANSWER.format(law=unheld["mention"])
            if closest := unheld.get("closest"):
                answer += f" {LAW_NOT_HELD_CLOSEST} {'; '.join(closest)}."
            found = []
        elif state.get("generation_error"):
            reason = "generation_failed"
            found = state.get("relevant", [])
            answer, listed = GENERATION_FAILED_ANSWER, GENERATION_FAILED_FOUND
        elif state.get("generation_attempts", 0) and grounded and not grounded["value"]:
            reason = "not_grounded"
            found = state.get("sources", [])
        else:
            reason = "no_relevant_documents"
            found = state.get("candidates", [])
        found = found[: settings.graph.fallback_sources]
        if found:
            answer += (
                " "
                + listed
                + " "
                + "; ".join(f"[{i}] {s['title']}" for i, s in enumerate(found, start=1))
                + "."
            )
        return {
            "answer": answer,
            "sources": found,
            "citations": [],
            "grounded": Grounding(
                value=False, score=grounded["score"] if grounded else 0.0, unsupported=[]
            ),
            "fallback_reason": reason,
            "path": step(state, FallbackStep(node="fallback", reason=reason)),
            "history": remember_turn(state, answer, settings),
        }

    return fallback
