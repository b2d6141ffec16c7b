"""Pages read by OCR, reported from inside a loader while a long scan is read: whoever reads the
file (the reader's child process, a job's thread) says where the report goes, so that a job
can say "OCR page 3 of 40" instead of sitting at 0 files for minutes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

PageProgress = Callable[[int, int], None]  # (pages read, pages to read)
_sink: ContextVar[PageProgress | None] = ContextVar("vinarag_ocr_pages", default=None)


def report_pages(done: int, total: int) -> None:
    if (sink := _sink.get()) is not None:
        sink(done, total)


@contextmanager
def pages_to(sink: PageProgress | None) -> Iterator[None]:
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)
