"""Where a quote is on a page. The page's characters and the quote are compared as letters and
digits only, marks and case aside: the text layer read for the page, the text stored for the
passage (another extractor, legacy fonts converted, OCR) and the answer's quote differ in spaces,
punctuation and composed or combined marks, not in their letters. An exact match is used when
there is one; otherwise the quote's 8-letter pieces vote for where it starts, and the letters
around that place are aligned with it."""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import Match, SequenceMatcher

from tools.pages.glyphs import Glyph

_GRAM = 8
_MIN_BLOCK = 3  # aligned runs shorter than this are chance
_SLACK = 12  # letters a page may hold between two aligned runs beyond what the quote holds


def letters(text: str) -> str:
    """Letters and digits, lower case, without marks (đ stays đ)."""
    return "".join(c for c in unicodedata.normalize("NFD", text.casefold()) if c.isalnum())


@dataclass(frozen=True)
class Box:
    """A highlighted line's part, as fractions of the page's width and height."""

    left: float
    top: float
    right: float
    bottom: float


@dataclass(frozen=True)
class PageMatch:
    page: int
    matched: int  # the quote's letters found on this page
    quote_start: int  # the part of the quote found here, in its letters
    quote_end: int
    boxes: tuple[Box, ...]


@dataclass(frozen=True)
class _Span:
    start: int  # in the page's letters
    end: int
    matched: int
    quote_start: int
    quote_end: int


def _in_step(blocks: list[Match]) -> list[Match]:
    """The aligned runs around the longest one that keep step with the quote: a run further
    along the page than along the quote (by more than a few letters) is a chance match in
    the text around it, and so is everything past it."""
    best = max(range(len(blocks)), key=lambda i: blocks[i].size)
    low = high = best
    while high + 1 < len(blocks):
        here, after = blocks[high], blocks[high + 1]
        if after.a - (here.a + here.size) > after.b - (here.b + here.size) + _SLACK:
            break
        high += 1
    while low > 0:
        here, before = blocks[low], blocks[low - 1]
        if here.a - (before.a + before.size) > here.b - (before.b + before.size) + _SLACK:
            break
        low -= 1
    return blocks[low : high + 1]


class PageText:
    """A page's glyphs as one string of letters, each letter knowing its glyph."""

    def __init__(self, glyphs: Sequence[Glyph]) -> None:
        self.glyphs = glyphs
        keys, owners = [], []
        for i, glyph in enumerate(glyphs):
            for c in letters(glyph.text):
                keys.append(c)
                owners.append(i)
        self.key = "".join(keys)
        self.owner = owners
        self._grams: dict[str, list[int]] | None = None

    def grams(self) -> dict[str, list[int]]:
        if self._grams is None:
            self._grams = {}
            for at in range(len(self.key) - _GRAM + 1):
                self._grams.setdefault(self.key[at : at + _GRAM], []).append(at)
        return self._grams

    def locate(self, quote: str, last: bool = False) -> _Span | None:
        """Where the quote is in `key` (the last place holding all of it when `last`)."""
        n = len(quote)
        if n == 0 or not self.key:
            return None
        if (at := self.key.rfind(quote) if last else self.key.find(quote)) >= 0:
            return _Span(at, at + n, n, 0, n)
        votes: Counter[int] = Counter()
        grams = self.grams()
        for i in range(0, max(1, n - _GRAM + 1), _GRAM // 2):
            for at in grams.get(quote[i : i + _GRAM], [])[:64]:
                votes[at - i] += 1
        if not votes:
            return None
        start = votes.most_common(1)[0][0]
        low, high = max(0, start - n // 4), min(len(self.key), start + n + n // 4)
        blocks = [
            b
            for b in SequenceMatcher(
                None, self.key[low:high], quote, autojunk=False
            ).get_matching_blocks()
            if b.size >= _MIN_BLOCK
        ]
        if not blocks:
            return None
        blocks = _in_step(blocks)
        first, end = blocks[0], blocks[-1]
        return _Span(
            low + first.a,
            low + end.a + end.size,
            sum(b.size for b in blocks),
            first.b,
            end.b + end.size,
        )

    def boxes(self, start: int, end: int) -> tuple[Box, ...]:
        """The glyphs from the span's first letter to its last, merged line by line."""
        first, last = self.owner[start], self.owner[end - 1]
        merged: list[list[float]] = []
        for glyph in self.glyphs[first : last + 1]:
            if not glyph.text.strip():
                continue
            middle = (glyph.top + glyph.bottom) / 2
            line = merged[-1] if merged else None
            if line and line[1] <= middle <= line[3] and glyph.left >= line[0] - 1e-3:
                line[1], line[3] = min(line[1], glyph.top), max(line[3], glyph.bottom)
                line[2] = max(line[2], glyph.right)
            else:
                merged.append([glyph.left, glyph.top, glyph.right, glyph.bottom])
        return tuple(Box(*line) for line in merged)


def match_page(page: int, text: PageText, quote: str, last: bool = False) -> PageMatch | None:
    found = text.locate(quote, last)
    if found is None:
        return None
    return PageMatch(
        page, found.matched, found.quote_start, found.quote_end, text.boxes(found.start, found.end)
    )
