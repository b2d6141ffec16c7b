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
# A line that opens a numbered item or an article ("2. ...", "Điều 5. ..."): the line break
# before it ends a sentence even when the line before has no end mark (a clause's points,
# "a) ...;", stay with the sentence that introduces them).
_ITEM_LINE = re.compile(r"\n(?=[ \t]*(?:Điều\s+\d|\d{1,3}\.\s))")
# A number and its period alone are a clause's or an article's number, which opens the
# sentence after it: "1." / "Điều 4." is no sentence, and in "...; b) ...; 3. Cành ..." the
# "3." belongs to what follows.
_MARKER_ONLY = re.compile(r"(?:Điều\s+)?\d{1,3}[a-zđ]?\.")
_TRAILING_MARKER = re.compile(r"[;:]\s+\d{1,3}\.$")


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
    for paragraph in (p for block in _NEWLINES.split(text) for p in _ITEM_LINE.split(block)):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        start = 0
        for match in _CANDIDATE.finditer(paragraph):
            end = match.end(1)
            piece = paragraph[start:end]
            if match.group(1) == ".":
                if _MARKER_ONLY.fullmatch(piece.strip()) or _ends_with_abbreviation(piece):
                    continue
                if marker := _TRAILING_MARKER.search(piece):
                    cut = start + marker.start() + 1  # after the ";"
                    sentences.append(paragraph[start:cut].strip())
                    start = cut
                    continue
            sentences.append(piece.strip())
            start = match.end()
        tail = paragraph[start:].strip()
        if tail:
            sentences.append(tail)
    return sentences
