"""One interface for every generator: extractive (no model), PhoGPT (transformers), and any
OpenAI-compatible server (vLLM / TGI)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from tools.kb.results import RetrievedChunk


@dataclass
class Citation:
    marker: int  # the [n] in the answer; n-1 indexes `sources`
    point_id: str
    doc_id: str
    text: str  # the part of the answer this source backs

    def to_dict(self) -> dict[str, Any]:
        return {
            "marker": self.marker,
            "source_id": self.point_id,
            "doc_id": self.doc_id,
            "text": self.text,
        }


@dataclass
class Generation:
    answer: str
    citations: list[Citation] = field(default_factory=list)
    tokens: int = 0
    generator: str = ""


@dataclass
class GenerationRequest:
    question: str
    sources: Sequence[RetrievedChunk]
    strict: bool = False  # a retry after a failed grounding check: stay closer to the sources
    temperature: float = 0.1
    max_tokens: int = 256
    prompt: str | None = None  # a template overriding the default prompt


class Generator(Protocol):
    name: str
    is_model: bool  # False for the extractive answerer: it never pretends to be a model

    def generate(
        self, request: GenerationRequest, on_token: Callable[[str], None] | None = None
    ) -> Generation:
        """The whole answer; `on_token` receives its pieces as they are produced (streaming)."""
        ...
