"""The one passage record that moves from retrieval through reranking, grading and generation
to the graph's output: every stage reads and returns the same type, so nothing is converted
(or dropped) between stages. A TypedDict, so that it is plain JSON in the cache, the
checkpointer and the API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NotRequired

from typing_extensions import TypedDict  # LangServe on Python 3.11 needs this TypedDict

from tools.text.citations import number_sources


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
    collection: NotRequired[str]  # the store's collection (absent: passages built elsewhere)


def rescored(passage: Passage, score: float) -> Passage:
    """The same passage with a later stage's score (the earlier record is left unchanged)."""
    return {**passage, "score": score}


def merge_identical(passages: list[Passage]) -> list[Passage]:
    """One passage for each text of a document: the same law ingested from two files (a .docx
    and its PDF) is listed once, at its best rank, naming the other files in
    `metadata.also_in`."""
    kept: dict[tuple[str, str], Passage] = {}
    for passage in passages:
        # versions of a law share articles word for word, and each must stay for the choice
        # of the version in force: the same number, or none, is the same document
        number = str(passage["metadata"].get("so_hieu") or "")
        key = (" ".join(passage["text"].split()), number)
        if (first := kept.get(key)) is None:
            kept[key] = passage
            continue
        if passage["source"] != first["source"]:
            also = list(first["metadata"].get("also_in") or [])
            if passage["source"] not in also:
                first["metadata"] = {**first["metadata"], "also_in": [*also, passage["source"]]}
    return list(kept.values())


def numbered(passages: Sequence[Passage]) -> str:
    """The passages as the prompts number them (the markers answers cite)."""
    return number_sources([(p["title"], p["text"]) for p in passages])
