"""A conversation as the graph keeps it: the turns a follow-up question is read against (graph
state, the query rewriter, and `/v1`'s earlier messages all speak this type)."""

from __future__ import annotations

from typing_extensions import TypedDict  # LangServe on Python 3.11 needs this TypedDict


class Turn(TypedDict):
    """One question and answer of a conversation, as the thread keeps it."""

    question: str
    answer: str
