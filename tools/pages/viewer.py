"""Pages of kept originals with a quote highlighted: the glyphs of a page are read once and
kept for the next citation of it; a scan's OCR words come from what ingestion kept, or are read
once and kept beside the original."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.ingest.loaders import IMAGES
from tools.ingest.ocr import OcrFailed, OcrUnavailable, ocr_image, ocr_pdf_page
from tools.ingest.originals import Originals
from tools.pages.glyphs import PageMissing, ocr_glyphs, pdf_glyphs
from tools.pages.highlight import PageMatch, PageText, letters, match_page
from tools.pages.render import page_png, pdf_page_count
from tools.settings import IngestSettings

PAGED = (".pdf", *IMAGES)
_KEPT_PAGES = 256
_REST = 4  # letters of a quote left over that are looked for across the page break
_SHOWN = 8  # fewer of a quote's letters than this found on a page are chance, not drawn


class NotPaged(ValueError):
    """A file without pages (.docx, .html...): its passages are shown in their section."""


@dataclass(frozen=True)
class Highlight:
    quote_letters: int
    pages: tuple[PageMatch, ...]  # the page holding the quote (and the next, across a break)

    @property
    def coverage(self) -> float:
        found = sum(m.matched for m in self.pages)
        return min(1.0, found / self.quote_letters) if self.quote_letters else 0.0


class PageViewer:
    def __init__(self, originals: Originals, settings: IngestSettings) -> None:
        self.originals = originals
        self.settings = settings
        self._texts: OrderedDict[tuple[str, int], PageText] = OrderedDict()
        self._counts: dict[str, int] = {}  # a key names its content: its count never changes
        self._lock = threading.Lock()

    @staticmethod
    def check_paged(key: str) -> None:
        if Path(key).suffix.lower() not in PAGED:
            raise NotPaged(f"a {Path(key).suffix or 'file'} has no pages to show")

    def page_count(self, key: str) -> int:
        self.check_paged(key)
        if (known := self._counts.get(key)) is None:
            with self.originals.local(key) as path:
                known = pdf_page_count(path) if path.suffix.lower() == ".pdf" else 1
            self._counts[key] = known
        return known

    def _ocr(self, key: str, path: Path, page: int) -> str:
        if (kept := self.originals.ocr(key, page)) is not None:
            return kept
        s = self.settings
        try:
            read = (
                ocr_pdf_page(path, page, s.ocr_dpi, s.ocr_languages, s.ocr_page_timeout_s)
                if path.suffix.lower() == ".pdf"
                else ocr_image(path, s.ocr_languages, s.ocr_page_timeout_s)
            )
        except (OcrFailed, OcrUnavailable):
            return ""  # the page is shown without a highlight
        self.originals.save_ocr(key, page, read.tsv)
        return read.tsv

    def text(self, key: str, page: int) -> PageText:
        """The page's glyphs (kept for the next citation of it)."""
        self.check_paged(key)
        with self._lock:
            if (kept := self._texts.get((key, page))) is not None:
                self._texts.move_to_end((key, page))
                return kept
        with self.originals.local(key) as path:
            if path.suffix.lower() == ".pdf":
                glyphs = pdf_glyphs(path, page) or ocr_glyphs(self._ocr(key, path, page))
            elif page != 1:
                raise PageMissing(f"page {page}: an image has one page")
            else:
                glyphs = ocr_glyphs(self._ocr(key, path, page))
        text = PageText(glyphs)
        with self._lock:
            self._texts[(key, page)] = text
            while len(self._texts) > _KEPT_PAGES:
                self._texts.popitem(last=False)
        return text

    def highlight(self, key: str, pages: Sequence[int], quote: str) -> Highlight:
        """Where the quote is among these pages (a passage's first to last page): the page
        holding most of it, and the rest of it on the page before or after when it runs over a
        page break."""
        wanted = letters(quote)
        cited = list(dict.fromkeys(pages))
        found = [
            m for page in cited if (m := match_page(page, self.text(key, page), wanted)) is not None
        ]
        if not found:
            return Highlight(len(wanted), ())
        best = max(found, key=lambda m: m.matched)
        shown = [best]
        if len(wanted) - best.quote_end >= _REST and best.page + 1 in cited:
            rest = wanted[best.quote_end :]
            after = match_page(best.page + 1, self.text(key, best.page + 1), rest)
            shown += [after] if after is not None else []
        if best.quote_start >= _REST and best.page - 1 in cited:
            rest = wanted[: best.quote_start]
            before = match_page(best.page - 1, self.text(key, best.page - 1), rest, last=True)
            shown += [before] if before is not None else []
        return Highlight(len(wanted), tuple(sorted(shown, key=lambda m: m.page)))

    def image(self, key: str, page: int, quote: str, width: int) -> bytes:
        """The page as PNG, with the part of the quote on it highlighted."""
        self.check_paged(key)
        wanted = letters(quote)
        found = match_page(page, self.text(key, page), wanted) if wanted else None
        shown = found is not None and found.matched >= min(_SHOWN, len(wanted))
        boxes = found.boxes if found is not None and shown else ()
        with self.originals.local(key) as path:
            return page_png(path, page, width, boxes)
