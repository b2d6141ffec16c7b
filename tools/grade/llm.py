"""LLM graders and rewriters over any LangChain chat model: relevance of every source in one
batched call, grounding with the unsupported sentence, query rewriting and follow-up
condensation. Structured output where the model supports it, else JSON parsed from the text."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import Literal, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from pydantic import BaseModel, ValidationError

from tools.conversation import Turn
from tools.corpus.passages import Passage, numbered
from tools.grade.base import GroundingCheck, RelevanceGrades, Rewrite
from tools.grade.heuristic import OverlapGrader, TermRewriter
from tools.grade.prompts import (
    CONDENSE_PROMPT,
    GRADE_GROUNDING_PROMPT,
    GRADE_RELEVANCE_PROMPT,
    REWRITE_PROMPT,
)

log = logging.getLogger(__name__)
Schema = TypeVar("Schema", bound=BaseModel)
_JSON = re.compile(r"\{.*\}", re.DOTALL)


class RelevanceVerdicts(BaseModel):
    relevant: list[bool]


class GroundingVerdict(BaseModel):  # what the model is asked to answer
    grounded: bool
    unsupported_sentence: str | None = None


class GraderError(RuntimeError):
    """The model gave no answer that can be read as the expected structure."""


def _text(model: BaseChatModel, prompt: str) -> str:
    try:
        content = model.invoke([HumanMessage(prompt)]).content
    except Exception as exc:  # any client's failure (server down, timeout): the heuristic answers
        raise GraderError(f"the model did not answer: {exc}") from exc
    return content if isinstance(content, str) else str(content)


def structured(model: BaseChatModel, schema: type[Schema], prompt: str) -> Schema:
    try:
        runnable = model.with_structured_output(schema)
    except (NotImplementedError, AttributeError, TypeError, ValueError):
        runnable = None
    if runnable is not None:
        try:
            result = runnable.invoke([HumanMessage(prompt)])
            if isinstance(result, schema):
                return result
            return schema.model_validate(result)
        except Exception as exc:  # e.g. an answer cut at max_tokens: read the text instead
            log.debug("structured output failed (%s); parsing JSON from text", exc)
    text = _text(model, prompt)
    match = _JSON.search(text)
    try:
        return schema.model_validate(json.loads(match.group(0) if match else text))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise GraderError(f"{schema.__name__}: unreadable model answer {text[:120]!r}") from exc


class LLMGrader:
    """Relevance and grounding judged by the model; its overlap twin answers whenever the
    model's answer cannot be read (and always gives the coverage and scores the path shows)."""

    kind: Literal["heuristic", "llm"] = "llm"

    def __init__(self, model: BaseChatModel, fallback: OverlapGrader) -> None:
        self.model = model
        self.fallback = fallback

    def grade_relevance(
        self, question: str, candidates: Sequence[Passage], threshold: float
    ) -> RelevanceGrades:
        overlap = self.fallback.grade_relevance(question, candidates, threshold)
        if not candidates:
            return overlap
        try:
            verdicts = structured(
                self.model,
                RelevanceVerdicts,
                GRADE_RELEVANCE_PROMPT.format(question=question, sources=numbered(candidates)),
            )
            if len(verdicts.relevant) != len(candidates):
                raise GraderError(
                    f"expected {len(candidates)} relevance verdicts, got {len(verdicts.relevant)}"
                )
        except (GraderError, ValueError) as exc:
            log.warning("LLM relevance grading failed (%s): using term overlap", exc)
            return overlap
        return RelevanceGrades(verdicts.relevant, overlap.coverage, "llm")

    def check_grounding(
        self, answer: str, sources: Sequence[Passage], threshold: float
    ) -> GroundingCheck:
        overlap = self.fallback.check_grounding(answer, sources, threshold)
        if not answer:
            return overlap
        try:
            verdict = structured(
                self.model,
                GroundingVerdict,
                GRADE_GROUNDING_PROMPT.format(answer=answer, sources=numbered(sources)),
            )
        except (GraderError, ValueError) as exc:
            log.warning("LLM grounding check failed (%s): using term overlap", exc)
            return overlap
        return GroundingCheck(
            grounded=verdict.grounded and not overlap.invalid_markers,
            score=overlap.score,
            unsupported=[verdict.unsupported_sentence] if verdict.unsupported_sentence else [],
            invalid_markers=overlap.invalid_markers,
            by="llm",
        )


def _question(text: str) -> str:
    """The model's rewrite, if it is one: a reply without a single letter searches for nothing."""
    question = text.strip()
    if not any(ch.isalpha() for ch in question):
        raise GraderError(f"no question in the model's answer {question[:120]!r}")
    return question


class LLMRewriter:
    """Follow-ups condensed and failed searches rewritten by the model; the term rewriter
    answers when the model fails."""

    def __init__(self, model: BaseChatModel, fallback: TermRewriter) -> None:
        self.model = model
        self.fallback = fallback

    def condense(self, question: str, history: Sequence[Turn]) -> Rewrite:
        if not history:
            return self.fallback.condense(question, history)
        turns = "\n".join(f"Hỏi: {t['question']}\nĐáp: {t['answer']}" for t in history)
        try:
            text = _question(
                _text(self.model, CONDENSE_PROMPT.format(history=turns, question=question))
            )
        except (GraderError, ValueError) as exc:
            log.warning("LLM condensation failed (%s): deterministic rewrite", exc)
            return self.fallback.condense(question, history)
        return Rewrite(text, "llm")

    def broaden(self, question: str) -> Rewrite:
        try:
            text = _question(_text(self.model, REWRITE_PROMPT.format(question=question)))
        except (GraderError, ValueError) as exc:
            log.warning("LLM rewrite failed (%s): deterministic rewrite", exc)
            return self.fallback.broaden(question)
        return Rewrite(text, "llm")
