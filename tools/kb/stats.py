"""Corpus statistics: the version caches key on, and the token totals BM25 needs for its average
document length.

They live in the `<collection>_meta` companion as an append-only log: every write to the corpus
adds one record holding its own change (chunks and tokens added or removed) under a fresh id.
Several processes writing to one Qdrant server at once therefore never overwrite each other's
counts (there is no read-modify-write), and the version, the number of records, grows by one per
write whoever makes it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from qdrant_client import QdrantClient, models

_LEGACY_POINT = 1  # the single totals record older versions rewrote in place
_CONFIG_POINT = 2  # what the collection was built with (the dense model)
_DELTA = models.Filter(
    must=[models.FieldCondition(key="kind", match=models.MatchValue(value="delta"))]
)


@dataclass(frozen=True)
class CorpusStats:
    version: int = 0
    chunks: int = 0
    tokens: Mapping[str, int] = field(default_factory=dict)

    def avg_len(self, view: str) -> float:
        if not self.chunks:
            return 0.0
        return self.tokens.get(view, 0) / self.chunks


@dataclass(frozen=True)
class StatsDelta:
    chunks: int
    tokens: Mapping[str, int]


class CorpusStatsStore:
    def __init__(self, client: QdrantClient, collection: str) -> None:
        self.client = client
        self.collection = collection
        if not client.collection_exists(collection):
            client.create_collection(
                collection, vectors_config=models.VectorParams(size=1, distance=models.Distance.DOT)
            )

    def _legacy(self) -> dict[str, Any]:
        found = self.client.retrieve(self.collection, [_LEGACY_POINT], with_payload=True)
        return (found[0].payload or {}) if found else {}

    def version(self) -> int:
        deltas = self.client.count(self.collection, count_filter=_DELTA, exact=True).count
        return int(self._legacy().get("version", 0)) + deltas

    def read(self) -> CorpusStats:
        legacy = self._legacy()
        version = int(legacy.get("version", 0))
        chunks = int(legacy.get("chunks", 0))
        tokens: dict[str, int] = dict(legacy.get("tokens") or {})
        offset = None
        while True:
            points, offset = self.client.scroll(
                self.collection, scroll_filter=_DELTA, limit=1024, offset=offset, with_payload=True
            )
            for point in points:
                payload = point.payload or {}
                version += 1
                chunks += int(payload.get("chunks", 0))
                for view, n in (payload.get("tokens") or {}).items():
                    tokens[view] = tokens.get(view, 0) + int(n)
            if offset is None:
                return CorpusStats(version, chunks, tokens)

    def record(self, delta: StatsDelta) -> None:
        payload = {
            "kind": "delta",
            "chunks": delta.chunks,
            "tokens": dict(delta.tokens),
            "at": time.time(),
        }
        point = models.PointStruct(id=str(uuid.uuid4()), vector=[1.0], payload=payload)
        self.client.upsert(self.collection, [point])

    def built_with(self) -> dict[str, Any]:
        found = self.client.retrieve(self.collection, [_CONFIG_POINT], with_payload=True)
        return (found[0].payload or {}) if found else {}

    def remember_build(self, config: Mapping[str, Any]) -> None:
        point = models.PointStruct(
            id=_CONFIG_POINT, vector=[1.0], payload={"kind": "config", **config}
        )
        self.client.upsert(self.collection, [point])


class StatsKeeper(Protocol):
    """Where a knowledge base reads its corpus statistics and records its writes' deltas."""

    def current(self) -> CorpusStats: ...

    def version(self) -> int: ...

    def record(self, delta: StatsDelta) -> None: ...


class KeptStats:
    """The embedded store's: this process is its only writer, so the totals are read (and
    recounted from the points when a write was cut short) once, then kept up to date here
    instead of reading the log for every write."""

    def __init__(self, store: CorpusStatsStore, recount: Callable[[CorpusStats], CorpusStats]):
        self.store = store
        self._recount = recount
        self._stats: CorpusStats | None = None

    def current(self) -> CorpusStats:
        if self._stats is None:
            self._stats = self._recount(self.store.read())
        return self._stats

    def version(self) -> int:
        return self.current().version

    def record(self, delta: StatsDelta) -> None:
        self.store.record(delta)
        if self._stats is not None:
            self._stats = applied(self._stats, delta)


class SharedStats:
    """A Qdrant server's: other processes write too, so every read goes to the log (never
    recounted here: another process may be between its points and its delta)."""

    def __init__(self, store: CorpusStatsStore) -> None:
        self.store = store

    def current(self) -> CorpusStats:
        return self.store.read()

    def version(self) -> int:
        return self.store.version()

    def record(self, delta: StatsDelta) -> None:
        self.store.record(delta)


def applied(stats: CorpusStats, delta: StatsDelta) -> CorpusStats:
    """The statistics after a write (its version one more)."""
    views = set(stats.tokens) | set(delta.tokens)
    return CorpusStats(
        stats.version + 1,
        stats.chunks + delta.chunks,
        {v: stats.tokens.get(v, 0) + delta.tokens.get(v, 0) for v in views},
    )
