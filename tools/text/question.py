"""What a Vietnamese question asks for: its content terms (question words removed) and the kind
of answer it expects. Used by grading, query rewriting and the extractive answerer."""

from __future__ import annotations

import re
from typing import Literal

from tools.text.normalize import match_key
from tools.text.tokenize import syllables
from tools.text.tones import is_unmarked, strip_tones

AnswerType = Literal["number", "time", "person", "place", "other"]

# Question words and function words that carry no topic. Multi-syllable ones as phrases.
QUESTION_PHRASES = (
    "bao nhiêu", "như thế nào", "thế nào", "tại sao", "vì sao", "khi nào", "lúc nào", "bao giờ",
    "ở đâu", "là gì", "là ai", "cái gì", "điều gì", "những gì", "ra sao", "hay không", "có phải",
)  # fmt: skip
STOP_SYLLABLES = set(
    " ".join(
        [
            "ai gì nào đâu sao mấy không có là của được và các những một này đó thì mà",
            "với cho trong đã đang sẽ bị bởi để từ về như hay hoặc nếu khi vậy",
            "nhỉ ạ à ư hả chứ nhé còn thế",
        ]
    ).split()
)
_NUMBER_CUES = ("bao nhiêu", "mấy", "số lượng", "tỷ lệ", "phần trăm", "bao xa", "bao lâu")
_TIME_CUES = ("năm nào", "khi nào", "lúc nào", "bao giờ", "ngày nào", "thế kỷ nào", "tháng nào",
              "năm bao nhiêu", "thời điểm", "thời gian nào")  # fmt: skip
_PERSON_CUES = ("ai", "người nào", "vị nào", "nhân vật nào")
_PLACE_CUES = ("ở đâu", "nơi nào", "chỗ nào", "tỉnh nào", "nước nào", "thành phố nào", "đâu")


def name_words(text: str) -> list[str]:
    """Capitalised words that do not open a sentence: names of people, places, things."""
    names = []
    sentence_start = True
    for match in re.finditer(r"[^\W\d_]+|[.!?]", text.strip()):
        word = match.group(0)
        if word in ".!?":
            sentence_start = True
            continue
        if word[0].isupper() and not sentence_start:
            names.append(word)
        sentence_start = False
    return names


_PLAIN_PHRASES = tuple(strip_tones(p) for p in QUESTION_PHRASES)
# Stripped, some function words read the same as common content words ("do": đó / đô / độ,
# "ha": hả / Hạ / hà, "co": có / cô / cờ): those stay content terms in an unmarked question.
_HOMOGRAPHS = {
    "a", "bi", "chu", "co", "con", "da", "dang", "dau", "de", "do", "ha", "hay",
    "khi", "la", "ma", "mot", "nay", "se", "sao", "thi", "trong", "tu", "u", "ve",
}  # fmt: skip
_PLAIN_STOPS = {strip_tones(s) for s in STOP_SYLLABLES} - _HOMOGRAPHS


def content_terms(question: str) -> list[str]:
    """The question's syllables without question and function words, in order. A question typed
    without marks is matched against the stripped phrase and stop lists."""
    text = match_key(question)
    plain = is_unmarked(question)
    for phrase in _PLAIN_PHRASES if plain else QUESTION_PHRASES:
        text = re.sub(rf"(^|\W){re.escape(phrase)}(?=\W|$)", " ", text)
    stops = _PLAIN_STOPS if plain else STOP_SYLLABLES
    return [t for t in syllables(text) if t not in stops]


def _has_cue(text: str, cues: tuple[str, ...]) -> bool:
    return any(re.search(rf"(^|\W){re.escape(c)}(\W|$)", text) for c in cues)


def answer_type(question: str) -> AnswerType:
    text = match_key(question)
    plain = is_unmarked(question)
    kinds: tuple[tuple[AnswerType, tuple[str, ...]], ...] = (
        ("time", _TIME_CUES),
        ("number", _NUMBER_CUES),
        ("person", _PERSON_CUES),
        ("place", _PLACE_CUES),
    )
    for kind, cues in kinds:
        if _has_cue(text, tuple(strip_tones(c) for c in cues) if plain else cues):
            return kind
    return "other"
