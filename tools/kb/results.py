"""The one passage record that moves from retrieval through reranking, grading and generation
to the graph's output: every stage reads and returns the same type, so nothing is converted
(or dropped) between stages. A TypedDict, so that it is plain JSON in the cache, the
checkpointer and the API."""

from __future__ import annotations

from typing import Any, NotRequired

from typing_extensions import TypedDict  # LangServe on Python 3.11 needs this TypedDict


class Passage(TypedDict):
    id: str  # the store's point id
    doc_id: str
    title: str
    text: str
    source: str
    position: int
    location: str  # where it is, as a reader cites it: "Luật X (24/2018/QH14), Điều 8, Khoản 2"
    score: float  # the last stage's score: fused retrieval score, then the reranker's
    metadata: dict[str, Any]
    view_scores: NotRequired[dict[str, float]]  # each retrieval view's score, before fusion


def rescored(passage: Passage, score: float) -> Passage:
    """The same passage with a later stage's score (the earlier record is left unchanged)."""
    return {**passage, "score": score}
