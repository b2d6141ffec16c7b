"""Questions typed without tone marks ("vinh ha long co bao nhieu hon dao").

Many Vietnamese type without an input method. Such text matches documents only once the
documents are stripped the same way, so retrieval keeps tone-stripped views beside the marked
ones, and grading, reranking and extraction compare an unmarked question in the stripped space.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_LETTERS = re.compile(r"[^\W\d_]+", re.UNICODE)
# Below this share of marked syllables a text counts as typed without marks: one stray marked
# word in a longer question ("Hà Noi co bao nhieu quan") still counts. Text typed with marks
# carries one on most syllables (70-80 % of running Vietnamese); foreign names lower that a little.
UNMARKED_BELOW_SHARE = 0.2


@lru_cache(maxsize=200_000)
def strip_syllable(word: str) -> str:
    """One word without tone marks or vowel marks; đ/Đ become d/D."""
    decomposed = unicodedata.normalize("NFD", word)
    kept = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", kept).replace("đ", "d").replace("Đ", "D")


def strip_tones(text: str) -> str:
    """Text as typed without an input method: every diacritic dropped, đ -> d."""
    return _LETTERS.sub(lambda m: strip_syllable(m.group(0)), text)


def _is_marked(word: str) -> bool:
    return strip_syllable(word) != word


def is_unmarked(text: str) -> bool:
    """True when (almost) no syllable of the text carries a Vietnamese mark."""
    words = _LETTERS.findall(unicodedata.normalize("NFC", text))
    if not words:
        return False
    marked = sum(_is_marked(w) for w in words)
    return marked / len(words) < UNMARKED_BELOW_SHARE
