"""Hybrid retrieval: each view (BM25 views, dense) searched in the knowledge base, fused with
measured weights. A question typed without tone marks is searched through the tone-stripped
views instead of the marked ones (the marked views cannot match it)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
from qdrant_client import models

from tools.kb.fusion import Normalization, weighted_fusion
from tools.kb.results import RetrievedChunk
from tools.kb.sparse import (
    BIGRAM_VIEW,
    PLAIN_BIGRAM_VIEW,
    PLAIN_VIEW,
    SYLLABLE_VIEW,
    WORD_VIEW,
    BM25Encoder,
    query_terms,
)
from tools.kb.store import DENSE_VIEW, KnowledgeBase
from tools.settings import RetrievalSettings, SparseSettings
from tools.text.tones import is_unmarked

log = logging.getLogger(__name__)

_NORMALIZATION: dict[str, Normalization] = {
    SYLLABLE_VIEW: "max",
    BIGRAM_VIEW: "max",
    WORD_VIEW: "max",
    PLAIN_VIEW: "max",
    PLAIN_BIGRAM_VIEW: "max",
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

    def retrieve(
        self,
        query: str,
        top_k: int | None = None,
        filters: Mapping[str, Any] | None = None,
        weights: Mapping[str, float] | None = None,
    ) -> list[RetrievedChunk]:
        top_k = top_k or self.retrieval.top_k
        weights = dict(weights) if weights is not None else self.weights(is_unmarked(query))
        limit = max(self.retrieval.candidate_k, top_k)
        terms = query_terms(query)
        runs: dict[str, list[tuple[str, float]]] = {}
        for view, weight in weights.items():
            if weight <= 0:
                continue
            if view == DENSE_VIEW:
                vector: models.SparseVector | np.ndarray = self.kb.embed_query(query)
            else:
                if not terms[view]:
                    continue
                vector = BM25Encoder.encode_query(terms[view])
            runs[view] = self.kb.search(view, vector, limit, filters)
        fused = weighted_fusion(runs, weights, _NORMALIZATION)[:top_k]
        payloads = self.kb.payloads([point_id for point_id, _ in fused])
        view_scores: dict[str, dict[str, float]] = {}
        for view, run in runs.items():
            for point_id, score in run:
                view_scores.setdefault(point_id, {})[view] = score
        return [
            RetrievedChunk(
                point_id=point_id,
                doc_id=payload.get("doc_id", ""),
                title=payload.get("title", ""),
                text=payload.get("text", ""),
                source=payload.get("source", ""),
                position=int(payload.get("position", 0)),
                score=score,
                metadata=payload.get("metadata") or {},
                view_scores=view_scores[point_id],
            )
            for point_id, score in fused
            if (payload := payloads.get(point_id)) is not None
        ]
