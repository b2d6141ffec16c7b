"""PDFs page by page (each chunk keeps its page number), with the pages that have no text layer
read by OCR; page images (.png .jpg .tif) read by OCR."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tqdm import tqdm

from tools.corpus.documents import Part
from tools.errors import one_line
from tools.ingest.loaded import Loaded, LoadError, LoadSkipped, one_document
from tools.ingest.ocr import OcrFailed, OcrUnavailable, check_ocr, ocr_image, ocr_pdf_page
from tools.ingest.progress import report_pages
from tools.ingest.tables import table_rows
from tools.settings import IngestSettings

log = logging.getLogger(__name__)
MIN_TEXT_CHARS = 20  # a page with less text than this is taken to be a scan


def looks_scanned(text: str) -> bool:
    """Too little text in the page's text layer to be its text: a scan, read by OCR."""
    return len("".join(text.split())) < MIN_TEXT_CHARS


# A page with no image and less drawing than this has nothing OCR could read: a blank page.
# (2,000 blank pages sent to OCR held the job queue for the whole read timeout.)
_BLANK_CONTENT_BYTES = 256


def _blank(page: Any) -> bool:
    """Nothing on the page: no image or form drawn, and (next to) no drawing operators."""
    resources = page.get("/Resources") or {}
    if hasattr(resources, "get_object"):
        resources = resources.get_object()
    if resources.get("/XObject"):
        return False
    contents = page.get_contents()
    return contents is None or len(contents.get_data()) < _BLANK_CONTENT_BYTES


def _text_pages(path: Path) -> tuple[list[str], str, set[int]]:
    """Each page's text layer, the title, and the blank pages (numbered from 1)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("encrypted PDF: a password is needed to read it")
        pages = [page.extract_text() or "" for page in reader.pages]
        blank = {
            n
            for n, (page, text) in enumerate(zip(reader.pages, pages, strict=True), start=1)
            if not text.strip() and _blank(page)
        }
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise LoadError(f"corrupt PDF: {exc}") from None
    except Exception as exc:  # pypdf raises assorted errors on damaged files
        if "encrypt" in str(exc).lower() or "password" in str(exc).lower():
            raise LoadError("encrypted PDF: a password is needed to read it") from None
        raise LoadError(f"corrupt PDF: {type(exc).__name__}: {exc}") from None
    title = str((reader.metadata.get("/Title") if reader.metadata else None) or path.stem)
    return pages, title, blank


def _table_rows(path: Path, pages: list[int]) -> dict[int, list[str]]:
    """Tables on pages with a text layer (ruled cells, found by pdfplumber), as named rows
    added to the page's text: the text layer alone reads a table cell by cell."""
    import pdfplumber

    found: dict[int, list[str]] = {}
    try:
        with pdfplumber.open(str(path)) as pdf:
            for n in pages:
                rows = [r for t in pdf.pages[n - 1].extract_tables() for r in table_rows(t)]
                if rows:
                    found[n] = rows
    except Exception as exc:  # a table the parser trips on must not lose the page's text
        log.warning("%s: tables not read (%s)", path, one_line(exc))
    return found


def _ocr_note(pages: list[int], confidences: list[float], failed: list[str]) -> list[str]:
    notes = []
    if pages:
        mean = sum(confidences) / len(confidences)
        listed = ", ".join(str(p) for p in pages)
        notes.append(f"OCR on page(s) {listed} (mean confidence {mean:.2f})")
    notes += [f"OCR failed: {reason}" for reason in failed]
    return notes


def load_pdf(path: Path, settings: IngestSettings) -> Loaded:
    texts, title, blank = _text_pages(path)
    scans = [
        n
        for n, text in enumerate(texts, start=1)
        if n not in blank
        and (settings.ocr == "always" or (settings.ocr == "auto" and looks_scanned(text)))
    ]
    if scans:
        try:
            check_ocr(settings.ocr_languages, need_pdftoppm=True)
        except OcrUnavailable as exc:
            if len(scans) == len(texts) or settings.ocr == "always":
                raise LoadSkipped(f"scanned PDF: {exc}") from None
            log.warning("%s: %s; its scanned pages are left out", path, exc)
            scans = []
    text_pages = [n for n in range(1, len(texts) + 1) if n not in scans]
    tables = _table_rows(path, text_pages) if settings.pdf_tables else {}
    parts = {
        n: Part("\n".join([text, *tables.get(n, [])]), page=n)
        for n, text in enumerate(texts, start=1)
    }
    confidences, failed = [], []
    boxes: dict[int, str] = {}
    for i, n in enumerate(
        tqdm(scans, desc=f"OCR {path.name}", unit="page", disable=len(scans) < 2)
    ):
        report_pages(i, len(scans))
        try:
            page = ocr_pdf_page(
                path, n, settings.ocr_dpi, settings.ocr_languages, settings.ocr_page_timeout_s
            )
        except OcrFailed as exc:
            failed.append(f"page {n}: {exc}")
            continue
        parts[n] = Part(page.text, page=n, ocr_confidence=round(page.confidence, 3))
        confidences.append(page.confidence)
        boxes[n] = page.tsv
    if scans:
        report_pages(len(scans), len(scans))
    ocred = [n for n in scans if parts[n].ocr_confidence is not None]
    if not any(p.text.strip() for p in parts.values()):
        if settings.ocr == "never":
            raise LoadError("no text layer (a scan?): set ingest.ocr to auto to read it by OCR")
        if len(blank) == len(texts):
            raise LoadError(f"no text found: all {len(texts)} pages are blank")
        raise LoadError("no text found, by the text layer or by OCR")
    loaded = one_document(path, title, list(parts.values()), pages=len(texts))
    loaded.notes += _ocr_note(ocred, confidences, failed)
    loaded.ocr = boxes
    return loaded


def load_image(path: Path, settings: IngestSettings) -> Loaded:
    if settings.ocr == "never":
        raise LoadSkipped("an image: ingest.ocr is never")
    try:
        page = ocr_image(path, settings.ocr_languages, settings.ocr_page_timeout_s)
    except OcrUnavailable as exc:
        raise LoadSkipped(f"an image: {exc}") from None
    except OcrFailed as exc:
        raise LoadError(f"OCR failed: {exc}") from None
    part = Part(page.text, page=1, ocr_confidence=round(page.confidence, 3))
    loaded = one_document(path, path.stem.replace("_", " "), [part])
    loaded.notes += _ocr_note([1], [page.confidence], [])
    loaded.ocr = {1: page.tsv}
    return loaded
