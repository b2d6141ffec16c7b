"""OCR of scanned pages with Tesseract's Vietnamese model (Debian: tesseract-ocr,
tesseract-ocr-vie; PDF pages rasterised by pdftoppm from poppler-utils). The command-line tools
are called directly: one process per page, each with a timeout."""

from __future__ import annotations

import csv
import io
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)


class OcrUnavailable(Exception):
    """Tesseract (or its Vietnamese model, or pdftoppm) is not installed."""


class OcrFailed(Exception):
    """One page could not be read (timeout, unreadable image)."""


@dataclass
class OcrPage:
    text: str
    confidence: float  # Tesseract's mean word confidence, 0..1
    seconds: float
    tsv: str = ""  # Tesseract's words with their boxes, kept to highlight them on the page


@dataclass(frozen=True)
class OcrWord:
    text: str
    left: float  # the box, as fractions of the page's width and height
    top: float
    right: float
    bottom: float


def _rows(tsv: str) -> Iterator[dict[str, str]]:
    yield from csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE)


def ocr_words(tsv: str) -> list[OcrWord]:
    """The page's words in reading order with their boxes (the page is Tesseract's level 1
    row: the image it read)."""
    width = height = 0.0
    words = []
    for row in _rows(tsv):
        if row.get("level") == "1":
            width, height = float(row["width"]), float(row["height"])
        word = (row.get("text") or "").strip()
        if row.get("level") != "5" or not word or not width or not height:
            continue
        left, top = float(row["left"]), float(row["top"])
        right, bottom = left + float(row["width"]), top + float(row["height"])
        words.append(OcrWord(word, left / width, top / height, right / width, bottom / height))
    return words


@lru_cache(maxsize=4)
def check_ocr(languages: str, need_pdftoppm: bool = False) -> None:
    """Raises OcrUnavailable with what to install; checked once per process."""
    if shutil.which("tesseract") is None:
        raise OcrUnavailable("OCR needs Tesseract: apt-get install tesseract-ocr tesseract-ocr-vie")
    listed = subprocess.run(
        ["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30
    ).stdout.split()
    missing = [lang for lang in languages.split("+") if lang not in listed]
    if missing:
        raise OcrUnavailable(
            f"OCR needs Tesseract's {'+'.join(missing)} model: apt-get install "
            + " ".join(f"tesseract-ocr-{m}" for m in missing)
        )
    if need_pdftoppm and shutil.which("pdftoppm") is None:
        raise OcrUnavailable("OCR of PDF pages needs pdftoppm: apt-get install poppler-utils")


def _text_and_confidence(tsv: str) -> tuple[str, float]:
    """Tesseract's TSV: words with their block / paragraph / line, and a confidence each."""
    lines: dict[tuple[str, str, str], list[str]] = {}
    confidences: list[float] = []
    for row in _rows(tsv):
        word = (row.get("text") or "").strip()
        if not word or row.get("level") != "5":
            continue
        key = (row["block_num"], row["par_num"], row["line_num"])
        lines.setdefault(key, []).append(word)
        confidence = float(row.get("conf") or -1)
        if confidence >= 0:
            confidences.append(confidence / 100)
    text, previous = [], None
    for key, words in lines.items():
        if previous is not None and key[:2] != previous[:2]:
            text.append("")  # a new paragraph
        text.append(" ".join(words))
        previous = key
    mean = sum(confidences) / len(confidences) if confidences else 0.0
    return "\n".join(text), mean


def ocr_image(image: Path, languages: str = "vie", timeout_s: float = 120) -> OcrPage:
    import time

    check_ocr(languages)
    start = time.perf_counter()
    try:
        result = subprocess.run(
            ["tesseract", str(image), "stdout", "-l", languages, "--psm", "3", "tsv"],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        raise OcrFailed(f"OCR took over {timeout_s:g} s") from None
    if result.returncode != 0:
        said = " ".join(result.stderr.replace("\ufffd", "").split())
        raise OcrFailed(f"tesseract: {said[-300:] or 'failed'}")
    text, confidence = _text_and_confidence(result.stdout)
    return OcrPage(text, confidence, time.perf_counter() - start, result.stdout)


def ocr_pdf_page(
    pdf: Path, page: int, dpi: int = 300, languages: str = "vie", timeout_s: float = 120
) -> OcrPage:
    """One page (1-based) rasterised at `dpi`, then read."""
    check_ocr(languages, need_pdftoppm=True)
    with tempfile.TemporaryDirectory(prefix="vinarag-ocr-") as folder:
        prefix = Path(folder) / "page"
        try:
            subprocess.run(
                ["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-gray",
                 "-singlefile", str(pdf), str(prefix)],
                capture_output=True,
                check=True,
                timeout=timeout_s,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise OcrFailed(f"page {page}: rasterising took over {timeout_s:g} s") from None
        except subprocess.CalledProcessError as exc:
            raise OcrFailed(f"page {page}: pdftoppm: {exc.stderr.decode()[-300:]}") from None
        # Uncompressed greyscale: encoding a 300 dpi page as PNG took longer than reading it.
        return ocr_image(prefix.with_suffix(".pgm"), languages, timeout_s)
