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
class Part:
    """A piece of a document that knows where it is: a page of a PDF, or a section under its
    headings (Markdown, DOCX, HTML). Chunks cut from it say so."""

    text: str
    headings: list[str] = field(default_factory=list)
    page: int | None = None
    ocr_confidence: float | None = None  # set when the text was read by OCR


@dataclass
class Document:
    doc_id: str
    title: str
    text: str
    source: str
    metadata: dict[str, Any] = field(default_factory=dict)
    parts: list[Part] = field(default_factory=list)  # empty: the text has no known layout

    @classmethod
    def from_parts(
        cls, doc_id: str, title: str, parts: list[Part], source: str, **metadata: Any
    ) -> Document:
        kept = [p for p in parts if p.text.strip()]
        text = "\n\n".join(p.text for p in kept)
        return cls(doc_id, title, text, source, dict(metadata), kept)

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
