"""retrieve: hybrid search in the knowledge base for the current query. A first search for a
question that names a law in the knowledge base ("Theo Luật ... năm 2024", "Nghị định
100/2019/NĐ-CP") is kept to that law's documents; when nothing relevant is found there, the retry
(rewrite_query) searches everything."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import Context, run_settings
from graph.state import NamedLawFilter, RetrieveStep, State
from nodes.shared import shown, step
from tools.corpus.passages import merge_identical
from tools.kb.laws import closest_laws
from tools.services import Services


def make_retrieve(services: Services):
    def retrieve(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        run = run_settings(runtime, services.settings)
        top_k = state.get("top_k") or run.settings.retrieval.top_k
        unreadable: list[str] = []
        filters, query = state.get("search_filters"), state["query"]
        named: NamedLawFilter | None = None
        if (
            run.settings.retrieval.named_law
            and not state.get("retrieval_attempts")
            and "doc_id" not in (filters or {})
        ):
            laws = services.retrieval.laws
            law = laws.named_in(query, run.collections)
            if law is not None:
                named = NamedLawFilter(
                    mention=law.mention,
                    documents=[d.label for d in law.documents],
                    doc_ids=sorted({d.doc_id for d in law.documents}),
                )
                if not law.documents:
                    held = laws.held(run.collections)
                    named["closest"] = [d.label for d in closest_laws(law.mention, held)]
                if named["doc_ids"]:
                    # inside the named law, its name would only pull its header up
                    filters, query = {**(filters or {}), "doc_id": named["doc_ids"]}, law.rest
        hits = services.retrieval.retriever.retrieve(
            query,
            top_k=top_k,
            filters=filters,
            collections=run.collections,
            on_unreadable=unreadable.append,
        )
        hits = merge_identical(hits)
        attempt = state.get("retrieval_attempts", 0) + 1
        taken = RetrieveStep(
            node="retrieve",
            attempt=attempt,
            hits=len(hits),
            top_score=round(hits[0]["score"], 4) if hits else None,
            mode=services.retrieval.retriever.mode,
        )
        if named is not None:
            taken["named_law"] = named
        if unreadable:  # `vinarag documents --check` lists them for the operator
            taken["unreadable"] = unreadable
        return {
            "candidates": shown(hits),
            "graded_question": query if named and named["doc_ids"] else None,
            "retrieval_attempts": attempt,
            "path": step(state, taken),
        }

    return retrieve
