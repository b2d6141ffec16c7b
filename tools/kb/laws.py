"""The laws in the knowledge base, and the ones a question names. Legal documents carry their
kind, name, number and year as metadata (read from their header at ingestion); a question that
names one ("Theo Bộ luật Hình sự năm 2017, ...", "Nghị định 100/2019/NĐ-CP", "luat dat dai")
is searched in that document first."""

from __future__ import annotations

import re
import threading
from collections.abc import Collection
from dataclasses import dataclass

from tools.kb.catalogue import ListedDocument
from tools.kb.search import PassageSearch
from tools.text.law_names import YEAR_IN_NUMBER, law_key, law_mentions, numbers_in, years_in

# Kinds a reader may shorten: "Luật Hình sự" for "Bộ luật Hình sự".
_SHORTER_KIND = {"bo luat": "luat"}
# Kinds whose name a question cites ("theo Luật ..."); any document is found by its number.
_NAMED_KINDS = {
    law_key(k)
    for k in (
        "Hiến pháp", "Bộ luật", "Luật", "Pháp lệnh", "Nghị quyết", "Nghị định",
        "Thông tư liên tịch", "Thông tư", "Quyết định", "Chỉ thị",
    )
}  # fmt: skip
_KIND_WORDS = {w for kind in _NAMED_KINDS for w in kind.split()}


@dataclass(frozen=True)
class LawDocument:
    doc_id: str
    collection: str
    label: str  # "Luật Vườn cây đô thị 2025 (99/2025/QH15)"
    names: tuple[str, ...]  # law_key of "kind name" as readers write it
    number: str | None  # law_key of its số hiệu
    years: frozenset[int]  # its year, and the year in its number

    @classmethod
    def of(cls, listed: ListedDocument) -> LawDocument | None:
        """The document as a law, when its metadata says it is one (a kind and a name, or a
        number)."""
        meta = listed.metadata
        kind, name, number = meta.get("loai"), meta.get("ten"), meta.get("so_hieu")
        names: list[str] = []
        if kind and name and law_key(str(kind)) in _NAMED_KINDS:
            full = law_key(f"{kind} {name}")
            names.append(full)
            short = _SHORTER_KIND.get(law_key(str(kind)))
            if short:
                names.append(law_key(f"{short} {name}"))
        if not names and not number:
            return None
        years = {y for y in [meta.get("nam")] if isinstance(y, int)}
        years |= {int(y) for y in YEAR_IN_NUMBER.findall(str(number or ""))}
        label = " ".join(str(p) for p in (kind, name) if p) or str(number)
        if number and label != str(number):
            label = f"{label} ({number})"
        return cls(
            doc_id=listed.doc_id,
            collection=listed.collection,
            label=str(meta.get("van_ban") or label),  # as ingestion named it
            names=tuple(names),
            number=law_key(str(number)) if number else None,
            years=frozenset(years),
        )


@dataclass(frozen=True)
class NamedLaw:
    """What the question named, and the documents of the knowledge base that match it."""

    mention: str  # as the question wrote it ("Luật Vườn cây đô thị năm 2025", "100/2019/NĐ-CP")
    documents: tuple[LawDocument, ...]  # empty: named, but not in the knowledge base
    rest: str  # the question without the mention: what to search for inside those documents


def _aligned_key(text: str) -> str:
    """law_key character by character, so that a match's span is the original's span."""
    return "".join(law_key(c) or " " for c in text)


def _mentioned(key: str, phrase: str) -> tuple[int, int] | None:
    """Where the question (its _aligned_key) writes the phrase, a year after it included."""
    if phrase not in key:  # most laws, for most questions
        return None
    match = re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", key)
    if match is None:
        return None
    year = re.match(r"\s*(?:\(|,)?\s*(?:nam\s+)?(?:19|20)\d{2}\)?(?!\w)", key[match.end() :])
    return match.start(), match.end() + (year.end() if year else 0)


def _without(question: str, span: tuple[int, int]) -> str:
    return " ".join(f"{question[: span[0]]} {question[span[1] :]}".split())


def find_named_law(question: str, laws: list[LawDocument]) -> NamedLaw | None:
    """The law the question names: by number first, else by name (the longest name found),
    narrowed to the year the question gives when one of the matches has that year (a
    consolidated text dated otherwise still matches the name alone)."""
    if numbers := numbers_in(question):
        found = tuple(law for law in laws if law.number == law_key(numbers[0]))
        start = question.index(numbers[0])
        rest = _without(question, (start, start + len(numbers[0])))
        return NamedLaw(numbers[0], found, rest if found else question)
    named: list[tuple[LawDocument, tuple[int, int]]] = []
    key = _aligned_key(question)
    for law in laws:
        for name in law.names:
            if (span := _mentioned(key, name)) is not None:
                named.append((law, span))
                break
    if not named:
        return _unheld(question, laws)
    longest = max(end - start for _, (start, end) in named)
    matched = [(law, span) for law, span in named if span[1] - span[0] == longest]
    years = years_in(question)
    dated = tuple(law for law, _ in matched if law.years & years)
    span = matched[0][1]
    return NamedLaw(
        question[span[0] : span[1]].strip(),
        dated or tuple(law for law, _ in matched),
        _without(question, span),
    )


def _unheld(question: str, laws: list[LawDocument]) -> NamedLaw | None:
    """A law the question names that none of `laws` is: named, not held. A shortened name of
    a held law ("Luật Phòng chống mua bán" for "... mua bán người") is not a missing law."""
    for mention in law_mentions(question):
        words = set(law_key(mention).replace(",", " ").split())
        held = (set(name.replace(",", " ").split()) for law in laws for name in law.names)
        if not any(words <= name for name in held):
            return NamedLaw(mention, (), question)
    return None


def closest_laws(mention: str, laws: list[LawDocument], count: int = 3) -> list[LawDocument]:
    """The held laws whose names share the most words with a name the question wrote."""
    words = set(law_key(mention).replace(",", " ").split()) - _KIND_WORDS

    def shared(law: LawDocument) -> int:
        return max((len(words & set(n.replace(",", " ").split())) for n in law.names), default=0)

    ranked = sorted((law for law in laws if shared(law)), key=lambda law: -shared(law))
    return ranked[:count]


class LawDirectory:
    """The knowledge base's laws, listed again only when its text has changed. The corpus
    version (which every question reads anyway) says something was written; the statistics'
    totals, read only then, say whether it was text: the dense backfill moves the version every
    batch and leaves them alone (listing 10,000 documents takes ~0.4 s)."""

    def __init__(self, kb: PassageSearch) -> None:
        self.kb = kb
        self._lock = threading.Lock()
        self._version: int | None = None
        self._text: tuple[int, frozenset[tuple[str, int]]] | None = None
        self._laws: list[LawDocument] = []

    def laws(self) -> list[LawDocument]:
        version = self.kb.corpus_version
        with self._lock:
            if version == self._version:
                return self._laws
            stats = self.kb.stats()
            text = (stats.chunks, frozenset(stats.tokens.items()))
            if text != self._text:
                listed = self.kb.list_documents()
                self._laws = [law for d in listed if (law := LawDocument.of(d)) is not None]
                self._text = text
            self._version = version
            return self._laws

    def held(self, collections: Collection[str] | None) -> list[LawDocument]:
        laws = self.laws()
        if collections is not None:
            laws = [law for law in laws if law.collection in collections]
        return laws

    def named_in(self, question: str, collections: Collection[str] | None) -> NamedLaw | None:
        return find_named_law(question, self.held(collections))
