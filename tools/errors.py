"""Errors a user acts on: a part the command needs cannot be used, and the message says what to
do. The command line prints them as one line (no traceback) and exits 2."""

from __future__ import annotations


class ServiceError(RuntimeError):
    """A store, model or server that cannot be used right now; the message says why and what
    to do about it."""


def one_line(exc: BaseException, limit: int = 160) -> str:
    """What an exception says, on one line and cut short: for reports and logs a user reads
    (no traceback, no exception class name)."""
    return " ".join(str(exc).split())[:limit]
