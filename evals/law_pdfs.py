"""Real laws as PDFs with a text layer, their lines wrapped and run over pages as a printed law
is, ingested through the PDF loader: is every chunk's page (and last page) the page its own
text was printed on? The pages are known because they are written here; the truth for each
chunk is where its opening and its last line stand in the printed text, read in order."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.law_questions import squashed
from tools.ingest.pipeline import IngestReport, load_files, prepare
from tools.settings import Settings

LINES_PER_PAGE = 60
LINE_CHARS = 110
_PROBE = 40


def write_law_pdf(text: str, path: Path) -> list[str]:
    """The text as an A4 PDF; returns each page's printed text."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    printed = [
        piece
        for line in text.splitlines()
        for piece in (textwrap.wrap(line, LINE_CHARS) if line.strip() else [""])
    ]
    pages = [printed[i : i + LINES_PER_PAGE] for i in range(0, len(printed), LINES_PER_PAGE)]
    matplotlib.rcParams["pdf.fonttype"] = 42
    with PdfPages(path) as pdf:
        for lines in pages:
            figure = plt.figure(figsize=(8.27, 11.69))
            for i, line in enumerate(lines):
                figure.text(0.04, 0.97 - i * 0.0155, line, fontsize=6, family="DejaVu Sans")
            pdf.savefig(figure)
            plt.close(figure)
    return ["\n".join(lines) for lines in pages]


class _Printed:
    """The printed text squashed into one string, with where each page starts."""

    def __init__(self, pages: Sequence[str]) -> None:
        self.text, self.starts = "", []
        for page in pages:
            self.starts.append(len(self.text))
            self.text += squashed(page) + " "

    def page_at(self, offset: int) -> int:
        return sum(1 for start in self.starts if start <= offset)


def _body_lines(text: str) -> list[str]:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[1:] if len(lines) > 1 and lines[0].startswith("Điều ") else lines


def page_figures(settings: Settings, files: Sequence[Path], folder: Path) -> dict[str, Any]:
    """Each law as a PDF, chunked as ingestion chunks it; each chunk's pages checked."""
    checked = right_first = right_last = 0
    wrong: list[str] = []
    for file in files:
        pdf = folder / f"{file.stem}.pdf"
        printed = _Printed(write_law_pdf(file.read_text("utf-8", errors="replace"), pdf))
        report = IngestReport()
        documents = load_files([pdf], settings, report, progress=False)
        at = 0
        for document in documents:
            for chunk in prepare(document, settings, report) or []:
                lines = _body_lines(chunk.text)
                if not lines or "page" not in chunk.metadata:
                    continue
                opening = squashed(lines[0])[:_PROBE]
                found = printed.text.find(opening, at)
                if found < 0:
                    continue  # not printed word for word (a cut heading): not judged
                at = found
                closing = squashed(lines[-1])[-_PROBE:]
                end = printed.text.find(closing, found)
                first = printed.page_at(found)
                last = printed.page_at(end + len(closing) - 1) if end >= 0 else first
                page = chunk.metadata["page"]
                page_end = chunk.metadata.get("page_end", page)
                checked += 1
                right_first += page == first
                right_last += page_end == last
                if (page, page_end) != (first, last) and len(wrong) < 10:
                    where = chunk.metadata.get("location", "")
                    wrong.append(f"{where}: pages {page}-{page_end}, printed {first}-{last}")
    return {
        "laws": len(files),
        "chunks_checked": checked,
        "first_page_right": round(right_first / checked, 4) if checked else None,
        "last_page_right": round(right_last / checked, 4) if checked else None,
        "wrong_examples": wrong,
    }
