"""The model-free grader and rewriter: term overlap for relevance and grounding, content terms
for rewriting. The default, and what the LLM versions fall back on when a model's answer
cannot be read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from tools.conversation import Turn
from tools.corpus.passages import Passage
from tools.grade.base import GroundingCheck, RelevanceGrades, Rewrite
from tools.grade.grounding import check_grounding
from tools.grade.relevance import grade_by_overlap
from tools.grade.rewrite import condense, strip_question_words


class OverlapGrader:
    kind: Literal["heuristic", "llm"] = "heuristic"

    def __init__(self, name_threshold: float) -> None:
        self.name_threshold = name_threshold

    def grade_relevance(
        self, question: str, candidates: Sequence[Passage], threshold: float
    ) -> RelevanceGrades:
        grades = grade_by_overlap(question, list(candidates), threshold, self.name_threshold)
        return RelevanceGrades(
            relevant=[g.relevant for g in grades],
            coverage=[g.coverage for g in grades],
            by="overlap",
        )

    def check_grounding(
        self, answer: str, sources: Sequence[Passage], threshold: float
    ) -> GroundingCheck:
        result = check_grounding(answer, list(sources), threshold)
        return GroundingCheck(
            grounded=result.grounded,
            score=result.score,
            unsupported=result.unsupported,
            invalid_markers=result.invalid_markers,
            by="overlap",
        )


class TermRewriter:
    def condense(self, question: str, history: Sequence[Turn]) -> Rewrite:
        return Rewrite(condense(question, history), "terms")

    def broaden(self, question: str) -> Rewrite:
        return Rewrite(strip_question_words(question), "terms")
