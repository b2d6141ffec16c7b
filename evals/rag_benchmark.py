"""`vinarag eval rag`: the whole graph over a question set, with answer metrics, retries,
fallbacks, a second pass for the cache, and latency per node and end to end.

The corpus goes into a temporary in-memory store (never the user's); the graph runs without a
checkpointer, as a stateless API request would."""

from __future__ import annotations

import logging
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from tqdm import tqdm

from evals.answer_metrics import citations_valid, contains_gold, exact_match, token_f1
from evals.datasets import Query, load_corpus, load_queries
from evals.retrieval_metrics import percentile_ms
from graph.builder import build_graph
from tools.ingest.documents import Document
from tools.ingest.pipeline import ingest_documents
from tools.services import build_services
from tools.settings import Settings

log = logging.getLogger(__name__)


class NodeTimes:
    """Collects node durations of the current run (the graph's node observer)."""

    def __init__(self) -> None:
        self.current: list[tuple[str, float]] = []

    def __call__(self, node: str, seconds: float, update: dict | None, error: bool) -> None:
        self.current.append((node, seconds))


def _rate(values: list[bool]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def _latency(seconds: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile_ms(seconds, 50), 3),
        "p95_ms": round(percentile_ms(seconds, 95), 3),
    }


def run_rag_benchmark(
    settings: Settings,
    corpus_path: Path,
    queries_path: Path,
    limit: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    corpus = load_corpus(corpus_path)
    queries: list[Query] = load_queries(queries_path)
    queries = queries[:limit] if limit else queries
    services = build_services(settings, location=":memory:")
    timer = NodeTimes()
    try:
        documents = [Document(p.id, p.title, p.text, p.id) for p in corpus]
        ingest_documents(documents, services.retrieval.kb, settings, progress=progress)
        graph = build_graph(services=services, observers=[timer])
        rows, end_to_end, node_seconds, overhead = [], [], defaultdict(list), []
        for query in tqdm(queries, desc="graph", unit="q", disable=not progress):
            timer.current = []
            start = time.perf_counter()
            result = graph.invoke({"question": query.question})
            elapsed = time.perf_counter() - start
            end_to_end.append(elapsed)
            for node, seconds in timer.current:
                node_seconds[node].append(seconds)
            overhead.append(max(elapsed - sum(s for _, s in timer.current), 0.0) / elapsed)
            rows.append((query, result))
        hit_seconds, hits = [], []
        for query in tqdm(queries, desc="cache pass", unit="q", disable=not progress):
            start = time.perf_counter()
            result = graph.invoke({"question": query.question})
            hit_seconds.append(time.perf_counter() - start)
            hits.append(bool(result.get("cache_hit")))
        config = {"services": services.notes, "settings": settings.model_dump(mode="json")}
    finally:
        services.close()

    answered = [(q, r) for q, r in rows if not r.get("fallback_reason")]
    grounding_checks = [
        r for _, r in rows if any(p["node"] == "check_grounding" for p in r["path"])
    ]
    retries = [
        sum(1 for p in r["path"] if p["node"] == "rewrite_query")
        + max(sum(1 for p in r["path"] if p["node"] == "generate") - 1, 0)
        for _, r in rows
    ]
    answers = {
        "contains_gold": _rate([contains_gold(r["answer"], q.answers) for q, r in rows]),
        "token_f1": round(statistics.mean(token_f1(r["answer"], q.answers) for q, r in rows), 4),
        "exact_match": _rate([exact_match(r["answer"], q.answers) for q, r in rows]),
        "contains_gold_when_answered": _rate(
            [contains_gold(r["answer"], q.answers) for q, r in answered]
        ),
        "citation_valid": _rate(
            [citations_valid(r.get("citations", []), r.get("sources", [])) for _, r in rows]
        ),
        "grounded_rate": _rate([bool(r.get("grounded", {}).get("value")) for _, r in rows]),
        "hallucination_rate": _rate(
            [
                any(p["node"] == "check_grounding" and not p["grounded"] for p in r["path"])
                for r in grounding_checks
            ]
        ),
        "fallback_rate": _rate([bool(r.get("fallback_reason")) for _, r in rows]),
        "retries_per_question": round(statistics.mean(retries), 4) if retries else 0.0,
        "cache_hit_rate_second_pass": _rate(hits),
        "median_answer_chars": statistics.median(len(r["answer"]) for _, r in rows) if rows else 0,
    }
    latency = {
        "end_to_end": _latency(end_to_end),
        "nodes": {node: _latency(seconds) for node, seconds in sorted(node_seconds.items())},
        "cache_hit_p50_ms": round(percentile_ms(hit_seconds, 50), 3),
        "cache_hit_p95_ms": round(percentile_ms(hit_seconds, 95), 3),
        "graph_overhead_share_p50": round(statistics.median(overhead), 4) if overhead else 0.0,
    }
    failures = [
        {
            "id": q.id,
            "question": q.question,
            "gold": q.answers,
            "answer": r["answer"],
            "sources": [s["doc_id"] for s in r.get("sources", [])],
            "path": [p["node"] for p in r["path"]],
        }
        for q, r in rows
        if not contains_gold(r["answer"], q.answers)
    ]
    return {
        "dataset": {"corpus": str(corpus_path), "passages": len(corpus), "queries": len(queries)},
        "answers": answers,
        "latency": latency,
        "config": config,
        "failures": failures,
    }
