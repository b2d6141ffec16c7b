"""Build the configured generator once per process."""

from __future__ import annotations

import logging

from tools.generate.base import Generator
from tools.generate.extractive import ExtractiveGenerator
from tools.generate.llm import ChatModelGenerator
from tools.settings import GeneratorSettings

log = logging.getLogger(__name__)


def build_chat_model(settings: GeneratorSettings):
    """The LangChain chat model behind a model-backed generator (also used by LLM graders)."""
    if settings.kind == "openai":
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr

        return ChatOpenAI(
            base_url=settings.base_url,
            api_key=SecretStr(settings.api_key or "not-needed"),
            model=settings.model,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            timeout=settings.timeout_s,
            max_retries=1,
        )
    if settings.kind == "phogpt":
        from tools.generate.phogpt import build_phogpt_chat_model

        return build_phogpt_chat_model(settings)
    return None


def build_generator(settings: GeneratorSettings, chat_model=None) -> Generator:
    if settings.kind == "extractive":
        log.info("generator: extractive (no model): answers are sentences copied from the sources")
        return ExtractiveGenerator.from_settings(settings)
    model = chat_model or build_chat_model(settings)
    log.info("generator: %s (%s)", settings.kind, settings.model)
    if settings.kind == "phogpt":
        from tools.generate.phogpt import pipeline_arguments, token_counter

        return ChatModelGenerator(model, settings.kind, pipeline_arguments, token_counter(model))
    return ChatModelGenerator(model, settings.kind)
