"""Per-run settings (LangGraph runtime context). A field left None takes its value from the
process settings (`configs/default.yaml` + `VINARAG_*`), so a run overrides only what it names."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Literal

from tools.generate.prompts import ANSWER_PROMPT
from tools.settings import Settings

MAX_ATTEMPTS = 5  # whatever a run asks, no loop runs more often than this


@dataclass(kw_only=True)
class Context:
    top_k: int | None = None
    rerank_top_n: int | None = None
    relevance_threshold: float | None = None
    grounding_threshold: float | None = None
    max_retrieval_attempts: int | None = None
    max_generation_attempts: int | None = None
    generator: Literal["extractive", "phogpt", "openai"] | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    use_cache: bool = True
    answer_prompt: str | None = None


def resolve_context(context: Context | dict | None, settings: Settings) -> Context:
    """The run's context with every None filled from settings, values checked."""
    if isinstance(context, dict):
        context = Context(**context)
    context = context or Context()
    defaults = {
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
    filled = replace(
        context,
        **{
            f.name: defaults[f.name]
            for f in fields(context)
            if getattr(context, f.name) is None and f.name in defaults
        },
    )
    for name in (
        "top_k",
        "rerank_top_n",
        "max_retrieval_attempts",
        "max_generation_attempts",
        "max_tokens",
    ):
        if getattr(filled, name) < 1:
            raise ValueError(f"context.{name} must be at least 1, got {getattr(filled, name)}")
    # Bounds hold whatever a run asks for: no context can loop the graph.
    filled.max_retrieval_attempts = min(filled.max_retrieval_attempts, MAX_ATTEMPTS)
    filled.max_generation_attempts = min(filled.max_generation_attempts, MAX_ATTEMPTS)
    return filled


def answer_settings(context: Context, settings: Settings, filters: dict | None) -> dict:
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
