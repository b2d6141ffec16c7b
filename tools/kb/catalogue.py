"""The document catalogue: which documents the store holds, with their chunks, read from the
points themselves (no second bookkeeping to drift). Listing counts chunks with `facet` over the
indexed `collection` and `doc_id` fields; a write reads only the documents it touches."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qdrant_client import models

from tools.corpus.documents import DocKey, chunk_point_id
from tools.kb.payload import CATALOGUE_FIELDS, LISTING_FIELDS, ChunkPayload
from tools.text.law_names import law_key

_PAGE = 2048


@dataclass
class StoredDocument:
    """What the store holds of one document."""

    content_hash: str | None
    point_ids: list[str] = field(default_factory=list)
    tokens: dict[str, int] = field(default_factory=dict)
    expected: int | None = None  # the chunks it was written with (None: an older write)

    @property
    def complete(self) -> bool:
        """All its chunks are there: a write cut short (a killed process) left fewer."""
        return self.expected is None or len(self.point_ids) == self.expected

    def add(self, point_id: str, payload: ChunkPayload) -> None:
        self.point_ids.append(point_id)
        self.expected = payload.doc_chunks if payload.doc_chunks is not None else self.expected
        for view, n in payload.n_tokens.items():
            self.tokens[view] = self.tokens.get(view, 0) + n


@dataclass(frozen=True)
class ListedDocument:
    doc_id: str
    collection: str
    title: str
    source: str
    content_hash: str | None
    chunks: int
    metadata: Mapping[str, Any] = field(default_factory=dict)  # its first chunk's
    ingested_at: float = 0.0  # when this version was written

    def matches(self, query: str) -> bool:
        """Every word of the query is in its title, file or id, marks and case aside ("luat
        hinh" finds "Bộ luật Hình sự 2015 (100/2015/QH13)")."""
        held = law_key(f"{self.title} {self.source} {self.doc_id}")
        return all(word in held for word in law_key(query).split())


def _match(key: str, value: Any) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


class Catalogue:
    def __init__(self, client: Any, collection: str) -> None:
        self.client = client
        self.collection = collection

    def scroll(self, **kwargs: Any) -> Iterator[Any]:
        """Every point of the collection (matching `scroll_filter`), page by page."""
        offset = None
        while True:
            points, offset = self.client.scroll(
                self.collection, limit=_PAGE, offset=offset, **kwargs
            )
            yield from points
            if offset is None:
                return

    def existing(self, keys: Sequence[DocKey]) -> dict[DocKey, StoredDocument]:
        """What the store holds of these (collection, doc id) documents, by key."""
        wanted = set(keys)
        if not wanted:
            return {}
        ids = sorted({doc_id for _, doc_id in wanted})
        flt = models.Filter(
            must=[models.FieldCondition(key="doc_id", match=models.MatchAny(any=ids))]
        )
        found: dict[DocKey, StoredDocument] = {}
        for point in self.scroll(scroll_filter=flt, with_payload=CATALOGUE_FIELDS):
            payload = ChunkPayload.read(point.payload)
            if payload.key in wanted:
                found.setdefault(payload.key, StoredDocument(payload.content_hash)).add(
                    str(point.id), payload
                )
        return found

    def documents(
        self, collections: Collection[str] | None = None, limit: int = 10_000
    ) -> list[ListedDocument]:
        """Documents of the given collections (every one when None), by collection and id: the
        chunk counts come from facets, the title and source from each document's first
        chunk."""
        names = [
            str(hit.value)
            for hit in self.client.facet(
                self.collection, "collection", limit=1_000, exact=True
            ).hits
            if collections is None or hit.value in collections
        ]
        counted: list[tuple[DocKey, int]] = []
        for name in sorted(names):
            hits = self.client.facet(
                self.collection,
                "doc_id",
                facet_filter=models.Filter(must=[_match("collection", name)]),
                limit=limit,
                exact=True,
            ).hits
            counted += sorted(((name, str(h.value)), int(h.count)) for h in hits)
        counted = counted[:limit]
        firsts = self.client.retrieve(
            self.collection,
            [chunk_point_id(key, 0) for key, _ in counted],
            with_payload=LISTING_FIELDS,
        )
        first = {payload.key: payload for payload in (ChunkPayload.read(p.payload) for p in firsts)}
        listed = []
        for key, chunks in counted:
            payload = first.get(key, ChunkPayload(doc_id=key[1], collection=key[0]))
            listed.append(
                ListedDocument(
                    doc_id=key[1],
                    collection=key[0],
                    title=payload.title or key[1],
                    source=payload.source,
                    content_hash=payload.content_hash,
                    chunks=chunks,
                    metadata=payload.metadata,
                    ingested_at=payload.ingested_at,
                )
            )
        return listed

    def pending_dense(self) -> dict[str, DocKey]:
        """Chunks written without their dense vector, with their document."""
        flt = models.Filter(must=[_match("dense_pending", 1)])
        return {
            str(p.id): ChunkPayload.read(p.payload).key
            for p in self.scroll(scroll_filter=flt, with_payload=["doc_id", "collection"])
        }
