"""Weighted score fusion of several retrieval views.

Plain RRF gives a weak view the same say as a strong one (with an English dense model it loses
19 points of R@1 on Vietnamese); normalised scores with measured weights let a weak view only
break ties, and a weight of 0 turns it off."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

Normalization = Literal["max", "minmax"]


def normalize_scores(scores: Sequence[float], how: Normalization) -> list[float]:
    if not scores:
        return []
    high = max(scores)
    if how == "max":
        return [s / high if high > 0 else 0.0 for s in scores]
    low = min(scores)
    span = high - low
    return [(s - low) / span if span > 0 else 1.0 for s in scores]


def weighted_fusion(
    runs: Mapping[str, Sequence[tuple[str, float]]],
    weights: Mapping[str, float],
    normalization: Mapping[str, Normalization],
) -> list[tuple[str, float]]:
    """Sum of weighted normalised scores; an id missing from a view scores 0 there."""
    fused: dict[str, float] = {}
    for view, run in runs.items():
        weight = weights.get(view, 0.0)
        if weight <= 0 or not run:
            continue
        normalized = normalize_scores([s for _, s in run], normalization.get(view, "max"))
        for (point_id, _), score in zip(run, normalized, strict=True):
            fused[point_id] = fused.get(point_id, 0.0) + weight * score
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))
