"""Files are read in a child process with a time limit and a memory ceiling.

A hostile or broken file (a compression bomb past the unpacked bound, markup nested without end,
a PDF that makes its parser spin, a file on a stalled mount) then costs that process, never the
service or the rest of the batch: the reader is killed, the file is reported with a reason, and a
fresh reader takes the next file. Parsing also stops competing with questions for the service's
interpreter lock.
"""

from __future__ import annotations

import logging
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Literal

from tools.errors import one_line
from tools.ingest.loaded import Loaded, LoadError, LoadSkipped
from tools.ingest.progress import PageProgress, pages_to
from tools.settings import IngestSettings

log = logging.getLogger(__name__)


@dataclass
class _Pages:
    """Sent by the child before the outcome while OCR reads a scan's pages."""

    done: int
    total: int


@dataclass
class _Outcome:
    kind: Literal["loaded", "failed", "skipped"]
    loaded: Loaded | None = None
    reason: str = ""


def read_one(path: Path, settings: IngestSettings) -> _Outcome:
    """One file, every failure turned into a reason a user can act on."""
    from tools.ingest.loaders import load_file

    try:
        return _Outcome("loaded", load_file(path, settings))
    except LoadSkipped as exc:
        return _Outcome("skipped", reason=str(exc))
    except LoadError as exc:
        return _Outcome("failed", reason=str(exc))
    except RecursionError:
        return _Outcome("failed", reason="nested too deeply to read")
    except MemoryError:
        return _Outcome("failed", reason=_too_big(settings))
    except Exception as exc:  # a loader bug must not lose the rest of the batch
        log.exception("%s: unexpected error", path)
        return _Outcome("failed", reason=f"could not be read ({one_line(exc) or 'no detail'})")


def _too_big(settings: IngestSettings) -> str:
    return f"too large to read: needs more than ingest.read_memory_mb={settings.read_memory_mb} MB"


def _serve(inbox: Connection, outbox: Connection, memory_mb: int) -> None:
    """The child: read the files it is sent until the parent closes the pipe."""
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            path, settings = inbox.recv()
        except (EOFError, OSError):
            return
        with pages_to(lambda done, total: outbox.send(_Pages(done, total))):
            outcome = read_one(path, settings)
        outbox.send(outcome)


class FileReader:
    """Reads files one at a time in a child process (started on first use, restarted after a
    file that killed it); a context manager that stops the child on exit.

    The child is a fresh interpreter (`python -m tools.ingest.reader`), not a multiprocessing
    spawn: that would re-run the caller's main script, which a user's script may not guard."""

    def __init__(self, settings: IngestSettings) -> None:
        self.settings = settings
        self._process: subprocess.Popen[bytes] | None = None
        self._outbox: Connection | None = None
        self._inbox: Connection | None = None

    def _start(self) -> tuple[Connection, Connection]:
        to_child, from_parent = os.pipe()
        to_parent, from_child = os.pipe()
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(to_child), str(from_child)]
            + [str(self.settings.read_memory_mb)],
            pass_fds=(to_child, from_child),
            stdin=subprocess.DEVNULL,
        )
        os.close(to_child)
        os.close(from_child)
        self._outbox = Connection(from_parent, readable=False)
        self._inbox = Connection(to_parent, writable=False)
        return self._outbox, self._inbox

    def read(self, path: Path, on_pages: PageProgress | None = None) -> Loaded:
        """The file's documents, or LoadError / LoadSkipped with the reason; `on_pages` hears
        of the pages OCR has read while it reads a scan."""
        if self._outbox is None or self._inbox is None:
            self._start()
        assert self._outbox is not None and self._inbox is not None
        deadline = time.monotonic() + self.settings.read_timeout_s
        try:
            self._outbox.send((path, self.settings))
            while True:
                if not self._inbox.poll(max(0.0, deadline - time.monotonic())):
                    self.close()
                    raise LoadError(
                        f"took too long to read: over ingest.read_timeout_s="
                        f"{self.settings.read_timeout_s:g} s"
                    )
                said: _Pages | _Outcome = self._inbox.recv()
                if isinstance(said, _Outcome):
                    outcome = said
                    break
                if on_pages is not None:
                    on_pages(said.done, said.total)
        except (EOFError, OSError):
            code = self._process.poll() if self._process else None
            self.close()
            log.warning("%s: the reader stopped (exit code %s)", path, code)
            raise LoadError(
                f"{_too_big(self.settings)} (the reader stopped while reading it)"
            ) from None
        if outcome.kind == "skipped":
            raise LoadSkipped(outcome.reason)
        if outcome.kind == "failed" or outcome.loaded is None:
            raise LoadError(outcome.reason)
        return outcome.loaded

    def close(self) -> None:
        for conn in (self._outbox, self._inbox):
            if conn is not None:
                conn.close()
        if self._process is not None:
            self._process.kill()
            self._process.wait()
        self._process = self._outbox = self._inbox = None

    def __enter__(self) -> FileReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


if __name__ == "__main__":  # the child; its outcomes must pickle as tools.ingest.reader's
    from tools.ingest import reader

    reader._serve(
        Connection(int(sys.argv[1]), writable=False),
        Connection(int(sys.argv[2]), readable=False),
        int(sys.argv[3]),
    )
