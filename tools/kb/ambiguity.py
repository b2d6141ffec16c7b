"""When a question could be about several laws of the knowledge base: it names none, and the
relevant sources come from different laws with close scores ("Mức phạt là bao nhiêu?" over ten
laws), or it says "luật này" with no conversation to say which. Then the graph asks back
(nodes/ask_which_law.py) instead of guessing; these are the rules, and the reading of the
reply."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from tools.corpus.passages import Passage
from tools.kb.versions import Version, in_force
from tools.text.idf import pool_idf, weighted_coverage
from tools.text.law_names import law_key, numbers_in
from tools.text.question import content_terms
from tools.text.tokenize import bigrams, tokenizer_for

AmbiguityReason = Literal["close_scores", "unnamed_reference"]
MAX_OPTIONS = 5
# "luật này", "nghị định đó", "văn bản trên" (law_key: unmarked, lower case)
_UNNAMED = re.compile(
    r"(?<!\w)(?:bo luat|luat|nghi dinh|nghi quyet|thong tu|quyet dinh|phap lenh|van ban)"
    r"\s+(?:nay|do|ay|tren)(?!\w)"
)


_HEADING = re.compile(r"^Điều\s+\d")


@dataclass(frozen=True)
class LawCandidate:
    label: str  # the best-scored version's label
    doc_ids: tuple[str, ...]  # every document of that law among the sources
    score: float  # its best source's score


@dataclass(frozen=True)
class Ambiguity:
    reason: AmbiguityReason
    candidates: tuple[LawCandidate, ...]  # best first


def candidates(relevant: Sequence[Passage], today: date) -> list[LawCandidate]:
    """The laws among the sources, best first; versions of one law are one law, named by the
    version in force."""
    versions: dict[str, dict[str, Version]] = {}
    best: dict[str, float] = {}
    for passage in sorted(relevant, key=lambda p: -p["score"]):
        if (version := Version.of(passage)) is not None:
            versions.setdefault(version.law, {}).setdefault(version.doc_id, version)
            best.setdefault(version.law, float(passage["score"]))
    return [
        LawCandidate(in_force(list(of.values()), today).label, tuple(of), best[law])
        for law, of in versions.items()
    ]


def refers_unnamed(question: str) -> bool:
    return _UNNAMED.search(law_key(question)) is not None


def answer_fullness(question: str, relevant: Sequence[Passage]) -> dict[str, float]:
    """How fully each source holds what the question asks (by id): the share of the question's
    terms it holds (IDF-weighted over these sources), the share it holds close together (a
    window of the question's length and half again), and the share its heading holds (an
    article's title line: what the article is about), averaged. A clause that says what the
    question says fills it; a passage of another law that shares its common words does not."""
    tokenize = tokenizer_for(question)
    terms = set(content_terms(question)) or set(tokenize(question))
    asked = tokenize(question)
    pairs = {p for p in bigrams(asked) if set(p.split("_")) & terms}
    texts = {p["id"]: tokenize(p["text"]) for p in relevant}
    weights = pool_idf(list(texts.values()), terms)
    pair_weights = pool_idf([set(bigrams(t)) for t in texts.values()], pairs)
    fullness = {}
    for passage in relevant:
        tokens = texts[passage["id"]]
        first = passage["text"].partition("\n")[0]
        heading = set(tokenize(first)) if _HEADING.match(first) else set()
        fullness[passage["id"]] = (
            weighted_coverage(set(tokens), weights)
            + weighted_coverage(set(bigrams(tokens)), pair_weights)
            + weighted_coverage(heading, weights)
        ) / 3
    return fullness


def find_ambiguity(
    question: str, relevant: Sequence[Passage], *, margin: float, has_history: bool
) -> Ambiguity | None:
    """Close: a law's best source scores within `margin` (a share of the top score) of the
    best law's, and holds what the question asks as fully, within `margin` (each law may
    answer it: the answers differ). A question naming a law never gets here (the caller
    checks)."""
    laws = candidates(relevant, date.today())
    if len(laws) < 2:
        return None
    if refers_unnamed(question) and not has_history:
        return Ambiguity("unnamed_reference", tuple(laws[:MAX_OPTIONS]))
    top = laws[0].score
    close = [law for law in laws if law.score >= top - margin * abs(top)]
    if len(close) < 2:
        return None
    fullness = answer_fullness(question, relevant)
    near = [p for p in relevant if p["score"] >= top - margin * abs(top)]
    of_law = {  # of each law, its fullest source among those that score close to the top
        law.doc_ids: max(fullness[p["id"]] for p in near if p["doc_id"] in law.doc_ids)
        for law in close
    }
    fullest = max(of_law.values())
    close = [law for law in close if of_law[law.doc_ids] >= fullest - margin]
    if len(close) < 2:
        return None
    return Ambiguity("close_scores", tuple(close[:MAX_OPTIONS]))


def chosen_option(reply: str, labels: Sequence[str]) -> int | None:
    """Which option the reply picks: its number ("2"), its label or part of it (with or
    without marks), or its document number; None when it picks none or several."""
    text = reply.strip().rstrip(".")
    if text.isdigit():
        index = int(text) - 1
        return index if 0 <= index < len(labels) else None
    key = law_key(text)
    if not key:
        return None
    keys = [law_key(label) for label in labels]
    exact = [i for i, k in enumerate(keys) if k == key]
    if exact:
        return exact[0]
    if numbers := {law_key(n) for n in numbers_in(text)}:
        written = [{law_key(n) for n in numbers_in(label)} for label in labels]
        found = [i for i, held in enumerate(written) if numbers & held]
    else:  # a part of the label ("vườn cây nông thôn"), or the reply holding its name
        found = [i for i, k in enumerate(keys) if key in k or k.split(" (")[0] in key]
    return found[0] if len(found) == 1 else None


def clarification_text(question: str, labels: Sequence[str]) -> str:
    """The question back as a message: what `answer` holds while the run waits, and what a
    chat client shows and gets back."""
    options = [f"{i}. {label}" for i, label in enumerate(labels, start=1)]
    return "\n".join([question, *options, "Trả lời bằng số hoặc tên văn bản để tiếp tục."])
