"""answer_ask: one ask of a message with several, answered on its own branch (LangGraph `Send`
from the cache check): the same retrieve, rerank, grade, generate and grounding nodes, and
the same bounds, as a message with one ask takes, run as a graph of their own."""

from __future__ import annotations

from typing import Any, cast

from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from graph.context import Context
from graph.state import AskAnswer, AskTask, OutputState, State
from nodes.start_turn import fresh_turn


def make_answer_ask(ask_graph: CompiledStateGraph[State, Context, State, OutputState]):
    def answer_ask(task: AskTask, runtime: Runtime[Context]) -> dict[str, Any]:
        start = {
            **fresh_turn(task["question"], task["filters"]),
            "question": task["question"],
            "history": task["history"],
        }
        out: dict[str, Any] = ask_graph.invoke(cast(State, start), context=runtime.context)
        answer = AskAnswer(
            index=task["index"],
            question=out.get("standalone_question") or task["question"],
            answer=out.get("answer", ""),
            sources=out.get("sources", []),
            citations=out.get("citations", []),
            grounded=out["grounded"],
            fallback_reason=out.get("fallback_reason"),
            path=out.get("path", []),
        )
        if notes := out.get("notes"):
            answer["notes"] = notes
        return {"asks": [answer]}

    return answer_ask
