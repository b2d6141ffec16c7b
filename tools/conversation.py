"""A conversation as the graph keeps it: the turns a follow-up question is read against (graph
state, the query rewriter, and `/v1`'s earlier messages all speak this type)."""

from __future__ import annotations

import hashlib
from typing import NotRequired

from typing_extensions import TypedDict  # LangServe on Python 3.11 needs this TypedDict


class CitedSource(TypedDict):
    """A source an answer gave, as it was then: a later turn can tell that it has since been
    removed or replaced (a folder sync, a deletion) and say so."""

    id: str  # the chunk's point id
    title: str
    text_hash: str  # of the chunk's text then (text_hash)


class Turn(TypedDict):
    """One question and answer of a conversation, as the thread keeps it."""

    question: str
    answer: str
    sources: NotRequired[list[CitedSource]]  # the turn's sources (a thread's, not /v1's)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
