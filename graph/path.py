"""Reading a turn's path: what the eval and the CLI summarise from the typed steps."""

from __future__ import annotations

from collections.abc import Sequence

from graph.state import PathStep


def count_retries(path: Sequence[PathStep]) -> int:
    """Retrieval retries (rewrites after nothing relevant) plus generation retries."""
    retrieval = sum(1 for p in path if p["node"] == "rewrite_query" and p["kind"] == "retry")
    generation = sum(1 for p in path if p["node"] == "generate" and p["attempt"] > 1)
    return retrieval + generation


def grounding_checks(path: Sequence[PathStep]) -> list[bool]:
    """Each grounding check's verdict, in order (empty when no answer was checked)."""
    return [p["grounded"] for p in path if p["node"] == "check_grounding"]


def answered_by(path: Sequence[PathStep]) -> str | None:
    """The generator of the last answer, if one was generated."""
    generators = [p["generator"] for p in path if p["node"] == "generate"]
    return generators[-1] if generators else None
