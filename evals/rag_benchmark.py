"""`vinarag eval rag`: the whole graph over a question set, and in the same run everything a
reader needs to judge it: answer metrics (Vietnamese tokens), grounding, fallbacks, retries,
retrieval metrics, the Ragas suite, a second pass for the cache, latency per node and end to
end, and a plain baseline (bm25s top passage + the extractive answer) beside every figure.

The corpus goes into a temporary in-memory store (never the user's); the graph runs without a
checkpointer, as a stateless API request would."""

from __future__ import annotations

import logging
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from evals.answer_metrics import citations_valid, contains_gold, exact_match, token_f1
from evals.bm25_baseline import BM25Baseline
from evals.datasets import (
    DatasetError,
    Passage,
    load_corpus,
    load_qa_file,
    load_queries,
    load_squad,
    passages_from_contexts,
)
from evals.ragas_suite import RagasRow, run_ragas
from evals.retrieval_benchmark import rank_queries
from evals.retrieval_metrics import percentile_ms, recall_at, reciprocal_rank, summarize
from graph.builder import build_graph
from graph.path import count_retries, grounding_checks
from graph.state import OutputState
from tools.corpus.passages import Passage as RetrievedPassage
from tools.generate.base import GenerationRequest
from tools.generate.extractive import ExtractiveGenerator
from tools.ingest.pipeline import ingest_documents
from tools.kb.embedders import LangChainEmbeddings
from tools.services import build_services
from tools.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class EvalItem:
    id: str
    question: str
    answers: list[str]
    positive_ids: list[str] = field(default_factory=list)
    reference_contexts: list[str] = field(default_factory=list)
    group: str = ""  # shown apart in the report (feedback: thumbs-up / thumbs-down)


def load_eval_set(
    corpus: Path | None = None,
    queries: Path | None = None,
    squad: Path | None = None,
    qa: Path | None = None,
) -> tuple[list[Passage], list[EvalItem]]:
    """Shared format (corpus + queries), SQuAD JSON, or a user's CSV / JSONL with a corpus."""
    if squad is not None:
        passages, loaded = load_squad(squad)
        items = [EvalItem(q.id, q.question, q.answers, q.positive_ids) for q in loaded]
    elif qa is not None:
        loaded_qa = load_qa_file(qa)
        if corpus is not None:
            passages = load_corpus(corpus)
        elif all(q.reference_contexts for q in loaded_qa):  # e.g. a feedback export
            passages = passages_from_contexts(loaded_qa)
        else:
            raise DatasetError(
                "--qa needs --corpus (the documents the questions are about), "
                "unless every question carries its contexts"
            )
        items = [
            EvalItem(q.id, q.question, q.answers, [], q.reference_contexts, q.group)
            for q in loaded_qa
        ]
    elif corpus is not None and queries is not None:
        passages = load_corpus(corpus)
        items = [
            EvalItem(q.id, q.question, q.answers, q.positive_ids) for q in load_queries(queries)
        ]
    else:
        raise DatasetError("give --corpus and --queries, or --squad FILE, or --qa FILE --corpus C")
    by_id = {p.id: p.text for p in passages}
    for item in items:
        if not item.reference_contexts:
            item.reference_contexts = [by_id[i] for i in item.positive_ids if i in by_id]
    return passages, items


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


def _answer_block(items: list[EvalItem], answers: list[str]) -> dict[str, float]:
    pairs = list(zip(items, answers, strict=True))
    return {
        "contains_gold": _rate([contains_gold(a, i.answers) for i, a in pairs]),
        "token_f1": round(statistics.mean(token_f1(a, i.answers) for i, a in pairs), 4)
        if pairs
        else 0.0,
        "exact_match": _rate([exact_match(a, i.answers) for i, a in pairs]),
        "median_answer_chars": statistics.median(len(a) for a in answers) if answers else 0,
    }


def build_judge(settings: Settings):
    """The Ragas judge from settings (evaluation.judge), or None."""
    evaluation = settings.evaluation
    if evaluation.judge == "none":
        return None
    if evaluation.judge == "openai":
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr

        assert evaluation.judge_model  # the settings refuse judge openai without one
        return ChatOpenAI(
            base_url=evaluation.judge_base_url,
            model=evaluation.judge_model,
            api_key=SecretStr(evaluation.judge_api_key or "not-needed"),
            temperature=0,
        )
    from tools.generate.factory import build_chat_model

    model = build_chat_model(settings.generator)
    if model is None:
        raise DatasetError("evaluation.judge 'generator' needs generator.kind phogpt or openai")
    return model


def run_baseline(passages: list[Passage], items: list[EvalItem], k: int) -> dict[str, Any]:
    """bm25s retrieval + the extractive answer over its top passage."""
    baseline = BM25Baseline([p.id for p in passages], [p.text for p in passages])
    by_id = {p.id: p for p in passages}
    extractive = ExtractiveGenerator()
    rankings, latencies, answers = [], [], []
    for item in items:
        start = time.perf_counter()
        ranked = [d for d, _ in baseline.search(item.question, k)]
        top = by_id[ranked[0]] if ranked else None
        sources = (
            [
                RetrievedPassage(
                    id=top.id,
                    doc_id=top.id,
                    title=top.title,
                    text=top.text,
                    source="",
                    position=0,
                    location="",
                    score=1.0,
                    metadata={},
                )
            ]
            if top
            else []
        )
        answers.append(extractive.generate(GenerationRequest(item.question, sources)).answer)
        latencies.append(time.perf_counter() - start)
        rankings.append(ranked)
    block: dict[str, Any] = {
        "method": r"bm25s (\w+ lower-cased) top passage + extractive answer",
        "answers": _answer_block(items, answers),
        "latency": {"end_to_end": _latency(latencies)},
    }
    if any(i.positive_ids for i in items):
        block["retrieval"] = summarize(rankings, [set(i.positive_ids) for i in items], latencies, k)
    return block


@dataclass
class GraphPass:
    """The first pass over the questions: each answer, with where its time went."""

    results: list[OutputState] = field(default_factory=list)
    end_to_end: list[float] = field(default_factory=list)
    node_seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    overhead: list[float] = field(default_factory=list)  # share of a run outside any node


def answer_pass(graph: Any, items: list[EvalItem], timer: NodeTimes, progress: bool) -> GraphPass:
    """`timer` is the graph's node observer: it says where each run's time went."""
    run = GraphPass()
    for item in tqdm(items, desc="graph", unit="q", disable=not progress):
        timer.current = []
        start = time.perf_counter()
        result = graph.invoke({"question": item.question})
        elapsed = time.perf_counter() - start
        run.results.append(result)
        run.end_to_end.append(elapsed)
        for node, seconds in timer.current:
            run.node_seconds[node].append(seconds)
        run.overhead.append(max(elapsed - sum(s for _, s in timer.current), 0.0) / elapsed)
    return run


def cache_pass(graph: Any, items: list[EvalItem], progress: bool) -> tuple[list[float], list[bool]]:
    """The same questions again: each should now be a cache hit (seconds, hit or not)."""
    seconds, hits = [], []
    for item in tqdm(items, desc="cache pass", unit="q", disable=not progress):
        start = time.perf_counter()
        result = graph.invoke({"question": item.question})
        seconds.append(time.perf_counter() - start)
        hits.append(bool(result.get("cache_hit")))
    return seconds, hits


def answer_metrics(
    items: list[EvalItem], results: list[OutputState], hits: list[bool]
) -> dict[str, float]:
    answered = [(i, r) for i, r in zip(items, results, strict=True) if not r.get("fallback_reason")]
    checks = [grounding_checks(r.get("path", [])) for r in results]
    retries = [count_retries(r.get("path", [])) for r in results]
    return {
        **_answer_block(items, [r.get("answer", "") for r in results]),
        "contains_gold_when_answered": _rate(
            [contains_gold(r.get("answer", ""), i.answers) for i, r in answered]
        ),
        "citation_valid": _rate(
            [citations_valid(r.get("citations", []), r.get("sources", [])) for r in results]
        ),
        "grounded_rate": _rate([bool(r.get("grounded", {}).get("value")) for r in results]),
        "hallucination_rate": _rate([not all(c) for c in checks if c]),
        "fallback_rate": _rate([bool(r.get("fallback_reason")) for r in results]),
        "retries_per_question": round(statistics.mean(retries), 4) if retries else 0.0,
        # questions the graph stopped on to ask which law they are about (ask_which_law)
        "clarification_rate": _rate(["__interrupt__" in r for r in results]),
        "cache_hit_rate_second_pass": _rate(hits),
    }


def group_metrics(
    items: list[EvalItem], results: list[OutputState], hits: list[bool]
) -> dict[str, dict[str, float]]:
    """The answer metrics of each group of questions (none when the set has no groups)."""
    groups = sorted({i.group for i in items if i.group})
    out = {}
    for group in groups:
        picked = [n for n, i in enumerate(items) if i.group == group]
        out[group] = {
            "questions": len(picked),
            **answer_metrics(
                [items[n] for n in picked], [results[n] for n in picked], [hits[n] for n in picked]
            ),
        }
    return out


def latency_metrics(run: GraphPass, hit_seconds: list[float]) -> dict[str, Any]:
    return {
        "end_to_end": _latency(run.end_to_end),
        "nodes": {node: _latency(seconds) for node, seconds in sorted(run.node_seconds.items())},
        "cache_hit_p50_ms": round(percentile_ms(hit_seconds, 50), 3),
        "cache_hit_p95_ms": round(percentile_ms(hit_seconds, 95), 3),
        "graph_overhead_share_p50": (
            round(statistics.median(run.overhead), 4) if run.overhead else 0.0
        ),
    }


def question_rows(
    items: list[EvalItem],
    results: list[OutputState],
    ragas: dict[str, Any] | None,
    hits: list[bool],
    rankings: list[list[str]] | None = None,
    k: int = 10,
) -> list[dict[str, Any]]:
    """One record per question: the report's question table, and what the gate's calibration
    resamples (each gated metric is a mean of these per-question values)."""

    def retrieval(n: int, item: EvalItem) -> dict[str, float]:
        if rankings is None or not item.positive_ids:
            return {}
        relevant = set(item.positive_ids)
        return {
            "R@1": recall_at(rankings[n], relevant, 1),
            f"RR@{k}": reciprocal_rank(rankings[n], relevant, k),
        }

    return [
        {
            "id": i.id,
            "question": i.question,
            "gold": i.answers,
            "answer": r.get("answer", ""),
            "contains_gold": contains_gold(r.get("answer", ""), i.answers),
            "token_f1": round(token_f1(r.get("answer", ""), i.answers), 4),
            "grounded_score": r.get("grounded", {}).get("score"),
            "fallback_reason": r.get("fallback_reason"),
            "sources": [{"doc_id": s["doc_id"], "title": s["title"]} for s in r.get("sources", [])],
            "path": [p["node"] for p in r.get("path", [])],
            "grounded": bool(r.get("grounded", {}).get("value")),
            "citation_valid": citations_valid(r.get("citations", []), r.get("sources", [])),
            "hallucinated": (
                not all(checks) if (checks := grounding_checks(r.get("path", []))) else None
            ),
            "cache_hit_second_pass": hits[n],
            "answer_chars": len(r.get("answer", "")),
            "retrieval": retrieval(n, i),
            **({"ragas": ragas["per_question"][n]} if ragas else {}),
        }
        for n, (i, r) in enumerate(zip(items, results, strict=True))
    ]


def run_rag_benchmark(
    settings: Settings,
    passages: list[Passage],
    items: list[EvalItem],
    limit: int | None = None,
    progress: bool = True,
    k: int = 10,
    judge: Any | None = None,
    with_ragas: bool = True,
) -> dict[str, Any]:
    """Ingest the passages into a fresh in-memory store, answer every question through the
    graph, ask them all again (cache), rank them (retrieval), score the answers (Ragas), and
    run the bm25s baseline."""
    items = items[:limit] if limit else items
    services = build_services(settings, location=":memory:")
    timer = NodeTimes()
    try:
        documents = [p.as_document() for p in passages]
        ingest_documents(documents, services.retrieval.kb, settings, progress=progress)
        graph = build_graph(services=services, observers=[timer])
        run = answer_pass(graph, items, timer, progress)
        hit_seconds, hits = cache_pass(graph, items, progress)
        retrieval, rankings = None, None
        if any(i.positive_ids for i in items):
            rankings, latencies = rank_queries(services.retrieval, [i.question for i in items], k)
            retrieval = summarize(rankings, [set(i.positive_ids) for i in items], latencies, k)
        kb = services.retrieval.kb
        embeddings = LangChainEmbeddings(kb.embedder) if kb.embedder and kb.has_dense else None
        config = {
            "services": services.running.describe(),
            "settings": settings.model_dump(mode="json"),
        }
    finally:
        services.close()
    ragas = None
    if with_ragas:
        rows = [
            RagasRow(
                i.question,
                r.get("answer", ""),
                [s["text"] for s in r.get("sources", [])],
                i.answers[0] if i.answers else "",
                i.reference_contexts,
            )
            for i, r in zip(items, run.results, strict=True)
        ]
        ragas = run_ragas(
            rows, judge=judge, embeddings=embeddings if judge else None, progress=progress
        )
    return {
        "dataset": {"passages": len(passages), "queries": len(items)},
        "answers": answer_metrics(items, run.results, hits),
        "groups": group_metrics(items, run.results, hits),
        "retrieval": retrieval,
        "ragas": ragas["metrics"] if ragas else None,
        "ragas_skipped": ragas["skipped"] if ragas else None,
        "latency": latency_metrics(run, hit_seconds),
        "baselines": {"bm25s_extractive": run_baseline(passages, items, k)},
        "config": config,
        "questions": question_rows(items, run.results, ragas, hits, rankings, k),
    }
