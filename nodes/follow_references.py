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
from tools.services import Services


def referred(passage: Passage) -> list[str]:
    """What the passage refers to, as ingestion recorded it."""
    meta = passage["metadata"]
    return [*meta.get("tham_chieu", []), *meta.get("tham_chieu_ngoai", [])]


def make_follow_references(services: Services):
    retrieval = services.retrieval

    def targets(source: Passage, collections: Collection[str] | None) -> Iterator[Passage]:
        for ref in source["metadata"].get("tham_chieu", []):
            article, _, clause = str(ref).partition(".")
            found = retrieval.retriever.article(
                source["doc_id"], article, clause or None, collections
            )
            if found is not None:
                yield found
        for ref in source["metadata"].get("tham_chieu_ngoai", []):
            law, _, article = str(ref).rpartition(" | ")
            named = retrieval.laws.named_in(law, collections)
            for document in named.documents[:1] if named is not None else ():
                found = retrieval.retriever.article(document.doc_id, article, None, collections)
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
                    references=sum(len(referred(p)) for p in relevant),
                    added=[p["location"] for p in added],
                ),
            ),
        }

    return follow_references
