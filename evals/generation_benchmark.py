"""`vinarag eval generate`: how fast the configured generator answers RAG-sized prompts.

Prompts are built from the knowledge base itself (its documents' titles as questions, the
retrieved passages as sources, 1, 3 and 5 of them), so they are as long as the product's own.
Each answer is streamed: time to first token is the prompt's cost, tokens/s after it the
decoding's. With several streams at once they go through as many threads as the server would
give them (`Settings.graph_threads`: one for a model in this process, so 8 streams of a local
PhoGPT queue behind each other exactly as 8 users would)."""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from tqdm import tqdm

from tools.errors import ServiceError
from tools.generate.base import Generation, GenerationRequest
from tools.generate.llm import ChatModelGenerator, build_prompt
from tools.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamTiming:
    first_token_s: float | None  # None: no token came
    seconds: float  # the whole answer, waiting for a thread included
    waited_s: float  # in the queue for a thread (a local model answers one at a time)
    tokens: int
    tokens_per_s: float | None  # decoding, after the first token


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 4) if present else None


def benchmark_questions(services: Services, limit: int) -> list[str]:
    """Questions about what the knowledge base holds: its documents' titles."""
    titles = [d.title for d in services.retrieval.kb.list_documents(limit=limit) if d.title]
    if not titles:
        raise ServiceError("the knowledge base is empty: ingest documents first (vinarag ingest)")
    return titles


def rag_requests(
    services: Services, questions: Sequence[str], sources: int, max_tokens: int
) -> list[GenerationRequest]:
    """One greedy request per question with its `sources` best passages, as the graph asks."""
    requests = []
    for question in questions:
        passages = services.retrieval.retriever.retrieve(question, top_k=sources)
        if len(passages) < sources:
            raise ServiceError(
                f"the knowledge base gave {len(passages)} passages for {question!r}, "
                f"{sources} asked: ingest more documents or ask for fewer --sources"
            )
        requests.append(
            GenerationRequest(question, passages, temperature=0.0, max_tokens=max_tokens)
        )
    return requests


def _timed(generator: ChatModelGenerator, request: GenerationRequest, pool_entry: float):
    started = time.perf_counter()
    result: Generation = generator.generate(request, on_token=lambda _piece: None)
    waited = started - pool_entry
    first = None if result.first_token_s is None else waited + result.first_token_s
    return StreamTiming(
        first_token_s=first,
        seconds=waited + result.seconds,
        waited_s=waited,
        tokens=result.tokens,
        tokens_per_s=result.tokens_per_s,
    )


def run_round(
    generator: ChatModelGenerator,
    requests: Sequence[GenerationRequest],
    streams: int,
    threads: int,
) -> dict[str, Any]:
    """`streams` answers asked at once (the requests taken in turn), `threads` at a time."""
    chosen = [requests[i % len(requests)] for i in range(streams)]
    start = time.perf_counter()
    with ThreadPoolExecutor(min(streams, threads)) as pool:
        timings = list(pool.map(lambda r: _timed(generator, r, start), chosen))
    wall = time.perf_counter() - start
    tokens = sum(t.tokens for t in timings)
    return {
        "wall_s": round(wall, 4),
        "tokens": tokens,
        "tokens_per_s_all": round(tokens / wall, 2) if wall > 0 else None,
        "streams": [asdict(t) for t in timings],
    }


def weights_bytes(generator: ChatModelGenerator) -> int | None:
    """A local model's weights as stored on its device (None for a model behind a server)."""
    pipeline = getattr(getattr(generator.chat_model, "llm", None), "pipeline", None)
    model = getattr(pipeline, "model", None)
    if model is None:
        return None
    return sum(p.numel() * p.element_size() for p in model.parameters())


def run_generation_benchmark(
    services: Services,
    sources: Sequence[int] = (1, 3, 5),
    streams: Sequence[int] = (1, 8),
    max_tokens: int = 128,
    repeats: int = 3,
    questions: Sequence[str] | None = None,
    bandwidth_gb_s: float | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    generator = services.generator
    if not generator.is_model or not isinstance(generator, ChatModelGenerator):
        raise ServiceError(
            "generator.kind is extractive: it has no tokens to time "
            "(set generator.kind to phogpt or openai)"
        )
    settings = services.settings
    asked = list(questions) if questions else benchmark_questions(services, max(streams))
    threads = settings.graph_threads
    weights = weights_bytes(generator)
    log.info("warming up %s", generator.name)
    generator.generate(rag_requests(services, asked[:1], min(sources), max_tokens=4)[0])
    rows = []
    todo = [(n, s) for n in sources for s in streams]
    for n, count in tqdm(todo, desc="generate", disable=not progress):
        requests = rag_requests(services, asked, n, max_tokens)
        prompt_tokens = (
            [generator.count_tokens(build_prompt(r)) for r in requests]
            if generator.count_tokens
            else None
        )
        rounds = [run_round(generator, requests, count, threads) for _ in range(repeats)]
        per_stream = [s for r in rounds for s in r["streams"]]
        rows.append(
            {
                "sources": n,
                "streams": count,
                "prompt_chars_median": _median([len(build_prompt(r)) for r in requests]),
                "prompt_tokens_median": _median(prompt_tokens) if prompt_tokens else None,
                "first_token_s_median": _median([s["first_token_s"] for s in per_stream]),
                "tokens_per_s_per_stream_median": _median([s["tokens_per_s"] for s in per_stream]),
                "tokens_per_s_all_median": _median([r["tokens_per_s_all"] for r in rounds]),
                "tokens_median": _median([s["tokens"] for s in per_stream]),
                "waited_s_median": _median([s["waited_s"] for s in per_stream]),
                "rounds": rounds,
            }
        )
    configured = settings.generator
    local = configured.kind == "phogpt"
    result: dict[str, Any] = {
        "generator": {
            "kind": configured.kind,
            "model": configured.model,
            "adapter": configured.adapter_path,
            "base_url": None if local else configured.base_url,
            "device": configured.device if local else None,
            "quantization": configured.quantization if local else None,
            "weights_bytes": weights,
        },
        "max_tokens": max_tokens,
        "repeats": repeats,
        "threads": threads,
        "questions": len(asked),
        "results": rows,
    }
    if bandwidth_gb_s and weights:
        # every decoded token reads every weight once: the card's ceiling for one stream
        result["bandwidth_limit_tokens_per_s"] = round(bandwidth_gb_s * 1e9 / weights, 1)
    return result


def format_generation(result: dict[str, Any]) -> str:
    g = result["generator"]
    lines = [
        f"{g['kind']} {g['model']} (threads {result['threads']}, max_tokens "
        f"{result['max_tokens']}, median of {result['repeats']})",
        f"  {'sources':>7} {'streams':>7} {'prompt tok':>10} {'TTFT s':>8} "
        f"{'tok/s/stream':>12} {'tok/s all':>10}",
    ]
    for row in result["results"]:
        lines.append(
            f"  {row['sources']:>7} {row['streams']:>7} {row['prompt_tokens_median']!s:>10} "
            f"{row['first_token_s_median']!s:>8} {row['tokens_per_s_per_stream_median']!s:>12} "
            f"{row['tokens_per_s_all_median']!s:>10}"
        )
    if "bandwidth_limit_tokens_per_s" in result:
        lines.append(
            f"  memory-bandwidth limit, one stream: {result['bandwidth_limit_tokens_per_s']} tok/s"
        )
    return "\n".join(lines)
