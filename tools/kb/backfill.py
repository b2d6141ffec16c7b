"""The dense backfill: chunks written searchable first (their sparse views) get their dense
vectors here, oldest write first, whoever wrote them. One owner for every writer: the command
line and `vinarag sync` drain it in the foreground (`drain`), the server runs it in a thread of
its own (`start`) that jobs and syncs wake. What waits is counted here too, one way."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from tools.corpus.documents import Chunk, DocKey, Document
from tools.errors import StoreError
from tools.kb.store import KnowledgeBase, PendingChunk
from tools.kb.writes import ChunkedDocument, UpsertStatus

log = logging.getLogger(__name__)

Embed = Callable[[Sequence[str]], np.ndarray]
RETRY_S = 10.0  # after a failed batch (a worker died, a model failed) in the background


class DenseBackfill:
    def __init__(self, kb: KnowledgeBase, embed: Embed | None = None, parallel: int = 1) -> None:
        """`embed`: passages to vectors (the server's ingestion workers); default: the store's
        own embedder, `dense.batch_size` at a time. `parallel`: batches a drain embeds at once
        (workers on other machines)."""
        self.kb = kb
        self.embed = embed or kb.embed_passages
        self.parallel = parallel
        self.error: str | None = None  # why the last background batch failed; None once one works
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_progress: Callable[[], None] | None = None

    # -- what waits ------------------------------------------------------------------------
    def waiting(self, keys: Collection[DocKey] | None = None) -> list[PendingChunk]:
        """The chunks without their dense vector (of the documents `keys`, or all), oldest
        write first; none when the store has no dense view."""
        if not self.kb.has_dense:
            return []
        return [c for c in self.kb.pending_dense() if keys is None or c.key in keys]

    def by_document(self) -> Counter[DocKey]:
        return Counter(chunk.key for chunk in self.waiting())

    def by_collection(self) -> dict[str, int]:
        return dict(Counter(chunk.key[0] for chunk in self.waiting()))

    # -- embedding -------------------------------------------------------------------------
    def embed_batch(self, chunks: Sequence[PendingChunk]) -> int:
        """Embed these waiting chunks; how many left the queue: got a vector, or were deleted
        meanwhile (forgotten). One rewritten meanwhile keeps waiting for its new text."""
        texts = self.kb.passage_texts([c.point_id for c in chunks])
        if gone := [c for c in chunks if c.point_id not in texts]:
            self.kb.drop_pending(gone)
        ready = [c for c in chunks if c.point_id in texts]
        if not ready:
            return len(gone)
        return len(gone) + self.kb.add_dense(ready, self.embed([texts[c.point_id] for c in ready]))

    def drain(
        self,
        keys: Collection[DocKey] | None = None,
        on_embedded: Callable[[int], None] | None = None,
    ) -> int:
        """Embed what waits (of the documents `keys`, or all) until nothing does, then
        optimise the store; how many chunks left the queue. `on_embedded` hears each batch's
        size (a progress bar)."""
        if self.kb.embedder is None:
            raise StoreError("no dense embedder is configured")
        done = 0
        size = max(self.kb.embed_batch, 1)
        while waiting := self.waiting(keys):
            parts = [waiting[start : start + size] for start in range(0, len(waiting), size)]
            settled = 0
            with ThreadPoolExecutor(self.parallel, "dense-drain") as pool:
                for part, left in zip(parts, pool.map(self.embed_batch, parts), strict=True):
                    settled += left
                    if on_embedded:
                        on_embedded(len(part))
            done += settled
            if not settled:  # every one rewritten faster than embedded: the next call goes on
                break
        if done:
            self.kb.optimize()  # the vectors into optimised segments (and a graph, if any)
        return done

    # -- in the background (the server) ----------------------------------------------------
    def start(self, on_progress: Callable[[], None] | None = None) -> None:
        """Embeds in a thread of its own whenever woken (and now: chunks an earlier run left
        waiting); `on_progress` hears after every batch (the jobs follow their chunks)."""
        self._on_progress = on_progress
        self._thread = threading.Thread(target=self._run, name="dense-backfill", daemon=True)
        self._thread.start()
        self._wake.set()

    def wake(self) -> None:
        """Chunks were written waiting for their dense vector."""
        self._wake.set()

    def stop(self) -> None:
        """Asks the thread to stop (a batch under way fails quietly once its embedder is
        stopped too: the chunks resume at the next start)."""
        self._stopping.set()
        self._wake.set()

    def close(self, timeout_s: float = 10.0) -> None:
        self.stop()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait()
            self._wake.clear()
            embedded = False
            while not self._stopping.is_set() and (waiting := self.waiting()):
                try:
                    self.embed_batch(waiting[: max(self.kb.embed_batch, 1)])
                    embedded = True
                    self.error = None
                except Exception as exc:  # tried again after RETRY_S
                    if self._stopping.is_set():  # its worker was stopped by close(): resumed
                        break  # at the next start, not a failure
                    self.error = f"{type(exc).__name__}: {exc}"
                    log.exception("dense backfill failed; trying again in %s s", RETRY_S)
                    self._stopping.wait(RETRY_S)
                self._progressed()
            if embedded and not self._stopping.is_set():  # drained: optimised segments
                self.kb.optimize()
            self._progressed()

    def _progressed(self) -> None:
        if self._on_progress is not None:
            self._on_progress()


def write_documents(
    kb: KnowledgeBase,
    batch: Sequence[tuple[Document, Sequence[Chunk]]],
    on_embedded: Callable[[int], None] | None = None,
    optimize: bool = True,
) -> dict[DocKey, UpsertStatus]:
    """Add or replace whole documents with all their vectors, in this process: searchable
    first (their sparse views, and the dense vectors of chunks whose text did not change),
    then the rest embedded. An unchanged document (same content hash) is left alone."""
    chunked = [ChunkedDocument(doc, chunks, doc.content_hash) for doc, chunks in batch]
    statuses, todo = kb.plan(chunked)
    if not todo:
        return statuses
    # the slow part (segmenting, embedding) holds no lock: questions are answered meanwhile
    written = kb.write(kb.encode(todo), None, optimize)
    if kb.has_dense:
        DenseBackfill(kb).drain({item.key for item in todo}, on_embedded)
    return {**statuses, **written}
