"""IDF of a question's terms over a small pool of texts (the candidates or their sentences): the
pool itself says which terms are rare, with no corpus statistics needed."""

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
