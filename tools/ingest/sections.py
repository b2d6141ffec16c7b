"""Sections under headings: lines with their heading level (0 for body text) become parts,
each with the path of headings above it, the heading itself kept as the section's first
sentence (Markdown, DOCX and HTML all reduce to this)."""

from __future__ import annotations

from collections.abc import Iterable


def sections(lines: Iterable[tuple[int, str]]) -> list[tuple[list[str], str]]:
    """[(heading path, text)], in order; text before the first heading has an empty path."""
    stack: list[tuple[int, str]] = []
    out: list[tuple[list[str], list[str]]] = [([], [])]
    for level, line in lines:
        if level:
            title = " ".join(line.split()).rstrip(".:")
            stack = [(lv, t) for lv, t in stack if lv < level] + [(level, title)]
            out.append(([t for _, t in stack], [title + "."]))
        else:
            out[-1][1].append(line)
    return [(path, "\n".join(body).strip()) for path, body in out if "\n".join(body).strip()]
