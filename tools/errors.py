"""Errors a user acts on: a part the command needs cannot be used, and the message says what to
do. The command line prints them as one line (no traceback) and exits 2."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class ServiceError(RuntimeError):
    """A store, model or server that cannot be used right now; the message says why and what
    to do about it."""


class StoreError(ServiceError):
    """The vector store cannot be used as configured; the message says what to change."""


def one_line(exc: BaseException, limit: int = 160) -> str:
    """What an exception says, on one line and cut short: for reports and logs a user reads
    (no traceback, no exception class name)."""
    return " ".join(str(exc).split())[:limit]


# An error message quotes what it must to name the problem, never the whole input: a 10 MB
# field name or value echoed back costs the server and the client for nothing.
MAX_PROBLEM_CHARS = 500
_MAX_NAME_CHARS = 64


def clipped(text: str, limit: int = MAX_PROBLEM_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def field_path(loc: Iterable[Any]) -> str:
    """`documents.3.metadata.nam`, each part cut to a readable length."""
    return ".".join(clipped(str(p), _MAX_NAME_CHARS) for p in loc)


def validation_problems(errors: Iterable[Mapping[str, Any]], root: str) -> str:
    """Pydantic's errors as one line: `field.path: message; ...` (`root` names the whole), at
    most MAX_PROBLEM_CHARS long."""
    return clipped(
        "; ".join(f"{field_path(e['loc']) or root}: {clipped(str(e['msg']), 200)}" for e in errors)
    )
