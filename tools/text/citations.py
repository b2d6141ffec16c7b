"""Citation markers ("[1]", "[2]") in answers: one pattern for writing, checking and scoring."""

from __future__ import annotations

import re

CITATION_MARKER = re.compile(r"\s*\[(\d+)\]")


def strip_markers(text: str) -> str:
    return CITATION_MARKER.sub("", text)
