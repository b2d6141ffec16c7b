"""Units for lexical matching: syllables (Vietnamese is written syllable by syllable), syllable
bigrams (word order), and words as pyvi segments them (compounds such as "thủ_đô")."""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from tools.text.normalize import match_key
from tools.text.tones import is_unmarked, strip_syllable

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)  # "_" separates, as in file names
_WORD_TOKEN = re.compile(r"\w+", re.UNICODE)  # pyvi joins compound syllables with "_"


def syllables(text: str) -> list[str]:
    """Lower-cased, tone-normalised syllables (and numbers) of a text."""
    return list(_syllables(text))


# The same passages are read by rerank, grading and generation within a request: a few hundred
# texts. 8,192 passages (with their tokens, ~14 KB each) kept three times over grew a serving
# process by hundreds of MB over hours, filling as new questions and passages came.
TOKEN_CACHE = 1024


@lru_cache(maxsize=TOKEN_CACHE)
def _syllables(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(match_key(text)))


_PYVI_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def pyvi_tokenizer() -> Any:
    """pyvi's segmenter. Its model unpickles through sklearn-crfsuite, which imports scikit-learn
    only for an estimator base class it falls back from when scikit-learn is missing; importing
    scikit-learn costs about a second of every command that searches, so when nothing has
    imported it yet it is held back while pyvi loads (the tagger itself is python-crfsuite)."""
    with _PYVI_LOCK:
        if "sklearn" in sys.modules or "pyvi.ViTokenizer" in sys.modules:
            from pyvi import ViTokenizer

            return ViTokenizer
        sys.modules["sklearn"] = None  # type: ignore[assignment]  # import sklearn -> ImportError
        try:
            from pyvi import ViTokenizer
        except ImportError:  # a pyvi whose model does need scikit-learn: load it the usual way
            del sys.modules["sklearn"]
            from pyvi import ViTokenizer
        else:
            del sys.modules["sklearn"]
        return ViTokenizer


@lru_cache(maxsize=TOKEN_CACHE)
def _words(text: str) -> tuple[str, ...]:
    segmented = pyvi_tokenizer().tokenize(match_key(text.replace("_", " ")))
    return tuple(_WORD_TOKEN.findall(segmented))


def words(text: str) -> list[str]:
    """Lower-cased, tone-normalised words as pyvi segments them ("hà_nội", "thủ_đô")."""
    return list(_words(text)) if text.strip() else []


def bigrams(tokens: list[str]) -> list[str]:
    """Adjacent token pairs, joined with '_' like segmented compounds ("hà_nội")."""
    return [f"{a}_{b}" for a, b in zip(tokens, tokens[1:], strict=False)]


@lru_cache(maxsize=TOKEN_CACHE)
def _plain_syllables(text: str) -> tuple[str, ...]:
    return tuple(strip_syllable(t) for t in _syllables(text))


def plain_syllables(text: str) -> list[str]:
    """`syllables` without tone and vowel marks (đ -> d): how text typed without marks reads."""
    return list(_plain_syllables(text))


def tokenizer_for(question: str) -> Callable[[str], list[str]]:
    """The syllable space a question is compared in: stripped when it was typed without marks
    (its own syllables are then already stripped), marked otherwise."""
    return plain_syllables if is_unmarked(question) else syllables
