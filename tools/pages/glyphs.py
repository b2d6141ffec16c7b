"""The characters (or OCR's words) of one page, in reading order, each with its box as fractions
of the page's width and height: what a quote is looked for in, and what a highlight is drawn
from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tools.ingest.ocr import ocr_words
from tools.ingest.pdf import looks_scanned


@dataclass(frozen=True)
class Glyph:
    text: str
    left: float
    top: float
    right: float
    bottom: float


class PageMissing(LookupError):
    """The original has no such page."""


def pdf_glyphs(path: Path, page: int) -> list[Glyph]:
    """The page's characters from its text layer (empty: a scan, or a page without text)."""
    import pdfplumber

    with pdfplumber.open(str(path)) as pdf:
        if not 1 <= page <= len(pdf.pages):
            raise PageMissing(f"page {page}: the file has {len(pdf.pages)} page(s)")
        found = pdf.pages[page - 1]
        x0, top, x1, bottom = found.bbox
        width, height = x1 - x0, bottom - top
        chars = [
            Glyph(
                c["text"],
                (c["x0"] - x0) / width,
                (c["top"] - top) / height,
                (c["x1"] - x0) / width,
                (c["bottom"] - top) / height,
            )
            for c in found.chars
        ]
    if looks_scanned("".join(g.text for g in chars)):
        return []  # read by OCR at ingestion: its words are looked for instead
    return chars


def ocr_glyphs(tsv: str) -> list[Glyph]:
    """OCR's words as glyphs, a space between them (a quote's words run across them)."""
    glyphs: list[Glyph] = []
    for word in ocr_words(tsv):
        glyphs.append(Glyph(word.text, word.left, word.top, word.right, word.bottom))
        glyphs.append(Glyph(" ", word.right, word.top, word.right, word.bottom))
    return glyphs
