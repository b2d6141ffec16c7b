"""Cleanup of extracted text: control characters, broken whitespace and boilerplate lines."""

from __future__ import annotations

import re
import unicodedata

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\ufeff]")
_INLINE_SPACE = re.compile(r"[ \t\u00a0]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")
# Lines that carry no content: page numbers, navigation, share buttons, copyright footers.
_BOILERPLATE = re.compile(
    r"^\s*(trang\s+\d+(\s*/\s*\d+)?|page\s+\d+(\s+of\s+\d+)?|\d+\s*/\s*\d+|"
    r"(chia sẻ|share|in bài|print|bình luận|comments?)(\s*[:|].*)?|"
    r"(©|copyright|bản quyền).{0,120}|đọc thêm:?.{0,80}|xem thêm:?.{0,80})\s*$",
    re.IGNORECASE,
)


_LONGEST_BOILERPLATE = 200  # characters: a longer line is content whatever it starts with


def clean_text(text: str) -> str:
    """NFC, no control characters, single spaces, no boilerplate lines, paragraphs kept."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _INLINE_SPACE.sub(" ", _CONTROL.sub("", text))  # once over the text, not per line
    lines = []
    for line in text.split("\n"):
        line = line.strip()
        if line and len(line) <= _LONGEST_BOILERPLATE and _BOILERPLATE.match(line):
            continue
        lines.append(line)
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()
