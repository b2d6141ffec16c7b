"""A generator over any LangChain chat model: PhoGPT through transformers, or an
OpenAI-compatible server (vLLM / TGI). The prompt is one user turn; citations [n] are parsed
from the answer and markers that point at no source are removed."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.runnables import Runnable

from tools.corpus.passages import numbered
from tools.generate.base import Citation, Generation, GenerationRequest, cite
from tools.generate.prompts import ANSWER_PROMPT, STRICT_SUFFIX
from tools.grade.grounding import cited_sentences
from tools.text.citations import CITATION_MARKER, strip_markers
from tools.text.template import render

log = logging.getLogger(__name__)


def build_prompt(request: GenerationRequest) -> str:
    template = request.prompt or ANSWER_PROMPT
    sources = numbered(request.sources)
    prompt = render(template, {"sources": sources, "question": request.question})
    return prompt + STRICT_SUFFIX if request.strict else prompt


def parse_citations(answer: str, request: GenerationRequest) -> tuple[str, list[Citation]]:
    """Drop markers that point at no source; one citation per (sentence, source)."""
    n = len(request.sources)
    cleaned = CITATION_MARKER.sub(
        lambda m: m.group(0) if 1 <= int(m.group(1)) <= n else "", answer
    ).strip()
    citations = []
    for sentence, markers in cited_sentences(cleaned):
        text = strip_markers(sentence).strip()
        for marker in dict.fromkeys(markers):
            citations.append(cite(marker, request.sources[marker - 1], text))
    return cleaned, citations


class ChatModelGenerator:
    is_model = True

    def __init__(
        self,
        chat_model: BaseChatModel,
        name: str,
        call_arguments: Callable[[GenerationRequest], dict[str, Any]] | None = None,
        count_tokens: Callable[[str], int] | None = None,
    ) -> None:
        self.chat_model = chat_model
        self.name = name
        # How this model takes a request's sampling settings at call time (a local pipeline
        # reads them from `pipeline_kwargs`); OpenAI's names by default.
        self.call_arguments = call_arguments or (
            lambda r: {"temperature": r.temperature, "max_tokens": r.max_tokens}
        )
        # For a model whose answers carry no usage (a local pipeline): its tokenizer's count.
        self.count_tokens = count_tokens

    def _bound(self, request: GenerationRequest) -> Runnable[Any, BaseMessage]:
        try:
            return self.chat_model.bind(**self.call_arguments(request))
        except Exception:  # models that take no such arguments at call time
            return self.chat_model

    def generate(
        self, request: GenerationRequest, on_token: Callable[[str], None] | None = None
    ) -> Generation:
        messages = [HumanMessage(build_prompt(request))]
        parts: list[str] = []  # streamed pieces (none one-shot)
        first_token_s: float | None = None
        start = time.perf_counter()
        if on_token is None:
            message = self._bound(request).invoke(messages)
            text = message.content if isinstance(message.content, str) else str(message.content)
            usage = getattr(message, "usage_metadata", None) or {}
            tokens = int(usage.get("output_tokens", 0))
        else:
            tokens = 0
            for chunk in self._bound(request).stream(messages):
                if isinstance(chunk.content, str) and chunk.content:
                    if first_token_s is None:
                        first_token_s = time.perf_counter() - start
                    parts.append(chunk.content)
                    on_token(chunk.content)
                usage = getattr(chunk, "usage_metadata", None) or {}
                tokens = int(usage.get("output_tokens", 0)) or tokens
            text = "".join(parts)
        seconds = time.perf_counter() - start
        if not tokens and text:
            # no usage reported: the tokenizer's count, or one streamed piece ~ one token
            tokens = self.count_tokens(text) if self.count_tokens else len(parts)
        answer, citations = parse_citations(text, request)
        return Generation(answer, citations, tokens, self.name, seconds, first_token_s)
