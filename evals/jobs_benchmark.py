"""`vinarag eval jobs`: ingestion as a user meets it, against a `vinarag serve` of its own (a
fresh data folder with the demo knowledge base, this process's settings: the default runs the
bundled dense model and the worker processes).

- upload to answer: a 20-page text (shared-set paragraphs, about 2,500 characters a page) is
  uploaded, and one of its questions asked until the answer cites the upload and holds the
  expected answer: seconds from the upload, for several documents (median).
- questions during a large ingest: `/rag/invoke` latency of distinct questions (cache misses),
  one at a time, first idle, then while an 8 MB text is ingested (its sparse writes, then the
  start of its dense backfill).
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from evals.load.questions import QUESTIONS
from evals.retrieval_metrics import percentile_ms
from evals.soak_benchmark import default_port, own_server

log = logging.getLogger(__name__)

PAGE_CHARS = 2500


@dataclass(frozen=True)
class Asked:
    question: str
    answer: str
    paragraph_id: str


def _paragraphs(corpus: Path) -> dict[str, str]:
    with corpus.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    return {row["id"]: row["text"] for row in rows}


def _questions(queries: Path) -> list[Asked]:
    with queries.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    return [Asked(r["question"], r["answers"][0], r["positive_ids"][0]) for r in rows]


def twenty_pages(paragraphs: dict[str, str], asked: Asked, pages: int = 20) -> str:
    """The paragraph that answers `asked` amid others, about `pages` pages in all."""
    ids = sorted(paragraphs)
    start = ids.index(asked.paragraph_id)
    chosen, size = [], 0
    for pid in ids[start:] + ids[:start]:
        chosen.append(paragraphs[pid])
        size += len(paragraphs[pid])
        if size >= pages * PAGE_CHARS:
            break
    return "\n\n".join(chosen[1:10] + chosen[:1] + chosen[10:])  # the answer mid-document


def megabytes(paragraphs: dict[str, str], mb: float, label: str = "Phần") -> str:
    """A large text of numbered copies of the paragraphs (each chunk distinct)."""
    parts, size, n = [], 0, 0
    texts = list(paragraphs.values())
    while size < mb * 2**20:
        part = f"{label} {n}. {texts[n % len(texts)]}"
        parts.append(part)
        size += len(part.encode())
        n += 1
    return "\n\n".join(parts)


def _cited(output: dict[str, Any], name: str, expected: str) -> bool:
    """The answer cites a passage of the upload that holds the expected answer."""
    return any(
        str(s.get("doc_id", "")).startswith(name)
        and expected.lower() in str(s.get("text", "")).lower()
        for s in output.get("sources") or []
    )


def upload_to_answer(
    client: httpx.Client, text: str, asked: Asked, name: str, limit_s: float = 120
) -> float | None:
    """Seconds from the upload to a correct answer; None when none came within `limit_s`."""
    began = time.perf_counter()
    files = [("files", (f"{name}.txt", text.encode(), "text/plain"))]
    response = client.post("/documents/files", files=files)
    response.raise_for_status()
    while time.perf_counter() - began < limit_s:
        out = client.post("/rag/invoke", json={"input": {"question": asked.question}})
        if out.status_code == 200 and _cited(out.json()["output"], name, asked.answer):
            return time.perf_counter() - began
        time.sleep(0.1)
    log.warning("%s: no correct answer within %s s", name, limit_s)
    return None


def _embedded(client: httpx.Client, limit_s: float) -> None:
    """Until no chunk waits for its dense vector (or `limit_s`)."""
    ends = time.perf_counter() + limit_s
    while time.perf_counter() < ends:
        if client.get("/readyz").json()["knowledge_base"].get("dense_waiting", 0) == 0:
            return
        time.sleep(0.5)
    log.warning("dense backfill still running after %s s", limit_s)


def _distinct_questions() -> Iterator[str]:
    n = 0
    while True:
        yield f"{QUESTIONS[n % len(QUESTIONS)]} ({n})"
        n += 1


def _latencies(client: httpx.Client, questions: Iterator[str], until: Any) -> list[float]:
    seen: list[float] = []
    while not until():
        began = time.perf_counter()
        client.post("/rag/invoke", json={"input": {"question": next(questions)}}).raise_for_status()
        seen.append(time.perf_counter() - began)
    return seen


def _summary(seconds: list[float]) -> dict[str, float]:
    return {
        "n": len(seconds),
        "p50_ms": round(percentile_ms(seconds, 50), 1),
        "p95_ms": round(percentile_ms(seconds, 95), 1),
    }


def run_jobs_benchmark(
    corpus: Path, queries: Path, documents: int = 3, ingest_mb: float = 8, idle_s: float = 60,
    backfill_s: float = 60,
) -> dict[str, Any]:  # fmt: skip
    paragraphs, asked = _paragraphs(corpus), _questions(queries)
    picks = asked[:: max(len(asked) // documents, 1)][:documents]
    with own_server(default_port()) as (url, _), httpx.Client(base_url=url, timeout=120) as client:
        found = [
            upload_to_answer(client, twenty_pages(paragraphs, a), a, f"tai-lieu-{i}")
            for i, a in enumerate(picks)
        ]
        seconds = [s for s in found if s is not None] or [float("nan")]
        log.info("upload to answer: %s s", [round(s, 2) for s in seconds])
        _embedded(client, 600)  # the uploads' dense backfill ends before the idle baseline
        questions = _distinct_questions()
        ends = time.perf_counter() + idle_s
        idle = _latencies(client, questions, lambda: time.perf_counter() > ends)
        large = megabytes(paragraphs, ingest_mb)
        began = time.perf_counter()
        job = client.post(
            "/documents/files", files=[("files", ("lon.txt", large.encode(), "text/plain"))]
        ).json()

        def searchable() -> bool:
            return client.get(job["url"]).json()["state"] in ("searchable", "done", "failed")

        during = _latencies(client, questions, searchable)
        sparse_s = time.perf_counter() - began
        state = client.get(job["url"]).json()
        ends = time.perf_counter() + backfill_s
        backfill = _latencies(client, questions, lambda: time.perf_counter() > ends)
        embedded = client.get(job["url"]).json()
        # the backfill alone (no questions): what the embedding worker does on a quiet server
        before, quiet_began = embedded["chunks_embedded"], time.perf_counter()
        time.sleep(backfill_s)
        quiet = client.get(job["url"]).json()["chunks_embedded"] - before
        quiet_rate = quiet / (time.perf_counter() - quiet_began)
        # the same size again, with no questions: the sparse path on a quiet server
        began = time.perf_counter()
        files = [("files", ("lon-2.txt", megabytes(paragraphs, ingest_mb, "Mục").encode(),
                            "text/plain"))]  # fmt: skip
        second = client.post("/documents/files", files=files).json()
        while client.get(second["url"]).json()["state"] not in ("searchable", "done", "failed"):
            time.sleep(0.2)
        quiet_sparse_s = time.perf_counter() - began
        quiet_chunks = client.get(second["url"]).json()["chunks_total"]
    return {
        "upload_to_answer_s": {
            "runs": [round(s, 2) if s is not None else None for s in found],
            "median": round(statistics.median(seconds), 2),
            "pages": 20,
        },
        "ingest": {
            "mb": ingest_mb,
            "chunks": state["chunks_total"],
            "sparse_seconds": round(sparse_s, 1),
            "sparse_chunks_per_s": round(state["chunks_total"] / sparse_s, 1),
            "quiet_sparse_seconds": round(quiet_sparse_s, 1),
            "quiet_sparse_chunks_per_s": round(quiet_chunks / quiet_sparse_s, 1),
            "embedded_while_asked": embedded["chunks_embedded"],
            "backfill_chunks_per_s_quiet": round(quiet_rate, 2),
            "state": state["state"],
        },
        "rag_invoke": {
            "idle": _summary(idle),
            "during_sparse_ingest": _summary(during),
            "during_dense_backfill": _summary(backfill),
        },
    }


def format_jobs(result: dict[str, Any]) -> str:
    up, ingest, rag = result["upload_to_answer_s"], result["ingest"], result["rag_invoke"]
    lines = [
        f"upload to a correct answer, {up['pages']}-page text: median {up['median']} s "
        f"(runs {up['runs']})",
        f"{ingest['mb']} MB text: {ingest['chunks']} chunks searchable in "
        f"{ingest['sparse_seconds']} s ({ingest['sparse_chunks_per_s']} chunks/s) while "
        f"questions were asked, {ingest['quiet_sparse_seconds']} s "
        f"({ingest['quiet_sparse_chunks_per_s']} chunks/s) on a quiet server; dense "
        f"backfill: {ingest['embedded_while_asked']} chunks while questions were asked, then "
        f"{ingest['backfill_chunks_per_s_quiet']} chunks/s on a quiet server",
    ]
    for name, row in rag.items():
        lines.append(f"/rag/invoke {name}: p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms "
                     f"({row['n']} questions)")  # fmt: skip
    return "\n".join(lines)
