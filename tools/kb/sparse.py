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

from tools.settings import SparseSettings
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
class TermCounts:
    """A chunk's terms in one view: hashed term ids with their counts, and its length in tokens
    (what the ingestion worker hands over: only the length normalisation is left to the
    writer, which knows the corpus's average length)."""

    indices: tuple[int, ...]
    counts: tuple[int, ...]
    length: int

    @classmethod
    def of(cls, tokens: list[str]) -> TermCounts:
        counted: Counter[int] = Counter()
        for token, tf in Counter(tokens).items():
            counted[term_id(token)] += tf  # a hash collision merges counts: rare and harmless
        return cls(tuple(counted), tuple(counted.values()), len(tokens))


@dataclass(frozen=True)
class BM25Encoder:
    k1: float = 1.2
    b: float = 0.75
    index_title: bool = True

    @classmethod
    def configured(cls, sparse: SparseSettings) -> BM25Encoder:
        return cls(sparse.k1, sparse.b, sparse.index_title)

    def document_terms(self, title: str, text: str) -> dict[str, list[str]]:
        body = f"{title} . {text}" if self.index_title and title else text
        return query_terms(body)

    def document_counts(self, title: str, text: str) -> dict[str, TermCounts]:
        return {view: TermCounts.of(t) for view, t in self.document_terms(title, text).items()}

    def weigh(self, terms: TermCounts, avg_len: float) -> models.SparseVector:
        """BM25's term-frequency part (Qdrant's IDF modifier supplies the rest)."""
        norm = self.k1 * (1 - self.b + self.b * terms.length / max(avg_len, 1e-9))
        values = [tf * (self.k1 + 1) / (tf + norm) for tf in terms.counts]
        # built from checked ints and floats: pydantic's validation was a sixth of a large write
        return models.SparseVector.model_construct(indices=list(terms.indices), values=values)

    def encode_document(self, tokens: list[str], avg_len: float) -> models.SparseVector:
        return self.weigh(TermCounts.of(tokens), avg_len)

    @staticmethod
    def encode_query(tokens: list[str]) -> models.SparseVector:
        indices = sorted({term_id(t) for t in tokens})
        return models.SparseVector(indices=indices, values=[1.0] * len(indices))
