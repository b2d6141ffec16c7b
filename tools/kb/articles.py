"""Small-to-big for laws: a long article is stored as several chunks (its clauses packed to the
chunk size), and retrieval finds the chunk that best matches the question, not always the one
with the clause that answers it. A source that is part of an article becomes the article (its
other chunks fetched, those the question is about first, up to `max_chars`), so the graph
grades and answers from the article and cites the clause it quotes (`clause_location`)."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.corpus.documents import location
from tools.corpus.passages import Passage
from tools.kb.payload import ChunkPayload
from tools.kb.search import PassageSearch
from tools.text.idf import pool_idf, weighted_coverage
from tools.text.tokenize import tokenizer_for

MAX_ARTICLE_CHUNKS = 256
_CLAUSE_LINE = re.compile(r"^(\d{1,3})\.\s")


@dataclass(frozen=True)
class Span:
    """Where one stored chunk's text sits in the widened passage."""

    start: int
    page: int | None


def _body(payload: ChunkPayload) -> str:
    """A chunk's text past the article heading every chunk of an article opens with."""
    first, _, rest = payload.text.partition("\n")
    return rest if first.startswith("Điều ") and rest else payload.text


def _kept(
    chunks: list[ChunkPayload], hit: int, max_chars: int, question: str
) -> list[ChunkPayload]:
    """The hit's chunk, then the others that hold most of the question's terms (nearest
    first among equals), while they fit; in reading order. An article longer than
    `max_chars` keeps the clauses the question is about, not only those beside the hit."""
    tokenize = tokenizer_for(question)
    tokens = [set(tokenize(_body(c))) for c in chunks]
    weights = pool_idf(tokens, set(tokenize(question)))
    coverage = [weighted_coverage(t, weights) for t in tokens]
    order = sorted(
        range(len(chunks)),
        key=lambda i: (chunks[i].position != hit, -coverage[i], abs(chunks[i].position - hit)),
    )
    kept: list[int] = []
    size = 0
    for i in order:
        length = len(_body(chunks[i])) + 1
        if kept and size + length > max_chars:
            continue
        kept.append(i)
        size += length
    return [chunks[i] for i in sorted(kept)]


def _located(passage: Passage, place: dict[str, Any]) -> str:
    """The passage's document, then `place` (Điều, Khoản, trang), as ingestion writes it."""
    meta = passage["metadata"]
    return location(str(meta.get("van_ban") or Path(passage["source"]).name), place)


def widen(
    kb: PassageSearch,
    passage: Passage,
    max_chars: int,
    question: str = "",
    collections: Collection[str] | None = None,
) -> Passage:
    """The passage's whole article (or as much as fits around it), when the passage is one
    of an article's chunks; else the passage."""
    meta = passage["metadata"]
    if "khoan" not in meta or "dieu" not in meta or "dieu_den" in meta:
        return passage  # not a law, or the whole article already
    found = kb.find(
        {"doc_id": passage["doc_id"], "dieu": meta["dieu"]}, collections, MAX_ARTICLE_CHUNKS
    )
    chunks = sorted(
        (payload for _, payload in found if payload.source == passage["source"]),
        key=lambda payload: payload.position,
    )
    if len(chunks) < 2:
        return passage
    kept = _kept(chunks, passage["position"], max_chars, question)
    heading = chunks[0].text.partition("\n")[0]
    text, spans = heading, []
    for chunk in kept:
        text += "\n"
        spans.append(Span(len(text), chunk.metadata.get("page")))
        text += _body(chunk)
    widened: dict[str, Any] = {k: v for k, v in meta.items() if k != "khoan"}
    if (first_page := kept[0].metadata.get("page")) is not None:
        widened["page"] = first_page
    widened["spans"] = [[s.start, s.page] for s in spans]
    widened["khoan_tim_thay"] = meta["khoan"]  # the clauses of the chunk that was found
    return {
        **passage,
        "text": text,
        "location": _located(passage, _place(widened)),
        "metadata": widened,
    }


def widen_articles(
    kb: PassageSearch,
    passages: Sequence[Passage],
    max_chars: int,
    question: str = "",
    collections: Collection[str] | None = None,
) -> list[Passage]:
    """Each passage widened to its article, in order; a later chunk of an article already
    given is left out (it is in the article)."""
    out: list[Passage] = []
    seen: set[tuple[str, str, Any]] = set()
    for passage in passages:
        meta = passage["metadata"]
        if "dieu" in meta and "dieu_den" not in meta:
            key = (passage["doc_id"], passage["source"], meta["dieu"])
            if key in seen:
                continue
            seen.add(key)
        out.append(widen(kb, passage, max_chars, question, collections))
    return out


def clause_location(passage: Passage, quote: str) -> str | None:
    """Where in a legal source a quoted sentence is: its location narrowed to the clause the
    quote sits in, and to the page of the stored chunk that holds it ("Luật X, Điều 8,
    Khoản 2, trang 40"); None when the source is no article or the quote is not in it."""
    meta = passage["metadata"]
    text = passage["text"]
    # a quoted sentence may run over the source's line breaks (a clause and its points)
    flat, wanted = text.replace("\n", " "), " ".join(quote.split())
    if "dieu" not in meta or "dieu_den" in meta or not wanted or (at := flat.find(wanted)) < 0:
        return None
    clause = None
    line_end = text.find("\n", at)
    for line in reversed(text[: line_end if line_end >= 0 else len(text)].split("\n")):
        if found := _CLAUSE_LINE.match(line):
            clause = found.group(1)
            break
    place = _place(meta)
    for start, page in meta.get("spans") or []:
        if start <= at and page is not None:
            place["page"] = page
    if clause:
        place["khoan"] = clause
    return _located(passage, place)


def _place(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: meta[k] for k in ("dieu", "page") if k in meta}
