"""Model-free grounding check: every answer sentence must be supported by the sources it cites
(share of its content terms found in them), and every citation must point at a real source."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tools.corpus.passages import Passage
from tools.text.citations import CITATION_MARKER
from tools.text.question import STOP_SYLLABLES
from tools.text.sentences import split_sentences
from tools.text.tokenize import syllables


@dataclass
class GroundingResult:
    grounded: bool
    score: float  # the weakest sentence's support, 0-1
    unsupported: list[str] = field(default_factory=list)
    invalid_markers: list[int] = field(default_factory=list)


def cited_sentences(answer: str) -> list[tuple[str, list[int]]]:
    """Sentences with the markers that close them. A marker written after the period ("... Nam.
    [1]") belongs to the sentence before it, not to the next one."""
    pieces: list[tuple[str, list[int]]] = []
    for sentence in split_sentences(answer):
        leading = re.match(r"^((?:\[\d+\]\s*)+)(.*)$", sentence)
        if leading and pieces:
            text, markers = pieces[-1]
            extra = [int(m) for m in CITATION_MARKER.findall(leading.group(1))]
            pieces[-1] = (f"{text} {leading.group(1).strip()}", markers + extra)
            sentence = leading.group(2).strip()
            if not sentence:
                continue
        pieces.append((sentence, [int(m) for m in CITATION_MARKER.findall(sentence)]))
    return pieces


def _content(text: str) -> set[str]:
    return {t for t in syllables(CITATION_MARKER.sub(" ", text)) if t not in STOP_SYLLABLES}


def check_grounding(answer: str, sources: list[Passage], threshold: float) -> GroundingResult:
    sentences = cited_sentences(answer)
    if not sentences:
        return GroundingResult(False, 0.0, [answer] if answer else [])
    source_terms = [_content(f"{s['title']} {s['text']}") for s in sources]
    supports, unsupported, invalid = [], [], []
    pending: list[str] = []  # sentences whose marker comes in a later sentence
    for sentence, markers in sentences:
        pending.append(sentence)
        if not markers:
            continue
        valid = [m for m in markers if 1 <= m <= len(sources)]
        invalid += [m for m in markers if m not in valid]
        cited: set[str] = set().union(*(source_terms[m - 1] for m in valid)) if valid else set()
        for part in pending:
            terms = _content(part)
            support = len(terms & cited) / len(terms) if terms else 1.0
            supports.append(support)
            if support < threshold:
                unsupported.append(part)
        pending = []
    for part in pending:  # no citation at all
        if _content(part):
            supports.append(0.0)
            unsupported.append(part)
    if not supports:  # not one sentence that says something or cites: nothing to stand on
        return GroundingResult(False, 0.0, [answer], invalid)
    score = min(supports)
    return GroundingResult(not unsupported and not invalid, round(score, 3), unsupported, invalid)
