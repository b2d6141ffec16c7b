"""What a question says about the law it is asking about: a document number ("31/2024/QH15",
"100/2019/NĐ-CP") and years ("năm 2017", "2024"). Law names are matched against the names of
the laws in the knowledge base (`tools/kb/laws.py`), which is what makes "Luat Dat dai" and
"Luật Đất đai" the same law; what is read here is only the shape of a name a question writes,
"Luật An ninh mạng", so that a law the knowledge base does not hold is noticed at all."""

from __future__ import annotations

import re

from tools.text.normalize import match_key
from tools.text.tones import strip_tones

# số hiệu: "31/2024/QH15", "100/2019/NĐ-CP", "01/2021/TT-BTC", "45/VBHN-VPQH"
NUMBER = re.compile(
    r"(?<![\w/])\d{1,4}/(?:(?:19|20)\d{2}/)?[A-Za-zĐđ]+(?:-[A-Za-zĐđ]+)*\d*(?![\w/])"
)
_YEAR = re.compile(r"(?<![\w/])((?:19|20)\d{2})(?![\w/])")
# the year inside a law's number ("91/2015/QH13")
YEAR_IN_NUMBER = re.compile(r"/((?:19|20)\d{2})/")


def law_key(text: str) -> str:
    """How two spellings of a law's name or number compare: case, marks, đ and spacing aside."""
    return " ".join(strip_tones(match_key(text)).replace("đ", "d").split())


def numbers_in(question: str) -> list[str]:
    return NUMBER.findall(question)


def years_in(question: str) -> set[int]:
    """Years written on their own (not inside a document number)."""
    return {int(y) for y in _YEAR.findall(NUMBER.sub(" ", question))}


# A law's name as a question writes it: its kind, then a capitalised word, then the words of the
# name up to the first word that goes on with the sentence ("Luật An ninh mạng quy định ...").
_KINDS = r"(?:Bộ luật|Luật|Pháp lệnh|Nghị định|Nghị quyết|Thông tư|Hiến pháp)"
_GOES_ON = (
    "quy định", "có", "được", "thì", "là", "không", "phải", "nào", "gì", "bao", "khi", "nếu",
    "đối", "với", "trong", "theo", "tại", "hiện", "hành", "mới", "năm", "số", "này", "đó",
    "cho", "bị", "áp", "dụng", "về", "như", "sửa", "đổi", "hết", "còn", "đã", "sẽ", "và",
)  # fmt: skip
_NAME_WORD = r"[^\W\d_][^\s,;:.?!()\"“”]*"
_MENTION = re.compile(
    rf"(?<!\w)((?i:{_KINDS}))\s+({_NAME_WORD}(?:(?:\s+|,\s+(?=chống))"
    rf"(?!(?:{'|'.join(_GOES_ON)})(?!\w)){_NAME_WORD}){{0,9}})"
)


def law_mentions(question: str) -> list[str]:
    """The law names a question writes, with a capital as laws are named ("Luật An ninh
    mạng", "Bộ luật Hình sự"): "luật này" or "theo luật" name no law."""
    return [f"{kind} {name}" for kind, name in _MENTION.findall(question) if name[0].isupper()]
