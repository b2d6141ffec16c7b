"""rewrite_query: with history, turn a follow-up into a standalone question, and say when the
previous answer's sources have since been removed or replaced (a sync, a deletion): the new
answer comes from what the knowledge base holds now, and the notes tell the user. On a retry,
search again more broadly (question words dropped, filters relaxed, top_k doubled)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import Context, run_settings
from graph.state import RewriteStep, State
from nodes.shared import step
from tools.conversation import CitedSource, text_hash
from tools.services import Services


def make_rewrite_query(services: Services):
    kb = services.retrieval.kb

    def changed_sources(cited: list[CitedSource]) -> list[str]:
        """What to tell the user about the previous answer's sources that are no longer as it
        quoted them."""
        if not cited:
            return []
        now = kb.payloads([c["id"] for c in cited])
        notes: list[str] = []
        for title in dict.fromkeys(c["title"] for c in cited if c["id"] not in now):
            notes.append(
                f"Văn bản «{title}» mà câu trả lời trước trích dẫn đã bị gỡ khỏi cơ sở tri thức."
            )
        for title in dict.fromkeys(
            c["title"]
            for c in cited
            if c["id"] in now and text_hash(now[c["id"]].text) != c["text_hash"]
        ):
            notes.append(
                f"Văn bản «{title}» mà câu trả lời trước trích dẫn đã được cập nhật; câu trả lời "
                "dưới đây theo bản hiện có."
            )
        return notes

    def rewrite_query(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        run = run_settings(runtime, services.settings)
        if state.get("retrieval_attempts", 0) == 0:  # a new turn in a conversation
            history = state.get("history", [])[-run.settings.graph.history_turns :]
            standalone = services.rewriter.condense(state["question"], history)
            gone = changed_sources(history[-1].get("sources", [])) if history else []
            return {
                "query": standalone.query,
                "standalone_question": standalone.query,
                "notes": [*state.get("notes", []), *gone],
                "path": step(
                    state,
                    RewriteStep(
                        node="rewrite_query",
                        kind="follow_up",
                        by=standalone.by,
                        query=standalone.query,
                    ),
                ),
            }
        broader = services.rewriter.broaden(state.get("standalone_question") or state["question"])
        top_k = min(
            (state.get("top_k") or run.settings.retrieval.top_k) * 2,
            run.settings.graph.retry_max_top_k,
        )
        return {
            "query": broader.query,
            "top_k": top_k,
            "search_filters": None,
            "path": step(
                state,
                RewriteStep(
                    node="rewrite_query",
                    kind="retry",
                    by=broader.by,
                    query=broader.query,
                    top_k=top_k,
                ),
            ),
        }

    return rewrite_query
