"""File loaders: each turns one file into documents, or raises `LoadError` with a reason a user
can act on (encrypted, empty, mis-encoded, corrupt) or `LoadSkipped` when this installation
cannot read it (a scan without Tesseract). Lines of a .jsonl file fail one by one. The formats
with a layout of their own live beside this module: html, office (docx, xlsx, pptx), pdf
(and page images)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

from tools.corpus.documents import Document, Part, check_doc_id, file_doc_id
from tools.corpus.metadata import check_metadata
from tools.ingest.html import load_html
from tools.ingest.loaded import (
    Loaded,
    LoadError,
    LoadSkipped,
    decode_text,
    one_document,
    read_bytes,
)
from tools.ingest.office import load_docx, load_pptx, load_xlsx
from tools.ingest.pdf import load_image, load_pdf
from tools.ingest.sections import sections
from tools.settings import IngestSettings

__all__ = ["LOADERS", "LoadError", "LoadSkipped", "Loaded", "decode_text", "load_file"]

log = logging.getLogger(__name__)


def load_txt(path: Path, settings: IngestSettings) -> Loaded:
    text = decode_text(read_bytes(path))
    return one_document(path, path.stem.replace("_", " "), [Part(text)])


_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARKS = re.compile(r"(\*\*|__|\*|_|`{1,3})(?=\S)|(?<=\S)(\*\*|__|\*|_|`{1,3})")


def load_md(path: Path, settings: IngestSettings) -> Loaded:
    raw = decode_text(read_bytes(path))
    heading = _MD_HEADING.search(raw)
    title = heading.group(1) if heading else path.stem.replace("_", " ")
    lines = []
    for line in raw.splitlines():
        if match := _MD_HEADING.match(line):
            level = len(line.lstrip()) - len(line.lstrip().lstrip("#"))
            lines.append((level, match.group(1)))
            continue
        line = _MD_MARKS.sub("", _MD_LINK.sub(r"\1", line))
        lines.append((0, re.sub(r"^\s*([-*+]|\d+[.)])\s+", "", line)))
    return one_document(path, title, [Part(t, h) for h, t in sections(lines)])


def load_jsonl(path: Path, settings: IngestSettings) -> Loaded:
    """One document per line: {"id", "title", "text", ...metadata}. Bad lines are reported."""
    loaded = Loaded()
    text = decode_text(read_bytes(path))
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            loaded.problems.append(f"line {number}: invalid JSON ({exc.msg})")
            continue
        except RecursionError:
            loaded.problems.append(f"line {number}: JSON nested too deeply")
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
        given = record.pop("id", None)
        doc_id = str(given) if given not in (None, "") else f"{file_doc_id(path)}-{number}"
        title = str(record.pop("title", "") or doc_id)
        try:
            if given not in (None, ""):
                check_doc_id(doc_id)
            check_metadata(record)
        except ValueError as exc:
            loaded.problems.append(f"line {number}: {exc}")
            continue
        loaded.documents.append(Document(doc_id, title, body, f"{path}:{number}", record))
    if not loaded.documents and not loaded.problems:
        raise LoadError("empty: no lines")
    return loaded


IMAGES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
LOADERS: dict[str, Callable[[Path, IngestSettings], Loaded]] = {
    ".txt": load_txt,
    ".md": load_md,
    ".markdown": load_md,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".xlsx": load_xlsx,
    ".pptx": load_pptx,
    ".jsonl": load_jsonl,
    **dict.fromkeys(IMAGES, load_image),
}


def load_file(path: Path, settings: IngestSettings | None = None) -> Loaded:
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise LoadError(f"unsupported file type {path.suffix or '(none)'}")
    return loader(path, settings or IngestSettings())
