"""Small helpers every node uses: the path, shown scores, the turn's memory."""

from __future__ import annotations

from graph.state import NamedLawFilter, PathStep, State
from tools.conversation import CitedSource, Turn, text_hash
from tools.corpus.passages import Passage, rescored
from tools.settings import Settings


def step(state: State, entry: PathStep) -> list[PathStep]:
    """The path with one more entry (start_turn starts an empty path each turn)."""
    return [*state.get("path", []), entry]


def shown(passages: list[Passage]) -> list[Passage]:
    """Scores rounded as the response shows them (and as the next stage reads them)."""
    return [rescored(p, round(float(p["score"]), 4)) for p in passages]


def remember_turn(state: State, answer: str, settings: Settings) -> list[Turn]:
    """The conversation with this turn added, at most `graph.history_turns` long."""
    keep = settings.graph.history_turns
    turn = Turn(
        question=state.get("standalone_question") or state["question"],
        answer=answer,
        sources=[
            CitedSource(id=p["id"], title=p["title"], text_hash=text_hash(p["text"]))
            for p in state.get("sources", [])
        ],
    )
    return [*state.get("history", []), turn][-keep:] if keep else []


def named_documents(state: State) -> set[str]:
    """The documents of the law the question named, when the knowledge base holds it (the
    first retrieve kept its search there)."""
    return {
        doc_id
        for s in state.get("path", [])
        if s["node"] == "retrieve"
        for doc_id in s.get("named_law", {}).get("doc_ids", [])
    }


def unheld_law(state: State) -> NamedLawFilter | None:
    """The law the question named when the knowledge base does not hold it: the answer says
    so rather than answer from another law."""
    for s in state.get("path", []):
        if s["node"] == "retrieve" and (named := s.get("named_law")) and not named["doc_ids"]:
            return named
    return None
