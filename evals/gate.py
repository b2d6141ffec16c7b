"""`vinarag eval gate OUT.json`: fail (exit 1) when a metric crosses its threshold in
configs/eval_gate.yaml, naming each failing metric; and the thresholds themselves, calibrated
from a larger run's per-question values (`vinarag eval calibrate`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from evals.compare import flatten

DEFAULT_GATE = Path(__file__).resolve().parents[1] / "configs" / "eval_gate.yaml"


class GateError(ValueError):
    """The gate file itself is wrong; the message says where."""


def load_gate(path: Path = DEFAULT_GATE) -> dict[str, dict[str, float]]:
    data = yaml.safe_load(path.read_text("utf-8")) or {}
    thresholds = data.get("thresholds")
    if not isinstance(thresholds, dict) or not thresholds:
        raise GateError(f"{path}: needs a 'thresholds' mapping of metric -> {{min|max: value}}")
    for metric, bound in thresholds.items():
        if not isinstance(bound, dict) or not set(bound) <= {"min", "max"} or not bound:
            raise GateError(f"{path}: {metric}: give min and/or max")
    return thresholds


def check_gate(result: dict[str, Any], thresholds: dict[str, dict[str, float]]) -> list[str]:
    """Failures as sentences; empty when the run passes."""
    values = flatten(result)
    failures = []
    for metric, bound in thresholds.items():
        value = values.get(metric)
        if not isinstance(value, int | float):
            failures.append(f"{metric}: missing from the run")
            continue
        if "min" in bound and value < bound["min"]:
            failures.append(f"{metric}: {value} is below the minimum {bound['min']}")
        if "max" in bound and value > bound["max"]:
            failures.append(f"{metric}: {value} is above the maximum {bound['max']}")
    return failures


# What the gate checks, each as a mean of per-question values of an eval rag run (its
# `questions` rows), and the side a regression moves it to. Metrics that say little about the
# answerer in use are left out: chrF, BLEU and string similarity compare a whole extracted
# sentence with a two-word gold answer, and string_present repeats contains_gold.
GATED: dict[str, tuple[str, Callable[[dict[str, Any]], float | None]]] = {
    "answers.contains_gold": ("min", lambda q: float(q["contains_gold"])),
    "answers.citation_valid": ("min", lambda q: float(q["citation_valid"])),
    "answers.grounded_rate": ("min", lambda q: float(q["grounded"])),
    "answers.fallback_rate": ("max", lambda q: float(q["fallback_reason"] is not None)),
    "answers.hallucination_rate": (
        "max",
        lambda q: None if q["hallucinated"] is None else float(q["hallucinated"]),
    ),
    "answers.cache_hit_rate_second_pass": ("min", lambda q: float(q["cache_hit_second_pass"])),
    "retrieval.R@1": ("min", lambda q: q["retrieval"].get("R@1")),
    "retrieval.MRR@10": ("min", lambda q: q["retrieval"].get("RR@10")),
    "ragas.non_llm_context_recall": (
        "min",
        lambda q: (q.get("ragas") or {}).get("non_llm_context_recall"),
    ),
}


def calibrate(
    questions: list[dict[str, Any]],
    sample: int,
    quantile: float = 0.005,
    draws: int = 4000,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Thresholds from each metric's sampling spread over `sample` questions of a larger run of
    the same system: the `quantile` (lower for a minimum, upper for a maximum) of the metric
    over `draws` samples drawn with replacement, or over every contiguous run of `sample`
    questions, whichever is wider. Contiguous slices matter: questions come in groups about one
    passage or article, so a slice varies more than independent draws do. A slice of that size
    from the same system then fails about that often; a regression larger than the spread
    fails."""
    import numpy as np

    rng = np.random.default_rng(seed)
    thresholds: dict[str, dict[str, float]] = {}
    for metric, (side, value) in GATED.items():
        values = np.array([v for q in questions if (v := value(q)) is not None], dtype=float)
        if not len(values):
            continue
        size = min(sample, len(values))
        drawn = rng.choice(values, size=(draws, size), replace=True).mean(axis=1)
        sums = np.concatenate([[0.0], np.cumsum(values)])
        windows = (sums[size:] - sums[:-size]) / size
        if side == "min":
            low = min(np.quantile(drawn, quantile), np.quantile(windows, quantile))
            thresholds[metric] = {side: math.floor(float(low) * 1000) / 1000}
        else:
            high = max(np.quantile(drawn, 1 - quantile), np.quantile(windows, 1 - quantile))
            thresholds[metric] = {side: math.ceil(float(high) * 1000) / 1000}
    return thresholds
