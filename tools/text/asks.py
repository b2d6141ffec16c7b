"""A chat message's separate asks. People put two or three questions in one message
("... bao nhiêu năm? Người dưới bao nhiêu tuổi ...?", "1. ... 2. ...", "... bao nhiêu năm, còn
... thì sao?"); each is retrieved and answered on its own. The rules read Vietnamese punctuation
and conjunctions, marked or not, and leave a message that is one ask exactly as it came."""

from __future__ import annotations

import itertools
import re

from tools.text.question import QUESTION_PHRASES
from tools.text.tones import is_unmarked, strip_tones

# Words that make a clause a question, besides QUESTION_PHRASES.
_CUE_WORDS = ("ai", "gì", "nào", "đâu", "mấy", "sao", "bao lâu", "bao xa")
_CUES = re.compile(
    r"\b(?:"
    + "|".join(re.escape(c) for c in sorted({*QUESTION_PHRASES, *_CUE_WORDS}, key=len)[::-1])
    + r")\b",
    re.IGNORECASE,
)
# Unmarked, a few cues read like common words ("dau": đấu / đầu / dầu): those are left out.
_PLAIN_HOMOGRAPHS = {"dau", "o dau"}
_PLAIN_CUES = re.compile(
    r"\b(?:"
    + "|".join(
        re.escape(plain)
        for plain in sorted({strip_tones(c) for c in (*QUESTION_PHRASES, *_CUE_WORDS)}, key=len)[
            ::-1
        ]
        if plain not in _PLAIN_HOMOGRAPHS
    )
    + r")\b",
    re.IGNORECASE,
)
# "1. ...", "2) ...", at a line start or after a sentence's end, numbered from 1 in order
_NUMBERED = re.compile(r"(?:^|(?<=[\s:?.;]))(\d{1,2})[.)]\s+")
# Two questions joined in one sentence: ", còn ...", "; và ...", ", đồng thời ..."
# (unmarked "con" only after a comma: alone it is also "con", a child, in most messages)
# Spaces are taken whole (possessive) and from the first of a run only: a pattern that could
# start anywhere in a run of spaces and give them back one by one was cubic in its length.
_JOINS = re.compile(r"(?:(?:[,;]|(?<!\s))\s++(?:và|va|còn|đồng thời|dong thoi)|[,;]\s*+con)\s++")
MIN_ASK_WORDS = 4  # each side of a join: fewer is one question ("Ai và khi nào ...?")
# Joins looked at in one sentence: each costs a pass over the sentence, and a sentence of 600
# "và" is no list of questions.
MAX_JOINS = 16


def is_question(text: str) -> bool:
    """A question mark, or a question word (read without marks when the text has none)."""
    cues = _PLAIN_CUES if is_unmarked(text) else _CUES
    return "?" in text or bool(cues.search(text))


def _words(text: str) -> int:
    return len(re.findall(r"[^\W_]+", text))


def _numbered(text: str) -> list[str] | None:
    """Items of a list numbered 1, 2, ... in order; text before item 1 leads each item."""
    marks = list(_NUMBERED.finditer(text))
    numbers = [int(m.group(1)) for m in marks]
    if len(marks) < 2 or numbers != list(range(1, len(marks) + 1)):
        return None
    lead = text[: marks[0].start()].strip()
    items = []
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        items.append(text[mark.end() : following.start() if following else len(text)].strip())
    if not all(items) or not all(is_question(item) for item in items):
        return None
    # a lead that is no question itself ("Cho tôi hỏi:") is dropped; one that is, is kept apart
    return [lead, *items] if lead and is_question(lead) else items


def _sentences(text: str) -> list[str]:
    """Cut after each "?"; a clause after the last one that asks nothing joins the last ask,
    and a statement before a question (its context) stays with it."""
    parts = [p.strip() for p in re.split(r"(?<=\?)\s+", text.strip()) if p.strip()]
    asks: list[str] = []
    for part in parts:
        if asks and not part.endswith("?") and not is_question(part):
            asks[-1] = f"{asks[-1]} {part}"
        else:
            asks.append(part)
    return asks


def _joined(sentence: str) -> list[str]:
    """Two questions joined by a conjunction, when each side asks something on its own."""
    for join in itertools.islice(_JOINS.finditer(sentence), MAX_JOINS):
        left, right = sentence[: join.start()].strip(), sentence[join.end() :].strip()
        if min(_words(left), _words(right)) < MIN_ASK_WORDS:
            continue
        if is_question(left.rstrip("?")) and is_question(right.rstrip("?")):
            right = right[0].upper() + right[1:]
            return [left.rstrip(" ,;") + "?", *_joined(right)]
    return [sentence]


def split_asks(message: str, limit: int) -> list[str]:
    """The message's asks in order, at most `limit` (the rest stays in the last one). A message
    with one ask comes back unchanged, as a one-item list."""
    text = message.strip()
    if limit <= 1 or not text:
        return [text]
    asks = _numbered(text)
    if asks is None:
        asks = [piece for sentence in _sentences(text) for piece in _joined(sentence)]
    asks = [a for a in asks if _words(a)]
    if len(asks) <= 1:
        return [text]
    if len(asks) > limit:
        asks = [*asks[: limit - 1], " ".join(asks[limit - 1 :])]
    return asks
