"""follow_references: a law's article often says "theo quy định tại khoản 2 Điều 5" or "trừ
trường hợp quy định tại Điều 12", and the condition or the penalty is in the article it names.
The articles the relevant sources refer to (recorded at ingestion: `tham_chieu` in their own
law, `tham_chieu_ngoai` in another law of the knowledge base) are added as sources, at most
`graph.max_references`, after the sources that refer to them."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from langgraph.runtime import Runtime

from graph.context import Context, run_settings
from graph.state import FollowReferencesStep, State
from nodes.shared import step
from tools.corpus.passages import Passage
from tools.corpus.references import references_in
from tools.services import Services


def make_follow_references(services: Services):
    retrieval = services.retrieval

    def targets(source: Passage, collections: Collection[str] | None) -> Iterator[Passage]:
        for ref in references_in(source["metadata"]):
            doc_id: str | None = source["doc_id"]
            if ref.law is not None:
                named = retrieval.laws.named_in(ref.law, collections)
                doc_id = named.documents[0].doc_id if named and named.documents else None
            if doc_id is None:
                continue
            found = retrieval.retriever.article(doc_id, ref.article, ref.clause, collections)
            if found is not None:
                yield found

    def follow_references(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        run = run_settings(runtime, services.settings)
        bound = run.settings.graph.max_references
        relevant = state.get("relevant", [])
        have = {p["id"] for p in relevant}
        added: list[Passage] = []
        for source in relevant:
            for target in targets(source, run.collections):
                if len(added) >= bound:
                    break
                if target["id"] not in have:
                    have.add(target["id"])
                    target["metadata"]["referenced_by"] = source["location"]
                    added.append(target)
        return {
            "relevant": [*relevant, *added],
            "path": step(
                state,
                FollowReferencesStep(
                    node="follow_references",
                    references=sum(len(references_in(p["metadata"])) for p in relevant),
                    added=[p["location"] for p in added],
                ),
            ),
        }

    return follow_references
