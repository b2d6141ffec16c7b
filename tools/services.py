"""Everything a graph run needs, built once per process from settings and injected into the
nodes: knowledge base, retriever, reranker, generator, grader, query rewriter and cache."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Literal

from langchain_core.language_models import BaseChatModel

from tools.adapters import promoted_adapter
from tools.cache.backends import AnswerCache
from tools.cache.factory import build_cache
from tools.cache.semantic import SemanticIndex
from tools.generate.base import Generator
from tools.generate.extractive import ExtractiveGenerator
from tools.generate.factory import build_chat_model, build_generator
from tools.grade.base import Grader, QueryRewriter
from tools.grade.factory import build_graders
from tools.kb.embedders import Embedder
from tools.kb.factory import RetrievalStack, build_retrieval_stack, configured_embedder
from tools.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunningParts:
    """What actually runs (after fallbacks), for logs, /readyz, traces and eval reports."""

    retrieval: str  # hybrid | sparse | dense
    dense_model: str | None  # None: sparse-only
    reranker: str
    generator: str
    generator_is_model: bool
    graders: Literal["heuristic", "llm"]
    cache: str  # its backend, or "off"

    def describe(self) -> dict[str, str]:
        """Human-readable, as /readyz and the start-up log show it."""
        return {
            "retrieval": self.retrieval,
            "dense_model": self.dense_model or "none (sparse-only)",
            "reranker": self.reranker,
            "generator": self.generator
            if self.generator_is_model
            else f"{self.generator} (no model)",
            "graders": self.graders,
            "cache": self.cache,
        }


@dataclass(frozen=True)
class Services:
    settings: Settings
    retrieval: RetrievalStack
    generator: Generator
    running: RunningParts
    extractive: Generator  # always there: a run may ask for the answer without a model
    grader: Grader
    rewriter: QueryRewriter
    cache: AnswerCache | None = None
    semantic: SemanticIndex | None = None

    @property
    def generators(self) -> frozenset[str]:
        """What a run may ask for as `generator`: the configured one, and always the
        extractive answerer."""
        return frozenset({self.generator.name, "extractive"})

    def generator_for(self, kind: str) -> Generator:
        """The generator a run asks for (`generator` in its context)."""
        if kind == self.generator.name:
            return self.generator
        if kind == "extractive":
            return self.extractive
        raise ValueError(
            f"generator {kind!r} is not configured here (generator.kind is {self.generator.name!r})"
        )

    def with_settings(self, settings: Settings) -> Services:
        """The same built parts read with other settings (what a run, the server and the
        graph read at run time; the parts themselves stay as they were built)."""
        return self if settings is self.settings else replace(self, settings=settings)

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()
        self.retrieval.close()


def build_services(
    settings: Settings,
    location: str | None = None,
    embedder: Embedder | None | Literal["configured"] = "configured",
    chat_model: BaseChatModel | None = None,
) -> Services:
    """`embedder` injects a dense embedder (None: sparse-only; default: the configured one);
    `chat_model` a LangChain model for the generator and LLM graders (tests: fakes)."""
    if embedder == "configured":
        embedder = configured_embedder(settings)
    retrieval = build_retrieval_stack(settings, location, embedder)
    if settings.generator.kind == "phogpt" and not settings.generator.adapter_path:
        promoted = promoted_adapter(settings)
        if promoted:
            log.info("phogpt: loading the promoted adapter %s", promoted)
            settings = settings.model_copy(
                update={
                    "generator": settings.generator.model_copy(update={"adapter_path": promoted})
                }
            )
    model = chat_model
    if model is None and (settings.generator.kind != "extractive" or settings.grader.kind == "llm"):
        model = build_chat_model(settings.generator)
    generator = build_generator(settings.generator, model)
    extractive = (
        generator
        if generator.name == "extractive"
        else ExtractiveGenerator.from_settings(settings.generator)
    )
    grader, rewriter = build_graders(settings, model)
    cache = build_cache(settings.cache)
    semantic = (
        SemanticIndex(settings.cache.semantic_threshold, settings.cache.max_entries)
        if cache is not None and settings.cache.semantic
        else None
    )
    kb = retrieval.kb
    running = RunningParts(
        retrieval=retrieval.retriever.mode,
        dense_model=kb.embedder.name if kb.embedder and kb.has_dense else None,
        reranker=retrieval.reranker.name,
        generator=generator.name,
        generator_is_model=generator.is_model,
        graders=grader.kind,
        cache=cache.backend if cache else "off",
    )
    log.info("services: %s", ", ".join(f"{k}={v}" for k, v in running.describe().items()))
    return Services(
        settings, retrieval, generator, running, extractive, grader, rewriter, cache, semantic
    )
