"""The payload every chunk point carries, as one type: written by the store, read back by the
catalogue and the retriever (no dict read with `.get` defaults in several places)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from tools.corpus.documents import DEFAULT_COLLECTION, DocKey

# What the catalogue reads of each point: enough to plan a write without the chunk's text.
CATALOGUE_FIELDS = ["doc_id", "collection", "content_hash", "n_tokens", "doc_chunks"]
LISTING_FIELDS = [
    "doc_id", "collection", "title", "source", "content_hash", "doc_chunks", "metadata",
    "ingested_at",
]  # fmt: skip


@dataclass(frozen=True)
class ChunkPayload:
    doc_id: str
    collection: str = DEFAULT_COLLECTION
    title: str = ""
    text: str = ""
    source: str = ""
    position: int = 0
    metadata: Mapping[str, Any] = field(default_factory=dict)
    content_hash: str | None = None  # None: written by a release that did not hash
    doc_chunks: int | None = None  # the chunks its document was written with
    n_tokens: Mapping[str, int] = field(default_factory=dict)  # per sparse view
    ingested_at: float = 0.0
    # 1 while the chunk waits for its dense vector (searchable through its sparse views only);
    # an integer because the embedded store cannot filter on true/false.
    dense_pending: int = 0

    @property
    def key(self) -> DocKey:
        return (self.collection, self.doc_id)

    @classmethod
    def read(cls, payload: Mapping[str, Any] | None, point_id: str = "") -> ChunkPayload:
        """A stored payload, whatever release wrote it (older ones lack fields; a field that
        is present but null reads as its default)."""
        found = {k: v for k, v in (payload or {}).items() if v is not None}
        return cls(
            doc_id=str(found.get("doc_id", point_id)),
            collection=str(found.get("collection", DEFAULT_COLLECTION)),
            title=str(found.get("title", "")),
            text=str(found.get("text", "")),
            source=str(found.get("source", "")),
            position=int(found.get("position", 0)),
            metadata=dict(found.get("metadata") or {}),
            content_hash=found.get("content_hash"),
            doc_chunks=found.get("doc_chunks"),
            n_tokens={str(k): int(v) for k, v in (found.get("n_tokens") or {}).items()},
            ingested_at=float(found.get("ingested_at", 0.0)),
            dense_pending=int(found.get("dense_pending", 0)),
        )

    def stored(self) -> dict[str, Any]:
        # field by field: dataclasses.asdict deep-copies the metadata, a fifth of a large write
        payload = {f.name: getattr(self, f.name) for f in fields(self)}
        payload["metadata"] = dict(self.metadata)
        payload["n_tokens"] = dict(self.n_tokens)
        return payload
