"""Citation markers ("[1]", "[2]") in answers: one pattern for writing, checking and scoring."""

from __future__ import annotations

import re

# Spaces before a marker taken from the first of a run and whole: a pattern that could start
# anywhere in a run of spaces was quadratic in its length.
CITATION_MARKER = re.compile(r"(?<!\s)\s*+\[(\d+)\]")


def strip_markers(text: str) -> str:
    return CITATION_MARKER.sub("", text)


def renumber(text: str, numbers: dict[int, int]) -> str:
    """Markers moved to another numbering (one answer's sources placed in a longer list);
    a marker with no new number is left as it is."""

    def moved(match: re.Match[str]) -> str:
        old = int(match.group(1))
        return match.group(0).replace(f"[{old}]", f"[{numbers.get(old, old)}]")

    return CITATION_MARKER.sub(moved, text)


def number_sources(sources: list[tuple[str, str]]) -> str:
    """[1] title: text ... for a prompt: the markers its answer cites."""
    return "\n\n".join(f"[{i}] {title}: {text}" for i, (title, text) in enumerate(sources, start=1))
