"""The extractive answerer: no model. It answers with the sentences of the top sources that best
support the question, each followed by a citation marker [n] pointing at `sources`.

Sentence score = IDF-weighted share of the question's content terms in the sentence, plus shared
bigrams (word order), plus a small prior for better-ranked sources, plus a bonus when the sentence
holds the kind of answer the question asks for (a number, a date, a name) beyond the question's
own words. A second sentence is added only when the first is short, so answers stay brief.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from tools.generate.base import Generation, GenerationRequest, cite
from tools.settings import GeneratorSettings
from tools.text.idf import pool_idf
from tools.text.question import AnswerType, answer_type, content_terms, name_words
from tools.text.sentences import split_sentences
from tools.text.tokenize import bigrams, syllables, tokenizer_for

log = logging.getLogger(__name__)

_DIGITS = re.compile(r"\d")
_ARTICLE = re.compile(r"(?<!\w)Điều\s+(\d{1,4}[a-zđ]?)(?!\w)")
_YEAR_OR_DATE = re.compile(r"\b(1\d{3}|20\d{2})\b|\bthế kỷ\b|\btháng \d|\bngày \d", re.IGNORECASE)


_HEADING = re.compile(r"^Điều\s+\d{1,4}[a-zđ]?\.\s")
_MARKER = re.compile(r"^(?:\d{1,3}\.|[a-zđ]\))\s+")  # "2. ", "b) " opening a clause or point
_DANGLING = re.compile(r"[\s;:,]+$")
_ENDS = '.!?…"”)'
_SECOND_SHARE = 0.6  # a second sentence scores at least this share of the first's


def _squashed(text: str) -> str:
    return " ".join(text.split()).rstrip(".;:, ")


def _sentences(text: str) -> list[str]:
    """The passage's sentences, its article's heading line one of its own: a heading followed
    by a point ("b) ...") would otherwise read as one sentence, quoting a text the law does not
    hold."""
    heading, _, rest = text.partition("\n")
    if rest.strip() and _HEADING.match(heading):
        return [heading.strip(), *split_sentences(rest)]
    return split_sentences(text)


def _answerable(sentences: list[str]) -> list[str]:
    """The sentences an answer may quote: not an article's heading line ("Điều 8. Các hành vi
    bị nghiêm cấm."), which names what follows and answers nothing, unless it is all there is."""
    body = [s for s in sentences if not _HEADING.match(s)]
    return body or sentences


def _whole(sentence: str) -> str:
    """The sentence as an answer quotes it: without the clause or point number it opens with
    and the ";" or ":" a list item ends with (the citation names the clause). A substring of
    the source, so that the citation finds it there."""
    bare = _DANGLING.sub("", _MARKER.sub("", sentence))
    return bare or sentence


def quotable(text: str) -> list[str]:
    """A passage's sentences as an answer quotes them."""
    return [_whole(s) for s in _answerable(_sentences(text))]


@dataclass
class _Candidate:
    score: float
    source: int
    index: int
    text: str


def _type_match(
    kind: AnswerType,
    sentence: str,
    question_tokens: set[str],
    tokenize: Callable[[str], list[str]] = syllables,
) -> bool:
    if kind == "number":
        return bool(_DIGITS.search(sentence))
    if kind == "time":
        return bool(_YEAR_OR_DATE.search(sentence))
    if kind in ("person", "place"):
        return any(set(tokenize(w)) - question_tokens for w in name_words(sentence))
    return False


class ExtractiveGenerator:
    name = "extractive"
    is_model = False

    def __init__(
        self,
        max_sources: int = 3,
        short_answer_chars: int = 140,
        max_answer_chars: int = 400,
        type_bonus: float = 0.15,
        rank_prior: tuple[float, ...] = (0.2, 0.1, 0.0),
    ) -> None:
        self.max_sources = max_sources
        self.short_answer_chars = short_answer_chars
        self.max_answer_chars = max_answer_chars
        self.type_bonus = type_bonus
        self.rank_prior = rank_prior

    @classmethod
    def from_settings(cls, settings: GeneratorSettings) -> ExtractiveGenerator:
        return cls(
            max_sources=settings.max_sources,
            short_answer_chars=settings.short_answer_chars,
            max_answer_chars=settings.max_answer_chars,
        )

    def _candidates(self, request: GenerationRequest) -> list[_Candidate]:
        question_tokens = syllables(request.question)
        terms = set(content_terms(request.question)) or set(question_tokens)
        q_bigrams = set(bigrams(question_tokens))
        kind = answer_type(request.question)
        tokenize = tokenizer_for(request.question)  # typed without marks: compare stripped
        sentences = [
            (si, j, s, tokenize(s))
            for si, source in enumerate(request.sources[: self.max_sources])
            for j, s in enumerate(_answerable(_sentences(source["text"])))
        ]
        weights = pool_idf([toks for *_, toks in sentences], terms)
        total = sum(weights.values()) or 1.0
        candidates = []
        for si, j, text, toks in sentences:
            present = set(toks)
            coverage = sum(w for t, w in weights.items() if t in present) / total
            order = len(q_bigrams & set(bigrams(toks))) / len(q_bigrams) if q_bigrams else 0.0
            prior = self.rank_prior[si] if si < len(self.rank_prior) else 0.0
            matched = _type_match(kind, text, set(question_tokens), tokenize)
            bonus = self.type_bonus if matched else 0.0
            candidates.append(_Candidate(coverage + 0.3 * order + prior + bonus, si, j, text))
        candidates.sort(key=lambda c: (-c.score, c.source, c.index))
        return candidates

    def _select(self, request: GenerationRequest) -> list[_Candidate]:
        candidates = self._candidates(request)
        if not candidates:
            return []
        chosen = [candidates[0]]
        if not request.strict and len(chosen[0].text) < self.short_answer_chars:
            # a second sentence only when it bears on the question about as much, and is not
            # the first again (two files holding the same text)
            for other in candidates[1:3]:
                if (
                    other.score >= _SECOND_SHARE * chosen[0].score
                    and _squashed(other.text) != _squashed(chosen[0].text)
                    and len(chosen[0].text) + len(other.text) <= self.max_answer_chars
                ):
                    chosen.append(other)
                    break
        # Read in document order within a source, sources in rank order.
        return sorted(chosen, key=lambda c: (c.source, c.index))

    def generate(
        self, request: GenerationRequest, on_token: Callable[[str], None] | None = None
    ) -> Generation:
        generation = self._generate(request)
        if on_token is not None:
            for i, part in enumerate(re.split(r"(?<=\]) ", generation.answer)):
                if part:
                    on_token(part if i == 0 else " " + part)
        return generation

    def _followed(self, request: GenerationRequest, chosen: list[_Candidate]) -> list[_Candidate]:
        """A chosen sentence that says "theo mức quy định tại Điều 8" is followed by what Điều 8
        says, when that article was added as a source because it is referred to
        (nodes.follow_references): its sentence closest to the question and the reference."""
        referred = {
            str(s["metadata"].get("dieu")): i
            for i, s in enumerate(request.sources)
            if s["metadata"].get("referenced_by")
        }
        followed: list[_Candidate] = []
        for candidate in chosen:
            for article in _ARTICLE.findall(candidate.text):
                source = referred.get(article)
                if source is None or source in {c.source for c in [*chosen, *followed]}:
                    continue
                sentences = _sentences(request.sources[source]["text"])
                wanted = set(syllables(f"{request.question} {candidate.text}"))
                body = sentences[1:] or sentences  # past the article's heading
                best = max(body, key=lambda s: len(wanted & set(syllables(s))))
                followed.append(_Candidate(0.0, source, sentences.index(best), best))
        return followed

    def _generate(self, request: GenerationRequest) -> Generation:
        chosen = self._select(request)
        if not chosen:
            return Generation("", [], 0, self.name)
        parts, citations = [], []
        for candidate in [*chosen, *self._followed(request, chosen)]:
            marker = candidate.source + 1
            quoted = _whole(candidate.text)
            parts.append(f"{quoted}{'' if quoted[-1] in _ENDS else '.'} [{marker}]")
            citations.append(cite(marker, request.sources[candidate.source], quoted))
        answer = " ".join(parts)
        log.debug("extractive answer from sources %s", [c["marker"] for c in citations])
        return Generation(answer, citations, 0, self.name)
