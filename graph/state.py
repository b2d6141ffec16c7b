"""Graph state. Input (`question`, `filters`) is kept apart from output and internal fields;
every non-input field is NotRequired (LangServe validates input against these types), and the
state is a typing_extensions TypedDict, which LangServe needs on Python 3.11.

`path` records every node a turn took as one typed entry per node (discriminated by `node`):
metrics, evals and the CLI read these fields, so renaming one breaks the type check, not a
dashboard."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from typing_extensions import TypedDict  # LangServe on Python 3.11 needs this TypedDict

from tools.conversation import Turn
from tools.corpus.passages import Passage
from tools.generate.base import Citation

FallbackReason = Literal[
    "no_relevant_documents", "not_grounded", "generation_failed", "law_not_held"
]


class InputState(TypedDict):
    question: str
    filters: NotRequired[dict[str, Any]]  # not "| None": the playground cannot render that
    # Earlier turns a client keeps itself (the OpenAI route: its messages), for follow-up
    # rewriting without a server-side thread; a thread's stored history is used otherwise.
    history: NotRequired[list[Turn]]


class Grounding(TypedDict):
    value: bool
    score: float
    unsupported: NotRequired[list[str]]


class CacheStep(TypedDict):
    node: Literal["check_cache"]
    looked_up: bool  # False when the cache is off or the question is a follow-up
    hit: bool
    reason: NotRequired[Literal["off", "conversation"]]  # why it was not looked up
    corpus_version: NotRequired[int]
    answered_by: NotRequired[list[str]]  # on a hit: the nodes that produced the cached answer
    similarity: NotRequired[float]  # on a semantic (not exact) hit


class RewriteStep(TypedDict):
    node: Literal["rewrite_query"]
    kind: Literal["follow_up", "retry"]
    by: Literal["terms", "llm"]
    query: str
    top_k: NotRequired[int]  # on a retry: the widened top_k


class NamedLawFilter(TypedDict):
    """The law the question named, and the documents its search was kept to."""

    mention: str  # as the question wrote it
    documents: list[str]  # how readers name the matching documents; empty: none in the KB
    doc_ids: list[str]
    # named but not held: the held laws whose names come closest (how readers name them)
    closest: NotRequired[list[str]]


class RetrieveStep(TypedDict):
    node: Literal["retrieve"]
    attempt: int
    hits: int
    top_score: float | None
    mode: str
    # first attempt only: the question named a law (a retry searches everything again)
    named_law: NotRequired[NamedLawFilter]
    # stored chunks left out because they cannot be served ("collection/doc_id: why")
    unreadable: NotRequired[list[str]]


class RerankStep(TypedDict):
    node: Literal["rerank"]
    reranker: str
    top_score: float | None


class GradeStep(TypedDict):
    node: Literal["grade_documents"]
    by: Literal["overlap", "llm"]
    relevant: int
    of: int
    coverage: list[float]  # each candidate's share of the question's terms


class FollowReferencesStep(TypedDict):
    node: Literal["follow_references"]
    references: int  # articles the relevant sources refer to
    added: list[str]  # the referenced articles added as sources (their location), in order


class VersionChosen(TypedDict):
    chosen: str  # the version the answer comes from (its label)
    in_force: str  # the version in force (the chosen one, unless the question named another)
    older: list[str]  # versions it supersedes, left out of the sources
    not_in_force: list[str]  # newer versions whose date has not come, left out too


class VersionStep(TypedDict):
    node: Literal["choose_version"]
    laws: list[VersionChosen]  # each law that several versions among the sources belong to


class LawOption(TypedDict):
    """One law a clarification offers: what the user picks."""

    label: str  # "Luật Vườn cây đô thị 2025 (99/2025/QH15)"
    doc_ids: list[str]


class Clarification(TypedDict):
    """The question back when a question could be about several laws (the interrupt's value,
    and `clarification` in the output of a run that stopped on it)."""

    question: str  # "Bạn hỏi về văn bản nào?"
    options: list[LawOption]
    reason: Literal["close_scores", "unnamed_reference"]
    # The relevant sources of every candidate, best first: what a client that cannot ask back
    # shows (the server returns them as the output's `sources`)
    sources: NotRequired[list[Passage]]
    thread_id: NotRequired[str]  # where the answer resumes (set by the server)


class AskBack(TypedDict):
    """The question back a turn's sources call for: why, and the laws to pick from."""

    reason: Literal["close_scores", "unnamed_reference"]
    options: list[LawOption]


class VersionPlan(TypedDict):
    """The versions a turn's sources call for: the one each law's answer comes from, and what
    is left out."""

    laws: list[VersionChosen]
    left_out: list[str]  # doc ids of the versions left out of the sources
    notes: list[str]  # what the answer says about them


class LawDecision(TypedDict):
    """What the relevant sources call for, decided once by the node that set them
    (grade_documents, ask_which_law, choose_version) and read by the router after grading and
    by the node that acts on it: nothing decides it twice."""

    ask: AskBack | None  # the question could be about several laws: ask which
    versions: VersionPlan | None  # several versions of one law among the sources: choose


NO_LAW_DECISION = LawDecision(ask=None, versions=None)


class AskBackStep(TypedDict):
    node: Literal["ask_which_law"]
    reason: Literal["close_scores", "unnamed_reference"]
    options: list[str]  # the laws offered (labels)
    chosen: str | None  # the law picked; None: the reply named none of them (all kept)


class GenerateStep(TypedDict):
    node: Literal["generate"]
    attempt: int
    generator: str
    model: bool  # False for the extractive answerer
    strict: bool
    tokens: int
    chars: int
    seconds: NotRequired[float]  # a model's whole call
    first_token_s: NotRequired[float]  # a streamed model answer's time to first token
    tokens_per_s: NotRequired[float]  # its decode speed (Generation.tokens_per_s)
    error: NotRequired[str]  # the generator failed (the turn ends in the fallback)


class GroundingStep(TypedDict):
    node: Literal["check_grounding"]
    by: Literal["overlap", "llm"]
    grounded: bool
    score: float
    attempt: int


class WriteCacheStep(TypedDict):
    node: Literal["write_cache"]
    written: bool


class FallbackStep(TypedDict):
    node: Literal["fallback"]
    reason: FallbackReason


class CombineStep(TypedDict):
    node: Literal["combine_answers"]
    asks: int  # the message's asks, each answered on its own (`asks` in the output)
    answered: int  # of them, answered from the documents (not the fallback)


PathStep = (
    CacheStep
    | RewriteStep
    | RetrieveStep
    | RerankStep
    | GradeStep
    | FollowReferencesStep
    | VersionStep
    | AskBackStep
    | GenerateStep
    | GroundingStep
    | WriteCacheStep
    | FallbackStep
    | CombineStep
)


class AskTask(TypedDict):
    """One ask of a message with several, sent to its own branch (LangGraph `Send`)."""

    index: int  # its place in the message, from 0
    question: str
    filters: dict[str, Any] | None
    history: list[Turn]  # the conversation so far: a follow-up ask is made standalone


class AskAnswer(TypedDict):
    """One ask's answer, as its branch made it; citations refer to its own sources."""

    index: int
    question: str
    answer: str
    sources: list[Passage]
    citations: list[Citation]
    grounded: Grounding
    fallback_reason: FallbackReason | None
    path: list[PathStep]
    notes: NotRequired[list[str]]


def gather_asks(current: list[AskAnswer] | None, update: list[AskAnswer] | None) -> list[AskAnswer]:
    """Branches add their answers in whatever order they finish, kept in the message's order;
    None (start_turn) empties the list for a new turn."""
    if update is None:
        return []
    return sorted([*(current or []), *update], key=lambda a: a["index"])


class OutputState(TypedDict):
    answer_id: NotRequired[str]  # names this answer for feedback (POST /feedback)
    answer: NotRequired[str]
    sources: NotRequired[list[Passage]]
    citations: NotRequired[list[Citation]]
    grounded: NotRequired[Grounding]
    cache_hit: NotRequired[bool]
    path: NotRequired[list[PathStep]]  # nodes taken, with attempts and key scores
    fallback_reason: NotRequired[FallbackReason | None]
    standalone_question: NotRequired[str]
    # What the answer says about its sources besides the answer itself: the version of a law
    # it comes from and the others the knowledge base holds (choose_version)
    notes: NotRequired[list[str]]
    # The run stopped to ask which law the question is about (ask_which_law): answer with one
    # of the options (its label or number) in the same thread, and the run resumes
    clarification: NotRequired[Clarification]
    # A message with several asks: each one's own answer, sources and path, in order (empty
    # for a message with one ask)
    asks: NotRequired[Annotated[list[AskAnswer], gather_asks]]


class TurnState(TypedDict, total=False):
    """Internal fields that belong to one turn: start_turn resets every one of them (and every
    output field), so nothing of one turn leaks into the next."""

    query: str  # what retrieval searches for (rewritten on retry)
    split: list[str]  # the message's asks (one: the message itself, answered as always)
    candidates: list[Passage]
    relevant: list[Passage]
    retrieval_attempts: int
    generation_attempts: int
    generation_error: str | None  # why the generator failed this turn (routes to fallback)
    top_k: int | None  # widened by rewrite_query on retry
    search_filters: dict[str, Any] | None  # the turn's filters; dropped by a retry
    # The question as grade_documents reads it when the search was kept to the law it names:
    # without that law's name, whose words every passage of the law would match
    graded_question: str | None
    clarified: bool  # ask_which_law asked this turn already (it asks once)
    law_decision: LawDecision
    cache_key: str | None
    cache_scope: str | None


class State(InputState, OutputState, TurnState):
    """Everything a run carries. `history` is the one field that outlives a turn: it persists in
    a thread (checkpointer) so that follow-up questions can be rewritten. `filters` apply to the
    turn that gave them: start_turn moves them into `search_filters` and clears the input, so a
    later question in the thread that gives none searches everything."""


class CachedAnswer(TypedDict):
    """What write_cache keeps and check_cache hands back on a hit."""

    answer: str
    sources: list[Passage]
    citations: list[Citation]
    grounded: Grounding
    standalone_question: str
    path: list[PathStep]  # the path that produced the answer
    notes: NotRequired[list[str]]
    asks: NotRequired[list[AskAnswer]]  # a message with several asks: each one's answer
