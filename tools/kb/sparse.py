"""BM25 as Qdrant sparse vectors: documents carry the term-frequency part, Qdrant's IDF modifier
supplies the rest, and a query is 1 per distinct term. Five lexical views are kept, each a named
sparse vector: tone-normalised syllables, syllable bigrams and pyvi-segmented words (fused for
questions typed with marks: together they beat any one of them, README "Retrieval"), and
syllables and bigrams stripped of every mark (for questions typed without them)."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

from qdrant_client import models

from tools.text.tokenize import bigrams, plain_syllables, syllables, words

SYLLABLE_VIEW = "bm25"
BIGRAM_VIEW = "bm25_bigram"
WORD_VIEW = "bm25_word"
PLAIN_VIEW = "bm25_plain"
PLAIN_BIGRAM_VIEW = "bm25_plain_bigram"
VIEWS = (SYLLABLE_VIEW, BIGRAM_VIEW, WORD_VIEW, PLAIN_VIEW, PLAIN_BIGRAM_VIEW)


def term_id(token: str) -> int:
    """Stable 32-bit id of a term (Qdrant sparse indices are u32)."""
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=4).digest(), "little")


def query_terms(text: str) -> dict[str, list[str]]:
    tokens = syllables(text)
    plain = plain_syllables(text)
    return {
        SYLLABLE_VIEW: tokens,
        BIGRAM_VIEW: bigrams(tokens),
        WORD_VIEW: words(text),
        PLAIN_VIEW: plain,
        PLAIN_BIGRAM_VIEW: bigrams(plain),
    }


@dataclass(frozen=True)
class BM25Encoder:
    k1: float = 1.2
    b: float = 0.75
    index_title: bool = True

    def document_terms(self, title: str, text: str) -> dict[str, list[str]]:
        body = f"{title} . {text}" if self.index_title and title else text
        return query_terms(body)

    def encode_document(self, tokens: list[str], avg_len: float) -> models.SparseVector:
        counts: Counter[int] = Counter()
        for token, tf in Counter(tokens).items():
            counts[term_id(token)] += tf  # a hash collision merges counts: rare and harmless
        norm = self.k1 * (1 - self.b + self.b * len(tokens) / max(avg_len, 1e-9))
        indices = list(counts)
        values = [tf * (self.k1 + 1) / (tf + norm) for tf in counts.values()]
        return models.SparseVector(indices=indices, values=values)

    @staticmethod
    def encode_query(tokens: list[str]) -> models.SparseVector:
        indices = sorted({term_id(t) for t in tokens})
        return models.SparseVector(indices=indices, values=[1.0] * len(indices))
