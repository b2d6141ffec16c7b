"""grade_documents: keep the candidates that hold what the question asks about."""

from __future__ import annotations

import logging
from typing import Any, Literal

from langgraph.runtime import Runtime

from graph.context import Context
from graph.state import GradeStep, State
from nodes.shared import run_context, step
from tools.grade.llm import GraderError
from tools.grade.relevance import grade_by_overlap
from tools.services import Services

log = logging.getLogger(__name__)


def make_grade_documents(services: Services):
    def grade_documents(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        context = run_context(runtime, services.settings)
        question = state.get("standalone_question") or state["question"]
        candidates = state.get("candidates", [])
        grades = grade_by_overlap(
            question,
            candidates,
            context.relevance_threshold,
            services.settings.graph.name_threshold,
        )
        verdicts = [g.relevant for g in grades]
        by: Literal["overlap", "llm"] = "overlap"
        if services.grader is not None and candidates:
            try:
                verdicts = services.grader.grade_relevance(question, candidates)
                by = "llm"
            except (GraderError, ValueError) as exc:
                log.warning("LLM relevance grading failed (%s): using term overlap", exc)
        relevant = [c for c, keep in zip(candidates, verdicts, strict=True) if keep]
        return {
            "relevant": relevant,
            "path": step(
                state,
                GradeStep(
                    node="grade_documents",
                    by=by,
                    relevant=len(relevant),
                    of=len(candidates),
                    coverage=[g.coverage for g in grades],
                ),
            ),
        }

    return grade_documents
