"""A report a person would rather read than JSON: a Markdown page with tables beside the
baseline, PNG charts (score distributions, latency per node) and the questions that failed."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _table(rows: list[tuple[str, Any, Any]], headers: tuple[str, str, str]) -> str:
    lines = [f"| {headers[0]} | {headers[1]} | {headers[2]} |", "| --- | --- | --- |"]
    for name, value, base in rows:
        lines.append(f"| {name} | {_fmt(value)} | {_fmt(base)} |")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _charts(result: dict[str, Any], folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    questions = result["questions"]
    scores = {
        "token F1": [q["token_f1"] for q in questions],
        "grounding score": [q["grounded_score"] or 0.0 for q in questions],
    }
    if questions and "ragas" in questions[0]:
        for name in ("chrf_score", "non_llm_string_similarity"):
            values = [q["ragas"].get(name) for q in questions if q["ragas"].get(name) is not None]
            if values:
                scores[name] = values
    figure, axes = plt.subplots(1, len(scores), figsize=(4 * len(scores), 3.2))
    for axis, (name, values) in zip(
        list(axes) if len(scores) > 1 else [axes], scores.items(), strict=True
    ):
        axis.hist(values, bins=20, range=(0, 1), color="#2563eb")
        axis.set_title(name)
        axis.set_xlabel("score")
    axes_list = list(axes) if len(scores) > 1 else [axes]
    axes_list[0].set_ylabel("questions")
    figure.tight_layout()
    figure.savefig(folder / "scores.png", dpi=110)
    plt.close(figure)
    written.append("scores.png")

    nodes = result["latency"]["nodes"]
    names = list(nodes)
    figure, axis = plt.subplots(figsize=(7, 3.2))
    axis.barh(names, [nodes[n]["p95_ms"] for n in names], color="#93c5fd", label="p95")
    axis.barh(names, [nodes[n]["p50_ms"] for n in names], color="#2563eb", label="p50")
    axis.set_xlabel("ms")
    axis.set_title("latency per node")
    axis.legend()
    figure.tight_layout()
    figure.savefig(folder / "latency.png", dpi=110)
    plt.close(figure)
    written.append("latency.png")
    return written


def _answers_section(result: dict[str, Any]) -> list[str]:
    base = result["baselines"]["bm25s_extractive"]
    rows = [(k, v, base["answers"].get(k)) for k, v in result["answers"].items()]
    return [
        "## Answers",
        "",
        _table(rows, ("metric", "this system", "baseline: bm25s + extractive")),
    ]


def _groups_section(result: dict[str, Any]) -> list[str]:
    """Question groups side by side (a feedback export: what users rated down, apart)."""
    groups = result.get("groups") or {}
    if not groups:
        return []
    names = list(groups)
    metrics = [m for m in groups[names[0]] if m != "questions"]
    header = "| metric | " + " | ".join(f"{g} ({groups[g]['questions']})" for g in names) + " |"
    lines = [header, "|" + " --- |" * (len(names) + 1)]
    lines += [
        f"| {m} | " + " | ".join(str(groups[g].get(m)) for g in names) + " |" for m in metrics
    ]
    return ["", "## By group", "", *lines]


def _retrieval_section(result: dict[str, Any]) -> list[str]:
    if not result.get("retrieval"):
        return []
    base = result["baselines"]["bm25s_extractive"].get("retrieval", {})
    rows = [(k, v, base.get(k)) for k, v in result["retrieval"].items()]
    return ["", "## Retrieval", "", _table(rows, ("metric", "this system", "baseline: bm25s"))]


def _ragas_section(result: dict[str, Any]) -> list[str]:
    if not result.get("ragas"):
        return []
    rows = [(k, v, None) for k, v in result["ragas"].items()]
    skipped = [f"- {k}: not run ({why})" for k, why in (result.get("ragas_skipped") or {}).items()]
    return ["", "## Ragas", "", _table(rows, ("metric", "value", "—"))] + (
        ["", *skipped] if skipped else []
    )


def _latency_section(result: dict[str, Any]) -> list[str]:
    latency = result["latency"]
    base = result["baselines"]["bm25s_extractive"]["latency"]["end_to_end"]
    nodes = [(n, f"{v['p50_ms']} / {v['p95_ms']}", None) for n, v in latency["nodes"].items()]
    return [
        "",
        "## Latency",
        "",
        f"End to end p50 {latency['end_to_end']['p50_ms']} ms, "
        f"p95 {latency['end_to_end']['p95_ms']} ms; "
        f"cache hit p50 {latency['cache_hit_p50_ms']} ms; baseline p50 {base['p50_ms']} ms.",
        "",
        _table(nodes, ("node", "p50 / p95 ms", "—")),
    ]


def _failures_section(result: dict[str, Any], max_failures: int) -> list[str]:
    failures = [q for q in result["questions"] if not q["contains_gold"]]
    parts = ["", f"## Questions without the gold answer ({len(failures)})", ""]
    for q in failures[:max_failures]:
        sources = "; ".join(f"{s['title']} ({s['doc_id']})" for s in q["sources"]) or "none"
        parts += [
            f"### {q['question']}",
            "",
            f"- gold: {' / '.join(q['gold'])}",
            f"- answer: {q['answer']}",
            f"- sources: {sources}",
            f"- path: {' → '.join(q['path'])}",
            "",
        ]
    if len(failures) > max_failures:
        parts.append(f"... and {len(failures) - max_failures} more in the JSON.")
    return parts


def write_report(result: dict[str, Any], folder: Path, max_failures: int = 50) -> Path:
    """`report.md` and its charts in `folder`: each section beside the baseline's figures."""
    folder.mkdir(parents=True, exist_ok=True)
    charts = _charts(result, folder)
    services = ", ".join(f"{k} {v}" for k, v in result["config"]["services"].items())
    parts = [
        "# VinaSmol RAG evaluation",
        "",
        f"{result['dataset']['passages']} passages, {result['dataset']['queries']} questions. "
        f"Services: {services}.",
        "",
        *_answers_section(result),
        *_groups_section(result),
        *_retrieval_section(result),
        *_ragas_section(result),
        *_latency_section(result),
        "",
        "## Charts",
        "",
        *[f"![{c}]({c})" for c in charts],
        *_failures_section(result, max_failures),
    ]
    page = folder / "report.md"
    page.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return page
