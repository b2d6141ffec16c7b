"""Errors a user acts on: a part the command needs cannot be used, and the message says what to
do. The command line prints them as one line (no traceback) and exits 2."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class ServiceError(RuntimeError):
    """A store, model or server that cannot be used right now; the message says why and what
    to do about it."""


def one_line(exc: BaseException, limit: int = 160) -> str:
    """What an exception says, on one line and cut short: for reports and logs a user reads
    (no traceback, no exception class name)."""
    return " ".join(str(exc).split())[:limit]


def validation_problems(errors: Iterable[Mapping[str, Any]], root: str) -> str:
    """Pydantic's errors as one line: `field.path: message; ...` (`root` names the whole)."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or root}: {e['msg']}" for e in errors)
