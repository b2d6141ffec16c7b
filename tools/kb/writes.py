"""Write planning: which documents of a batch to write (new, changed, or written in part) and
the change they make to the corpus statistics. Pure functions of what the store holds, so the
plan can be made again under the store's lock after the slow encoding."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from tools.corpus.documents import Chunk, DocKey, Document
from tools.kb.catalogue import StoredDocument
from tools.kb.sparse import TermCounts
from tools.kb.stats import StatsDelta

log = logging.getLogger(__name__)

UpsertStatus = Literal["added", "replaced", "unchanged"]
Terms = dict[str, TermCounts]  # sparse view -> the chunk's terms in it


@dataclass
class ChunkedDocument:
    """A document cut into chunks, with its content hash (read once: it hashes the whole
    text)."""

    document: Document
    chunks: Sequence[Chunk]
    content_hash: str

    @property
    def key(self) -> DocKey:
        return self.document.key


@dataclass
class EncodedDocument:
    """A chunked document with each chunk's sparse terms: all a write needs but the dense
    vectors, and what the ingestion worker hands the store."""

    chunked: ChunkedDocument
    terms: list[Terms]

    @property
    def key(self) -> DocKey:
        return self.chunked.key


def plan(
    batch: Sequence[ChunkedDocument], existing: Mapping[DocKey, StoredDocument]
) -> tuple[dict[DocKey, UpsertStatus], list[ChunkedDocument]]:
    """Each document's status, and those to write."""
    statuses: dict[DocKey, UpsertStatus] = {}
    todo: list[ChunkedDocument] = []
    for item in batch:
        old = existing.get(item.key)
        if old and not old.complete:
            log.warning(
                "%s was written in part (%d of %d chunks): writing it again",
                item.document.doc_id,
                len(old.point_ids),
                old.expected,
            )
        if old and old.complete and old.content_hash == item.content_hash:
            statuses[item.key] = "unchanged"
        else:
            statuses[item.key] = "replaced" if old else "added"
            todo.append(item)
    return statuses, todo


def delta_of(written: Sequence[EncodedDocument], replaced: Sequence[StoredDocument]) -> StatsDelta:
    """Chunks and tokens the write adds, less those of the documents it replaces."""
    chunks = 0
    tokens: dict[str, int] = {}
    for old in replaced:
        chunks -= len(old.point_ids)
        for view, n in old.tokens.items():
            tokens[view] = tokens.get(view, 0) - n
    for item in written:
        for chunk_terms in item.terms:
            chunks += 1
            for view, counted in chunk_terms.items():
                tokens[view] = tokens.get(view, 0) + counted.length
    return StatsDelta(chunks, tokens)
