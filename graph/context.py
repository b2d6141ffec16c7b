"""Per-run settings (LangGraph runtime context). A field left None takes its value from the
process settings (`configs/default.yaml` + `VINARAG_*`), so a run overrides only what it names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError

from tools.errors import validation_problems
from tools.generate.prompts import ANSWER_PROMPT
from tools.ingest.documents import COLLECTION
from tools.settings import MAX_ATTEMPTS, OPERATIONAL_SETTINGS, Settings

GeneratorKind = Literal["extractive", "phogpt", "openai"]


@dataclass(kw_only=True)
class Context:
    """What a run may override; None takes the value from settings. Studio shows these, and a
    request's `config.configurable` (or `/v1`'s `vinarag` field) sets them, within these bounds."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    top_k: Annotated[
        int | None, Field(ge=1, le=200, description="passages retrieved (retrieval.top_k)")
    ] = None
    rerank_top_n: Annotated[
        int | None, Field(ge=1, le=100, description="sources kept after reranking (rerank.top_n)")
    ] = None
    relevance_threshold: Annotated[
        float | None,
        Field(
            ge=0, le=1, description="share of the question's content terms a relevant source holds"
        ),
    ] = None
    grounding_threshold: Annotated[
        float | None,
        Field(
            ge=0,
            le=1,
            description="share of an answer sentence's terms its cited sources must hold",
        ),
    ] = None
    max_retrieval_attempts: Annotated[
        int | None,
        Field(
            ge=1,
            le=MAX_ATTEMPTS,
            description=f"retrievals before the fallback (at most {MAX_ATTEMPTS})",
        ),
    ] = None
    max_generation_attempts: Annotated[
        int | None,
        Field(
            ge=1,
            le=MAX_ATTEMPTS,
            description=f"generations before the fallback (at most {MAX_ATTEMPTS})",
        ),
    ] = None
    generator: Annotated[
        GeneratorKind | None, Field(description="which configured generator answers")
    ] = None
    temperature: Annotated[
        float | None, Field(ge=0, le=2, description="generation temperature")
    ] = None
    max_tokens: Annotated[
        int | None, Field(ge=1, le=4096, description="tokens a model may generate")
    ] = None
    use_cache: Annotated[bool, Field(description="answer from / write to the cache")] = True
    answer_prompt: Annotated[
        str | None,
        Field(max_length=8000, description="the answer prompt ({sources}, {question})"),
    ] = None
    collections: Annotated[
        list[Annotated[str, Field(pattern=COLLECTION.pattern)]] | None,
        Field(
            max_length=64,
            description="collections searched (None: all); the server narrows it to what the "
            "request's key may read",
        ),
    ] = None


CONTEXT_FIELDS = frozenset(f.name for f in fields(Context))


class ContextError(ValueError):
    """A run's settings that cannot be used; the message names the field."""


@cache
def _context_adapter() -> TypeAdapter[Context]:
    """Built once: a TypeAdapter costs about 2 ms to build, far more than a validation."""
    return TypeAdapter(Context)


def parse_context(values: Mapping[str, Any]) -> Context:
    """A request's run settings, checked against Context's bounds (unknown names refused)."""
    try:
        context = _context_adapter().validate_python(dict(values))
    except ValidationError as exc:
        problems = validation_problems(exc.errors(), "context")
        raise ContextError(f"invalid run settings: {problems}") from None
    if context.answer_prompt is not None:
        try:
            context.answer_prompt.format(sources="", question="")
        except (KeyError, IndexError, ValueError):
            raise ContextError(
                "invalid run settings: answer_prompt may name only {sources} and {question} "
                "(write other braces as {{ and }})"
            ) from None
    return context


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
    collections: tuple[str, ...] | None  # sorted; None: every collection


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
        "collections": None,
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
    if values["collections"] is not None:
        values["collections"] = tuple(sorted(set(values["collections"])))
    return ResolvedContext(**values)


def answer_settings(
    context: ResolvedContext, settings: Settings, filters: dict[str, Any] | None
) -> dict[str, Any]:
    """Everything that can change an answer, for the cache key: the run's whole context and
    every settings section but the operational ones (a section added later is in the key
    unless it is declared operational)."""
    return {
        "context": asdict(context),
        "settings": _without_secrets(
            settings.model_dump(mode="json", exclude=set(OPERATIONAL_SETTINGS))
        ),
        "filters": filters or {},
    }


def _without_secrets(values: Any) -> Any:
    if isinstance(values, dict):
        return {k: _without_secrets(v) for k, v in values.items() if not k.endswith("api_key")}
    return values
