"""The patterns that run over whole texts (the legal header, articles, references, sentence
ends, cleaning, chunking) and over questions (asks, citation markers) do work linear in their
input. One text without sentence punctuation once stalled every key's uploads: a pattern that
spanned "[^.;\\n]*" on both sides of its words was quadratic (40,000 characters: 48 s), an
outline heading followed by 3,000 spaces took 49 s, a run of "TP. " 12 s.

Hypothesis builds texts from the pieces those patterns look for (heading words, numbers, end
marks, runs of spaces, joins), repeated to 64 KB. What is bounded is the CPU time of this
thread (`time.thread_time`), not wall-clock time: other processes on the machine do not count
in it. The bound is 60 times what linear work costs here, and far below what any of the
quadratic patterns above took at this size."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.ingest.chunk import chunk_text, legal_pieces
from tools.ingest.legal import find_references, parse_header, split_articles
from tools.text.asks import split_asks
from tools.text.citations import strip_markers
from tools.text.clean import clean_text
from tools.text.sentences import split_sentences

SIZE = 64 * 1024
CPU_SECONDS = 3.0  # linear: about 0.05 s for the slowest parser at this size, here

# What the patterns look for, and what made them backtrack.
PIECES = [
    "a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", " ", "      ", "\n", "\t", ".", "...", ";",
    "?", ",", "TP. ", "v.v. ", "Điều ", "ĐIỀU ", "Chương ", "CHƯƠNG ", "Mục ", "Phần thứ ",
    "I", "IV", "5", "12a", "khoản ", "điểm a ", "của ", "Luật ", "Bộ luật ", "Nghị định ",
    "này", "số ", "31/2024/QH15", "1/", "thay thế ", "hết hiệu lực ", "có hiệu lực từ ",
    "ngày 1 tháng 1 năm 2020", "và ", ", còn ", "[1]", "(", "“", "1. ", "a) ", "- ",
    "QUY ĐỊNH CHUNG", "Đ", "\u00a0", "x" * 300,
]  # fmt: skip

PARSERS: dict[str, Callable[[str], object]] = {
    "parse_header": parse_header,
    "split_articles": split_articles,
    "find_references": find_references,
    "legal_pieces": lambda text: legal_pieces(text, 900, 150),
    "chunk_text": lambda text: chunk_text(text, 900, 150),
    "split_sentences": split_sentences,
    "clean_text": clean_text,
    "split_asks": lambda text: split_asks(text, 4),
    "strip_markers": strip_markers,
}

shapes = st.lists(st.sampled_from(PIECES), min_size=1, max_size=6)


def _text(pieces: list[str]) -> str:
    unit = "".join(pieces)
    return (unit * (SIZE // len(unit) + 1))[:SIZE]


def _cpu_seconds(parse: Callable[[str], object], text: str) -> float:
    began = time.thread_time()
    parse(text)
    return time.thread_time() - began


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=25, deadline=None, database=None, derandomize=True)
@given(pieces=shapes)
def test_each_parser_is_linear_on_generated_texts(name, pieces):
    spent = _cpu_seconds(PARSERS[name], _text(pieces))
    assert spent < CPU_SECONDS, f"{name} on {pieces!r} x {SIZE // len(''.join(pieces))}"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("parse_header", "a" * 100_000),  # the upload that stalled every key
        ("parse_header", "người sử dụng đất " * 5000),
        ("split_articles", "Chương I" + " " * 100_000 + "x"),
        ("split_sentences", "Ở TP. Hà Nội " * 8000),
        ("split_sentences", "." * 100_000),
        ("split_asks", "Điều 5 " + " " * 100_000 + "x"),
        ("strip_markers", " " * 100_000 + "x"),
    ],
)
def test_the_shapes_that_were_quadratic(name, text):
    assert _cpu_seconds(PARSERS[name], text) < CPU_SECONDS


def test_what_the_rewritten_patterns_still_read():
    """Linear, and reading what they read before: outline titles, what a law replaces,
    sentence ends after abbreviations, two joined questions."""
    law = "\n".join(
        [
            "QUỐC HỘI",
            "Luật số: 31/2024/QH15",
            "LUẬT",
            "ĐẤT ĐAI",
            "Chương I. Quy định chung",
            "CHƯƠNG II NHỮNG QUY ĐỊNH KHÁC",
            "Điều 1. Phạm vi",
            "Luật này thay thế Luật Đất đai số 45/2013/QH13; có hiệu lực từ ngày 1 tháng 8 "
            "năm 2024.",
            "Chương I có một điều",
        ]
    )
    header = parse_header(law)
    assert header.replaces == ("45/2013/QH13",) and header.number == "31/2024/QH15"
    _, articles = split_articles(law)
    assert articles[0].path == {"chuong": "II", "chuong_ten": "Những quy định khác"}
    assert articles[0].body[-1] == "Chương I có một điều"  # a sentence, not a heading
    assert split_sentences("Ở TP. Hà Nội. Anh là TS. Nam.") == ["Ở TP. Hà Nội.", "Anh là TS. Nam."]
    assert split_asks(
        "Người lao động được nghỉ phép bao nhiêu ngày, còn thời gian thử việc tối đa là bao lâu?",
        4,
    ) == [
        "Người lao động được nghỉ phép bao nhiêu ngày?",
        "Thời gian thử việc tối đa là bao lâu?",
    ]
