"""Ranking metrics over document ids: recall@k, MRR@k, nDCG@k, latency percentiles."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def first_relevant_rank(ranked: Sequence[str], relevant: set[str]) -> int | None:
    for rank, doc_id in enumerate(ranked, start=1):
        if doc_id in relevant:
            return rank
    return None


def recall_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def reciprocal_rank(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    rank = first_relevant_rank(ranked[:k], relevant)
    return 1.0 / rank if rank else 0.0


def ndcg_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    dcg = sum(1.0 / math.log2(i + 2) for i, d in enumerate(ranked[:k]) if d in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal if ideal else 0.0


def percentile_ms(seconds: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000.0, q)) if len(seconds) else 0.0


def summarize(
    rankings: Sequence[Sequence[str]],
    relevants: Sequence[set[str]],
    latencies: Sequence[float],
    k: int,
) -> dict[str, float]:
    """The metrics object of the benchmark JSON: R@1 R@5 R@10 MRR@10 nDCG@10 p50_ms p95_ms."""
    n = len(rankings)

    def mean(values: list[float]) -> float:
        return round(sum(values) / n, 4) if n else 0.0

    pairs = list(zip(rankings, relevants, strict=True))
    return {
        "R@1": mean([recall_at(r, rel, 1) for r, rel in pairs]),
        "R@5": mean([recall_at(r, rel, 5) for r, rel in pairs]),
        f"R@{k}": mean([recall_at(r, rel, k) for r, rel in pairs]),
        f"MRR@{k}": mean([reciprocal_rank(r, rel, k) for r, rel in pairs]),
        f"nDCG@{k}": mean([ndcg_at(r, rel, k) for r, rel in pairs]),
        "p50_ms": round(percentile_ms(latencies, 50), 3),
        "p95_ms": round(percentile_ms(latencies, 95), 3),
    }
