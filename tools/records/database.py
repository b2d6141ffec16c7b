"""The records' databases: SQLite beside the store, or one PostgreSQL behind a checked pool, and
the one way every record table (checkpoint clock, answers and feedback, audit) is created."""

from __future__ import annotations

import logging
import threading
from typing import Any, Literal, Protocol

from tools.errors import one_line
from tools.settings import Settings

log = logging.getLogger(__name__)
PROBE_EVERY_S = 1.0  # while PostgreSQL is unreachable: how often it is tried again

Backend = Literal["sqlite", "postgres"]


class Cursor(Protocol):
    def execute(self, query: str, params: tuple[Any, ...] = ()) -> Any: ...


def apply_schema(cursor: Cursor, schema: str, backend: Backend) -> None:
    """Creates what `schema` declares (`CREATE ... IF NOT EXISTS` statements separated by `;`),
    its `{id_type}` an auto-numbered key in either database."""
    id_type = "BIGSERIAL" if backend == "postgres" else "INTEGER"
    for statement in schema.format(id_type=id_type).split(";"):
        if statement.strip():
            cursor.execute(statement)


class QmarkCursor:
    """A psycopg cursor taking the SQLite-style `?` placeholders, so that one SQL text serves
    both databases (thread expiry here, the feedback store)."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, query: str, params: tuple[Any, ...] = ()) -> None:
        self._cursor.execute(query.replace("?", "%s"), params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


def postgres_pool(settings: Settings, **connection: Any) -> Any:
    """An open pool on memory.postgres_url whose connections are checked before use (shared by
    conversation memory and the feedback store); `connection`: extra connection arguments.
    Once PostgreSQL cannot be reached, calls fail at once instead of each waiting for the pool,
    and a probe every PROBE_EVERY_S seconds brings the pool back as soon as it answers again."""
    from psycopg import OperationalError, connect
    from psycopg_pool import ConnectionPool

    class CheckedPool(ConnectionPool):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.down: str | None = None  # why PostgreSQL cannot be reached now (None: it can)
            self._probe_lock = threading.Lock()
            self._closing = threading.Event()
            super().__init__(*args, **kwargs)

        def getconn(self, timeout: float | None = None) -> Any:
            if self.down is not None:
                raise OperationalError(f"PostgreSQL unreachable: {self.down}")
            try:
                return super().getconn(timeout)
            except OperationalError as exc:  # PoolTimeout included
                self._lost(one_line(exc, 200) or type(exc).__name__)
                raise

        def _lost(self, why: str) -> None:
            with self._probe_lock:
                if self.down is None:
                    self.down = why
                    log.warning(
                        "PostgreSQL unreachable (%s): probing every %s s", why, PROBE_EVERY_S
                    )
                    threading.Thread(target=self._probe, name="postgres-probe", daemon=True).start()

        def probe(self) -> bool:
            """One try to reach PostgreSQL on a connection of its own; on success the pool's
            broken connections are replaced and calls go through again."""
            try:
                connect(memory.postgres_url or "", connect_timeout=1).close()
            except OperationalError:
                return False
            self.check()  # broken idle connections out, fresh ones in (no back-off)
            self.down = None
            log.info("PostgreSQL reachable again")
            return True

        def _probe(self) -> None:
            while self.down is not None and not self._closing.wait(PROBE_EVERY_S):
                self.probe()

        def close(self, timeout: float = 5.0) -> None:
            self._closing.set()
            super().close(timeout)

    memory = settings.memory
    assert memory.postgres_url  # the settings refuse postgres without one
    pool = CheckedPool(
        memory.postgres_url,
        min_size=1,
        max_size=memory.pool_size,
        timeout=memory.timeout_s,
        kwargs={
            "autocommit": True,
            "connect_timeout": max(1, round(memory.timeout_s)),
            **connection,
        },
        check=ConnectionPool.check_connection,
        # the pool's own reconnection backs off up to minutes; the probe above does not
        reconnect_timeout=memory.timeout_s,
        open=False,
    )
    pool.open(wait=True, timeout=memory.timeout_s)
    return pool


def unreachable(saver_or_pool: Any) -> str | None:
    """Why a PostgreSQL-backed checkpointer (or pool) cannot reach its database now; None when
    it can, or for SQLite."""
    pool = getattr(saver_or_pool, "conn", saver_or_pool)  # PostgresSaver keeps its pool there
    down = getattr(pool, "down", None)
    return down if isinstance(down, str) else None


def memory_unavailable(exc: BaseException) -> bool:
    """Whether an error from a run means conversation memory cannot be reached right now."""
    try:
        from psycopg import OperationalError  # the pool's timeouts are OperationalErrors too
    except ImportError:
        return False
    return isinstance(exc, OperationalError)
