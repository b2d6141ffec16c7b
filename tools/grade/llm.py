"""LLM graders and rewriters over any LangChain chat model: relevance of every source in one
batched call, grounding with the unsupported sentence, query rewriting and follow-up
condensation. Structured output where the model supports it, else JSON parsed from the text."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from pydantic import BaseModel, ValidationError

from tools.generate.prompts import (
    CONDENSE_PROMPT,
    GRADE_GROUNDING_PROMPT,
    GRADE_RELEVANCE_PROMPT,
    REWRITE_PROMPT,
    number_sources,
)
from tools.grade.rewrite import Turn
from tools.kb.results import Passage

log = logging.getLogger(__name__)
Schema = TypeVar("Schema", bound=BaseModel)
_JSON = re.compile(r"\{.*\}", re.DOTALL)


class RelevanceVerdicts(BaseModel):
    relevant: list[bool]


class GroundingVerdict(BaseModel):
    grounded: bool
    unsupported_sentence: str | None = None


class GraderError(RuntimeError):
    """The model's answer could not be read as the expected structure."""


def _text(model: BaseChatModel, prompt: str) -> str:
    content = model.invoke([HumanMessage(prompt)]).content
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
        except (NotImplementedError, ValidationError, ValueError, TypeError) as exc:
            log.debug("structured output failed (%s); parsing JSON from text", exc)
    text = _text(model, prompt)
    match = _JSON.search(text)
    try:
        return schema.model_validate(json.loads(match.group(0) if match else text))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise GraderError(f"{schema.__name__}: unreadable model answer {text[:120]!r}") from exc


class LLMGrader:
    def __init__(self, model: BaseChatModel) -> None:
        self.model = model

    def grade_relevance(self, question: str, chunks: Sequence[Passage]) -> list[bool]:
        sources = number_sources([(c["title"], c["text"]) for c in chunks])
        verdicts = structured(
            self.model,
            RelevanceVerdicts,
            GRADE_RELEVANCE_PROMPT.format(question=question, sources=sources),
        )
        if len(verdicts.relevant) != len(chunks):
            raise GraderError(
                f"expected {len(chunks)} relevance verdicts, got {len(verdicts.relevant)}"
            )
        return verdicts.relevant

    def check_grounding(self, answer: str, chunks: Sequence[Passage]) -> GroundingVerdict:
        sources = number_sources([(c["title"], c["text"]) for c in chunks])
        return structured(
            self.model,
            GroundingVerdict,
            GRADE_GROUNDING_PROMPT.format(answer=answer, sources=sources),
        )

    def rewrite(self, question: str) -> str:
        return _text(self.model, REWRITE_PROMPT.format(question=question)).strip() or question

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        turns = "\n".join(f"Hỏi: {t['question']}\nĐáp: {t['answer']}" for t in history)
        return (
            _text(self.model, CONDENSE_PROMPT.format(history=turns, question=question)).strip()
            or question
        )
