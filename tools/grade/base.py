"""What the graph asks of a grader and of a query rewriter, and what they answer. The nodes
call one method each; whether a model is asked, and what happens when it fails, is the
implementation's business (`tools/grade/factory.py` builds the configured ones)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from tools.conversation import Turn
from tools.corpus.passages import Passage

GradedBy = Literal["overlap", "llm"]
RewrittenBy = Literal["terms", "llm"]


@dataclass(frozen=True)
class RelevanceGrades:
    relevant: list[bool]  # one verdict per candidate, in order
    coverage: list[float]  # the question's content terms each candidate holds (0-1)
    by: GradedBy


@dataclass(frozen=True)
class GroundingCheck:
    grounded: bool
    score: float  # the weakest sentence's support by its cited sources (0-1)
    unsupported: list[str] = field(default_factory=list)
    invalid_markers: list[int] = field(default_factory=list)  # citations of no source
    by: GradedBy = "overlap"


@dataclass(frozen=True)
class Rewrite:
    query: str
    by: RewrittenBy


class Grader(Protocol):
    """Relevance of retrieved passages, and grounding of an answer in its sources."""

    kind: Literal["heuristic", "llm"]

    def grade_relevance(
        self, question: str, candidates: Sequence[Passage], threshold: float
    ) -> RelevanceGrades: ...

    def check_grounding(
        self, answer: str, sources: Sequence[Passage], threshold: float
    ) -> GroundingCheck: ...


class QueryRewriter(Protocol):
    """A follow-up made standalone, and a failed search's question broadened."""

    def condense(self, question: str, history: Sequence[Turn]) -> Rewrite: ...

    def broaden(self, question: str) -> Rewrite: ...
