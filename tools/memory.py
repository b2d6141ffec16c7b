"""Conversation memory: a LangGraph checkpointer, SQLite by default, PostgreSQL when configured."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from langgraph.checkpoint.base import BaseCheckpointSaver

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
        from langgraph.checkpoint.postgres import PostgresSaver

        assert settings.memory.postgres_url  # the settings refuse postgres without one
        with PostgresSaver.from_conn_string(settings.memory.postgres_url) as postgres:
            postgres.setup()
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
