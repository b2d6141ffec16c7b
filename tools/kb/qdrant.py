"""The Qdrant client: a server or cluster by URL, or the embedded store (Qdrant Edge) on disk."""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qdrant_client import models

from tools.settings import QdrantSettings, Settings


@dataclass(frozen=True)
class DenseIndex:
    """How dense search runs, the same on the embedded store and a server: exact without a
    graph (`m=0`), else HNSW above `exact_below` chunks a segment."""

    m: int = 0
    ef_construct: int = 100
    ef: int = 256
    exact_below: int = 20_000

    @classmethod
    def configured(cls, settings: QdrantSettings) -> DenseIndex:
        return cls(
            settings.hnsw_m, settings.hnsw_ef_construct, settings.hnsw_ef, settings.exact_below
        )

    def hnsw_config(self, dim: int) -> models.HnswConfigDiff:
        # Qdrant's full-scan threshold is in kilobytes of vectors, not in points
        threshold = max(1, self.exact_below * dim * 4 // 1024)
        return models.HnswConfigDiff(
            m=self.m, ef_construct=self.ef_construct, full_scan_threshold=threshold
        )


def build_qdrant_client(settings: Settings, location: str | None = None) -> Any:
    """A qdrant-client for QDRANT_URL, or the embedded store (Qdrant Edge) on disk under
    data_dir/edge (":memory:": in a temporary folder, removed when closed). A store written by
    the previous release (qdrant-client's local mode under data_dir/qdrant) is converted on
    first open (`tools.kb.migrate`)."""
    from tools.kb.edge import EdgeClient

    threads = settings.qdrant.search_threads
    if location is not None:
        folder = Path(tempfile.mkdtemp(prefix="vinarag-edge-"))
        return EdgeClient(folder, threads, temporary=True)
    if settings.qdrant.url:
        from qdrant_client import QdrantClient

        return QdrantClient(
            url=settings.qdrant.url,
            api_key=settings.qdrant.api_key,
            timeout=math.ceil(settings.qdrant.timeout_s),
        )
    from tools.kb.migrate import migrate_if_needed

    migrate_if_needed(settings)
    return EdgeClient(settings.edge_path, threads)
