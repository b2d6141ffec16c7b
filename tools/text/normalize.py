"""Vietnamese normalisation: one Unicode form and one tone-mark placement for documents and queries.

Vietnamese writes the same word with the tone mark on different vowels ("hoà"/"hòa",
"thuỷ"/"thủy") and in precomposed or combining Unicode. Matching (sparse terms, cache keys,
answer metrics) must treat them as one word, so every matching view goes through `normalize`.
The convention kept is the one most Vietnamese text uses ("hòa", "thủy": tone on the first vowel of
an open oa/oe/uy), applied by rule to each syllable.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Combining tone marks: grave, acute, hook above, tilde, dot below.
_TONES = {"\u0300", "\u0301", "\u0309", "\u0303", "\u0323"}
# Vowel bases after the tone is removed (NFC, lower case).
_VOWELS = set("aăâeêioôơuưy")
# Vowels whose own diacritic (breve, circumflex, horn) attracts the tone.
_MARKED = set("ăâêôơư")
# Only syllables that can be Vietnamese are touched ("café", "Zürich" are left as they are).
_FINALS = {"", "c", "ch", "m", "n", "ng", "nh", "p", "t"}
_FOREIGN = set("fjwz")
_WORD = re.compile(r"\w+", re.UNICODE)
_SPACE = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")


def _split_tone(ch: str) -> tuple[str, str]:
    """Return (base letter without tone, tone combining mark or '')."""
    decomposed = unicodedata.normalize("NFD", ch)
    tone = "".join(c for c in decomposed if c in _TONES)
    base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONES))
    return base, tone


def _tone_index(bases: list[str]) -> int | None:
    """Index of the letter that carries the tone in a toneless syllable, by the classic rule."""
    lower = [b.lower() for b in bases]
    start = 0
    # "qu" and "gi" + vowel: the u / i belong to the initial consonant.
    if (
        len(lower) >= 2
        and lower[0] == "q"
        and lower[1] == "u"
        or len(lower) >= 3
        and lower[0] == "g"
        and lower[1] == "i"
        and lower[2] in _VOWELS
    ):
        start = 2
    vowel_pos = [i for i in range(start, len(lower)) if lower[i] in _VOWELS]
    if not vowel_pos:
        # "gì", "quý" style syllables whose only vowel was taken as consonant part.
        vowel_pos = [i for i in range(len(lower)) if lower[i] in _VOWELS]
        if not vowel_pos:
            return None
        return vowel_pos[-1]
    # Keep the contiguous vowel cluster only.
    cluster = [vowel_pos[0]]
    for i in vowel_pos[1:]:
        if i == cluster[-1] + 1:
            cluster.append(i)
        else:
            break
    if any(c in _FOREIGN for c in lower) or "".join(lower[cluster[-1] + 1 :]) not in _FINALS:
        return None
    marked = [i for i in cluster if lower[i] in _MARKED]
    if marked:
        return marked[-1]
    if len(cluster) == 1:
        return cluster[0]
    has_final = cluster[-1] + 1 < len(lower)
    if len(cluster) >= 3 or has_final:
        return cluster[1]
    return cluster[0]


@lru_cache(maxsize=200_000)  # a language has few distinct syllables: each is worked out once
def normalize_syllable(word: str) -> str:
    """Move the tone mark of one syllable to its conventional vowel; keeps case."""
    if len(word) < 2 or len(word) > 8:
        return word
    bases, tone = [], ""
    for ch in word:
        base, t = _split_tone(ch)
        bases.append(base)
        if t:
            if tone:  # two tones: not a Vietnamese syllable, leave it alone
                return word
            tone = t
    if not tone:
        return word
    idx = _tone_index(bases)
    if idx is None:
        return word
    bases[idx] = unicodedata.normalize("NFC", bases[idx] + tone)
    return "".join(bases)


def normalize_tones(text: str) -> str:
    """Apply `normalize_syllable` to every word of an NFC text."""
    return _WORD.sub(lambda m: normalize_syllable(m.group(0)), text)


def normalize(text: str) -> str:
    """NFC + one tone convention + folded whitespace: the form documents and queries match in."""
    text = unicodedata.normalize("NFC", text)
    text = normalize_tones(text)
    return _SPACE.sub(" ", text).strip()


def match_key(text: str) -> str:
    """Case-folded `normalize`: the key for comparing two strings as the same words."""
    return normalize(text).lower()
