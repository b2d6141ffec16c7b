"""`vinarag eval ingest-safety`: adversarial text shapes through the whole ingestion pipeline
(the reader process, cleaning, the legal header and article parsers, chunking, the sparse
encoder, the embedded store), in seconds per MB at two or more sizes. One text with no sentence
punctuation once stalled every key's uploads (a pattern quadratic in the sentence length): any
shape whose time grows faster than its size shows here as seconds per MB rising with the size.

Dense vectors are left out (the store is sparse-only): they are computed after a document is
searchable, per chunk, and chunks are bounded in size whatever the text's shape.
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tools.ingest.pipeline import IngestReport, chunked_documents, load_files
from tools.kb.backfill import write_documents
from tools.kb.factory import build_knowledge_base
from tools.kb.writes import ChunkedDocument
from tools.settings import Settings

log = logging.getLogger(__name__)

MB = 1 << 20
TARGET_MB_S = 1.0

_WORDS = (
    "người sử dụng đất có quyền và nghĩa vụ theo khoản 2 Điều 5 của Luật Đất đai số "
    "31/2024/QH15 kể từ ngày ký và được áp dụng đối với cơ quan tổ chức cá nhân "
)


def _repeat(unit: str, size: int) -> str:
    """`unit` repeated to about `size` bytes of UTF-8."""
    return unit * max(size // len(unit.encode("utf-8")), 1)


def no_punctuation(size: int) -> str:
    """Legal words and no . ; or line break: one endless sentence that no sentence pattern
    finds what it looks for in."""
    return _repeat(_WORDS, size)


def one_token(size: int) -> str:
    return "a" * size


def repeated_headings(size: int) -> str:
    """Outline headings and nothing under them: 10^5 of them in 2 MB."""
    return _repeat("Chương I\nQUY ĐỊNH CHUNG\nMục 1\n", size)


def nested_lists(size: int) -> str:
    """Lists nested ever deeper: each item one level below the one before."""
    lines, total, depth = [], 0, 0
    while total < size:
        line = "  " * (depth % 2000) + f"{depth % 9 + 1}. a) - mục thứ {depth}\n"
        lines.append(line)
        total += len(line.encode("utf-8"))
        depth += 1
    return "".join(lines)


def article_lines(size: int) -> str:
    """ "Điều N." lines with nothing under them: a law of 10^5 empty articles."""
    lines, total, n = [], 0, 1
    while total < size:
        line = f"Điều {n}. Phạm vi\n"
        lines.append(line)
        total += len(line.encode("utf-8"))
        n += 1
    return "".join(lines)


SHAPES: dict[str, Callable[[int], str]] = {
    "no_punctuation": no_punctuation,
    "one_token": one_token,
    "repeated_headings": repeated_headings,
    "nested_lists": nested_lists,
    "article_lines": article_lines,
}


def _ingest_once(path: Path, settings: Settings, store: Path) -> dict[str, float]:
    """Seconds per phase for one file into a fresh sparse-only store."""
    kb = build_knowledge_base(settings, location=str(store), embedder=None)
    try:
        report = IngestReport()
        began = time.perf_counter()
        documents = load_files([path], settings, report, progress=False)
        read = time.perf_counter()
        chunked: list[ChunkedDocument] = chunked_documents(documents, settings, report)
        prepared = time.perf_counter()
        write_documents(kb, [(item.document, item.chunks) for item in chunked], optimize=False)
        kb.optimize()
        written = time.perf_counter()
    finally:
        kb.close()
    if report.failed:
        log.warning("%s: %s", path.name, report.failed)
    return {
        "read_s": read - began,
        "prepare_s": prepared - read,
        "write_s": written - prepared,
        "total_s": written - began,
        "chunks": float(sum(len(item.chunks) for item in chunked)),
        "failed": float(len(report.failed)),
    }


def run_ingest_safety(
    settings: Settings,
    sizes_mb: Sequence[float] = (1.0, 4.0),
    shapes: Sequence[str] = tuple(SHAPES),
    repeats: int = 3,
) -> dict[str, Any]:
    """Each shape at each size, `repeats` times (median)."""
    rows: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="vinarag-safety-") as tmp:
        folder = Path(tmp)
        for shape in shapes:
            rows[shape] = []
            for mb in sizes_mb:
                path = folder / f"{shape}-{mb:g}.txt"
                path.write_text(SHAPES[shape](int(mb * MB)), "utf-8")
                runs = [
                    _ingest_once(path, settings, folder / f"store-{shape}-{mb:g}-{i}")
                    for i in range(repeats)
                ]
                median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
                size_mb = path.stat().st_size / MB
                row = {"mb": round(size_mb, 2), **{k: round(v, 3) for k, v in median.items()}}
                row["s_per_mb"] = round(median["total_s"] / size_mb, 3)
                row["mb_per_s"] = round(size_mb / median["total_s"], 2)
                rows[shape].append(row)
                log.info("%s %.1f MB: %.2f s/MB", shape, size_mb, row["s_per_mb"])
    verdicts = {}
    for shape, measured in rows.items():
        slowest = min(r["mb_per_s"] for r in measured)
        growth = measured[-1]["s_per_mb"] / max(measured[0]["s_per_mb"], 1e-9)
        verdicts[shape] = {
            "slowest_mb_per_s": slowest,
            "s_per_mb_growth": round(growth, 2),  # ~1: linear; ~size ratio: quadratic
            "meets_target": slowest >= TARGET_MB_S,
        }
    return {
        "sizes_mb": list(sizes_mb),
        "repeats": repeats,
        "target_mb_per_s": TARGET_MB_S,
        "shapes": rows,
        "verdicts": verdicts,
        "passed": all(v["meets_target"] for v in verdicts.values()),
    }


POISON_KEY, OTHER_KEY = "poison-key-0123456789abcdef", "other-key-0123456789abcdef"


def poison_to_next_job(poison_mb: float = 19.0) -> dict[str, Any]:
    """Against a `vinarag serve` of its own with two keys: one uploads a text of one endless
    token (`poison_mb`, the shape that once stalled every key), the other a one-page text right
    after. How long the second key's job waits to start, and to be searchable."""
    import json

    import httpx

    from evals.soak_benchmark import default_port, own_server

    keys = json.dumps(
        [
            {"name": "poison", "key": POISON_KEY, "read": ["*"], "write": ["*"]},
            {"name": "other", "key": OTHER_KEY, "read": ["*"], "write": ["*"]},
        ]
    )
    poison = ("poison.txt", b"a" * int(poison_mb * MB), "text/plain")
    page = ("mot-trang.txt", (_WORDS + ". ").encode("utf-8") * 20, "text/plain")
    env = {"VINARAG_API_KEYS": keys, "VINARAG_SERVER__MAX_UPLOAD_MB": str(poison_mb + 1)}
    with own_server(default_port(), env) as (url, _), httpx.Client(base_url=url, timeout=600) as c:
        sent = time.time()
        first = c.post("/documents/files", files={"files": poison},
                       headers={"X-API-Key": POISON_KEY})  # fmt: skip
        second = c.post("/documents/files", files={"files": page},
                        headers={"X-API-Key": OTHER_KEY})  # fmt: skip
        first.raise_for_status()
        second.raise_for_status()
        jobs = {"poison": first.json()["id"], "other": second.json()["id"]}
        states: dict[str, dict[str, Any]] = {}
        while True:
            for name, job_id in jobs.items():
                states[name] = c.get(f"/jobs/{job_id}", headers={"X-API-Key": OTHER_KEY}).json()
            if all(s["state"] in ("searchable", "done", "failed") for s in states.values()):
                break
            time.sleep(0.2)
    other, bad = states["other"], states["poison"]
    return {
        "poison_mb": poison_mb,
        "other_started_after_s": round(other["started_at"] - sent, 2),
        "other_searchable_after_s": round(other["searchable_at"] - sent, 2),
        "poison_state": bad["state"],
        "poison_searchable_after_s": round((bad["searchable_at"] or time.time()) - sent, 2),
        "poison_error": bad["error"],
    }


def format_ingest_safety(result: dict[str, Any]) -> str:
    lines = [
        f"{'shape':18} {'MB':>6} {'read s':>7} {'prep s':>7} {'write s':>7} {'s/MB':>7} "
        f"{'MB/s':>6} {'chunks':>7}"
    ]
    for shape, rows in result["shapes"].items():
        for row in rows:
            lines.append(
                f"{shape:18} {row['mb']:>6} {row['read_s']:>7} {row['prepare_s']:>7} "
                f"{row['write_s']:>7} {row['s_per_mb']:>7} {row['mb_per_s']:>6} "
                f"{int(row['chunks']):>7}"
            )
    lines.append("")
    if poison := result.get("poison"):
        lines.append(
            f"a {poison['poison_mb']:g} MB one-token upload, then another key's one page: that "
            f"job started after {poison['other_started_after_s']} s, searchable after "
            f"{poison['other_searchable_after_s']} s (the poison: {poison['poison_state']} "
            f"after {poison['poison_searchable_after_s']} s)"
        )
    for shape, verdict in result["verdicts"].items():
        mark = "ok" if verdict["meets_target"] else "BELOW TARGET"
        lines.append(
            f"{shape:18} slowest {verdict['slowest_mb_per_s']} MB/s, s/MB x"
            f"{verdict['s_per_mb_growth']} from the smallest size to the largest: {mark}"
        )
    return "\n".join(lines)
