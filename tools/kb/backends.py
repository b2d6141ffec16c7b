"""Where the store's two backends differ, each in one place: the embedded store (Qdrant's
engine in this process, `edge.py`) and a Qdrant server or cluster (qdrant-client). The
knowledge base asks its backend and never which one it is."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

from qdrant_client import models

from tools.kb.edge import edge_filter
from tools.kb.stats import CorpusStats, CorpusStatsStore, KeptStats, SharedStats, StatsKeeper
from tools.settings import Settings


class StoreBackend(Protocol):
    name: str  # what /readyz and the stats say
    many_processes: bool  # several processes (server workers) may open the store at once
    matches_booleans: bool  # its filters can match true/false values

    def lock(self) -> AbstractContextManager[Any]:
        """What every read and write of the store holds in this process."""
        ...

    def check_filter(self, built: models.Filter | None) -> None:
        """FilterError unless the backend can apply the filter."""
        ...

    def optimize(self, client: Any, collection: str) -> None:
        """Deleted and replaced points out of the segments, new points into optimised ones."""
        ...

    def stats(
        self, store: CorpusStatsStore, recount: Callable[[CorpusStats], CorpusStats]
    ) -> StatsKeeper: ...


class EmbeddedStore:
    """One process per store, which is then its only reader and writer: reads and writes are
    serialised here, the corpus statistics kept in memory, the segments optimised after writes
    (the engine does not on its own)."""

    name = "qdrant-edge"
    many_processes = False
    matches_booleans = False  # Qdrant Edge's filters match keywords and numbers only

    def __init__(self) -> None:
        self._lock = threading.RLock()

    def lock(self) -> AbstractContextManager[Any]:
        return self._lock

    def check_filter(self, built: models.Filter | None) -> None:
        edge_filter(built)

    def optimize(self, client: Any, collection: str) -> None:
        client.optimize(collection)

    def stats(
        self, store: CorpusStatsStore, recount: Callable[[CorpusStats], CorpusStats]
    ) -> StatsKeeper:
        return KeptStats(store, recount)


class ServerStore:
    """A Qdrant server or cluster, shared with other processes: nothing is held here, the
    statistics are read from their log, the server optimises its own segments."""

    name = "qdrant-server"
    many_processes = True
    matches_booleans = True

    def lock(self) -> AbstractContextManager[Any]:
        return nullcontext()

    def check_filter(self, built: models.Filter | None) -> None:
        return None

    def optimize(self, client: Any, collection: str) -> None:
        return None

    def stats(
        self, store: CorpusStatsStore, recount: Callable[[CorpusStats], CorpusStats]
    ) -> StatsKeeper:
        return SharedStats(store)


def configured_backend(settings: Settings, location: str | None = None) -> StoreBackend:
    """The backend of the client `build_qdrant_client` makes from the same arguments."""
    return EmbeddedStore() if location is not None or not settings.qdrant.url else ServerStore()
