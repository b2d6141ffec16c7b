"""ask_which_law: a question that could be about several laws of the knowledge base (it names
none, and their sources score close, or it says "luật này" with nothing before it) stops with
LangGraph's `interrupt`: a short question and the laws as options. The reply (an option's
number or label, or a law's name) resumes the run from here, with the sources of the law it
picks; a reply that picks none keeps them all. Asked once per turn."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from graph.context import Context, run_settings
from graph.state import AskBackStep, Clarification, LawOption, State
from nodes.shared import named_documents, step
from tools.kb.ambiguity import Ambiguity, chosen_option, find_ambiguity
from tools.services import Services

QUESTIONS = {
    "close_scores": "Câu hỏi có thể thuộc nhiều văn bản trong cơ sở tri thức. Bạn hỏi về văn "
    "bản nào?",
    "unnamed_reference": "Câu hỏi nhắc đến một văn bản mà chưa nói văn bản nào. Bạn hỏi về văn "
    "bản nào?",
}


def ambiguity(state: State, margin: float) -> Ambiguity | None:
    if state.get("clarified") or named_documents(state):
        return None
    return find_ambiguity(
        state.get("standalone_question") or state["question"],
        state.get("relevant", []),
        margin=margin,
        has_history=bool(state.get("history")),
    )


def make_ask_which_law(services: Services):
    def ask_which_law(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        graph = run_settings(runtime, services.settings).settings.graph
        found = ambiguity(state, graph.ask_back_margin)
        if found is None:  # the route saw one; nothing changed since
            return {"clarified": True}
        options = [LawOption(label=c.label, doc_ids=list(c.doc_ids)) for c in found.candidates]
        reply = interrupt(
            Clarification(
                question=QUESTIONS[found.reason],
                options=options,
                reason=found.reason,
                sources=state.get("relevant", []),
            )
        )
        index = chosen_option(str(reply), [o["label"] for o in options])
        relevant = state.get("relevant", [])
        if index is not None:
            keep = set(options[index]["doc_ids"])
            relevant = [p for p in relevant if p["doc_id"] in keep]
        return {
            "relevant": relevant,
            "clarified": True,
            "path": step(
                state,
                AskBackStep(
                    node="ask_which_law",
                    reason=found.reason,
                    options=[o["label"] for o in options],
                    chosen=options[index]["label"] if index is not None else None,
                ),
            ),
        }

    return ask_which_law
