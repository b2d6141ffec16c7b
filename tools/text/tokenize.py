"""Units for lexical matching: syllables (Vietnamese is written syllable by syllable), syllable
bigrams (word order), and words as pyvi segments them (compounds such as "thủ_đô")."""

from __future__ import annotations

import re
from functools import lru_cache

from tools.text.normalize import match_key

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)  # "_" separates, as in file names
_WORD_TOKEN = re.compile(r"\w+", re.UNICODE)  # pyvi joins compound syllables with "_"


def syllables(text: str) -> list[str]:
    """Lower-cased, tone-normalised syllables (and numbers) of a text."""
    return list(_syllables(text))


@lru_cache(maxsize=8192)  # the same passages are read by rerank, grading and generation
def _syllables(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(match_key(text)))


@lru_cache(maxsize=8192)
def _words(text: str) -> tuple[str, ...]:
    from pyvi import ViTokenizer

    segmented = ViTokenizer.tokenize(match_key(text.replace("_", " ")))
    return tuple(_WORD_TOKEN.findall(segmented))


def words(text: str) -> list[str]:
    """Lower-cased, tone-normalised words as pyvi segments them ("hà_nội", "thủ_đô")."""
    return list(_words(text)) if text.strip() else []


def bigrams(tokens: list[str]) -> list[str]:
    """Adjacent token pairs, joined with '_' like segmented compounds ("hà_nội")."""
    return [f"{a}_{b}" for a, b in zip(tokens, tokens[1:], strict=False)]
