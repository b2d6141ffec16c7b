"""Who wrote what into the knowledge base, and when: every ingest, replacement, deletion and
sync run, with the key (or command-line user) that made it, the collection, the documents and
the counts. Kept in the feedback database (SQLite beside the store, or PostgreSQL); read by
`GET /audit` and `vinarag audit`."""

from __future__ import annotations

import getpass
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from tools.ingest.job import Job
from tools.ingest.pipeline import IngestReport
from tools.ingest.sync import SyncReport
from tools.records.database import apply_schema
from tools.records.feedback import FeedbackStore

log = logging.getLogger(__name__)

AuditAction = Literal["ingest", "delete", "sync", "migrate", "restore"]
WHOLE_STORE = "*"  # the collection of an entry about the whole store (a migration, a restore)
IDS_KEPT = 1000  # document ids kept per entry (the counts are always whole)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id {id_type} PRIMARY KEY, at DOUBLE PRECISION NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, collection TEXT NOT NULL, doc_ids TEXT NOT NULL,
    counts TEXT NOT NULL, source TEXT, detail TEXT
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
CREATE INDEX IF NOT EXISTS audit_collection ON audit (collection, at)
"""


@dataclass(frozen=True)
class AuditEntry:
    actor: str  # the key's name ("team-hr"), "cli:<user>", or "schedule" (a configured source)
    action: AuditAction
    collection: str
    doc_ids: Sequence[str] = ()
    counts: dict[str, int] = field(default_factory=dict)  # {"added": 2, "deleted": 1, ...}
    source: str | None = None  # the folder of a sync, the files of an upload
    detail: str | None = None  # a refusal, an error
    at: float = 0.0  # set when recorded
    id: int | None = None


def ingest_entry(
    report: IngestReport, actor: str, collection: str, sources: Sequence[str]
) -> AuditEntry:
    """An ingest (the command line's, an upload job's): what it added and replaced."""
    return AuditEntry(
        actor=actor,
        action="ingest",
        collection=collection,
        doc_ids=[*report.added, *report.replaced],
        counts={
            "added": len(report.added),
            "replaced": len(report.replaced),
            "unchanged": len(report.unchanged),
            "failed": len(report.failed),
        },
        source=", ".join(sources)[:500] or None,
    )


def job_entry(job: Job) -> AuditEntry:
    """An upload job, once its documents are written."""
    entry = ingest_entry(
        job.report or IngestReport(), job.actor or "api", job.collection, job.names
    )
    return replace(entry, detail=f"job {job.id}")


def sync_entry(report: SyncReport, actor: str) -> AuditEntry:
    return AuditEntry(
        actor=actor,
        action="sync",
        collection=report.collection,
        doc_ids=[*report.documents_written, *report.documents_deleted],
        counts={
            "added": len(report.added),
            "changed": len(report.changed),
            "renamed": len(report.renamed),
            "deleted": len(report.deleted),
            "unchanged": report.unchanged,
            "failed": len(report.failed),
        },
        source=report.source,
        detail=report.error or report.refused,
    )


def command_line_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"


class AuditLog:
    def __init__(self, store: FeedbackStore) -> None:
        self.store = store
        with store.cursor() as cursor:
            apply_schema(cursor, _SCHEMA, store.backend)

    def record(self, entry: AuditEntry) -> None:
        """Written now (a write is rare next to questions); a store that fails is logged, and
        the write it describes stands."""
        try:
            with self.store.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO audit (at, actor, action, collection, doc_ids, counts, source, "
                    "detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        entry.at or time.time(),
                        entry.actor,
                        entry.action,
                        entry.collection,
                        json.dumps(list(entry.doc_ids)[:IDS_KEPT], ensure_ascii=False),
                        json.dumps(entry.counts),
                        entry.source,
                        entry.detail,
                    ),
                )
        except Exception as exc:  # noqa: BLE001 (the write happened; say it was not recorded)
            log.error("audit entry not recorded (%s %s): %s", entry.action, entry.collection, exc)

    def entries(
        self,
        collections: Sequence[str] | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Newest first; `collections` None: every collection."""
        where: list[str] = []
        values: list[object] = []
        if collections is not None:
            if not collections:
                return []
            where.append(f"collection IN ({', '.join('?' for _ in collections)})")
            values += list(collections)
        if since is not None:
            where.append("at >= ?")
            values.append(since)
        if until is not None:
            where.append("at < ?")
            values.append(until)
        sql = "SELECT id, at, actor, action, collection, doc_ids, counts, source, detail FROM audit"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY at DESC, id DESC LIMIT ?"
        with self.store.cursor() as cursor:
            cursor.execute(sql, (*values, limit))
            rows = cursor.fetchall()
        return [_entry(row) for row in rows]


def _entry(row: Sequence[Any]) -> AuditEntry:
    id_, at, actor, action, collection, doc_ids, counts, source, detail = row
    return AuditEntry(
        actor=actor,
        action=action,
        collection=collection,
        doc_ids=tuple(json.loads(doc_ids)),
        counts=json.loads(counts),
        source=source,
        detail=detail,
        at=float(at),
        id=int(id_),
    )
