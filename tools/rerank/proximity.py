"""Model-free reranking by query-term proximity.

BM25 scores terms wherever they fall; an answer passage tends to hold the question's rarer terms
close together. Each candidate gains `weight x` the largest IDF share of distinct query terms
found inside any window of `window` syllables. IDF comes from the candidate pool itself, which
measured as well as corpus IDF and needs no term statistics from the store; query terms that no
candidate holds are left out.
"""

from __future__ import annotations

from tools.corpus.passages import Passage, rescored
from tools.text.idf import pool_idf, window_coverage
from tools.text.tokenize import tokenizer_for


class ProximityReranker:
    name = "proximity"

    def __init__(self, window: int = 12, weight: float = 0.2) -> None:
        self.window = window
        self.weight = weight

    def rerank(self, query: str, chunks: list[Passage], top_n: int) -> list[Passage]:
        if not chunks:
            return []
        tokenize = tokenizer_for(query)  # a question typed without marks: compare stripped
        query_terms = set(tokenize(query))
        chunk_tokens = [tokenize(f"{c['title']} . {c['text']}") for c in chunks]
        weights = pool_idf(chunk_tokens, query_terms)
        scored = [
            rescored(c, c["score"] + self.weight * window_coverage(tokens, weights, self.window))
            for c, tokens in zip(chunks, chunk_tokens, strict=True)
        ]
        scored.sort(key=lambda c: (-c["score"], c["id"]))
        return scored[:top_n]
