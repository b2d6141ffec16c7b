"""Errors a user acts on: a part the command needs cannot be used, and the message says what to
do. The command line prints them as one line (no traceback) and exits 2."""

from __future__ import annotations


class ServiceError(RuntimeError):
    """A store, model or server that cannot be used right now; the message says why and what
    to do about it."""
