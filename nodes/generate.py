"""generate: answer from the relevant sources with citations; on a retry after a failed
grounding check, more strictly. The path says which generator answered, and whether it is a
model or the extractive answerer."""

from __future__ import annotations

import logging
from dataclasses import fields
from typing import Any

from langgraph.runtime import Runtime

from graph.context import Context, run_settings
from graph.state import GenerateStep, State
from nodes.shared import step
from tools.generate.base import GenerationRequest
from tools.services import Services

log = logging.getLogger(__name__)
# The writer a run's Runtime holds when nobody streams custom events (LangGraph has no public
# "is streaming" test): read from the dataclass's own default, no private name imported.
_NOT_STREAMING = next(f.default for f in fields(Runtime) if f.name == "stream_writer")


def make_generate(services: Services):
    def generate(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        run = run_settings(runtime, services.settings)
        generator = services.generator_for(run.settings.generator.kind)
        attempt = state.get("generation_attempts", 0) + 1
        sources = state.get("relevant", [])
        request = GenerationRequest(
            question=state.get("standalone_question") or state["question"],
            sources=sources,
            strict=attempt > 1,
            temperature=0.0 if attempt > 1 else run.settings.generator.temperature,
            max_tokens=run.settings.generator.max_tokens,
            prompt=run.answer_prompt,
        )
        writer = runtime.stream_writer if runtime is not None else None
        # Stream tokens only when the run asked for custom events: a plain invoke keeps the
        # generator's direct path (and its errors surface at once, not as a stream timeout).
        streaming = writer is not None and writer is not _NOT_STREAMING

        def on_token(piece: str) -> None:
            writer({"node": "generate", "attempt": attempt, "token": piece})

        result = generator.generate(request, on_token=on_token if streaming else None)
        log.debug("generate: %s answered (attempt %d)", generator.name, attempt)
        return {
            "answer": result.answer,
            "citations": result.citations,
            "sources": sources,
            "generation_attempts": attempt,
            "path": step(
                state,
                GenerateStep(
                    node="generate",
                    attempt=attempt,
                    generator=generator.name,
                    model=generator.is_model,
                    strict=request.strict,
                    tokens=result.tokens,
                    chars=len(result.answer),
                ),
            ),
        }

    return generate
