"""A model-free Vietnamese language check: share of syllables that only Vietnamese writes.

Letters such as ơ, ư, đ, ạ, ế occur in no other major language; common function words
("và", "của", "là") add evidence for short or unaccented text. Good enough to flag an English or
French document in a batch, which is what ingestion needs.
"""

from __future__ import annotations

import re
import unicodedata

_VI_ONLY = set("ăâđơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹĩũơ")
_FUNCTION_WORDS = {
    "và", "của", "là", "có", "được", "các", "những", "trong", "cho", "không", "người", "một",
    "với", "này", "đã", "để", "từ", "khi", "theo", "về", "nhiều", "năm", "cũng", "như",
}  # fmt: skip
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def vietnamese_score(text: str, sample_words: int = 2000) -> float:
    """Share (0-1) of words with Vietnamese-only letters or that are Vietnamese function words."""
    words = _WORD.findall(unicodedata.normalize("NFC", text).lower())[:sample_words]
    if not words:
        return 0.0
    hits = sum(1 for w in words if w in _FUNCTION_WORDS or any(c in _VI_ONLY for c in w))
    return hits / len(words)
