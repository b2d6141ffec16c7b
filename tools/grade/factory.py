"""Build the configured grader and query rewriter once per process, like the reranker and the
generator: heuristic by default, the generator's model with `grader.kind: llm`."""

from __future__ import annotations

import logging

from langchain_core.language_models import BaseChatModel

from tools.grade.base import Grader, QueryRewriter
from tools.grade.heuristic import OverlapGrader, TermRewriter
from tools.grade.llm import LLMGrader, LLMRewriter
from tools.settings import Settings

log = logging.getLogger(__name__)


def build_graders(settings: Settings, model: BaseChatModel | None) -> tuple[Grader, QueryRewriter]:
    overlap, terms = OverlapGrader(settings.graph.name_threshold), TermRewriter()
    if settings.grader.kind != "llm":
        return overlap, terms
    if model is None:
        log.warning("grader.kind llm needs a model-backed generator: using heuristic graders")
        return overlap, terms
    return LLMGrader(model, overlap), LLMRewriter(model, terms)
