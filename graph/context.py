"""Per-run settings (LangGraph runtime context). A run may override a few process settings:
each such field of `Context` names the setting it overrides (`Setting("retrieval.top_k")`), and
takes that setting's type, bounds and description from the settings model and its default from
the process settings. A run is resolved once into `RunSettings`: the process settings with the
run's overrides applied at their paths, which nodes and routes read like any settings."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cache
from typing import Annotated, Any, Literal, get_args, get_type_hints
from weakref import WeakKeyDictionary

from langgraph.runtime import Runtime
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    TypeAdapter,
    ValidationError,
)
from pydantic.fields import FieldInfo
from pydantic_core import CoreSchema, core_schema

from tools.corpus.documents import COLLECTION
from tools.errors import validation_problems
from tools.generate.prompts import ANSWER_FIELDS, ANSWER_PROMPT
from tools.settings import OPERATIONAL_SETTINGS, Settings
from tools.text.template import TemplateError, parse_template

GeneratorKind = Literal["extractive", "phogpt", "openai"]


@dataclass(frozen=True)
class Setting:
    """Marks a run setting as an override of the process setting at `path` ("section.field"):
    validated with that setting's type and bounds, described with its description."""

    path: str

    def info(self) -> FieldInfo:
        section, name = self.path.split(".")
        model = Settings.model_fields[section].annotation
        assert isinstance(model, type) and issubclass(model, BaseModel), self.path
        return model.model_fields[name]

    def value(self, settings: Settings) -> Any:
        section, name = self.path.split(".")
        return getattr(getattr(settings, section), name)

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        info = self.info()
        bounded = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
        inner = handler.generate_schema(bounded)
        return core_schema.nullable_schema(inner) if type(None) in get_args(source) else inner

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        out = handler.resolve_ref_schema(handler(schema))
        described = self.info().description
        out["description"] = f"{described} ({self.path})" if described else self.path
        return out


def _formattable(prompt: str | None) -> str | None:
    if prompt is not None:
        try:
            parse_template(prompt, ANSWER_FIELDS)
        except TemplateError as exc:
            raise ValueError(f"answer_prompt: {exc}") from None
    return prompt


@dataclass(kw_only=True, eq=False)  # eq=False: a run's context is resolved once, by identity
class Context:
    """What a run may override; None takes the value from settings. Studio shows these, and a
    request's `config.configurable` (or `/v1`'s `vinarag` field) sets them."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    top_k: Annotated[int | None, Setting("retrieval.top_k")] = None
    rerank_top_n: Annotated[int | None, Setting("rerank.top_n")] = None
    relevance_threshold: Annotated[float | None, Setting("graph.relevance_threshold")] = None
    grounding_threshold: Annotated[float | None, Setting("graph.grounding_threshold")] = None
    max_retrieval_attempts: Annotated[int | None, Setting("graph.max_retrieval_attempts")] = None
    max_generation_attempts: Annotated[int | None, Setting("graph.max_generation_attempts")] = None
    generator: Annotated[GeneratorKind | None, Setting("generator.kind")] = None
    temperature: Annotated[float | None, Setting("generator.temperature")] = None
    max_tokens: Annotated[int | None, Setting("generator.max_tokens")] = None
    ask_back: Annotated[bool | None, Setting("graph.ask_back")] = None
    # What only a run sets:
    use_cache: Annotated[bool, Field(description="answer from / write to the cache")] = True
    answer_prompt: Annotated[
        str | None,
        Field(max_length=8000, description="the answer prompt ({sources}, {question})"),
        AfterValidator(_formattable),
    ] = None
    collections: Annotated[
        list[Annotated[str, Field(pattern=COLLECTION.pattern)]] | None,
        Field(
            max_length=64,
            description="collections searched (None: all); the server narrows it to what the "
            "request's key may read",
        ),
    ] = None


def _overrides() -> dict[str, Setting]:
    found: dict[str, Setting] = {}
    for name, hint in get_type_hints(Context, include_extras=True).items():
        marks = [m for m in get_args(hint)[1:] if isinstance(m, Setting)]
        if marks:
            found[name] = marks[0]
    return found


# The one table: each overridable run setting and the process setting it overrides.
OVERRIDES: dict[str, Setting] = _overrides()
CONTEXT_FIELDS = frozenset(f.name for f in fields(Context))


class ContextError(ValueError):
    """A run's settings that cannot be used; the message names the field."""


@cache
def _context_adapter() -> TypeAdapter[Context]:
    """Built once: a TypeAdapter costs about 2 ms to build, far more than a validation."""
    return TypeAdapter(Context)


def parse_context(values: Mapping[str, Any]) -> Context:
    """A request's run settings, checked against their settings' bounds (unknown names
    refused)."""
    try:
        context = _context_adapter().validate_python(dict(values))
    except ValidationError as exc:
        problems = validation_problems(exc.errors(), "context")
        raise ContextError(f"invalid run settings: {problems}") from None
    return context


@dataclass(frozen=True)
class RunSettings:
    """A run's settings, resolved once: what nodes and routes read."""

    settings: Settings  # the process settings with the run's overrides at their paths
    use_cache: bool
    answer_prompt: str
    collections: tuple[str, ...] | None  # sorted; None: every collection


_resolved: WeakKeyDictionary[Context, tuple[Settings, RunSettings]] = WeakKeyDictionary()
_resolving = threading.Lock()


def resolve(context: Context | Mapping[str, Any] | None, settings: Settings) -> RunSettings:
    """The run's settings. A context built in Python (not parsed) is checked here, so no
    context can pass its settings' bounds (no run can loop the graph)."""
    if context is None:
        return RunSettings(settings, True, ANSWER_PROMPT, None)
    if isinstance(context, Mapping):
        return _resolve(parse_context(context), settings)
    with _resolving:
        known = _resolved.get(context)
    if known is not None and known[0] is settings:
        return known[1]
    run = _resolve(context, settings)
    with _resolving:
        _resolved[context] = (settings, run)
    return run


def _resolve(context: Context, settings: Settings) -> RunSettings:
    named = {
        name: getattr(context, name) for name in OVERRIDES if getattr(context, name) is not None
    }
    if named:
        parse_context(named)  # within the settings' bounds, whoever built the context
    updates: dict[str, dict[str, Any]] = {}
    for name, value in named.items():
        section, field = OVERRIDES[name].path.split(".")
        updates.setdefault(section, {})[field] = value
    overridden = settings.model_copy(
        update={
            section: getattr(settings, section).model_copy(update=values)
            for section, values in updates.items()
        }
    )
    return RunSettings(
        settings=overridden,
        use_cache=context.use_cache,
        answer_prompt=context.answer_prompt or ANSWER_PROMPT,
        collections=tuple(sorted(set(context.collections)))
        if context.collections is not None
        else None,
    )


def run_settings(runtime: Runtime[Context] | None, settings: Settings) -> RunSettings:
    """What a node or a route reads for its run."""
    return resolve(runtime.context if runtime is not None else None, settings)


def context_defaults(settings: Settings) -> dict[str, Any]:
    """Each run setting's value when a run names none (the playground's form starts there)."""
    defaults: dict[str, Any] = {f.name: f.default for f in fields(Context)}
    defaults.update({name: mark.value(settings) for name, mark in OVERRIDES.items()})
    return {**defaults, "answer_prompt": ANSWER_PROMPT, "collections": []}


def answer_settings(run: RunSettings, filters: dict[str, Any] | None) -> dict[str, Any]:
    """Everything that can change an answer, for the cache key: every settings section but
    the operational ones (a section added later is in the key unless it is declared
    operational), with the run's overrides, its prompt and its collections."""
    return {
        "settings": _without_secrets(
            run.settings.model_dump(mode="json", exclude=set(OPERATIONAL_SETTINGS))
        ),
        "run": {"answer_prompt": run.answer_prompt, "collections": run.collections},
        "filters": filters or {},
    }


def _without_secrets(values: Any) -> Any:
    if isinstance(values, dict):
        return {k: _without_secrets(v) for k, v in values.items() if not k.endswith("api_key")}
    return values
