"""IDF of a question's terms over a small pool of texts (the candidates or their sentences): the
pool itself says which terms are rare, with no corpus statistics needed; and how much of that
weight a text holds, anywhere or close together."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Sequence


def pool_idf(pool: Sequence[Collection[str]], terms: Collection[str]) -> dict[str, float]:
    """BM25's IDF, ln(1 + (n - df + 0.5) / (df + 0.5)), of each term some text of the pool
    holds; terms no text holds cannot separate texts and are left out."""
    n = len(pool)
    df = Counter(t for tokens in pool for t in set(tokens) if t in terms)
    return {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}


def weighted_coverage(tokens: Collection[str], weights: dict[str, float]) -> float:
    """Share of the question's weight whose terms the text holds anywhere."""
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in tokens) / total if total > 0 else 0.0


def window_coverage(tokens: list[str], weights: dict[str, float], window: int) -> float:
    """Largest weighted share of distinct query terms inside any `window` consecutive tokens."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    hits = [(i, t) for i, t in enumerate(tokens) if t in weights]
    best = 0.0
    inside: Counter[str] = Counter()
    left = 0
    for position, term in hits:
        inside[term] += 1
        while hits[left][0] <= position - window:
            old = hits[left][1]
            inside[old] -= 1
            if not inside[old]:
                del inside[old]
            left += 1
        best = max(best, sum(weights[t] for t in inside))
    return best / total
