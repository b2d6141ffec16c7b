"""Hybrid retrieval: each view (syllable BM25, bigram BM25, dense) searched in Qdrant, fused
with measured weights, and grouped back into chunks for reranking."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from qdrant_client import models

from tools.kb.fusion import Normalization, weighted_fusion
from tools.kb.results import RetrievedChunk
from tools.kb.sparse import BIGRAM_VIEW, SYLLABLE_VIEW, WORD_VIEW, BM25Encoder, query_terms
from tools.kb.store import DENSE_VIEW, KnowledgeBase
from tools.settings import RetrievalSettings, SparseSettings

log = logging.getLogger(__name__)

_NORMALIZATION: dict[str, Normalization] = {
    SYLLABLE_VIEW: "max",
    BIGRAM_VIEW: "max",
    WORD_VIEW: "max",
    DENSE_VIEW: "minmax",
}


class HybridRetriever:
    def __init__(self, kb: KnowledgeBase, retrieval: RetrievalSettings, sparse: SparseSettings):
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

    def weights(self) -> dict[str, float]:
        mode = self.mode
        if mode == "dense":
            return {DENSE_VIEW: 1.0}
        lexical = 1.0 - (self.retrieval.dense_weight if mode == "hybrid" else 0.0)
        views = {
            SYLLABLE_VIEW: self.sparse.syllable_weight,
            BIGRAM_VIEW: self.sparse.bigram_weight,
            WORD_VIEW: self.sparse.word_weight,
        }
        total = sum(views.values())
        weights = {
            view: lexical * w / total
            for view, w in views.items()
            if w > 0 and view in self.kb.sparse_views
        }
        if mode == "hybrid":
            weights[DENSE_VIEW] = self.retrieval.dense_weight
        return {view: w for view, w in weights.items() if w > 0}

    def retrieve(
        self,
        query: str,
        top_k: int | None = None,
        filters: Mapping[str, Any] | None = None,
        weights: Mapping[str, float] | None = None,
    ) -> list[RetrievedChunk]:
        top_k = top_k or self.retrieval.top_k
        weights = dict(weights) if weights is not None else self.weights()
        limit = max(self.retrieval.candidate_k, top_k)
        terms = query_terms(query)
        runs: dict[str, list[tuple[str, float]]] = {}
        payloads: dict[str, dict[str, Any]] = {}
        raw: dict[str, dict[str, float]] = {}
        for view, weight in weights.items():
            if weight <= 0:
                continue
            if view == DENSE_VIEW:
                vector: models.SparseVector | list[float] = self.kb.dense.embeddings.embed_query(
                    query
                )
            else:
                if not terms[view]:
                    continue
                vector = BM25Encoder.encode_query(terms[view])
            points = self.kb.search(view, vector, limit, dict(filters) if filters else None)
            runs[view] = [(str(p.id), p.score) for p in points]
            for p in points:
                payloads[str(p.id)] = p.payload or {}
                raw.setdefault(str(p.id), {})[view] = p.score
        fused = weighted_fusion(runs, weights, _NORMALIZATION)[:top_k]
        return [
            RetrievedChunk(
                point_id=point_id,
                doc_id=payloads[point_id].get("doc_id", ""),
                title=payloads[point_id].get("title", ""),
                text=payloads[point_id].get("text", ""),
                source=payloads[point_id].get("source", ""),
                position=int(payloads[point_id].get("position", 0)),
                score=score,
                metadata=payloads[point_id].get("metadata") or {},
                view_scores=raw[point_id],
            )
            for point_id, score in fused
        ]
