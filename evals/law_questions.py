"""Pseudo-questions made from real laws, with no hand-written question: each names the law,
article and clause that answer it. An article's title is asked as it stands (with the law's
name when another law of the set has an article of that title: "Phạm vi điều chỉnh" alone has
two hundred right answers); a clause of an article of several is asked through its most
distinctive words (the run of words rarest among all articles of the set), set in a question,
with and without tone marks. What `vinarag eval laws` asks."""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from tools.ingest.legal import Article, LegalHeader, article_clauses, parse_header, split_articles
from tools.text.clean import clean_text
from tools.text.law_names import law_key
from tools.text.tokenize import syllables
from tools.text.tones import strip_tones

QuestionKind = Literal["title", "clause", "clause_unmarked"]
PHRASE_WORDS = 8  # words of a clause a question carries
_TEMPLATES = (
    "{phrase} được quy định như thế nào?",
    "Pháp luật quy định gì về {phrase}?",
    "Quy định về {phrase} là gì?",
)
_SEGMENT = re.compile(r"[,;:.()“”\"]|\s[a-zđ]\)\s")  # punctuation, or a point "b) "
_PUNCTUATION = ",;:.()“”\"'"


@dataclass(frozen=True)
class LawText:
    """One law of the set, as the questions see it."""

    file: str  # its file name: the source its document carries
    header: LegalHeader
    articles: tuple[Article, ...]

    @property
    def name(self) -> str:
        """How a question names it: "Luật An ninh mạng" (the file name when its header says
        no name)."""
        return " ".join(p for p in (self.header.kind, self.header.name) if p) or self.file


@dataclass(frozen=True)
class LawQuestion:
    question: str
    kind: QuestionKind
    file: str  # the law's file
    article: str  # its "Điều" number
    clause: str | None  # its clause number (None: the article as a whole)
    clause_text: str  # the text that answers: the clause (or the article's body)


def read_law(file: str, text: str) -> LawText:
    text = clean_text(text)
    return LawText(file, parse_header(text), tuple(split_articles(text)[1]))


def squashed(text: str) -> str:
    return " ".join(text.split())


def _words(text: str) -> list[str]:
    return [w.strip(_PUNCTUATION) for w in text.split() if w.strip(_PUNCTUATION)]


def _document_frequency(laws: list[LawText]) -> tuple[Counter[str], int]:
    counts: Counter[str] = Counter()
    total = 0
    for law in laws:
        for article in law.articles:
            counts.update(set(syllables(" ".join(article.body))))
            total += 1
    return counts, total


def distinctive_phrase(text: str, counts: Counter[str], total: int, size: int) -> str:
    """The opening `size` words of the segment of the text (between punctuation or list
    markers) whose opening words are rarest among the articles: a phrase that starts where
    the law's own words start, not inside a compound."""

    def weight(word: str) -> float:
        return sum(math.log(total / (1 + counts[s])) for s in syllables(word))

    segments = [words[:size] for segment in _SEGMENT.split(text) if (words := _words(segment))]
    if not segments:
        return ""
    return " ".join(max(segments, key=lambda words: sum(weight(w) for w in words)))


def _content(clause: str) -> str:
    return clause.split(" ", 1)[1] if " " in clause else clause  # past "2."


def _plain(title: str) -> bool:
    """A title worth asking: words, not "(được bãi bỏ)" or a bare number."""
    return len(title.split()) >= 2 and "bãi bỏ" not in title.lower()


def make_questions(
    laws: list[LawText], articles: int, seed: int = 7
) -> tuple[list[LawQuestion], dict[str, int]]:
    """Questions on `articles` articles drawn at random (seeded) from every law of the set:
    its title, and (when it has several clauses) one clause, marked and unmarked."""
    counts, total = _document_frequency(laws)
    everything = "\n".join(
        " ".join(_words(" ".join(a.body))).lower() for law in laws for a in law.articles
    )
    titled = Counter(law_key(a.title) for law in laws for a in law.articles)
    pool = [(law, a) for law in laws for a in law.articles if a.body]
    rng = random.Random(seed)
    drawn = rng.sample(pool, min(articles, len(pool)))
    questions: list[LawQuestion] = []
    for law, article in drawn:
        body = squashed(" ".join(article.body))
        if _plain(article.title):
            title = article.title.rstrip(".")
            if titled[law_key(title)] > 1:
                title = f"{title} theo {law.name}"
            questions.append(
                LawQuestion(f"{title}?", "title", law.file, article.number, None, body)
            )
        clauses = article_clauses(article)
        if len(clauses) < 2:
            continue
        # a clause every law has ("Chính phủ quy định chi tiết Điều này") has no one answer
        phrases = [
            (number, clause, distinctive_phrase(_content(clause), counts, total, PHRASE_WORDS))
            for number, clause in clauses
        ]
        unique = [p for p in phrases if everything.count(p[2].lower()) == 1]
        if not unique:
            continue
        number, clause, phrase = rng.choice(unique)
        asked = rng.choice(_TEMPLATES).format(phrase=phrase[:1].lower() + phrase[1:])
        asked = asked[:1].upper() + asked[1:]
        clause_text = squashed(clause)
        questions.append(
            LawQuestion(asked, "clause", law.file, article.number, number, clause_text)
        )
        questions.append(
            LawQuestion(
                strip_tones(asked), "clause_unmarked", law.file, article.number, number, clause_text
            )
        )
    return questions, {"articles": len(pool), "drawn": len(drawn)}
