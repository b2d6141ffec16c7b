"""`vinarag eval asks`: messages that carry two questions about different passages, answered
with and without splitting them into asks (graph.max_asks 1 is the graph before splitting);
and single questions through both, which must answer the same."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from evals.answer_metrics import contains_gold
from evals.datasets import Passage
from evals.rag_benchmark import EvalItem
from evals.retrieval_metrics import percentile_ms
from graph import build_graph
from tools.ingest.pipeline import ingest_documents
from tools.services import build_services
from tools.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pair:
    first: EvalItem
    second: EvalItem

    @property
    def message(self) -> str:
        return f"{_asked(self.first.question)} {_asked(self.second.question)}"


def _asked(question: str) -> str:
    """A question as a person ends it in a message of several: with its question mark."""
    question = question.strip()
    return question if question.endswith("?") else question + "?"


def make_pairs(passages: list[Passage], items: list[EvalItem], count: int, seed: int) -> list[Pair]:
    """Questions paired at random (seeded), each pair about passages of different titles."""
    title = {p.id: p.title for p in passages}
    pool = [i for i in items if i.positive_ids and i.answers]
    random.Random(seed).shuffle(pool)
    pairs: list[Pair] = []
    waiting: list[EvalItem] = []
    for item in pool:
        titles = {title.get(p) for p in item.positive_ids}
        partner = next(
            (w for w in waiting if not titles & {title.get(p) for p in w.positive_ids}), None
        )
        if partner is None:
            waiting.append(item)
            continue
        waiting.remove(partner)
        pairs.append(Pair(partner, item))
        if len(pairs) == count:
            break
    return pairs


def _found(result: dict[str, Any], item: EvalItem) -> tuple[bool, bool]:
    """(its gold passage among the sources, its gold answer in the answer)"""
    sources = {s["doc_id"] for s in result.get("sources", [])}
    return bool(sources & set(item.positive_ids)), contains_gold(
        result.get("answer", ""), item.answers
    )


def _rate(flags: list[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0


def _paired_figures(
    results: list[dict[str, Any]], pairs: list[Pair], seconds: list[float]
) -> dict[str, Any]:
    both_sources, one_source, both_answers, one_answer, split = [], [], [], [], []
    for result, pair in zip(results, pairs, strict=True):
        (s1, a1), (s2, a2) = _found(result, pair.first), _found(result, pair.second)
        both_sources.append(s1 and s2)
        one_source.append(s1 or s2)
        both_answers.append(a1 and a2)
        one_answer.append(a1 or a2)
        split.append(len(result.get("asks") or []) == 2)
    return {
        "both_passages_among_sources": _rate(both_sources),
        "at_least_one_passage": _rate(one_source),
        "both_gold_answers_in_answer": _rate(both_answers),
        "at_least_one_gold_answer": _rate(one_answer),
        "split_in_two": _rate(split),
        "p50_ms": round(percentile_ms(seconds, 50), 2),
        "p95_ms": round(percentile_ms(seconds, 95), 2),
    }


def _timed(graph: Any, message: str) -> tuple[dict[str, Any], float]:
    start = time.perf_counter()
    result = graph.invoke({"question": message})
    return result, time.perf_counter() - start


def run_asks_benchmark(
    settings: Settings,
    passages: list[Passage],
    items: list[EvalItem],
    pairs: int = 200,
    singles: int = 300,
    seed: int = 13,
    progress: bool = True,
) -> dict[str, Any]:
    """Both graphs share one store; the cache is off so every message is answered."""
    settings = settings.model_copy(
        update={"cache": settings.cache.model_copy(update={"enabled": False})}
    )
    before = settings.model_copy(
        update={"graph": settings.graph.model_copy(update={"max_asks": 1})}
    )
    services = build_services(settings, location=":memory:")
    try:
        ingest_documents(
            [p.as_document() for p in passages], services.retrieval.kb, settings, progress=progress
        )
        graphs = {
            "before (max_asks 1)": build_graph(before, services=services),
            f"after (max_asks {settings.graph.max_asks})": build_graph(services=services),
        }
        paired = make_pairs(passages, items, pairs, seed)
        single = [i for i in items if i.answers][:singles]
        # Every message through both graphs once untimed first: the question embeddings the
        # retriever keeps are then warm for both, so the timed passes compare like with like.
        for graph in graphs.values():
            for message in [p.message for p in paired] + [i.question for i in single]:
                graph.invoke({"question": message})
        figures: dict[str, Any] = {"paired": {}, "single": {}}
        answers: dict[str, list[str]] = {}
        for name, graph in graphs.items():
            runs = [
                _timed(graph, p.message)
                for p in tqdm(paired, desc=f"pairs, {name}", disable=not progress)
            ]
            figures["paired"][name] = _paired_figures(
                [r for r, _ in runs], paired, [s for _, s in runs]
            )
            runs = [
                _timed(graph, i.question)
                for i in tqdm(single, desc=f"singles, {name}", disable=not progress)
            ]
            answers[name] = [r.get("answer", "") for r, _ in runs]
            figures["single"][name] = {
                "gold_answer_in_answer": _rate(
                    [
                        contains_gold(r.get("answer", ""), i.answers)
                        for (r, _), i in zip(runs, single, strict=True)
                    ]
                ),
                "split": _rate([bool(r.get("asks")) for r, _ in runs]),
                "p50_ms": round(percentile_ms([s for _, s in runs], 50), 2),
                "p95_ms": round(percentile_ms([s for _, s in runs], 95), 2),
            }
        first, second = answers.values()
        figures["single"]["same_answer"] = _rate(
            [a == b for a, b in zip(first, second, strict=True)]
        )
    finally:
        services.close()
    return {
        "dataset": {"passages": len(passages), "pairs": len(paired), "singles": len(single)},
        **figures,
    }


def format_table(result: dict[str, Any]) -> str:
    counts = result["dataset"]
    lines = [f"{counts['pairs']} paired messages, {counts['singles']} single questions"]
    for name, figures in result["paired"].items():
        lines.append(f"  paired, {name}:")
        lines += [f"    {k:30} {v}" for k, v in figures.items()]
    for name, figures in result["single"].items():
        if isinstance(figures, dict):
            lines.append(f"  single, {name}:")
            lines += [f"    {k:30} {v}" for k, v in figures.items()]
    lines.append(f"  single, same answer both ways    {result['single']['same_answer']}")
    return "\n".join(lines)
