"""One interface for every generator: extractive (no model), PhoGPT (transformers), and any
OpenAI-compatible server (vLLM / TGI)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NotRequired, Protocol

from typing_extensions import TypedDict  # LangServe on Python 3.11 needs this TypedDict

from tools.corpus.passages import Passage
from tools.kb.articles import clause_location


class Citation(TypedDict):
    marker: int  # the [n] in the answer; n-1 indexes the answer's sources
    source_id: str  # the cited passage's id
    doc_id: str
    text: str  # the part of the answer this source backs
    # where in a law the cited text is, down to its clause and page: "Luật X, Điều 8, Khoản 2"
    location: NotRequired[str]


def cite(marker: int, source: Passage, text: str) -> Citation:
    citation = Citation(marker=marker, source_id=source["id"], doc_id=source["doc_id"], text=text)
    if (where := clause_location(source, text)) is not None:
        citation["location"] = where
    return citation


@dataclass
class Generation:
    answer: str
    citations: list[Citation] = field(default_factory=list)
    tokens: int = 0
    generator: str = ""
    seconds: float = 0.0  # the whole call, prompt included
    first_token_s: float | None = None  # streamed answers only: until the first piece arrived

    @property
    def tokens_per_s(self) -> float | None:
        """Decode speed: after the first token when streamed (time to first token is the
        prompt's cost), over the whole call when not; None without a model's tokens."""
        if self.first_token_s is not None:
            decoding = self.seconds - self.first_token_s
            return (self.tokens - 1) / decoding if self.tokens > 1 and decoding > 0 else None
        return self.tokens / self.seconds if self.tokens and self.seconds > 0 else None


@dataclass
class GenerationRequest:
    question: str
    sources: Sequence[Passage]
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
