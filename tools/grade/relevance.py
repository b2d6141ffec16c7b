"""Model-free relevance. Retrieval scores are relative (the best hit of any query scores 1), so
they cannot tell "nothing relevant" apart; term coverage can. A source is relevant when it holds
enough of the question's content terms (question words removed, tone-normalised) and, when the
question names something (a capitalised name not opening the sentence), enough of that name:
"Thủ đô của nước Pháp" is not answered by a passage about the capital of Viet Nam."""

from __future__ import annotations

from dataclasses import dataclass

from tools.corpus.passages import Passage
from tools.text.question import content_terms, name_words
from tools.text.tokenize import syllables, tokenizer_for


@dataclass
class RelevanceGrade:
    chunk: Passage
    coverage: float
    relevant: bool
    name_coverage: float | None = None


def name_terms(question: str) -> set[str]:
    """Syllables of capitalised words that do not open the question."""
    return {t for word in name_words(question) for t in syllables(word)}


def _name_present(name: str, tokens: set[str]) -> bool:
    """Exact, or one a prefix of the other for longer names: "Bronco"/"Broncos", "Maastricht"."""
    if name in tokens:
        return True
    if len(name) < 4:
        return False
    return any(len(t) >= 4 and (t.startswith(name) or name.startswith(t)) for t in tokens)


def grade_by_overlap(
    question: str, chunks: list[Passage], threshold: float, name_threshold: float
) -> list[RelevanceGrade]:
    terms = set(content_terms(question)) or set(syllables(question))
    names = name_terms(question) & terms
    tokenize = tokenizer_for(question)  # a question typed without marks: compare stripped
    grades = []
    for chunk in chunks:
        present = set(tokenize(f"{chunk['title']} {chunk['text']}"))
        coverage = len(terms & present) / len(terms) if terms else 0.0
        named = sum(_name_present(n, present) for n in names) / len(names) if names else None
        relevant = coverage >= threshold and (named is None or named >= name_threshold)
        grades.append(
            RelevanceGrade(
                chunk, round(coverage, 3), relevant, None if named is None else round(named, 3)
            )
        )
    return grades
