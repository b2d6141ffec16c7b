"""Chunking at Vietnamese sentence boundaries, with size and overlap in characters."""

from __future__ import annotations

from tools.ingest.documents import Chunk, Document
from tools.text.sentences import split_sentences


def _split_long(sentence: str, size: int) -> list[str]:
    """A sentence longer than a chunk is cut between words."""
    pieces, current = [], ""
    for word in sentence.split():
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
            current, length = carried, carried_len
        current.append(sentence)
        length += len(sentence) + 1
    if current:
        chunks.append(" ".join(current))
    return chunks


def chunk_document(document: Document, size: int, overlap: int) -> list[Chunk]:
    return [
        Chunk(document.doc_id, i, text, document.title, document.source, dict(document.metadata))
        for i, text in enumerate(chunk_text(document.text, size, overlap))
    ]
