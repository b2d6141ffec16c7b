"""grade_documents: keep the candidates that hold what the question asks about, and decide what
they call for among laws (nodes/law_decision.py)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import Context, run_settings
from graph.state import GradeStep, State
from nodes.law_decision import decide_for_laws
from nodes.shared import step
from tools.services import Services


def make_grade_documents(services: Services):
    def grade_documents(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        run = run_settings(runtime, services.settings)
        question = (
            state.get("graded_question") or state.get("standalone_question") or state["question"]
        )
        candidates = state.get("candidates", [])
        grades = services.grader.grade_relevance(
            question, candidates, run.settings.graph.relevance_threshold
        )
        relevant = [c for c, keep in zip(candidates, grades.relevant, strict=True) if keep]
        return {
            "relevant": relevant,
            "law_decision": decide_for_laws(state, relevant, run.settings.graph),
            "path": step(
                state,
                GradeStep(
                    node="grade_documents",
                    by=grades.by,
                    relevant=len(relevant),
                    of=len(candidates),
                    coverage=grades.coverage,
                ),
            ),
        }

    return grade_documents
