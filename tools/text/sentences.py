"""Vietnamese sentence boundaries, so chunks and extractive answers never cut a sentence.

A period ends a sentence when followed by space and a capital letter, digit, quote or bracket,
except after common abbreviations ("TP.", "v.v.", "TS.") or inside numbers ("1.000", "3.5").
"""

from __future__ import annotations

import re

_ABBREVIATIONS = {
    "tp", "tt", "q", "p", "ts", "ths", "gs", "pgs", "bs", "ks", "ô", "bà", "st", "vd", "v.v",
    "tr", "no", "mr", "mrs", "dr", "co", "ltd", "inc", "jr", "sr", "tx", "h",
}  # fmt: skip
# A run of end marks is taken whole and only from its first mark (possessive, after no other
# mark): started inside a run of 10^5 dots, a backtracking pattern was quadratic.
_CANDIDATE = re.compile(r"((?<![.!?…])[.!?…]++[\"'”’)\]]*+)\s+(?=[\"'“‘(\[]?[A-ZÀ-Ỹ0-9Đ])")
_NEWLINES = re.compile(r"\n\s*\n+")


_LONGEST_ABBREVIATION = 8


def _ends_with_abbreviation(text: str) -> bool:
    """Whether the text's last word is an abbreviation. Only the text's tail is looked at: the
    text grows while abbreviations follow each other ("TP. Hà TP. Hà ..."), and a search over
    all of it each time was quadratic (16,000 of them: 12 s)."""
    tail = text[-(_LONGEST_ABBREVIATION + 8) :]
    words = tail.split()
    if not text.endswith(".") or not words or len(words[-1]) < 2:
        return False
    if len(words) == 1 and len(tail) < len(text) and not text[-len(tail) - 1].isspace():
        return False  # a word longer than the tail: no abbreviation
    word = words[-1][:-1].lower().strip("(\"'“")
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def split_sentences(text: str) -> list[str]:
    """Split a text into sentences; paragraph breaks always end a sentence."""
    sentences: list[str] = []
    for paragraph in _NEWLINES.split(text):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        start = 0
        for match in _CANDIDATE.finditer(paragraph):
            end = match.end(1)
            piece = paragraph[start:end]
            if match.group(1).startswith(".") and _ends_with_abbreviation(piece):
                continue
            sentences.append(piece.strip())
            start = match.end()
        tail = paragraph[start:].strip()
        if tail:
            sentences.append(tail)
    return sentences
