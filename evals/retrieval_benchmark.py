"""`vinarag eval retrieval`: this system against a bm25s baseline, side by side, in one run.

The corpus goes into a temporary in-memory Qdrant store (never the user's) through the same
ingestion, retrieval and rerank code the graph uses; ranks are counted per passage id. Query
embedding is timed apart from search (each question is embedded once before it is searched, so
the search finds it in the query-embedding cache). `--distractors N,...` pads the corpus with N
synthetic passages per run to measure speed and quality at size; `--strip-tones` asks every
question as typed without marks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from tqdm import tqdm

from evals.bm25_baseline import BM25Baseline
from evals.datasets import Passage, Query, load_corpus, load_queries
from evals.retrieval_metrics import percentile_ms, summarize
from tools.ingest.pipeline import ingest_documents
from tools.kb.embedders import Embedder
from tools.kb.factory import RetrievalStack, build_retrieval_stack, configured_embedder
from tools.kb.search import DENSE_VIEW
from tools.kb.store import KnowledgeBase
from tools.settings import Settings
from tools.text.tones import strip_tones

log = logging.getLogger(__name__)


def _dedupe(doc_ids: list[str]) -> list[str]:
    return list(dict.fromkeys(doc_ids))


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
        rankings.append(_dedupe([h["doc_id"] for h in hits])[:k])
    return rankings, latencies


def embed_queries(stack: RetrievalStack, questions: list[str]) -> list[float]:
    """Embed each question once (into the query cache) as retrieval will; the time each took."""
    if stack.retriever.mode == "sparse":
        return []
    seconds = []
    for question in questions:
        text = stack.retriever.dense_query_text(question)
        start = time.perf_counter()
        stack.kb.embed_query(text)
        seconds.append(time.perf_counter() - start)
    return seconds


def _rss_mb() -> float:
    return round(psutil.Process().memory_info().rss / 2**20, 1)


# Run in a fresh process: what a server pays to open this store and answer its first search.
_OPEN_PROBE = """
import json, sys, time
start = time.perf_counter()
import psutil
from qdrant_client import models
from tools.kb.edge import EdgeClient
from tools.kb.sparse import VIEWS, BM25Encoder
from tools.kb.search import DENSE_VIEW
from tools.kb.store import KnowledgeBase
imported = time.perf_counter()
kb = KnowledgeBase(EdgeClient(__import__("pathlib").Path(sys.argv[1])), sys.argv[2], BM25Encoder())
kb.stats()
opened = time.perf_counter()
kb.search(VIEWS[0], BM25Encoder.encode_query(sys.argv[3].split()), 10)
answered = time.perf_counter()
print(json.dumps({"open_s": round(opened - imported, 3),
                  "first_search_ms": round((answered - opened) * 1000, 2),
                  "rss_after_open_mb": round(psutil.Process().memory_info().rss / 2**20, 1)}))
kb.client.close()
"""


class _TimedEmbedder:
    """The configured embedder, with the time its passage embedding took summed: an index
    time split into embedding and the rest (chunking, segmentation, sparse encoding, writing).
    With `cache` (a .npz file), passages embedded by an earlier run with the same model are
    taken from it (their time is not counted) and the new ones added to it: a second run at
    size measures the search, not the embedding again."""

    def __init__(self, inner: Embedder, cache: Path | None = None) -> None:
        self.inner = inner
        self.name, self.dim = inner.name, inner.dim
        self.passage_s = 0.0
        self.cached = 0
        self.cache = cache
        self._added = False
        self._known: dict[str, np.ndarray] = {}
        if cache is not None and cache.is_file():
            with np.load(cache) as saved:
                if str(saved["model"]) == inner.name:
                    self._known = dict(zip(saved["keys"].tolist(), saved["vectors"], strict=True))

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        missing = [i for i, k in enumerate(keys) if k not in self._known]
        self.cached += len(texts) - len(missing)
        if missing:
            start = time.perf_counter()
            try:
                vectors = self.inner.embed_passages([texts[i] for i in missing])
            finally:
                self.passage_s += time.perf_counter() - start
            for i, vector in zip(missing, vectors, strict=True):
                self._known[keys[i]] = np.asarray(vector, dtype=np.float32)
            self._added = True
        return np.stack([self._known[k] for k in keys])

    def save(self) -> None:
        """Written only when this run embedded something new (the file is 85 MB at 50k)."""
        if self.cache is None or not self._added:
            return
        self.cache.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self._known)
        np.savez(
            self.cache,
            model=np.array(self.name),
            keys=np.array(keys),
            vectors=np.stack([self._known[k] for k in keys]),
        )


def _time_store_writes(kb: KnowledgeBase) -> list[float]:
    """Seconds the store spends writing points (and optimising), summed into the list's one
    element: "writing the points" apart from chunking, segmentation and embedding."""
    spent = [0.0]
    for name in ("write", "optimize"):
        method = getattr(kb, name)

        def timed(*args: Any, _method: Any = method, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return _method(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - began

        setattr(kb, name, timed)
    return spent


def _open_in_a_fresh_process(kb: KnowledgeBase, word: str) -> dict[str, float]:
    """The embedded store reopened by another process (this one lets go of it first)."""
    kb.client.release()  # its shards open again on the next use
    done = subprocess.run(
        [sys.executable, "-c", _OPEN_PROBE, str(kb.client.root), kb.collection, word],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _against_exact(
    stack: RetrievalStack, questions: list[str], relevants: list[set[str]], k: int, progress: bool
) -> dict[str, Any]:
    """With an HNSW graph: the same questions with exact dense search (quality and latency under
    `exact`), the graph's recall@30 of exact search's dense top 30 at the configured ef
    (`dense_recall_at_30`), and dense search alone at other efs (`dense_by_ef`: recall@30, p50
    ms), exact included."""
    kb = stack.kb
    if kb.dense_search.exact or not kb.has_dense or kb.embedder is None:
        return {}
    graph = kb.dense_search
    configured = graph.hnsw_ef or 256
    vectors = kb.embedder.embed_queries(questions)

    def dense(params: Any) -> tuple[list[set[str]], float]:
        kb.dense_search = params
        found, spent = [], []
        for vector in vectors:
            began = time.perf_counter()
            found.append({i for i, _ in kb.search(DENSE_VIEW, vector, 30)})
            spent.append(time.perf_counter() - began)
        return found, percentile_ms(spent, 50)

    def recall(found: list[set[str]], truth: list[set[str]]) -> float:
        shares = [len(a & b) / max(len(b), 1) for a, b in zip(found, truth, strict=True)]
        return round(float(np.mean(shares)), 4)

    try:
        truth, exact_ms = dense(graph.model_copy(update={"exact": True}))
        by_ef = {"exact": {"recall_at_30": 1.0, "p50_ms": round(exact_ms, 3)}}
        for ef in sorted({64, 128, 256, 512, configured}):
            found, ms = dense(graph.model_copy(update={"hnsw_ef": ef}))
            by_ef[str(ef)] = {"recall_at_30": recall(found, truth), "p50_ms": round(ms, 3)}
        kb.dense_search = graph.model_copy(update={"exact": True})
        rankings, latencies = rank_queries(stack, questions, k, progress)
    finally:
        kb.dense_search = graph
    return {
        "dense_recall_at_30": by_ef[str(configured)]["recall_at_30"],
        "hnsw_ef": graph.hnsw_ef,
        "dense_by_ef": by_ef,
        "exact": summarize(rankings, relevants, latencies, k),
    }


def run_system(
    settings: Settings,
    corpus: list[Passage],
    queries: list[Query],
    k: int,
    progress: bool,
    vectors_cache: Path | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    # Every question must stay in the query cache between embedding and search.
    dense = settings.dense.model_copy(
        update={"query_cache_size": max(settings.dense.query_cache_size, len(queries))}
    )
    settings = settings.model_copy(update={"dense": dense})
    relevants = [set(q.positive_ids) for q in queries]
    embedder = configured_embedder(settings)
    timed = _TimedEmbedder(embedder, vectors_cache) if embedder else None
    stack = build_retrieval_stack(settings, ":memory:", timed)
    writing = _time_store_writes(stack.kb)
    try:
        start = time.perf_counter()
        report = ingest_documents(
            [p.as_document() for p in corpus], stack.kb, settings, progress=progress
        )
        index_s = time.perf_counter() - start
        if report.failed or report.skipped:
            log.warning("benchmark corpus: %s", report.summary())
        opened = (
            _open_in_a_fresh_process(stack.kb, corpus[0].text.split()[0])
            if not stack.kb.backend.many_processes and corpus
            else {}
        )
        questions = [q.question for q in queries]
        embed_seconds = embed_queries(stack, questions)
        rankings, latencies = rank_queries(stack, questions, k, progress)
        exact = _against_exact(stack, questions, relevants, k, progress)
        config = {
            "retrieval_mode": stack.retriever.mode,
            "weights": stack.retriever.weights(),
            "weights_unmarked": stack.retriever.weights(unmarked=True),
            "reranker": stack.reranker.name,
            "dense_model": stack.kb.embedder.name
            if stack.kb.embedder and stack.kb.has_dense
            else None,
            "sparse": settings.sparse.model_dump(),
            "chunking": settings.chunking.model_dump(),
            "rerank": settings.rerank.model_dump(),
            "candidate_k": settings.retrieval.candidate_k,
            "dense_weight": settings.retrieval.dense_weight,
            "chunks_indexed": stack.kb.count(),
        }
        costs = {
            "index_s": round(index_s, 2),
            "embed_s": round(timed.passage_s, 2) if timed else 0.0,
            "passages_from_cache": timed.cached if timed else 0,
            "index_without_embedding_s": round(index_s - (timed.passage_s if timed else 0.0), 2),
            "write_points_s": round(writing[0], 2),  # the store's own writes and optimisation
            **opened,
            "query_embed_p50_ms": round(percentile_ms(embed_seconds, 50), 3)
            if embed_seconds
            else None,
            "rss_mb": _rss_mb(),
        }
    finally:
        stack.close()
        if timed is not None:
            timed.save()
    return {**summarize(rankings, relevants, latencies, k), **costs, **exact}, config


def run_bm25s(corpus: list[Passage], queries: list[Query], k: int) -> dict[str, Any]:
    start = time.perf_counter()
    baseline = BM25Baseline([p.id for p in corpus], [p.text for p in corpus])
    index_s = time.perf_counter() - start
    rankings, latencies = [], []
    for query in queries:
        start = time.perf_counter()
        rankings.append([d for d, _ in baseline.search(query.question, k)])
        latencies.append(time.perf_counter() - start)
    result = summarize(rankings, [set(q.positive_ids) for q in queries], latencies, k)
    return {**result, "index_s": round(index_s, 2)}


_WORD = re.compile(r"\S+")


def make_distractors(corpus: Sequence[Passage], n: int, seed: int = 13) -> list[Passage]:
    """N passages made of the words of real passages, shuffled: half the words of one passage
    and as many drawn from another, under a third one's title. Vocabulary and lengths stay
    realistic; no distractor holds a real passage's sentences, nor all of its words (a shuffle of
    one passage alone would tie with it for any bag-of-words ranker)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        first = _WORD.findall(corpus[rng.randrange(len(corpus))].text)
        second = _WORD.findall(corpus[rng.randrange(len(corpus))].text)
        half = (len(first) + 1) // 2
        words = rng.sample(first, half) + rng.choices(second, k=max(len(first) - half, 1))
        rng.shuffle(words)
        title = corpus[rng.randrange(len(corpus))].title
        out.append(Passage(f"distractor-{i:06d}", title, " ".join(words)))
    return out


def run_benchmark(
    settings: Settings,
    corpus_path: Path,
    queries_path: Path,
    k: int = 10,
    limit: int | None = None,
    progress: bool = True,
    strip: bool = False,
    distractors: Sequence[int] = (),
    vectors_cache: Path | None = None,
) -> dict[str, Any]:
    corpus = load_corpus(corpus_path)
    queries = load_queries(queries_path)[:limit] if limit else load_queries(queries_path)
    if strip:
        queries = [replace(q, question=strip_tones(q.question)) for q in queries]
    dataset = {
        "corpus": str(corpus_path),
        "queries_file": str(queries_path),
        "passages": len(corpus),
        "queries": len(queries),
        "k": k,
        "strip_tones": strip,
    }
    runs = []
    for n in distractors or [0]:
        padded = corpus + make_distractors(corpus, n) if n else corpus
        system, config = run_system(settings, padded, queries, k, progress, vectors_cache)
        runs.append(
            {
                "distractors": n,
                "passages": len(padded),
                "system": system,
                "baselines": {"bm25s": run_bm25s(padded, queries, k)},
                "config": config,
            }
        )
    if not distractors:
        return {"dataset": dataset, **runs[0]}
    return {"dataset": dataset, "sizes": runs}


_QUALITY = ("R@1", "R@5", "MRR@10", "nDCG@10")


def format_table(result: dict[str, Any]) -> str:
    data = result["dataset"]
    head = f"{data['passages']} passages, {data['queries']} queries, k={data['k']}"
    if data.get("strip_tones"):
        head += ", questions stripped of tone marks"
    lines = [head]
    if "sizes" not in result:
        system = result["system"]
        names = [n for n in system if not isinstance(system[n], dict)]
        rows = [("system", system), *result["baselines"].items()]
        widths = [max(12, len(n) + 2) for n in names]
        lines.append(f"{'':10}" + "".join(f"{n:>{w}}" for n, w in zip(names, widths, strict=True)))
        for label, m in rows:
            cells = (f"{m.get(n, '')!s:>{w}}" for n, w in zip(names, widths, strict=True))
            lines.append(f"{label:10}" + "".join(cells))
        return "\n".join(lines)
    quality = [q for q in _QUALITY if q in result["sizes"][0]["system"]]
    columns = [
        *quality,
        "p50_ms",
        "p95_ms",
        "dense_recall_at_30",
        "query_embed_p50_ms",
        "index_s",
        "index_without_embedding_s",
        "write_points_s",
        "open_s",
        "first_search_ms",
        "rss_after_open_mb",
        "rss_mb",
    ]
    lines.append(f"{'chunks':>8} {'method':8}" + "".join(f"{c:>20}" for c in columns))
    for run in result["sizes"]:
        exact = [("exact", run["system"]["exact"])] if "exact" in run["system"] else []
        for label, m in [("system", run["system"]), *exact, ("bm25s", run["baselines"]["bm25s"])]:
            row = "".join(f"{m.get(c, '-')!s:>20}" for c in columns)
            lines.append(f"{run['passages']:>8} {label:8}" + row)
    return "\n".join(lines)
