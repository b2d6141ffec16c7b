"""`vinarag eval retrieval`: this system against a bm25s baseline, side by side, in one run.

The corpus goes into a temporary in-memory Qdrant store (never the user's) through the same
ingestion, retrieval and rerank code the graph uses; ranks are counted per passage id.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from evals.bm25_baseline import BM25Baseline
from evals.datasets import Passage, Query, load_corpus, load_queries
from evals.retrieval_metrics import summarize
from tools.ingest.pipeline import ingest_documents
from tools.kb.factory import RetrievalStack, build_retrieval_stack
from tools.settings import Settings

log = logging.getLogger(__name__)


def _dedupe(doc_ids: list[str]) -> list[str]:
    seen: set[str] = set()
    return [d for d in doc_ids if not (d in seen or seen.add(d))]


def rank_queries(
    stack: RetrievalStack, questions: list[str], k: int, progress: bool = False
) -> tuple[list[list[str]], list[float]]:
    """Document ids ranked by the graph's retrieval + rerank path, and the time each took."""
    rankings, latencies = [], []
    top_k = max(k, stack.retriever.retrieval.top_k)
    for question in tqdm(questions, desc="retrieval", unit="q", disable=not progress):
        start = time.perf_counter()
        hits = stack.retriever.retrieve(question, top_k=top_k)
        hits = stack.reranker.rerank(question, hits, top_k)
        latencies.append(time.perf_counter() - start)
        rankings.append(_dedupe([h.doc_id for h in hits])[:k])
    return rankings, latencies


def run_system(
    settings: Settings, corpus: list[Passage], queries: list[Query], k: int, progress: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    stack = build_retrieval_stack(settings, location=":memory:")
    try:
        documents = [p.as_document() for p in corpus]
        report = ingest_documents(documents, stack.kb, settings, progress=progress)
        if report.failed or report.skipped:
            log.warning("benchmark corpus: %s", report.summary())
        rankings, latencies = rank_queries(stack, [q.question for q in queries], k, progress)
        config = {
            "retrieval_mode": stack.retriever.mode,
            "weights": stack.retriever.weights(),
            "reranker": stack.reranker.name,
            "dense_model": stack.kb.dense.name if stack.kb.has_dense else None,
            "sparse": settings.sparse.model_dump(),
            "chunking": settings.chunking.model_dump(),
            "rerank": settings.rerank.model_dump(),
            "candidate_k": settings.retrieval.candidate_k,
            "chunks_indexed": stack.kb.count(),
        }
    finally:
        stack.close()
    relevants = [set(q.positive_ids) for q in queries]
    return summarize(rankings, relevants, latencies, k), config


def run_bm25s(corpus: list[Passage], queries: list[Query], k: int) -> dict[str, Any]:
    baseline = BM25Baseline([p.id for p in corpus], [p.text for p in corpus])
    rankings, latencies = [], []
    for query in queries:
        start = time.perf_counter()
        rankings.append([d for d, _ in baseline.search(query.question, k)])
        latencies.append(time.perf_counter() - start)
    return summarize(rankings, [set(q.positive_ids) for q in queries], latencies, k)


def run_benchmark(
    settings: Settings,
    corpus_path: Path,
    queries_path: Path,
    k: int = 10,
    limit: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    corpus = load_corpus(corpus_path)
    queries = load_queries(queries_path)[:limit] if limit else load_queries(queries_path)
    system, config = run_system(settings, corpus, queries, k, progress)
    return {
        "dataset": {
            "corpus": str(corpus_path),
            "queries_file": str(queries_path),
            "passages": len(corpus),
            "queries": len(queries),
            "k": k,
        },
        "system": system,
        "baselines": {"bm25s": run_bm25s(corpus, queries, k)},
        "config": config,
    }


def format_table(result: dict[str, Any]) -> str:
    system = result["system"]
    names = list(system)
    rows = [("system", system)] + list(result["baselines"].items())
    header = f"{'':10}" + "".join(f"{n:>10}" for n in names)
    lines = [header] + [f"{label:10}" + "".join(f"{m[n]:>10}" for n in names) for label, m in rows]
    data = result["dataset"]
    lines.insert(0, f"{data['passages']} passages, {data['queries']} queries, k={data['k']}")
    return "\n".join(lines)
