"""`vinarag eval gate OUT.json`: fail (exit 1) when a metric crosses its threshold in
configs/eval_gate.yaml, naming each failing metric."""

from __future__ import annotations

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
