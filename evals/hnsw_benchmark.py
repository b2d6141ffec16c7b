"""`vinarag eval hnsw`: exact dense search against Qdrant's HNSW index, on real embeddings.

The passages are real law text (the files of a folder such as `laws-vn`, chunked as ingestion
chunks them at `--chunk-size`), embedded once by the bundled model (kept in `--cache`, so a
second run embeds nothing); the questions are pseudo-questions made from those laws
(`evals/law_questions.py`). For each size, an embedded store (Qdrant Edge) holds the first N
passages, once with no graph (exact search, the default) and once per HNSW setting (`m`,
`ef_construct`); each question is searched for its 30 nearest passages exactly and with each
`ef`, without a filter and with one that keeps a tenth of the passages (a collection, a law):
recall@30 of HNSW against exact, and p50 / p95 milliseconds of each."""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as edge
from tqdm import tqdm

from evals.law_questions import make_questions, read_law
from tools.corpus.documents import Document
from tools.ingest.pipeline import IngestReport, chunked_documents
from tools.kb.embedders import BundledEmbedder
from tools.kb.search import passage_text
from tools.settings import Settings

log = logging.getLogger(__name__)

K = 30
GROUPS = 10  # a filter keeps one group: a tenth of the passages
DENSE = "dense"


def law_passages(folder: Path, settings: Settings, chunk_size: int, limit: int) -> list[str]:
    """What the dense view embeds of each chunk of the folder's laws, in file order."""
    chunking = settings.chunking.model_copy(update={"size": chunk_size, "overlap": 0})
    settings = settings.model_copy(update={"chunking": chunking})
    texts: list[str] = []
    for path in sorted(folder.glob("*.txt")):
        document = Document(path.stem, path.stem, path.read_text("utf-8"), path.name)
        for item in chunked_documents([document], settings, IngestReport()):
            texts += [passage_text(c) for c in item.chunks]
        if len(texts) >= limit:
            break
    return texts[:limit]


def _embedded(texts: Sequence[str], cache: Path | None, embed: Any, what: str) -> np.ndarray:
    if cache is not None and cache.is_file():
        vectors = np.load(cache)
        if len(vectors) >= len(texts):
            return vectors[: len(texts)]
    out = []
    with tqdm(total=len(texts), desc=f"embedding {what}", unit="text") as bar:
        for start in range(0, len(texts), 64):
            part = list(texts[start : start + 64])
            out.append(embed(part))
            bar.update(len(part))
    vectors = np.concatenate(out).astype(np.float32)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, vectors)
    return vectors


def _shard(folder: Path, vectors: np.ndarray, hnsw: tuple[int, int] | None) -> Any:
    m, ef_construct = hnsw or (0, 100)
    config = edge.EdgeConfig(
        vectors={
            DENSE: edge.EdgeVectorParams(size=vectors.shape[1], distance=edge.Distance.Cosine)
        },
        hnsw_config=edge.HnswIndexConfig(m=m, ef_construct=ef_construct, full_scan_threshold=10),
        max_search_threads=1,
    )
    shard = edge.EdgeShard.create(str(folder), config)
    shard.update(edge.UpdateOperation.create_field_index("group", edge.PayloadSchemaType.Integer))
    for start in range(0, len(vectors), 1024):
        points = [
            edge.Point(uuid.UUID(int=i + 1), {DENSE: vectors[i].tolist()}, {"group": i % GROUPS})
            for i in range(start, min(start + 1024, len(vectors)))
        ]
        shard.update(edge.UpdateOperation.upsert_points(points))
    shard.flush()
    shard.optimize()  # builds the graph when m > 0
    return shard


def _search(
    shard: Any, query: np.ndarray, params: Any, group: int | None
) -> tuple[list[int], float]:
    flt = None
    if group is not None:
        flt = edge.Filter(must=[edge.FieldCondition("group", match=edge.MatchValue(group))])
    began = time.perf_counter()
    found = shard.query(
        edge.QueryRequest(
            limit=K,
            query=edge.Query.Nearest(query.tolist(), using=DENSE),
            filter=flt,
            params=params,
        )
    )
    return [p.id.int - 1 for p in found], (time.perf_counter() - began) * 1000


def _ms(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 3)


def run_hnsw_benchmark(
    settings: Settings,
    folder: Path,
    sizes: Sequence[int] = (10_000, 51_000),
    questions: int = 200,
    hnsw: Sequence[tuple[int, int]] = ((16, 100), (16, 200), (32, 200)),
    efs: Sequence[int] = (64, 128, 256),
    chunk_size: int = 400,
    cache: Path | None = None,
) -> dict[str, Any]:
    passages = law_passages(folder, settings, chunk_size, max(sizes))
    laws = [read_law(p.name, p.read_text("utf-8")) for p in sorted(folder.glob("*.txt"))]
    asked = [q.question for q in make_questions(laws, questions, seed=5)[0]][:questions]
    embedder = BundledEmbedder(settings.dense.threads, engine=settings.dense.engine)
    vectors = _embedded(passages, cache, embedder.embed_passages, "passages")
    queries = embedder.embed_queries(asked)
    result: dict[str, Any] = {
        "passages": len(passages),
        "questions": len(asked),
        "engine": embedder.engine,
        "sizes": {},
    }
    for size in [s for s in sizes if s <= len(vectors)]:
        rows: list[dict[str, Any]] = []
        with tempfile.TemporaryDirectory(prefix="vinarag-hnsw-") as root:
            exact = _shard(Path(root) / "exact", vectors[:size], None)
            truth: dict[int | None, list[list[int]]] = {}
            for group in (None, 0):
                found = [_search(exact, q, edge.SearchParams(exact=True), group) for q in queries]
                truth[group] = [ids for ids, _ in found]
                rows.append(
                    {
                        "index": "exact",
                        "filter": group is not None,
                        "recall_at_30": 1.0,
                        "p50_ms": _ms([ms for _, ms in found], 50),
                        "p95_ms": _ms([ms for _, ms in found], 95),
                    }
                )
            exact.close()
            for m, ef_construct in hnsw:
                began = time.perf_counter()
                shard = _shard(
                    Path(root) / f"hnsw-{m}-{ef_construct}", vectors[:size], (m, ef_construct)
                )
                built = time.perf_counter() - began
                for ef in efs:
                    for group in (None, 0):
                        found = [
                            _search(shard, q, edge.SearchParams(hnsw_ef=ef), group) for q in queries
                        ]
                        recall = statistics.mean(
                            len(set(ids) & set(want)) / max(len(want), 1)
                            for (ids, _), want in zip(found, truth[group], strict=True)
                        )
                        rows.append(
                            {
                                "index": f"hnsw m={m} ef_construct={ef_construct} ef={ef}",
                                "filter": group is not None,
                                "recall_at_30": round(recall, 4),
                                "p50_ms": _ms([ms for _, ms in found], 50),
                                "p95_ms": _ms([ms for _, ms in found], 95),
                                "build_s": round(built, 1),
                            }
                        )
                        log.info("%d: %s", size, rows[-1])
                shard.close()
        result["sizes"][str(size)] = rows
    return result


def format_hnsw(result: dict[str, Any]) -> str:
    lines = [
        f"{result['passages']} law passages, {result['questions']} questions "
        f"({result['engine']} engine)"
    ]
    for size, rows in result["sizes"].items():
        lines.append(f"{size} passages:")
        for row in rows:
            where = "filtered" if row["filter"] else "all     "
            lines.append(
                f"  {row['index']:38} {where} recall@30 {row['recall_at_30']:.4f}  "
                f"p50 {row['p50_ms']} ms  p95 {row['p95_ms']} ms"
                + (f"  built in {row['build_s']} s" if "build_s" in row else "")
            )
    return "\n".join(lines)
