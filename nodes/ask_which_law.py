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
from graph.state import NO_LAW_DECISION, AskBackStep, Clarification, State
from nodes.law_decision import decide_for_laws
from nodes.shared import step
from tools.kb.ambiguity import chosen_option
from tools.services import Services

QUESTIONS = {
    "close_scores": "Câu hỏi có thể thuộc nhiều văn bản trong cơ sở tri thức. Bạn hỏi về văn "
    "bản nào?",
    "unnamed_reference": "Câu hỏi nhắc đến một văn bản mà chưa nói văn bản nào. Bạn hỏi về văn "
    "bản nào?",
}


def make_ask_which_law(services: Services):
    def ask_which_law(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        graph = run_settings(runtime, services.settings).settings.graph
        ask = state.get("law_decision", NO_LAW_DECISION)["ask"]
        relevant = state.get("relevant", [])
        if ask is None:  # the router only comes here with a question to ask
            return {"clarified": True}
        options = ask["options"]
        reply = interrupt(
            Clarification(
                question=QUESTIONS[ask["reason"]],
                options=options,
                reason=ask["reason"],
                sources=relevant,
            )
        )
        index = chosen_option(str(reply), [o["label"] for o in options])
        if index is not None:
            keep = set(options[index]["doc_ids"])
            relevant = [p for p in relevant if p["doc_id"] in keep]
        return {
            "relevant": relevant,
            "clarified": True,
            "law_decision": decide_for_laws(state, relevant, graph, clarified=True),
            "path": step(
                state,
                AskBackStep(
                    node="ask_which_law",
                    reason=ask["reason"],
                    options=[o["label"] for o in options],
                    chosen=options[index]["label"] if index is not None else None,
                ),
            ),
        }

    return ask_which_law
