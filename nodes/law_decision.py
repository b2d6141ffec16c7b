"""What a turn's relevant sources call for among laws: a question back (several laws could be
meant) or a version to choose (several versions of one law). Decided here, once, by each node
that sets the sources; the router and the acting node read the decision from state."""

from __future__ import annotations

from datetime import date

from graph.state import AskBack, LawDecision, LawOption, State, VersionChosen, VersionPlan
from nodes.shared import named_documents
from tools.corpus.passages import Passage
from tools.kb.ambiguity import find_ambiguity
from tools.kb.versions import choose_versions
from tools.settings import GraphSettings


def decide_for_laws(
    state: State, relevant: list[Passage], graph: GraphSettings, *, clarified: bool = False
) -> LawDecision:
    """`relevant`: the sources the deciding node leaves; `clarified`: the turn has asked once
    already (it never asks twice)."""
    named = named_documents(state)
    asked = clarified or state.get("clarified", False)
    return LawDecision(
        ask=None if asked or named or not graph.ask_back else _ask(state, relevant, graph),
        versions=_versions(relevant, named) if graph.prefer_in_force else None,
    )


def _ask(state: State, relevant: list[Passage], graph: GraphSettings) -> AskBack | None:
    found = find_ambiguity(
        state.get("standalone_question") or state["question"],
        relevant,
        margin=graph.ask_back_margin,
        has_history=bool(state.get("history")),
    )
    if found is None:
        return None
    options = [LawOption(label=c.label, doc_ids=list(c.doc_ids)) for c in found.candidates]
    return AskBack(reason=found.reason, options=options)


def _versions(relevant: list[Passage], named: set[str]) -> VersionPlan | None:
    choices = choose_versions(relevant, date.today(), named)
    if not choices:
        return None
    return VersionPlan(
        laws=[
            VersionChosen(
                chosen=c.chosen.label,
                in_force=c.current.label,
                older=[v.label for v in c.older],
                not_in_force=[v.label for v in c.not_yet],
            )
            for c in choices
        ],
        left_out=[v.doc_id for c in choices for v in (*c.older, *c.not_yet)],
        notes=[c.notice() for c in choices],
    )
