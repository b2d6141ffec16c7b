"""Hybrid retrieval: each view (BM25 views, dense) searched in the knowledge base, fused with
measured weights. A question typed without tone marks is searched through the tone-stripped
views instead of the marked ones (the marked views cannot match it)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from tools.corpus.metadata import payload_problem, spelled_out
from tools.corpus.passages import Passage
from tools.kb.fusion import Normalization, weighted_fusion
from tools.kb.payload import ChunkPayload
from tools.kb.search import DENSE_VIEW, PassageSearch, passage_text
from tools.kb.sparse import (
    BIGRAM_VIEW,
    PLAIN_BIGRAM_VIEW,
    PLAIN_VIEW,
    SYLLABLE_VIEW,
    WORD_VIEW,
    BM25Encoder,
    query_terms,
)
from tools.settings import RetrievalSettings, SparseSettings
from tools.text.tones import is_unmarked, restore_tones

log = logging.getLogger(__name__)

_RESTORE_FROM = 10  # passages whose text restores the marks of a question typed without them

_NORMALIZATION: dict[str, Normalization] = {
    SYLLABLE_VIEW: "max",
    BIGRAM_VIEW: "max",
    WORD_VIEW: "max",
    PLAIN_VIEW: "max",
    PLAIN_BIGRAM_VIEW: "max",
    DENSE_VIEW: "minmax",
}


def as_passage(point_id: str, payload: ChunkPayload, score: float) -> Passage:
    return Passage(
        id=point_id,
        doc_id=payload.doc_id,
        title=payload.title,
        text=payload.text,
        source=payload.source,
        position=payload.position,
        location=passage_location(payload),
        score=score,
        metadata=dict(payload.metadata),
        collection=payload.collection,
    )


def passage_location(payload: ChunkPayload) -> str:
    """Where the chunk is: what ingestion recorded, else its file's name (older chunks)."""
    located = payload.metadata.get("location")
    return str(located) if located else Path(payload.source).name


class HybridRetriever:
    def __init__(self, kb: PassageSearch, retrieval: RetrievalSettings, sparse: SparseSettings):
        self.kb = kb
        self.retrieval = retrieval
        self.sparse = sparse

    @property
    def mode(self) -> str:
        """What actually runs: the configured mode, narrowed by what the store can do."""
        if self.retrieval.mode == "sparse" or not self.kb.has_dense:
            return "sparse"
        if self.retrieval.mode == "dense":
            return "dense"
        return "hybrid" if self.retrieval.dense_weight > 0 else "sparse"

    def weights(self, unmarked: bool = False) -> dict[str, float]:
        """Fusion weights for a question typed with marks, or without (`unmarked`)."""
        mode = self.mode
        if mode == "dense":
            return {DENSE_VIEW: 1.0}
        lexical = 1.0 - (self.retrieval.dense_weight if mode == "hybrid" else 0.0)
        views = (
            {
                PLAIN_VIEW: self.sparse.plain_syllable_weight,
                PLAIN_BIGRAM_VIEW: self.sparse.plain_bigram_weight,
            }
            if unmarked
            else {
                SYLLABLE_VIEW: self.sparse.syllable_weight,
                BIGRAM_VIEW: self.sparse.bigram_weight,
                WORD_VIEW: self.sparse.word_weight,
            }
        )
        available = {v: w for v, w in views.items() if w > 0 and v in self.kb.sparse_views}
        total = sum(available.values())
        weights = {view: lexical * w / total for view, w in available.items()} if total else {}
        if mode == "hybrid":
            weights[DENSE_VIEW] = self.retrieval.dense_weight
        return {view: w for view, w in weights.items() if w > 0}

    def _lexical_runs(
        self,
        query: str,
        weights: Mapping[str, float],
        limit: int,
        filters: Mapping[str, Any] | None,
        collections: Collection[str] | None = None,
    ) -> dict[str, list[tuple[str, float]]]:
        terms = query_terms(query)
        return {
            view: self.kb.search(
                view, BM25Encoder.encode_query(terms[view]), limit, filters, collections
            )
            for view, weight in weights.items()
            if view != DENSE_VIEW and weight > 0 and terms[view]
        }

    def _dense_text(
        self, query: str, lexical: dict[str, list[tuple[str, float]]], weights: Mapping[str, float]
    ) -> str:
        """What the dense view embeds: the question, or for one typed without marks the question
        with its marks restored from the passages the lexical views found (the embedding model
        reads unmarked Vietnamese poorly)."""
        if not lexical or not is_unmarked(query):
            return query
        best = weighted_fusion(lexical, weights, _NORMALIZATION)[:_RESTORE_FROM]
        payloads = self.kb.payloads([point_id for point_id, _ in best])
        texts = [passage_text(p) for p in payloads.values()]
        return restore_tones(query, texts)

    def dense_query_text(self, query: str, filters: Mapping[str, Any] | None = None) -> str:
        """The text the dense view embeds for this question (benchmarks time its embedding)."""
        weights = self.weights(is_unmarked(query))
        limit = max(self.retrieval.candidate_k, self.retrieval.top_k)
        return self._dense_text(query, self._lexical_runs(query, weights, limit, filters), weights)

    def retrieve(
        self,
        query: str,
        top_k: int | None = None,
        filters: Mapping[str, Any] | None = None,
        weights: Mapping[str, float] | None = None,
        collections: Collection[str] | None = None,
        on_unreadable: Callable[[str], None] | None = None,
    ) -> list[Passage]:
        """The best passages; of the given collections only (None: every collection), a
        restriction the store applies whatever the filters say. A stored chunk that cannot be
        served (bad text from an older release) is left out and named to `on_unreadable`."""
        top_k = top_k or self.retrieval.top_k
        weights = dict(weights) if weights is not None else self.weights(is_unmarked(query))
        limit = max(self.retrieval.candidate_k, top_k)
        runs = self._lexical_runs(query, weights, limit, filters, collections)
        if weights.get(DENSE_VIEW, 0) > 0 and (collections is None or collections):
            vector = self.kb.embed_query(self._dense_text(query, runs, weights))
            runs[DENSE_VIEW] = self.kb.search(DENSE_VIEW, vector, limit, filters, collections)
        # Chunks still waiting for their dense vector are fused over their sparse views only.
        lacking = {DENSE_VIEW: self.kb.pending_ids()} if DENSE_VIEW in runs else None
        fused = weighted_fusion(runs, weights, _NORMALIZATION, lacking)[:top_k]
        payloads = self.kb.raw_payloads([point_id for point_id, _ in fused])
        view_scores: dict[str, dict[str, float]] = {}
        for view, run in runs.items():
            for point_id, score in run:
                view_scores.setdefault(point_id, {})[view] = score
        passages: list[Passage] = []
        for point_id, score in fused:
            if (stored := payloads.get(point_id)) is None:
                continue
            payload = ChunkPayload.read(stored, point_id)
            if problem := payload_problem(stored):
                named = spelled_out(f"{payload.collection}/{payload.doc_id}: {problem}")
                log.warning("left out of the answer, cannot be served: %s", named)
                if on_unreadable is not None:
                    on_unreadable(named)
                continue
            passages.append(
                {**as_passage(point_id, payload, score), "view_scores": view_scores[point_id]}
            )
        return passages

    def article(
        self,
        doc_id: str,
        number: str,
        clause: str | None = None,
        collections: Collection[str] | None = None,
    ) -> Passage | None:
        """The chunk of a legal document's article (`Điều number`) that holds `clause` when
        given, else its first: what a reference to it points at. Within `collections` only."""
        chunks = self.kb.find({"doc_id": doc_id, "dieu": number}, collections, limit=64)
        chunks.sort(key=lambda found: found[1].position)
        for point_id, payload in chunks:
            held = str(payload.metadata.get("khoan", "")).split(", ")
            if clause is None or clause in held:
                return as_passage(point_id, payload, 0.0)
        return as_passage(*chunks[0], 0.0) if chunks else None
