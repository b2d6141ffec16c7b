"""File loaders: each turns one file into documents, or raises `LoadError` with a reason a user
can act on (encrypted, empty, mis-encoded, corrupt). Lines of a .jsonl file fail one by one."""

from __future__ import annotations

import json
import logging
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tools.ingest.documents import Document, file_doc_id

log = logging.getLogger(__name__)


class LoadError(Exception):
    """A file that cannot be loaded; the message says why."""


@dataclass
class Loaded:
    documents: list[Document] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # per-line problems of a partly good file


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, or Vietnamese Windows-1258; else an error."""
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
    raise LoadError(
        f"mis-encoded: not valid UTF-8 (byte {utf8_error.start}: "
        f"{data[utf8_error.start : utf8_error.start + 4]!r}); re-save the file as UTF-8"
    )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LoadError(f"unreadable: {exc.strerror or exc}") from None


def _one(path: Path, title: str, text: str, **metadata: object) -> Loaded:
    return Loaded([Document(file_doc_id(path), title, text, str(path), dict(metadata))])


def load_txt(path: Path) -> Loaded:
    text = decode_text(_read(path))
    return _one(path, path.stem.replace("_", " "), text)


_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARKS = re.compile(r"(\*\*|__|\*|_|`{1,3})(?=\S)|(?<=\S)(\*\*|__|\*|_|`{1,3})")


def load_md(path: Path) -> Loaded:
    raw = decode_text(_read(path))
    heading = _MD_HEADING.search(raw)
    title = heading.group(1) if heading else path.stem.replace("_", " ")
    text = _MD_HEADING.sub(lambda m: m.group(1) + ".", raw)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_MARKS.sub("", text)
    text = re.sub(r"^\s*([-*+]|\d+[.)])\s+", "", text, flags=re.MULTILINE)
    return _one(path, title, text)


def load_html(path: Path) -> Loaded:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(_read(path)), "html.parser")
    for tag in soup(["script", "style", "nav", "footer", "header", "aside", "form", "noscript"]):
        tag.decompose()
    heading = soup.find("h1")
    title = (soup.title.string if soup.title and soup.title.string else None) or (
        heading.get_text(" ", strip=True) if heading else path.stem
    )
    body = soup.body or soup
    for block in body.find_all(["p", "div", "li", "h1", "h2", "h3", "h4", "tr", "br"]):
        block.append("\n")
    return _one(path, title.strip(), body.get_text(""))


def load_pdf(path: Path) -> Loaded:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("encrypted PDF: a password is needed to read it")
        pages = [page.extract_text() or "" for page in reader.pages]
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise LoadError(f"corrupt PDF: {exc}") from None
    except Exception as exc:  # pypdf raises assorted errors on damaged files
        if "encrypt" in str(exc).lower() or "password" in str(exc).lower():
            raise LoadError("encrypted PDF: a password is needed to read it") from None
        raise LoadError(f"corrupt PDF: {type(exc).__name__}: {exc}") from None
    text = "\n\n".join(pages)
    if not text.strip():
        raise LoadError("no extractable text (a scanned PDF? run OCR first)")
    title = str((reader.metadata.get("/Title") if reader.metadata else None) or path.stem)
    return _one(path, title, text, pages=len(pages))


def load_docx(path: Path) -> Loaded:
    import docx

    if not zipfile.is_zipfile(path):
        raise LoadError("not a readable .docx (corrupt, or encrypted with a password)")
    try:
        document = docx.Document(str(path))
    except Exception as exc:
        raise LoadError(f"corrupt .docx: {type(exc).__name__}: {exc}") from None
    blocks = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            blocks.append(" | ".join(cell.text for cell in row.cells))
    title = document.core_properties.title or path.stem
    return _one(path, title, "\n".join(blocks))


def load_jsonl(path: Path) -> Loaded:
    """One document per line: {"id", "title", "text", ...metadata}. Bad lines are reported."""
    loaded = Loaded()
    text = decode_text(_read(path))
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            loaded.problems.append(f"line {number}: invalid JSON ({exc.msg})")
            continue
        if not isinstance(record, dict):
            loaded.problems.append(
                f"line {number}: expected an object, got {type(record).__name__}"
            )
            continue
        body = record.pop("text", None)
        if not isinstance(body, str) or not body.strip():
            loaded.problems.append(f"line {number}: missing or empty 'text'")
            continue
        doc_id = str(record.pop("id", None) or f"{file_doc_id(path)}-{number}")
        title = str(record.pop("title", "") or doc_id)
        loaded.documents.append(Document(doc_id, title, body, f"{path}:{number}", record))
    if not loaded.documents and not loaded.problems:
        raise LoadError("empty: no lines")
    return loaded


LOADERS: dict[str, Callable[[Path], Loaded]] = {
    ".txt": load_txt,
    ".md": load_md,
    ".markdown": load_md,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".jsonl": load_jsonl,
}


def load_file(path: Path) -> Loaded:
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise LoadError(f"unsupported file type {path.suffix or '(none)'}")
    return loader(path)
