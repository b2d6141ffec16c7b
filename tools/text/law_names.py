"""What a question says about the law it is asking about: a document number ("31/2024/QH15",
"100/2019/NĐ-CP") and years ("năm 2017", "2024"). Law names are not parsed here: they are
matched against the names of the laws in the knowledge base (`tools/kb/laws.py`), which is
what makes "Luat Dat dai" and "Luật Đất đai" the same law."""

from __future__ import annotations

import re

from tools.text.normalize import match_key
from tools.text.tones import strip_tones

# số hiệu: "31/2024/QH15", "100/2019/NĐ-CP", "01/2021/TT-BTC", "45/VBHN-VPQH"
NUMBER = re.compile(
    r"(?<![\w/])\d{1,4}/(?:(?:19|20)\d{2}/)?[A-Za-zĐđ]+(?:-[A-Za-zĐđ]+)*\d*(?![\w/])"
)
_YEAR = re.compile(r"(?<![\w/])((?:19|20)\d{2})(?![\w/])")


def law_key(text: str) -> str:
    """How two spellings of a law's name or number compare: case, marks, đ and spacing aside."""
    return " ".join(strip_tones(match_key(text)).replace("đ", "d").split())


def numbers_in(question: str) -> list[str]:
    return NUMBER.findall(question)


def years_in(question: str) -> set[int]:
    """Years written on their own (not inside a document number)."""
    return {int(y) for y in _YEAR.findall(NUMBER.sub(" ", question))}
