"""Office files: DOCX (headings as a section path, tables as named rows, runs typed in legacy
`.VnTime` / `VNI-*` fonts converted), XLSX (each sheet's rows against its header row) and PPTX
(each slide's title, text and tables)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from tools.corpus.documents import Part
from tools.errors import one_line
from tools.ingest.loaded import Loaded, LoadError, one_document
from tools.ingest.sections import sections
from tools.ingest.tables import table_rows
from tools.settings import IngestSettings
from tools.text.legacy import ENCODINGS, font_encoding, to_unicode

_HEADING_STYLE = re.compile(r"^(?:Heading|Title)\s*(\d)?", re.IGNORECASE)


def _zip_or_error(path: Path, kind: str, settings: IngestSettings) -> None:
    """A readable zip whose contents unpack to no more than `ingest.max_unpacked_mb` (a
    compression bomb is refused before a byte of it is parsed)."""
    if not zipfile.is_zipfile(path):
        raise LoadError(f"not a readable {kind} (corrupt, or encrypted with a password)")
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise LoadError(f"not a readable {kind}: {exc}") from None
    if unpacked > settings.max_unpacked_mb * 1024 * 1024:
        raise LoadError(
            f"too large when unpacked: {unpacked / 2**20:.0f} MB "
            f"(ingest.max_unpacked_mb is {settings.max_unpacked_mb:g})"
        )


def _unparsable(kind: str, exc: Exception, settings: IngestSettings) -> LoadError:
    """The parser's complaint in a user's words: no exception class names."""
    said = one_line(exc)
    if said.startswith("unknown error") or "memory" in said.lower():  # libxml2 out of memory
        return LoadError(
            f"{kind} too large to parse within ingest.read_memory_mb="
            f"{settings.read_memory_mb} MB (or corrupt)"
        )
    return LoadError(
        f"corrupt {kind}: it could not be parsed ({said})" if said else f"corrupt {kind}"
    )


def _paragraph_text(paragraph, converted: set[str]) -> str:
    """The paragraph's runs, each in Unicode: a run set in a legacy font is converted."""
    style_font = paragraph.style.font.name if paragraph.style is not None else None
    pieces = []
    for run in paragraph.runs:
        encoding = font_encoding(run.font.name or style_font)
        text, found = to_unicode(run.text, encoding) if encoding else (run.text, None)
        if found:
            converted.add(found)
        pieces.append(text)
    return "".join(pieces) if paragraph.runs else paragraph.text


def load_docx(path: Path, settings: IngestSettings) -> Loaded:
    import docx
    from docx.table import Table

    _zip_or_error(path, ".docx", settings)
    try:
        document = docx.Document(str(path))
    except Exception as exc:
        raise _unparsable(".docx", exc, settings) from None
    converted: set[str] = set()
    lines: list[tuple[int, str]] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            rows = [[cell.text for cell in row.cells] for row in block.rows]
            lines += [(0, row) for row in table_rows(rows)]
            continue
        text = _paragraph_text(block, converted)
        style = block.style.name if block.style is not None else ""
        heading = _HEADING_STYLE.match(style or "")
        level = int(heading.group(1) or 1) if heading else 0
        lines.append((level if text.strip() else 0, text))
    parts = [Part(text, headings) for headings, text in sections(lines)]
    loaded = one_document(path, document.core_properties.title or path.stem, parts)
    loaded.notes += [f"runs in {ENCODINGS[e]} fonts converted to Unicode" for e in converted]
    return loaded


def load_xlsx(path: Path, settings: IngestSettings) -> Loaded:
    import openpyxl

    _zip_or_error(path, ".xlsx", settings)
    try:
        book = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    except Exception as exc:
        raise _unparsable(".xlsx", exc, settings) from None
    try:
        parts = [
            Part(
                "\n".join(
                    [
                        f"{sheet.title}.",
                        *table_rows([list(r) for r in sheet.iter_rows(values_only=True)]),
                    ]
                ),
                [sheet.title],
            )
            for sheet in book.worksheets
        ]
    finally:
        book.close()
    title = book.properties.title or path.stem
    return one_document(path, title, [p for p in parts if "\n" in p.text])


def load_pptx(path: Path, settings: IngestSettings) -> Loaded:
    from pptx import Presentation

    _zip_or_error(path, ".pptx", settings)
    try:
        deck = Presentation(str(path))
    except Exception as exc:
        raise _unparsable(".pptx", exc, settings) from None
    parts = []
    for number, slide in enumerate(deck.slides, start=1):
        title_shape = slide.shapes.title
        title = title_shape.text_frame.text.strip() if title_shape is not None else ""
        lines = [f"{title}." if title else ""]
        for shape in slide.shapes:
            if shape == title_shape:
                continue
            if shape.has_text_frame:
                lines += [p.text for p in shape.text_frame.paragraphs if p.text.strip()]
            if getattr(shape, "has_table", False) and shape.has_table:
                rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
                lines += table_rows(rows)
        heading = f"Slide {number}" + (f": {title}" if title else "")
        parts.append(Part("\n".join(line for line in lines if line), [heading]))
    title = deck.core_properties.title or path.stem
    return one_document(path, title, parts)
