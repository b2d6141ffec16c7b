"""Conversation memory: a LangGraph checkpointer, SQLite by default, PostgreSQL when configured,
and the clock that forgets idle threads."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from tools.records.database import QmarkCursor, apply_schema, postgres_pool
from tools.settings import Settings

log = logging.getLogger(__name__)


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


_CLOCK_SCHEMA = """
CREATE TABLE IF NOT EXISTS vinarag_thread_seen (
    thread_id TEXT PRIMARY KEY, seen DOUBLE PRECISION NOT NULL
)
"""


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
        with self._cursor() as cursor:
            apply_schema(cursor, _CLOCK_SCHEMA, "sqlite" if self.sqlite else "postgres")

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        """A cursor of the saver's own connection, taking `?` placeholders in either database."""
        if self.sqlite:
            with self.saver.cursor() as cursor:  # type: ignore[attr-defined]
                yield cursor
            return
        with self.saver._cursor() as cursor:  # type: ignore[attr-defined]  # PostgresSaver
            yield QmarkCursor(cursor)

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

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
