"""Conversation memory: a LangGraph checkpointer, SQLite by default, PostgreSQL when configured."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from tools.errors import one_line
from tools.settings import Settings

log = logging.getLogger(__name__)
PROBE_EVERY_S = 1.0  # while PostgreSQL is unreachable: how often it is tried again


@contextmanager
def open_checkpointer(settings: Settings) -> Iterator[BaseCheckpointSaver | None]:
    """Yields the configured checkpointer (None when memory is off) and closes it after."""
    backend = settings.memory.backend
    if backend == "none":
        yield None
        return
    if backend == "postgres":
        with _postgres_saver(settings) as postgres:
            log.info("conversation memory: PostgreSQL")
            yield postgres
        return
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    path = settings.checkpoint_path
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(str(path), check_same_thread=False)
    try:
        saver = SqliteSaver(connection)
        saver.setup()
        log.info("conversation memory: SQLite at %s", path)
        yield saver
    finally:
        connection.close()


def prune_thread(saver: BaseCheckpointSaver | None, thread_id: str) -> None:
    """Keep only a thread's latest checkpoint: it holds the whole state (history included), and
    every turn otherwise leaves a few more rows behind (about 80 KB a turn, never read again)."""
    if saver is None:
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    if isinstance(saver, SqliteSaver):
        with saver.cursor() as cursor:
            cursor.execute(
                "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' "
                "ORDER BY checkpoint_id DESC LIMIT 1",
                (thread_id,),
            )
            latest = cursor.fetchone()
            if latest is None:
                return
            for table in ("checkpoints", "writes"):
                cursor.execute(
                    f"DELETE FROM {table} WHERE thread_id = ? AND checkpoint_id != ?",
                    (thread_id, latest[0]),
                )
        return
    try:
        saver.prune([thread_id], strategy="keep_latest")
    except NotImplementedError:  # a saver that cannot prune keeps everything
        return


class QmarkCursor:
    """A psycopg cursor taking the SQLite-style `?` placeholders, so that one SQL text serves
    both databases (thread expiry here, the feedback store)."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, query: str, params: tuple[Any, ...] = ()) -> None:
        self._cursor.execute(query.replace("?", "%s"), params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class ThreadClock:
    """When each thread last had a turn, beside the checkpoints (a table of its own in the same
    database), so that threads idle longer than `memory.thread_ttl_days` are forgotten: checked
    every EXPIRE_EVERY turns, each expired thread deleted through the saver."""

    EXPIRE_EVERY = 200

    def __init__(self, saver: BaseCheckpointSaver, ttl_days: float) -> None:
        from langgraph.checkpoint.sqlite import SqliteSaver

        self.saver = saver
        self.ttl_s = ttl_days * 86400
        self.sqlite = isinstance(saver, SqliteSaver)
        self._turns = 0
        self._execute(
            "CREATE TABLE IF NOT EXISTS vinarag_thread_seen "
            "(thread_id TEXT PRIMARY KEY, seen DOUBLE PRECISION NOT NULL)"
        )

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        if self.sqlite:
            with self.saver.cursor() as cursor:  # type: ignore[attr-defined]
                cursor.execute(sql, params)
                return cursor.fetchall()
        with self.saver._cursor() as cursor:  # type: ignore[attr-defined]  # PostgresSaver
            qmark = QmarkCursor(cursor)
            qmark.execute(sql, params)
            return qmark.fetchall() if qmark.description else []

    def touch(self, thread_id: str) -> None:
        self._execute(
            "INSERT INTO vinarag_thread_seen (thread_id, seen) VALUES (?, ?) "
            "ON CONFLICT (thread_id) DO UPDATE SET seen = excluded.seen",
            (thread_id, time.time()),
        )
        self._turns += 1
        if self._turns % self.EXPIRE_EVERY == 0:
            self.expire()

    def expire(self, now: float | None = None) -> int:
        """Forget threads idle past the TTL; how many."""
        cutoff = (now or time.time()) - self.ttl_s
        rows = self._execute("SELECT thread_id FROM vinarag_thread_seen WHERE seen < ?", (cutoff,))
        for row in rows:
            thread_id = row[0] if not isinstance(row, dict) else row["thread_id"]
            self.saver.delete_thread(thread_id)
            self._execute("DELETE FROM vinarag_thread_seen WHERE thread_id = ?", (thread_id,))
        if rows:
            log.info("conversation memory: %d idle threads forgotten", len(rows))
        return len(rows)


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


@contextmanager
def _postgres_saver(settings: Settings) -> Iterator[BaseCheckpointSaver]:
    """A saver over a small pool whose connections are checked before use: a database that
    restarts (or a network that drops) costs the turns asked while it is gone, not every turn
    after it is back, as one long-lived connection would."""
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row

    pool = postgres_pool(settings, prepare_threshold=0, row_factory=dict_row)
    try:
        saver = PostgresSaver(pool)
        saver.setup()
        yield saver
    finally:
        pool.close()


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
