"""Per-run settings (LangGraph runtime context). A field left None takes its value from the
process settings (`configs/default.yaml` + `VINARAG_*`), so a run overrides only what it names."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Annotated, Any, Literal

from pydantic import Field

from tools.generate.prompts import ANSWER_PROMPT
from tools.settings import MAX_ATTEMPTS, Settings

GeneratorKind = Literal["extractive", "phogpt", "openai"]


@dataclass(kw_only=True)
class Context:
    """What a run may override; None takes the value from settings. Studio shows these."""

    top_k: Annotated[int | None, Field(description="passages retrieved (retrieval.top_k)")] = None
    rerank_top_n: Annotated[
        int | None, Field(description="sources kept after reranking (rerank.top_n)")
    ] = None
    relevance_threshold: Annotated[
        float | None,
        Field(description="share of the question's content terms a relevant source holds"),
    ] = None
    grounding_threshold: Annotated[
        float | None,
        Field(description="share of an answer sentence's terms its cited sources must hold"),
    ] = None
    max_retrieval_attempts: Annotated[
        int | None, Field(description=f"retrievals before the fallback (at most {MAX_ATTEMPTS})")
    ] = None
    max_generation_attempts: Annotated[
        int | None, Field(description=f"generations before the fallback (at most {MAX_ATTEMPTS})")
    ] = None
    generator: Annotated[
        GeneratorKind | None, Field(description="which configured generator answers")
    ] = None
    temperature: Annotated[float | None, Field(description="generation temperature")] = None
    max_tokens: Annotated[int | None, Field(description="tokens a model may generate")] = None
    use_cache: Annotated[bool, Field(description="answer from / write to the cache")] = True
    answer_prompt: Annotated[
        str | None, Field(description="the answer prompt ({sources}, {question})")
    ] = None


@dataclass(frozen=True, kw_only=True)
class ResolvedContext:
    """A run's context with every value filled in from settings and checked: what nodes and
    routers read."""

    top_k: int
    rerank_top_n: int
    relevance_threshold: float
    grounding_threshold: float
    max_retrieval_attempts: int
    max_generation_attempts: int
    generator: GeneratorKind
    temperature: float
    max_tokens: int
    use_cache: bool
    answer_prompt: str


def resolve_context(
    context: Context | dict[str, Any] | None, settings: Settings
) -> ResolvedContext:
    """The run's context with every None filled from settings, values checked, loop bounds
    capped at MAX_ATTEMPTS whatever a run asks (no context can loop the graph)."""
    if isinstance(context, dict):
        context = Context(**context)
    context = context or Context()
    defaults: dict[str, Any] = {
        "top_k": settings.retrieval.top_k,
        "rerank_top_n": settings.rerank.top_n,
        "relevance_threshold": settings.graph.relevance_threshold,
        "grounding_threshold": settings.graph.grounding_threshold,
        "max_retrieval_attempts": settings.graph.max_retrieval_attempts,
        "max_generation_attempts": settings.graph.max_generation_attempts,
        "generator": settings.generator.kind,
        "temperature": settings.generator.temperature,
        "max_tokens": settings.generator.max_tokens,
        "answer_prompt": ANSWER_PROMPT,
    }
    values = {
        f.name: getattr(context, f.name)
        if getattr(context, f.name) is not None
        else defaults[f.name]
        for f in fields(context)
    }
    for name in (
        "top_k",
        "rerank_top_n",
        "max_retrieval_attempts",
        "max_generation_attempts",
        "max_tokens",
    ):
        if values[name] < 1:
            raise ValueError(f"context.{name} must be at least 1, got {values[name]}")
    for name in ("max_retrieval_attempts", "max_generation_attempts"):
        values[name] = min(values[name], MAX_ATTEMPTS)
    return ResolvedContext(**values)


def answer_settings(
    context: ResolvedContext, settings: Settings, filters: dict[str, Any] | None
) -> dict[str, Any]:
    """Everything that changes an answer, for the cache key."""
    return {
        "top_k": context.top_k,
        "rerank_top_n": context.rerank_top_n,
        "relevance": context.relevance_threshold,
        "grounding": context.grounding_threshold,
        "attempts": [context.max_retrieval_attempts, context.max_generation_attempts],
        "generator": context.generator,
        "model": [settings.generator.model, settings.generator.adapter_path],
        "temperature": context.temperature,
        "max_tokens": context.max_tokens,
        "prompt": context.answer_prompt,
        "retrieval": [
            settings.retrieval.mode,
            settings.retrieval.dense_weight,
            settings.sparse.syllable_weight,
            settings.sparse.bigram_weight,
            settings.sparse.word_weight,
        ],
        "rerank": settings.rerank.kind,
        "filters": filters or {},
    }
