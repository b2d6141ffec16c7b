"""The records ingestion passes along: a loaded document and the chunks cut from it."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Fixed namespace so that point ids are the same on every machine and every run.
_NAMESPACE = uuid.UUID("6c1f5a2e-4d0b-4f8e-9a57-3b1d2f7c9e10")


@dataclass
class Document:
    doc_id: str
    title: str
    text: str
    source: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        payload = f"{self.title}\x00{self.text}\x00{sorted(self.metadata.items())!r}"
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


@dataclass
class Chunk:
    doc_id: str
    position: int
    text: str
    title: str
    source: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def point_id(self) -> str:
        return chunk_point_id(self.doc_id, self.position)


def chunk_point_id(doc_id: str, position: int) -> str:
    """Deterministic Qdrant point id: re-ingesting the same chunk overwrites, never duplicates."""
    return str(uuid.uuid5(_NAMESPACE, f"{doc_id}#{position}"))


def file_doc_id(path: Path) -> str:
    """A readable, stable id for a file: its name plus a hash of its absolute path."""
    stem = re.sub(r"[^\w-]+", "-", path.stem, flags=re.UNICODE).strip("-").lower() or "doc"
    digest = hashlib.sha1(str(path.resolve()).encode("utf-8")).hexdigest()[:8]
    return f"{stem[:48]}-{digest}"
