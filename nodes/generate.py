"""generate: answer from the relevant sources with citations; on a retry after a failed
grounding check, more strictly. The path says which generator answered, and whether it is a
model or the extractive answerer. A generator that fails (a model server gone mid-answer, a
timeout) does not fail the turn: the path records the error and the turn ends in the honest
fallback, which lists what was found."""

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
ERROR_CHARS = 200  # of a generator's error, in the path a client sees


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

        taken = GenerateStep(
            node="generate",
            attempt=attempt,
            generator=generator.name,
            model=generator.is_model,
            strict=request.strict,
            tokens=0,
            chars=0,
        )
        try:
            result = generator.generate(request, on_token=on_token if streaming else None)
        except Exception as exc:  # any failure of the model or its server: the fallback answers
            error = f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]
            log.warning("generate: %s failed (attempt %d): %s", generator.name, attempt, error)
            taken["error"] = error
            return {
                "generation_attempts": attempt,
                "generation_error": error,
                "path": step(state, taken),
            }
        log.debug("generate: %s answered (attempt %d)", generator.name, attempt)
        taken["tokens"], taken["chars"] = result.tokens, len(result.answer)
        if generator.is_model:
            taken["seconds"] = round(result.seconds, 4)
            if result.first_token_s is not None:
                taken["first_token_s"] = round(result.first_token_s, 4)
            if (speed := result.tokens_per_s) is not None:
                taken["tokens_per_s"] = round(speed, 2)
        return {
            "answer": result.answer,
            "citations": result.citations,
            "sources": sources,
            "generation_attempts": attempt,
            "path": step(state, taken),
        }

    return generate
