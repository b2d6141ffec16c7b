"""check_grounding: is every sentence of the answer backed by the sources it cites?"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import Context, run_settings
from graph.state import Grounding, GroundingStep, State
from nodes.shared import step
from tools.services import Services


def make_check_grounding(services: Services):
    def check_grounding(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        run = run_settings(runtime, services.settings)
        check = services.grader.check_grounding(
            state.get("answer", ""),
            state.get("sources", []),
            run.settings.graph.grounding_threshold,
        )
        grounding = Grounding(
            value=check.grounded, score=check.score, unsupported=check.unsupported
        )
        return {
            "grounded": grounding,
            "path": step(
                state,
                GroundingStep(
                    node="check_grounding",
                    by=check.by,
                    grounded=check.grounded,
                    score=check.score,
                    attempt=state.get("generation_attempts", 0),
                ),
            ),
        }

    return check_grounding
