"""Answers and what users said about them: every answer the service gives is recorded under
its id (question, answer, sources, the settings it was made under), so that a verdict that
comes later (POST /feedback) can be stored with everything needed to learn from it: an eval
regression set (`vinarag eval rag --qa`) and SFT examples (`vinarag train data --from-feedback`).

SQLite beside the store by default, PostgreSQL when one is configured; answers nobody rated are
forgotten after `feedback.keep_days`."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Literal, TypedDict

from tools.corpus.passages import Passage
from tools.errors import ServiceError, one_line
from tools.records.database import Backend, QmarkCursor, apply_schema, postgres_pool, unreachable
from tools.settings import Settings

log = logging.getLogger(__name__)

PRUNE_EVERY = 500  # answers recorded between two prunes of the unrated old ones


class RatedSource(TypedDict):
    doc_id: str
    title: str
    text: str
    location: str


class AnswerRecord(TypedDict):
    answer_id: str
    route: str  # /rag or /v1
    question: str
    answer: str
    grounded: bool
    sources: list[RatedSource]
    settings: dict[str, Any]  # the run settings a request named, and the generator
    trace_id: str | None  # the request's Langfuse trace, when tracing is on


class Verdict(TypedDict):
    answer_id: str
    score: float  # 0 (wrong) .. 1 (right); thumbs up is 1, down 0
    comment: str | None
    correction: str | None  # the answer the user says is right
    user: str | None


class FeedbackRow(TypedDict):
    """One exported verdict with its answer: also a row `vinarag eval rag --qa` reads
    (question, answers, contexts) and `vinarag train data --from-feedback` learns from."""

    id: str  # the feedback's own id
    answer_id: str
    rated_at: float
    score: float
    value: Literal["up", "down"]
    comment: str | None
    correction: str | None
    user: str | None
    question: str
    answer: str
    grounded: bool
    sources: list[RatedSource]
    settings: dict[str, Any]
    answers: list[str]  # the gold answer for evals: the correction, or a well-rated answer
    contexts: list[str]


class UnknownAnswer(LookupError):
    """Feedback for an answer id this service did not give (or has forgotten)."""


def verdict_value(score: float) -> Literal["up", "down"]:
    return "up" if score >= 0.5 else "down"


def rated_sources(passages: list[Passage]) -> list[RatedSource]:
    return [
        RatedSource(
            doc_id=p["doc_id"], title=p["title"], text=p["text"], location=p.get("location", "")
        )
        for p in passages
    ]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    answer_id TEXT PRIMARY KEY, created_at DOUBLE PRECISION NOT NULL, route TEXT NOT NULL,
    question TEXT NOT NULL, answer TEXT NOT NULL, grounded BOOLEAN NOT NULL,
    sources TEXT NOT NULL, settings TEXT NOT NULL, trace_id TEXT
);
CREATE TABLE IF NOT EXISTS feedback (
    id {id_type} PRIMARY KEY, answer_id TEXT NOT NULL REFERENCES answers (answer_id),
    created_at DOUBLE PRECISION NOT NULL, score DOUBLE PRECISION NOT NULL,
    comment TEXT, correction TEXT, user_id TEXT
);
CREATE INDEX IF NOT EXISTS feedback_answer ON feedback (answer_id);
CREATE INDEX IF NOT EXISTS answers_created ON answers (created_at);
"""

_EXPORT = """
SELECT f.id, f.answer_id, f.created_at, f.score, f.comment, f.correction, f.user_id,
       a.question, a.answer, a.grounded, a.sources, a.settings
FROM feedback f JOIN answers a ON a.answer_id = f.answer_id
ORDER BY f.id
"""


class FeedbackStore:
    """The same SQL on SQLite (one connection, a lock) and PostgreSQL (a checked pool)."""

    def __init__(self, settings: Settings) -> None:
        self.keep_s = settings.feedback.keep_days * 86400
        self.backend = _backend(settings)
        self._recorded = 0
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="feedback")
        self._lock = threading.Lock()
        self._sqlite: sqlite3.Connection | None = None
        self._pool: Any = None
        if self.backend == "postgres":
            self._pool = postgres_pool(settings)
        else:
            path = settings.feedback_path
            path.parent.mkdir(parents=True, exist_ok=True)
            self._sqlite = sqlite3.connect(str(path), check_same_thread=False)
            # Every answer is a write: WAL without an fsync per commit (a crash of the process
            # loses nothing; a power cut may lose the last answers, never corrupt the file).
            self._sqlite.execute("PRAGMA journal_mode=WAL")
            self._sqlite.execute("PRAGMA synchronous=NORMAL")
        with self.cursor() as cursor:
            apply_schema(cursor, _SCHEMA, self.backend)
        log.info("feedback: %s", self.backend)

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        if self._pool is not None:
            from psycopg import OperationalError

            try:
                with self._pool.connection() as connection, connection.cursor() as cursor:
                    yield QmarkCursor(cursor)
            except OperationalError as exc:  # answered 503 with the reason, never a 500
                raise ServiceError(f"feedback store unavailable ({one_line(exc)})") from None
            return
        assert self._sqlite is not None
        with self._lock, self._sqlite:
            yield self._sqlite.cursor()

    def record_answer(self, record: AnswerRecord) -> None:
        """Queued to the store's writer: the answer is not held up by the write. Every later
        read or verdict runs after it on the same writer, so it finds the answer."""
        self._writer.submit(self._record, record, time.time())

    def _record(self, record: AnswerRecord, at: float) -> None:
        try:
            self._insert(record, at)
        except Exception as exc:  # noqa: BLE001 (the answer was given; its feedback is lost)
            log.warning("answer %s not recorded for feedback: %s", record["answer_id"], exc)

    def _insert(self, record: AnswerRecord, at: float) -> None:
        with self.cursor() as cursor:
            cursor.execute(
                "INSERT INTO answers (answer_id, created_at, route, question, answer, grounded, "
                "sources, settings, trace_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record["answer_id"],
                    at,
                    record["route"],
                    record["question"],
                    record["answer"],
                    record["grounded"],
                    json.dumps(record["sources"], ensure_ascii=False),
                    json.dumps(record["settings"], ensure_ascii=False),
                    record["trace_id"],
                ),
            )
        self._recorded += 1
        if self._recorded % PRUNE_EVERY == 0:
            self.prune()

    def trace_of(self, answer_id: str) -> str | None:
        """The answer's trace id; UnknownAnswer when it was not given here (or forgotten)."""
        return self._writer.submit(self._trace_of, answer_id).result()

    def _trace_of(self, answer_id: str) -> str | None:
        with self.cursor() as cursor:
            cursor.execute("SELECT trace_id FROM answers WHERE answer_id = ?", (answer_id,))
            row = cursor.fetchone()
        if row is None:
            raise UnknownAnswer(answer_id)
        return row[0]

    def add(self, verdict: Verdict) -> str:
        """Stores a verdict on an answer this service gave; its id."""
        return self._writer.submit(self._add, verdict).result()

    def _add(self, verdict: Verdict) -> str:
        self._trace_of(verdict["answer_id"])  # UnknownAnswer for an id never given
        with self.cursor() as cursor:
            cursor.execute(
                "INSERT INTO feedback (answer_id, created_at, score, comment, correction, "
                "user_id) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    verdict["answer_id"],
                    time.time(),
                    verdict["score"],
                    verdict["comment"],
                    verdict["correction"],
                    verdict["user"],
                ),
            )
            return str(cursor.fetchone()[0])

    def export(self) -> Iterator[FeedbackRow]:
        rows = self._writer.submit(self._rows).result()
        for row in rows:
            (fid, answer_id, rated_at, score, comment, correction, user) = row[:7]
            question, answer, grounded, sources, settings = row[7:]
            sources = json.loads(sources)
            gold = [correction] if correction else ([answer] if score >= 0.5 else [])
            yield FeedbackRow(
                id=str(fid),
                answer_id=answer_id,
                rated_at=rated_at,
                score=score,
                value=verdict_value(score),
                comment=comment,
                correction=correction,
                user=user,
                question=question,
                answer=answer,
                grounded=bool(grounded),
                sources=sources,
                settings=json.loads(settings),
                answers=gold,
                contexts=[s["text"] for s in sources],
            )

    def _rows(self) -> list[Any]:
        with self.cursor() as cursor:
            cursor.execute(_EXPORT)
            return list(cursor.fetchall())

    def prune(self) -> int:
        """Forget answers older than keep_days that nobody rated; how many."""
        with self.cursor() as cursor:
            cursor.execute(
                "DELETE FROM answers WHERE created_at < ? AND answer_id NOT IN "
                "(SELECT answer_id FROM feedback)",
                (time.time() - self.keep_s,),
            )
            return int(cursor.rowcount or 0)

    @property
    def unavailable(self) -> str | None:
        """Why the store cannot be written now (PostgreSQL unreachable); None when it can."""
        return unreachable(self._pool) if self._pool is not None else None

    def close(self) -> None:
        self._writer.shutdown(wait=True)  # the queued answers written first
        if self._pool is not None:
            self._pool.close()
        if self._sqlite is not None:
            self._sqlite.close()


def _backend(settings: Settings) -> Backend:
    backend = settings.feedback.backend
    if backend == "auto":
        return "postgres" if settings.memory.postgres_url else "sqlite"
    if backend == "postgres" and not settings.memory.postgres_url:
        raise ValueError("feedback.backend 'postgres' needs memory.postgres_url (or POSTGRES_URL)")
    return "sqlite" if backend == "none" else backend


def open_feedback_store(settings: Settings) -> FeedbackStore | None:
    """The configured store (None with feedback.backend none)."""
    if settings.feedback.backend == "none":
        return None
    return FeedbackStore(settings)
