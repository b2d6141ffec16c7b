"""check_grounding: is every sentence of the answer backed by the sources it cites?"""

from __future__ import annotations

import logging
from typing import Any, Literal

from langgraph.runtime import Runtime

from graph.context import Context
from graph.state import Grounding, GroundingStep, State
from nodes.shared import run_context, step
from tools.grade.grounding import check_grounding as check_support
from tools.grade.llm import GraderError
from tools.services import Services

log = logging.getLogger(__name__)


def make_check_grounding(services: Services):
    def check_grounding(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        context = run_context(runtime, services.settings)
        sources = state.get("sources", [])
        answer = state.get("answer", "")
        result = check_support(answer, sources, context.grounding_threshold)
        grounding = Grounding(
            value=result.grounded, score=result.score, unsupported=result.unsupported
        )
        by: Literal["overlap", "llm"] = "overlap"
        if services.grader is not None and answer:
            try:
                verdict = services.grader.check_grounding(answer, sources)
                unsupported = [verdict.unsupported_sentence] if verdict.unsupported_sentence else []
                grounding = Grounding(
                    value=verdict.grounded and not result.invalid_markers,
                    score=result.score,
                    unsupported=unsupported,
                )
                by = "llm"
            except (GraderError, ValueError) as exc:
                log.warning("LLM grounding check failed (%s): using term overlap", exc)
        return {
            "grounded": grounding,
            "path": step(
                state,
                GroundingStep(
                    node="check_grounding",
                    by=by,
                    grounded=grounding["value"],
                    score=grounding["score"],
                    attempt=state.get("generation_attempts", 0),
                ),
            ),
        }

    return check_grounding
