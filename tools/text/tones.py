"""Questions typed without tone marks ("vinh ha long co bao nhieu hon dao").

Many Vietnamese type without an input method. Such text matches documents only once the
documents are stripped the same way, so retrieval keeps tone-stripped views beside the marked
ones, and grading, reranking and extraction compare an unmarked question in the stripped space.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
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


def restore_tones(question: str, texts: Iterable[str]) -> str:
    """The question with marks put back from how the given texts (the passages retrieval found)
    write its words: each stripped syllable takes the marked form those texts use most next to
    the same neighbours, else most often alone; a syllable they never write stays as typed."""
    alone: dict[str, Counter[str]] = defaultdict(Counter)
    pairs: dict[tuple[str, str], Counter[tuple[str, str]]] = defaultdict(Counter)
    for text in texts:
        marked = [w.lower() for w in _LETTERS.findall(unicodedata.normalize("NFC", text))]
        plain = [strip_syllable(w) for w in marked]
        for i, word in enumerate(marked):
            alone[plain[i]][word] += 1
            if i + 1 < len(marked):
                pairs[plain[i], plain[i + 1]][word, marked[i + 1]] += 1
    words = list(_LETTERS.finditer(question))
    keys = [strip_syllable(m.group(0).lower()) for m in words]
    chosen: list[str | None] = []
    for i, key in enumerate(keys):
        votes: Counter[str] = Counter()
        if i > 0:
            for (_, right), n in pairs.get((keys[i - 1], key), Counter()).items():
                votes[right] += 2 * n
        if i + 1 < len(keys):
            for (left, _), n in pairs.get((key, keys[i + 1]), Counter()).items():
                votes[left] += 2 * n
        if not votes:
            votes = alone.get(key, Counter())
        chosen.append(votes.most_common(1)[0][0] if votes else None)
    out, last = [], 0
    for match, word in zip(words, chosen, strict=True):
        typed = match.group(0)
        if word is not None and typed[:1].isupper():
            word = word[:1].upper() + word[1:]
        out.append(question[last : match.start()] + (word or typed))
        last = match.end()
    return "".join(out) + question[last:]
