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
