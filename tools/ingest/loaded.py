"""What every loader returns, and raises when a file cannot be used."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tools.corpus.documents import Document, Part, file_doc_id
from tools.text.legacy import legacy_encoding


class LoadError(Exception):
    """A file that cannot be loaded; the message says why (reported as failed)."""


class LoadSkipped(Exception):
    """A file this installation cannot read (e.g. a scan without Tesseract): reported as
    skipped, with what to install."""


@dataclass
class Loaded:
    documents: list[Document] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # per-line problems of a partly good file
    notes: list[str] = field(default_factory=list)  # what the report should warn about (OCR...)
    ocr: dict[int, str] = field(default_factory=dict)  # page -> OCR's words and boxes (TSV)


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, Vietnamese Windows-1258, or 8-bit text in
    a legacy Vietnamese encoding (TCVN3, VNI, VISCII: returned as read, for conversion); else an
    error."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None and best.encoding in {"cp1258", "windows_1258"}:
        return str(best)
    # TCVN3 / VNI / VISCII files are 8-bit: read byte for byte (the conversion tables are
    # written over Latin-1), converted later (prepare).
    eight_bit = data.decode("latin-1")
    if legacy_encoding(eight_bit):
        return eight_bit
    raise LoadError(
        f"mis-encoded: not valid UTF-8 (byte {utf8_error.start}: "
        f"{data[utf8_error.start : utf8_error.start + 4]!r}); re-save the file as UTF-8"
    )


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LoadError(f"unreadable: {exc.strerror or exc}") from None


def one_document(path: Path, title: str, parts: list[Part], **metadata: object) -> Loaded:
    document = Document.from_parts(file_doc_id(path), title, parts, str(path), **metadata)
    if not document.text.strip():
        raise LoadError("empty: no text found")
    return Loaded([document])
