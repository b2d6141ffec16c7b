"""Graph state. Input (`question`, `filters`) is kept apart from output and internal fields;
every non-input field is NotRequired (LangServe validates input against these types), and the
state is a typing_extensions TypedDict, which LangServe needs on Python 3.11."""

from __future__ import annotations

from typing import Any, NotRequired

from typing_extensions import TypedDict  # LangServe on Python 3.11 needs this TypedDict


class InputState(TypedDict):
    question: str
    filters: NotRequired[dict[str, Any]]  # not "| None": the playground cannot render that


class Source(TypedDict):
    id: str
    doc_id: str
    title: str
    text: str
    score: float
    source: NotRequired[str]
    position: NotRequired[int]
    metadata: NotRequired[dict[str, Any]]


class Citation(TypedDict):
    marker: int
    source_id: str
    doc_id: str
    text: str


class Grounding(TypedDict):
    value: bool
    score: float
    unsupported: NotRequired[list[str]]


class OutputState(TypedDict):
    answer: NotRequired[str]
    sources: NotRequired[list[Source]]
    citations: NotRequired[list[Citation]]
    grounded: NotRequired[Grounding]
    cache_hit: NotRequired[bool]
    path: NotRequired[list[dict[str, Any]]]  # nodes taken, with attempts and key scores
    fallback_reason: NotRequired[str | None]
    standalone_question: NotRequired[str]


class State(InputState, OutputState):
    """Everything a run carries. Per-turn fields are reset by check_cache; `history` persists in
    a thread (checkpointer) so follow-up questions can be rewritten."""

    query: NotRequired[str]  # what retrieval searches for (rewritten on retry)
    candidates: NotRequired[list[Source]]
    relevant: NotRequired[list[Source]]
    retrieval_attempts: NotRequired[int]
    generation_attempts: NotRequired[int]
    top_k: NotRequired[int | None]  # widened by rewrite_query on retry
    relax_filters: NotRequired[bool]
    cache_key: NotRequired[str | None]
    cache_scope: NotRequired[str | None]
    history: NotRequired[list[dict[str, str]]]
