"""Answer metrics with Vietnamese tokens: gold contained, token F1, exact match. Both sides go
through the same NFC + tone-mark normalisation, so "hoà" and "hòa" count as the same word."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from tools.corpus.passages import Passage
from tools.generate.base import Citation
from tools.text.citations import strip_markers
from tools.text.normalize import match_key
from tools.text.tokenize import syllables


def contains_gold(answer: str, golds: Sequence[str]) -> bool:
    text = match_key(strip_markers(answer))
    return any(match_key(g) in text for g in golds if g.strip())


def token_f1(answer: str, golds: Sequence[str]) -> float:
    predicted = Counter(syllables(strip_markers(answer)))
    best = 0.0
    for gold in golds:
        expected = Counter(syllables(gold))
        common = sum((predicted & expected).values())
        if not common:
            continue
        precision = common / sum(predicted.values())
        recall = common / sum(expected.values())
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


def exact_match(answer: str, golds: Sequence[str]) -> bool:
    tokens = syllables(strip_markers(answer))
    return any(tokens == syllables(g) for g in golds)


def citations_valid(citations: Sequence[Citation], sources: Sequence[Passage]) -> bool:
    """Every citation points at a returned source, by marker and by id."""
    ids = [s["id"] for s in sources]
    return all(
        1 <= c["marker"] <= len(ids) and ids[c["marker"] - 1] == c["source_id"] for c in citations
    )
