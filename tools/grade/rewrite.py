"""Deterministic query rewriting: for a follow-up, carry the previous turn's key terms; on a
retry, keep only the content terms (question words dropped). The node also relaxes filters and
widens top_k; this module only writes the text."""

from __future__ import annotations

import re
from collections.abc import Sequence

from tools.conversation import Turn
from tools.text.normalize import match_key
from tools.text.question import content_terms

# Openings and references that mark a question as depending on the previous turn.
_FOLLOW_UP = re.compile(
    r"^(còn|vậy|thế|thế còn|vậy còn|và|rồi|sau đó|tiếp theo)\b|"
    r"\b(thì sao|thế nào nữa|ông ấy|bà ấy|anh ấy|chị ấy|họ|nó|ở đó|khi đó|lúc đó|điều đó|"
    r"việc đó|nơi đó|người đó|ông ta|bà ta|cái đó|này thì|ấy)\b",
    re.IGNORECASE,
)


# A follow-up carries at most this many of the previous question's terms: enough to name what
# it refers to, and never a query as long as whatever a client sent as its earlier turn.
MAX_CARRIED_TERMS = 16


def is_follow_up(question: str) -> bool:
    text = match_key(question)
    return bool(_FOLLOW_UP.search(text)) or len(content_terms(question)) <= 1


def condense(question: str, history: Sequence[Turn]) -> str:
    """A standalone question: the follow-up plus the key terms of the previous question."""
    if not history or not is_follow_up(question):
        return question
    previous = history[-1]["question"]
    own = set(content_terms(question))
    carried = list(dict.fromkeys(t for t in content_terms(previous) if t not in own))
    carried = carried[:MAX_CARRIED_TERMS]
    return f"{question} {' '.join(carried)}".strip() if carried else question


def strip_question_words(question: str) -> str:
    terms = content_terms(question)
    return " ".join(terms) if terms else question
