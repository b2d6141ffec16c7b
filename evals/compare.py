"""`vinarag eval compare A.json B.json`: what changed between two runs, config and metrics."""

from __future__ import annotations

from typing import Any

SECTIONS = ("answers", "retrieval", "ragas", "latency", "baselines")


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    metrics_a = flatten({k: a.get(k) for k in SECTIONS})
    metrics_b = flatten({k: b.get(k) for k in SECTIONS})
    metrics = []
    for key in sorted(set(metrics_a) | set(metrics_b)):
        old, new = metrics_a.get(key), metrics_b.get(key)
        if (
            isinstance(old, int | float)
            and isinstance(new, int | float)
            and not isinstance(old, bool)
        ):
            metrics.append({"metric": key, "a": old, "b": new, "change": round(new - old, 4)})
    config_a, config_b = flatten(a.get("config", {})), flatten(b.get("config", {}))
    config = [
        {"setting": key, "a": config_a.get(key), "b": config_b.get(key)}
        for key in sorted(set(config_a) | set(config_b))
        if config_a.get(key) != config_b.get(key)
    ]
    return {"config_changes": config, "metrics": metrics}


def format_comparison(result: dict[str, Any], changed_only: bool = False) -> str:
    lines = ["Configuration changes:"]
    lines += [f"  {c['setting']}: {c['a']!r} -> {c['b']!r}" for c in result["config_changes"]] or [
        "  none"
    ]
    lines.append("Metrics (a -> b, change):")
    for m in result["metrics"]:
        if changed_only and m["change"] == 0:
            continue
        sign = "+" if m["change"] > 0 else ""
        lines.append(f"  {m['metric']}: {m['a']} -> {m['b']} ({sign}{m['change']})")
    return "\n".join(lines)
