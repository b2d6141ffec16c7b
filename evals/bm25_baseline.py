"""The plain baseline every figure stands beside: bm25s over `\\w+` lower-cased tokens."""

from __future__ import annotations

import logging
import re

import bm25s

_TOKEN = re.compile(r"\w+", re.UNICODE)


def plain_tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


class BM25Baseline:
    def __init__(self, ids: list[str], texts: list[str], k1: float = 1.5, b: float = 0.75) -> None:
        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets DEBUG on itself at import
        self.ids = ids
        self.retriever = bm25s.BM25(k1=k1, b=b)
        self.retriever.index([plain_tokens(t) for t in texts], show_progress=False)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        tokens = plain_tokens(query)
        if not tokens:
            return []
        k = min(k, len(self.ids))
        docs, scores = self.retriever.retrieve([tokens], k=k, show_progress=False)
        return [
            (self.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0
        ]
