"""Job records in PostgreSQL, shared by every server replica and `vinarag worker`: any replica
answers `GET /jobs/{id}`; claims make a scheduled run happen once across replicas; attempts
count the starts of a task whose worker died; a collection's writers take turns."""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tools.ingest.job import ENDED, Job
from tools.records.database import apply_schema, postgres_pool
from tools.settings import Settings

SCHEMA = """
CREATE TABLE IF NOT EXISTS ingest_jobs (
    id TEXT PRIMARY KEY,
    created_at DOUBLE PRECISION NOT NULL,
    state TEXT NOT NULL,
    record JSONB NOT NULL
);
CREATE INDEX IF NOT EXISTS ingest_jobs_created ON ingest_jobs (created_at);
CREATE TABLE IF NOT EXISTS ingest_claims (
    name TEXT PRIMARY KEY,
    claimed_by TEXT NOT NULL,
    claimed_at DOUBLE PRECISION NOT NULL,
    ended_at DOUBLE PRECISION,
    outcome TEXT
);
CREATE TABLE IF NOT EXISTS ingest_outcomes (
    task_id TEXT PRIMARY KEY,
    payload BYTEA NOT NULL,
    stored_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS ingest_attempts (
    name TEXT PRIMARY KEY,
    attempts INTEGER NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
)
"""
_SCHEMA_LOCK = 0x76696E61  # several processes starting at once create the tables once
_ENDED = tuple(sorted(ENDED))
OUTCOMES_KEPT_S = 3600.0


class PostgresJobStore:
    def __init__(self, pool: Any) -> None:
        self.pool = pool
        with pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            apply_schema(cursor, SCHEMA, "postgres")

    @classmethod
    def open(cls, settings: Settings) -> PostgresJobStore:
        return cls(postgres_pool(settings))

    def _rows(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.pool.connection() as conn, conn.cursor() as cursor:
            cursor.execute(query, params)
            return list(cursor.fetchall()) if cursor.description else []

    def save(self, job: Job) -> None:
        self._rows(
            "INSERT INTO ingest_jobs (id, created_at, state, record) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, record = EXCLUDED.record",
            (job.id, job.created_at, job.state, json.dumps(job.to_json(), ensure_ascii=False)),
        )

    def get(self, job_id: str) -> Job | None:
        rows = self._rows("SELECT record FROM ingest_jobs WHERE id = %s", (job_id,))
        return Job.from_json(rows[0][0]) if rows else None

    def recent(self, limit: int) -> list[Job]:
        rows = self._rows(
            "SELECT record FROM ingest_jobs ORDER BY created_at DESC LIMIT %s", (limit,)
        )
        return [Job.from_json(r[0]) for r in rows]

    def unfinished(self) -> list[Job]:
        rows = self._rows(
            "SELECT record FROM ingest_jobs WHERE state NOT IN (%s, %s) ORDER BY created_at",
            _ENDED,
        )
        return [Job.from_json(r[0]) for r in rows]

    def prune(self, kept: int) -> list[str]:
        rows = self._rows(
            "DELETE FROM ingest_jobs WHERE state IN (%s, %s) AND id NOT IN (SELECT id FROM "
            "ingest_jobs WHERE state IN (%s, %s) ORDER BY created_at DESC LIMIT %s) RETURNING id",
            (*_ENDED, *_ENDED, kept),
        )
        return [r[0] for r in rows]

    def claim(self, name: str, by: str) -> bool:
        rows = self._rows(
            "INSERT INTO ingest_claims (name, claimed_by, claimed_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (name) DO NOTHING RETURNING name",
            (name, by, time.time()),
        )
        return bool(rows)

    def settle(self, name: str, outcome: str) -> None:
        """What a claimed run came to (a sync's status)."""
        self._rows(
            "UPDATE ingest_claims SET ended_at = %s, outcome = %s WHERE name = %s",
            (time.time(), outcome, name),
        )

    def claims(self, prefix: str) -> list[tuple[str, str, float | None, str | None]]:
        """(name, claimed by, ended at, outcome) of the claims whose name starts so."""
        rows = self._rows(
            "SELECT name, claimed_by, ended_at, outcome FROM ingest_claims WHERE name LIKE %s "
            "ORDER BY claimed_at",
            (prefix.replace("%", r"\%").replace("_", r"\_") + "%",),
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def attempt(self, name: str) -> int:
        rows = self._rows(
            "INSERT INTO ingest_attempts (name, attempts, updated_at) VALUES (%s, 1, %s) "
            "ON CONFLICT (name) DO UPDATE SET attempts = ingest_attempts.attempts + 1, "
            "updated_at = EXCLUDED.updated_at RETURNING attempts",
            (name, time.time()),
        )
        return int(rows[0][0])

    def put_outcome(self, task_id: str, payload: bytes) -> None:
        """A step's result (or error) for the job that waits on it; outcomes nobody took
        within OUTCOMES_KEPT_S (their job was stopped) are dropped meanwhile."""
        now = time.time()
        self._rows("DELETE FROM ingest_outcomes WHERE stored_at < %s", (now - OUTCOMES_KEPT_S,))
        self._rows(
            "INSERT INTO ingest_outcomes (task_id, payload, stored_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (task_id) DO UPDATE SET payload = EXCLUDED.payload, "
            "stored_at = EXCLUDED.stored_at",
            (task_id, payload, now),
        )

    def take_outcome(self, task_id: str) -> bytes | None:
        rows = self._rows(
            "DELETE FROM ingest_outcomes WHERE task_id = %s RETURNING payload", (task_id,)
        )
        return bytes(rows[0][0]) if rows else None

    def restarted(self) -> float | None:
        """When a task last started again after its worker died (None: none has)."""
        rows = self._rows("SELECT max(updated_at) FROM ingest_attempts WHERE attempts >= 2")
        return float(rows[0][0]) if rows and rows[0][0] is not None else None

    @contextmanager
    def collection_lock(self, collection: str) -> Iterator[None]:
        """A session lock on a connection of its own: a writer killed mid-write lets go with
        its connection."""
        key = zlib.crc32(f"vinarag:collection:{collection}".encode())
        with self.pool.connection() as conn, conn.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", (key,))
            try:
                yield
            finally:
                cursor.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def close(self) -> None:
        self.pool.close()
