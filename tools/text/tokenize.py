"""Word units for lexical matching: syllables (Vietnamese is written syllable by syllable) and
syllable bigrams, which recover much of what compound-word segmentation gives without a model."""

from __future__ import annotations

import re
from functools import lru_cache

from tools.text.normalize import match_key

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)  # "_" separates, as in file names


def syllables(text: str) -> list[str]:
    """Lower-cased, tone-normalised syllables (and numbers) of a text."""
    return list(_syllables(text))


@lru_cache(maxsize=8192)  # the same passages are read by rerank, grading and generation
def _syllables(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(match_key(text)))


def bigrams(tokens: list[str]) -> list[str]:
    """Adjacent token pairs, joined with '_' like segmented compounds ("hà_nội")."""
    return [f"{a}_{b}" for a, b in zip(tokens, tokens[1:], strict=False)]
