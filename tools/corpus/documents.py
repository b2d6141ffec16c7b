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
# Document ids a user gives: letters (any script), digits and . : _ -, up to 256, starting with a
# letter or digit; nothing that is a path, a control or a direction override, so that every id
# stored can be named again in a URL, a command line and a log line.
# Checked with fullmatch (Python's `$` also matches before a final newline: "a\n" would pass).
DOC_ID = re.compile(r"^[^\W_][\w.:-]{0,255}$")
DOC_ID_RULE = "1-256 letters, digits and . : _ - (starting with a letter or digit)"


# Collections: every document belongs to one; a key reads (and writes) only its own.
DEFAULT_COLLECTION = "default"
COLLECTION = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
COLLECTION_RULE = "1-64 lower-case letters, digits, _ and - (starting with a letter or digit)"


def check_doc_id(doc_id: str) -> str:
    if not DOC_ID.fullmatch(doc_id):
        raise ValueError(f"id {doc_id[:80]!r}: use {DOC_ID_RULE}")
    return doc_id


def check_collection(name: str) -> str:
    if not COLLECTION.fullmatch(name):
        raise ValueError(f"collection {name[:80]!r}: use {COLLECTION_RULE}")
    return name


DocKey = tuple[str, str]  # (collection, doc id): how the store knows a document


@dataclass(frozen=True)
class DocRef:
    """A document named from outside (a URL, a command line, a request): the pair is checked
    where it enters and stays a pair, so that no id can be read as another collection's."""

    collection: str
    doc_id: str

    def __post_init__(self) -> None:
        check_collection(self.collection)
        check_doc_id(self.doc_id)

    @property
    def key(self) -> DocKey:
        return (self.collection, self.doc_id)


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
    collection: str = DEFAULT_COLLECTION

    @property
    def key(self) -> DocKey:
        return (self.collection, self.doc_id)

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
    collection: str = DEFAULT_COLLECTION

    @property
    def point_id(self) -> str:
        return chunk_point_id((self.collection, self.doc_id), self.position)


def chunk_point_id(key: DocKey, position: int) -> str:
    """Deterministic Qdrant point id: re-ingesting the same chunk overwrites, never duplicates.
    The name hashed is the one stores written before collections use (the bare id in the
    default collection); it is only hashed, never parsed back, and neither part can hold the
    separator (both are checked where they enter)."""
    collection, doc_id = key
    name = doc_id if collection == DEFAULT_COLLECTION else f"{collection}\x1f{doc_id}"
    return str(uuid.uuid5(_NAMESPACE, f"{name}#{position}"))


def file_doc_id(path: Path, name: str | None = None) -> str:
    """A readable, stable id for a file: its name plus a hash of its absolute path (or of the
    name it is known by: an upload's file name, the same whatever folder it was saved in)."""
    shown = Path(name).stem if name is not None else path.stem  # an upload: its own name
    stem = re.sub(r"[^\w-]+", "-", shown, flags=re.UNICODE).strip("-").lower() or "doc"
    key = f"upload:{name}" if name is not None else str(path.resolve())
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:8]
    return f"{stem[:48]}-{digest}"


def location(label: str, place: dict[str, Any]) -> str:
    """Where a chunk is, as a reader cites it: "Luật X (24/2018/QH14), Điều 8, Khoản 2",
    "handbook.pdf, trang 12", "guide.md › Cài đặt › Yêu cầu"."""
    parts = [label]
    if "dieu_den" in place:  # headings alone, grouped
        parts.append(f"Điều {place['dieu']}–{place['dieu_den']}")
    elif "dieu" in place:
        parts.append(f"Điều {place['dieu']}")
        if "khoan" in place:
            parts.append(f"Khoản {place['khoan']}")
    elif place.get("section"):
        return f"{label} › {place['section']}"
    if "page_end" in place:
        parts.append(f"trang {place['page']}–{place['page_end']}")
    elif "page" in place:
        parts.append(f"trang {place['page']}")
    return ", ".join(parts)
