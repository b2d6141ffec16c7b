"""Chunking: laws by article and clause, sectioned and paged documents within their sections
and pages, everything at Vietnamese sentence boundaries, with size and overlap in characters.
Each chunk's metadata says where it is (`location`, and `dieu` / `khoan` / `page` / `section`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.corpus.documents import Chunk, Document, Part, location
from tools.corpus.references import store_references
from tools.ingest.legal import Article, article_pieces, find_references, split_articles
from tools.ingest.loaders import LOADERS
from tools.text.sentences import split_sentences


def _split_long(sentence: str, size: int) -> list[str]:
    """A sentence longer than a chunk is cut between words; a word longer than a chunk (a line
    without spaces) is cut where the chunk ends."""
    if len(sentence) <= size:
        return [sentence]
    pieces, current = [], ""
    words = [w[i : i + size] for w in sentence.split() for i in range(0, len(w), size)]
    for word in words:
        if current and len(current) + 1 + len(word) > size:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        pieces.append(current)
    return pieces


def chunk_text(text: str, size: int, overlap: int) -> list[str]:
    sentences = [p for s in split_sentences(text) for p in _split_long(s, size)]
    chunks: list[str] = []
    current: list[str] = []
    length = 0
    for sentence in sentences:
        if current and length + 1 + len(sentence) > size:
            chunks.append(" ".join(current))
            # Carry trailing sentences (up to `overlap` characters) into the next chunk.
            carried: list[str] = []
            carried_len = 0
            for previous in reversed(current):
                if carried_len + len(previous) > overlap:
                    break
                carried.insert(0, previous)
                carried_len += len(previous) + 1
            while carried and carried_len + len(sentence) + 1 > size:  # the overlap must fit too
                carried_len -= len(carried.pop(0)) + 1
            current, length = carried, carried_len
        current.append(sentence)
        length += len(sentence) + 1
    if current:
        chunks.append(" ".join(current))
    return chunks


@dataclass
class Piece:
    """A chunk's text and where it sits in its document."""

    text: str
    place: dict[str, Any] = field(default_factory=dict)  # page, section, chuong, dieu, khoan...


def _squash(text: str) -> str:
    return " ".join(text.split())


class _PageFinder:
    """The pages each piece of a paged law is on, found in reading order: the search for a
    piece's opening goes on from where the previous piece was found, so that a phrase repeated
    in a later clause takes its own page, not the first page that holds the phrase; its end
    is looked for from its opening on, so a piece across a page break names both pages. One
    pass over the pages rather than a scan of every page for every piece."""

    def __init__(self, parts: list[Part]) -> None:
        self.pages = [(p, _squash(p.text)) for p in parts if p.page is not None]
        self.page, self.offset = 0, 0
        self.found = False

    def _search(self, probe: str, page: int, offset: int) -> tuple[int, int] | None:
        for i in range(page, len(self.pages)):
            at = self.pages[i][1].find(probe, offset if i == page else 0)
            if at >= 0:
                return i, at
        return None

    def find(self, text: str) -> tuple[Part, Part] | None:
        """The pages the piece starts and ends on (the same page for most)."""
        lines = [line for line in text.splitlines() if line.strip()]
        probe = _squash(lines[1] if len(lines) > 1 else text)[:60]
        if not probe:
            return None
        start = self._search(probe, self.page, self.offset)
        if start is None:
            # Not found ahead (its opening runs across a page break): it starts where the
            # previous piece was, or later.
            if not self.found:
                return None
            start = (self.page, self.offset)
        self.page, self.offset = start
        self.found = True
        tail = _squash(lines[-1]) if len(lines) > 1 else ""
        end = None
        for size in (60, 20):  # a long ending may run across the page break itself
            if tail and (end := self._search(tail[-size:], *start)) is not None:
                break
        first = self.pages[start[0]][0]
        return first, self.pages[end[0]][0] if end is not None else first


def _part_place(part: Part) -> dict[str, Any]:
    place: dict[str, Any] = {}
    if part.headings:
        place["section"] = " › ".join(part.headings)
    if part.page is not None:
        place["page"] = part.page
    if part.ocr_confidence is not None:
        place.update(ocr=True, ocr_confidence=part.ocr_confidence)
    return place


def _bodiless_groups(articles: list[Article], size: int) -> list[list[Article]]:
    """Articles in order, consecutive ones that are a heading alone ("Điều 12. (được bãi bỏ)")
    grouped while they fit in a chunk and share their chapter: 10^5 heading lines would
    otherwise be 10^5 chunks, each costing its own encoding and write."""
    groups: list[list[Article]] = []
    length = 0
    for article in articles:
        bodiless = not any(line.strip() for line in article.body)
        last = groups[-1] if groups else None
        if (
            bodiless
            and last is not None
            and not any(line.strip() for line in last[-1].body)
            and last[-1].path == article.path
            and length + len(article.heading) + 2 <= size
        ):
            last.append(article)
            length += len(article.heading) + 2
            continue
        groups.append([article])
        length = len(article.heading) + 2
    return groups


def legal_pieces(text: str, size: int, overlap: int) -> list[Piece] | None:
    """Article by article, when the text has at least two article headings; else None."""
    preamble, articles = split_articles(text)
    if len(articles) < 2:
        return None
    pieces = [Piece(t) for t in chunk_text(preamble, size, overlap)] if preamble.strip() else []
    for group in _bodiless_groups(articles, size):
        if len(group) > 1:
            grouped = {**group[0].path, "dieu": group[0].number, "dieu_den": group[-1].number}
            pieces.append(Piece("\n".join(a.heading + "." for a in group), grouped))
            continue
        article = group[0]
        for part in article_pieces(article, size):
            place: dict[str, Any] = {**article.path, "dieu": article.number}
            if part.clauses:
                place["khoan"] = ", ".join(part.clauses)
            refs = find_references(part.text[len(article.heading) :], article.number)
            store_references(place, refs)
            if len(part.text) <= size:
                pieces.append(Piece(part.text, place))
                continue
            body = part.text[len(article.heading) + 1 :]
            heading = article.heading + "."
            if len(heading) > size // 2:  # a heading repeated on every piece must leave room
                heading = heading[: size // 2 - 1] + "…"
            room = size - len(heading) - 1
            # each piece its own place: its page is its own, not the last piece's
            pieces += [
                Piece(f"{heading}\n{t}", dict(place)) for t in chunk_text(body, room, overlap)
            ]
    return pieces


def _file_name(document: Document) -> str | None:
    """The file a reader knows the document by; None for a row of a file (`rows.jsonl:28`) or
    a text sent through the API or MCP, which are known by their title, not by where the
    server keeps them."""
    name = Path(document.source).name
    return name if Path(name).suffix.lower() in LOADERS else None


def chunk_document(document: Document, size: int, overlap: int) -> list[Chunk]:
    """Laws by article; sectioned documents within each section; paged ones within each page
    (a law's pages are looked up for each article); anything else by sentences."""
    pieces = legal_pieces(document.text, size, overlap)
    if pieces is not None:
        pages = _PageFinder(document.parts)
        for piece in pieces:
            if pages.pages and (found := pages.find(piece.text)) is not None:
                first, last = found
                piece.place.update(_part_place(first))
                if last.page != first.page:
                    piece.place["page_end"] = last.page
    elif document.parts:
        pieces = []
        for part in document.parts:
            place = _part_place(part)
            pieces += [Piece(t, place) for t in chunk_text(part.text, size, overlap)]
    else:
        pieces = [Piece(t) for t in chunk_text(document.text, size, overlap)]
    label = document.metadata.get("van_ban") or _file_name(document) or document.title
    chunks = []
    for i, piece in enumerate(pieces):
        metadata = {
            **document.metadata,
            **piece.place,
            "location": location(str(label), piece.place),
        }
        chunks.append(
            Chunk(
                document.doc_id,
                i,
                piece.text,
                document.title,
                document.source,
                metadata,
                document.collection,
            )
        )
    return chunks
