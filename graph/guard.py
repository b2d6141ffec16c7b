"""A run's stop signal: a deadline and a cancel flag that every node checks before it starts, so
that a run whose client went away, or whose time is up, stops at the next node instead of
holding a graph thread to the end. The server sets one per request; in-process callers have
none and nothing changes for them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class RunStopped(Exception):
    """The run was stopped between nodes; the message says why."""


class RunGuard:
    def __init__(self, timeout_s: float | None = None) -> None:
        self.deadline = time.monotonic() + timeout_s if timeout_s is not None else None
        self._why: str | None = None
        self._lock = threading.Lock()
        self._cancelled = threading.Event()

    def cancel(self, why: str) -> None:
        with self._lock:
            self._why = self._why or why
        self._cancelled.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Blocks until the run is cancelled (True) or `timeout` passes (False): work that
        waits on something else can wait on this too."""
        return self._cancelled.wait(timeout)

    @property
    def stopped(self) -> str | None:
        """Why the run must stop (None: it may go on)."""
        if self._why is None and self.deadline is not None and time.monotonic() > self.deadline:
            self.cancel("its time limit passed")
        return self._why

    def check(self, node: str) -> None:
        if (why := self.stopped) is not None:
            raise RunStopped(f"run stopped before {node}: {why}")


_CURRENT: ContextVar[RunGuard | None] = ContextVar("vinarag_run_guard", default=None)


def current_guard() -> RunGuard | None:
    return _CURRENT.get()


@contextmanager
def guarded(guard: RunGuard) -> Iterator[RunGuard]:
    """Runs started inside (and threads given a copy of this context) obey `guard`."""
    token = _CURRENT.set(guard)
    try:
        yield guard
    finally:
        _CURRENT.reset(token)
