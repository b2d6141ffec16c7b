"""The reranker interface the graph's rerank node calls."""

from __future__ import annotations

from typing import Protocol

from tools.corpus.passages import Passage


class Reranker(Protocol):
    name: str

    def rerank(self, query: str, chunks: list[Passage], top_n: int) -> list[Passage]:
        """Best first, at most top_n; each chunk's score replaced by the reranker's."""
        ...


class NoRerank:
    name = "none"

    def rerank(self, query: str, chunks: list[Passage], top_n: int) -> list[Passage]:
        return chunks[:top_n]
