"""The folders the server keeps in sync (`sources` in the settings): each synced every
`every_minutes`, one at a time, in a thread of its own, or now when asked ("sync now"); their
last run and next run are what `GET /sources` and the documents page show.

On a task queue every replica runs this schedule, but a run is only sent by the replica that
claims its period first (`Dispatch`): periods are aligned to the clock, so replicas agree on
them, and the workers sync."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from tools.ingest.sync import SyncReport, sync_folder
from tools.kb.store import KnowledgeBase
from tools.settings import Settings, SourceEntry

log = logging.getLogger(__name__)


@dataclass
class SourceState:
    index: int  # its place in `sources`: how routes name it
    entry: SourceEntry
    next_run: float
    running: bool = False
    step: str | None = None  # what the running sync does now
    requested_by: str | None = None  # a "sync now" waiting, and whose
    last_started: float | None = None
    last_ended: float | None = None
    last_report: SyncReport | None = None


# Sends a run elsewhere: (the source, its run's name, who asked) -> whether this replica sent it
Dispatch = Callable[[SourceState, str, str], bool]


def run_name(state: SourceState, period: int | None) -> str:
    """The name every replica gives one run: a scheduled period, or a "sync now" (unique)."""
    which = f"period-{period}" if period is not None else f"now-{time.time_ns()}"
    return f"source:{state.index}:{state.entry.path}:{which}"


class SourceScheduler:
    def __init__(
        self,
        kb: KnowledgeBase,
        settings: Settings,
        on_synced: Callable[[SyncReport, str], None] | None = None,
        dispatch: Dispatch | None = None,
    ) -> None:
        """`on_synced` hears every run's report and who made it ("schedule", or the key that
        asked) for the audit trail. `dispatch`: runs are sent to the queue's workers instead
        of synced here."""
        self.kb = kb
        self.settings = settings
        self.on_synced = on_synced
        self.dispatch = dispatch
        now = time.time()
        self._states = [
            SourceState(i, entry, now) for i, entry in enumerate(settings.sources)
        ]  # the first run of each at start
        self._lock = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._states:
            self._thread = threading.Thread(target=self._run, name="sources", daemon=True)
            self._thread.start()

    def close(self, timeout_s: float = 10.0) -> None:
        """A sync under way is not waited for past `timeout_s` (its thread ends with the
        process; the next start syncs again from what the store holds)."""
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)

    def states(self) -> list[SourceState]:
        with self._lock:
            return list(self._states)

    def sync_now(self, index: int, actor: str) -> SourceState:
        """Run this source next (after the one running, if any). IndexError: no such source."""
        with self._lock:
            state = self._states[index]
            state.requested_by = state.requested_by or actor
            self._lock.notify_all()
            return state

    def wait_idle(self, index: int, timeout: float | None = None) -> SourceState:
        """Until the source has no run waiting or running (tests, `wait=true`)."""
        with self._lock:
            state = self._states[index]
            self._lock.wait_for(
                lambda: not state.running and state.requested_by is None and state.last_ended,
                timeout,
            )
            return state

    def _due(self) -> SourceState | None:
        now = time.time()
        asked = [s for s in self._states if s.requested_by]
        due = sorted((s for s in self._states if s.next_run <= now), key=lambda s: s.next_run)
        return (asked or due)[0] if asked or due else None

    def _run(self) -> None:
        while True:
            with self._lock:
                state = self._due()
                while not self._stopping and state is None:
                    wake = min(s.next_run for s in self._states) - time.time()
                    self._lock.wait(max(wake, 0.05))
                    state = self._due()
                if self._stopping or state is None:
                    return
                actor = state.requested_by or "schedule"
                state.running, state.step, state.last_started = True, "starting", time.time()
            if self.dispatch is not None:
                self._send(state, actor)
                continue
            report = self._sync(state)
            with self._lock:
                state.running, state.step, state.requested_by = False, None, None
                state.last_ended, state.last_report = time.time(), report
                state.next_run = time.time() + state.entry.every_minutes * 60
                self._lock.notify_all()
            if self.on_synced is not None:
                self.on_synced(report, actor)

    def _send(self, state: SourceState, actor: str) -> None:
        every = state.entry.every_minutes * 60
        period = None if state.requested_by else math.floor(state.next_run / every + 1e-9)
        try:
            assert self.dispatch is not None
            self.dispatch(state, run_name(state, period), actor)
        except Exception:  # noqa: BLE001 (the queue unreachable: the next period tries again)
            log.exception("source %s: could not send its sync", state.entry.path)
        with self._lock:
            state.running, state.step, state.requested_by = False, None, None
            state.last_ended = time.time()
            # the next period's start, the same instant on every replica
            state.next_run = (int(time.time() // every) + 1) * every
            self._lock.notify_all()

    def _sync(self, state: SourceState) -> SyncReport:
        def step(what: str) -> None:
            state.step = what

        try:
            return sync_folder(
                state.entry.path,
                state.entry.collection,
                self.kb,
                self.settings,
                progress=False,
                on_step=step,
                dense="later",  # the server's backfill embeds, off the scheduler's thread
            )
        except Exception as exc:  # noqa: BLE001 (a source that fails waits for its next run)
            log.exception("source %s: sync failed", state.entry.path)
            report = SyncReport(str(state.entry.path), state.entry.collection)
            report.error = f"{type(exc).__name__}: {exc}"
            return report
