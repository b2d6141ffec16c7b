"""A real law printed as a PDF (by Chromium, as a browser or office suite prints it, or by
matplotlib's writer), ingested through the PDF loader with its original kept; sentences an
answer quotes from its passages are looked up on their passage's pages as the page view does.
A citation counts as shown when the page highlighted is a page whose text (read by PDFium, an
extractor other than the one the highlight uses) holds the quote, and the text PDFium reads
inside the highlighted boxes is the quote (similarity >= 0.9, letters and digits compared)."""

from __future__ import annotations

import html
import logging
import random
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Literal

from evals.law_pdfs import write_law_pdf
from tools.corpus.documents import Chunk
from tools.generate.extractive import quotable
from tools.ingest.originals import ORIGINAL, open_originals
from tools.ingest.pipeline import IngestReport, load_files, prepare
from tools.pages.highlight import Box, letters
from tools.pages.viewer import Highlight, PageViewer
from tools.settings import Settings

Printer = Literal["chromium", "matplotlib"]
CHROMIUM = "/usr/bin/chromium"
SHOWN_SIMILARITY = 0.9
_MIN_QUOTE_LETTERS = 20  # "Điều 5." alone cites nothing a reader could check
_PAGE = """<!doctype html><meta charset="utf-8"><style>
@page { size: A4; margin: 2cm 2cm 2cm 2.5cm }
body { font: 12pt/1.45 "DejaVu Serif", serif; text-align: justify }
p { margin: 0 0 4pt } .title { text-align: center; font-weight: bold }
</style>"""


def print_with_chromium(text: str, pdf: Path) -> None:
    """The law as a browser prints it: A4, 12 pt, justified, its title lines centred."""
    page = pdf.with_suffix(".html")
    paragraphs = []
    for i, line in enumerate(text.splitlines()):
        if line.strip():
            kind = ' class="title"' if i < 12 and line.isupper() else ""
            paragraphs.append(f"<p{kind}>{html.escape(line.strip())}</p>")
    page.write_text(_PAGE + "\n".join(paragraphs), "utf-8")
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
         f"--print-to-pdf={pdf}", page.as_uri()],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip


def _pdfium_pages(pdf: Path) -> list[Any]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf))
    return [document, *[document[i] for i in range(len(document))]]


def _boxed_text(page: Any, boxes: Sequence[Box]) -> str:
    """What PDFium reads inside the boxes (each a line: its middle band, not its neighbours)."""
    text = page.get_textpage()
    width, height = page.get_size()
    out = []
    for box in boxes:
        band = (box.bottom - box.top) * 0.3
        out.append(
            text.get_text_bounded(
                left=box.left * width,
                bottom=(1 - box.bottom + band) * height,
                right=box.right * width,
                top=(1 - box.top - band) * height,
            )
        )
    return " ".join(out)


def _similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b, autojunk=False).ratio() if a or b else 1.0


def _citations(chunks: Sequence[Chunk], count: int, seed: int) -> list[tuple[Chunk, str]]:
    """Quotes as the extractive answerer cuts them, drawn evenly over the law's passages."""
    every = [
        (chunk, quote)
        for chunk in chunks
        if "page" in chunk.metadata
        for quote in quotable(chunk.text)
        if len(letters(quote)) >= _MIN_QUOTE_LETTERS
    ]
    return random.Random(seed).sample(every, min(count, len(every)))


def run_highlight_benchmark(
    law: Path, printer: Printer, count: int, seed: int = 7, width: int = 1000
) -> dict[str, Any]:
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # a line per font table
    with tempfile.TemporaryDirectory(prefix="vinarag-highlight-") as folder:
        pdf = Path(folder) / f"{law.stem}.pdf"
        text = law.read_text("utf-8", errors="replace")
        if printer == "chromium":
            print_with_chromium(text, pdf)
        else:
            write_law_pdf(text, pdf)
        settings = Settings(data_dir=Path(folder) / "data")
        report = IngestReport()
        began = time.perf_counter()
        documents = load_files([pdf], settings, report, progress=False)
        chunks = [c for d in documents for c in prepare(d, settings, report) or []]
        read_s = time.perf_counter() - began
        originals = open_originals(settings)
        assert originals is not None
        key = str(documents[0].metadata[ORIGINAL])
        viewer = PageViewer(originals, settings.ingest)
        opened = _pdfium_pages(pdf)
        pages = opened[1:]
        page_letters = [letters(p.get_textpage().get_text_range()) for p in pages]
        shown = right_page = 0
        failures: list[dict[str, Any]] = []
        seconds: list[float] = []
        for chunk, quote in _citations(chunks, count, seed):
            first = int(chunk.metadata["page"])
            cited = list(range(first, int(chunk.metadata.get("page_end", first)) + 1))
            start = time.perf_counter()
            found: Highlight = viewer.highlight(key, cited, quote)
            seconds.append(time.perf_counter() - start)
            wanted = letters(quote)
            holding = {
                n
                for n in range(1, len(pages) + 1)
                if wanted in page_letters[n - 1]
                or wanted in page_letters[n - 1] + (page_letters[n] if n < len(pages) else "")
                or wanted in (page_letters[n - 2] if n > 1 else "") + page_letters[n - 1]
            }
            main = max(found.pages, key=lambda m: m.matched).page if found.pages else None
            boxed = letters(" ".join(_boxed_text(pages[m.page - 1], m.boxes) for m in found.pages))
            similarity = _similarity(wanted, boxed)
            right = main in holding
            right_page += right
            ok = right and similarity >= SHOWN_SIMILARITY
            shown += ok
            if not ok and len(failures) < 10:
                failures.append(
                    {"location": chunk.metadata.get("location"), "pages": cited, "quote": quote,
                     "highlighted_page": main, "pages_holding_it": sorted(holding)[:5],
                     "similarity": round(similarity, 3), "boxed": boxed[:200]}
                )  # fmt: skip
        renders = []
        for n in range(1, min(len(pages), 12) + 1):
            start = time.perf_counter()
            viewer.image(key, n, "", width)
            renders.append(time.perf_counter() - start)
        opened[0].close()
        cited_count = len(seconds)
        return {
            "law": law.name,
            "printer": printer,
            "pages": len(pages),
            "passages": len(chunks),
            "citations": cited_count,
            "shown": shown,
            "shown_share": round(shown / cited_count, 4) if cited_count else 0.0,
            "right_page_share": round(right_page / cited_count, 4) if cited_count else 0.0,
            "read_s": round(read_s, 2),
            "highlight_ms_median": round(statistics.median(seconds) * 1000, 1),
            "highlight_ms_max": round(max(seconds) * 1000, 1),
            "render_ms_median": round(statistics.median(renders) * 1000, 1),
            "render_width": width,
            "failures": failures,
        }


def format_highlight(results: Sequence[dict[str, Any]]) -> str:
    lines = ["printer     pages  citations  shown   right page  highlight ms (median/max)  "
             "page PNG ms"]  # fmt: skip
    for r in results:
        lines.append(
            f"{r['printer']:<11} {r['pages']:>5}  {r['citations']:>9}  {r['shown_share']:>6.1%}"
            f"  {r['right_page_share']:>10.1%}  {r['highlight_ms_median']:>8} / "
            f"{r['highlight_ms_max']:<14}  {r['render_ms_median']}"
        )
    return "\n".join(lines)
