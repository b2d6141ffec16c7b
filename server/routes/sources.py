"""/sources: the folders the server keeps in sync (settings `sources`), their last and next run,
and "sync now"; /audit: who wrote what."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, FastAPI, HTTPException, Query, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from server.access import Caller, forbidden
from server.deps import Reader, State, Writer
from tools.ingest.sources import SourceState
from tools.ingest.sync import SyncStatus
from tools.records.audit import AuditEntry

router = APIRouter(tags=["documents"])


class SyncOut(BaseModel):
    added: list[str]
    changed: list[str]
    renamed: list[tuple[str, str]]
    deleted: list[str]
    unchanged: int
    failed: list[tuple[str, str]]
    passed_over: list[tuple[str, str]]  # links to outside the folder, FIFOs, empty files
    unreadable_folders: list[tuple[str, str]]
    refused: str | None
    error: str | None
    status: SyncStatus
    seconds: float


class SourceOut(BaseModel):
    index: int
    path: str
    collection: str
    every_minutes: float
    running: bool
    step: str | None
    waiting: bool  # a "sync now" is queued
    last_started: float | None
    last_ended: float | None
    next_run: float
    last: SyncOut | None


class SourcesOut(BaseModel):
    sources: list[SourceOut]


def _out(state: SourceState) -> SourceOut:
    report = state.last_report
    last = None
    if report is not None:
        last = SyncOut(
            added=report.added,
            changed=report.changed,
            renamed=report.renamed,
            deleted=report.deleted,
            unchanged=report.unchanged,
            failed=report.failed,
            passed_over=report.passed_over,
            unreadable_folders=report.unreadable_folders,
            refused=report.refused,
            error=report.error,
            status=report.status,
            seconds=round(report.seconds, 3),
        )
    return SourceOut(
        index=state.index,
        path=str(state.entry.path),
        collection=state.entry.collection,
        every_minutes=state.entry.every_minutes,
        running=state.running,
        step=state.step,
        waiting=state.requested_by is not None,
        last_started=state.last_started,
        last_ended=state.last_ended,
        next_run=state.next_run,
        last=last,
    )


def _visible(caller: Caller, source: SourceState) -> bool:
    return caller.may_see(source.entry.collection)


@router.get("/sources")
async def list_sources(state: State, caller: Reader) -> SourcesOut:
    """The configured sources of the collections this key may read or write."""
    return SourcesOut(sources=[_out(s) for s in state.sources.states() if _visible(caller, s)])


@router.post("/sources/{index}/sync", status_code=status.HTTP_202_ACCEPTED)
async def sync_source(
    index: int,
    state: State,
    caller: Writer,
    wait: Annotated[bool, Query(description="answer when the run has ended")] = False,
) -> SourceOut:
    """Sync a source now (after the one running, if any): 202 with its state; with
    `wait=true`, its state once the run has ended. 404 alike for a source that does not exist
    and for one whose collection the key cannot see; 403 for one it may not write."""
    sources = state.sources.states()
    if not 0 <= index < len(sources) or not _visible(caller, sources[index]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no source {index}")
    if not caller.may_write(sources[index].entry.collection):
        raise forbidden("write", sources[index].entry.collection)
    source = state.sources.sync_now(index, caller.name)
    if wait:
        timeout = state.settings.server.request_timeout_s
        source = await run_in_threadpool(state.sources.wait_idle, index, timeout)
    return _out(source)


class AuditEntryOut(BaseModel):
    id: int | None
    at: float
    actor: str
    action: str
    collection: str
    doc_ids: list[str]
    counts: dict[str, int]
    source: str | None
    detail: str | None


class AuditOut(BaseModel):
    entries: list[AuditEntryOut]


def _moment(value: str | None, name: str) -> float | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY, detail=f"{name}: use an ISO date or time"
        ) from None


@router.get("/audit")
async def list_audit(
    state: State,
    caller: Reader,
    collection: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[str | None, Query(description="ISO date or time")] = None,
    until: Annotated[str | None, Query(description="ISO date or time (excluded)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditOut:
    """Every write to the knowledge base, newest first: for keys that read every collection
    (who wrote what is not a scoped key's to see)."""
    if caller.read is not None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail="the audit trail is for keys that read everything"
        )
    if state.audit is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="audit trail off: it is kept in the feedback database (feedback.backend)",
        )
    entries: list[AuditEntry] = await run_in_threadpool(
        state.audit.entries,
        [collection] if collection else None,
        _moment(since, "since"),
        _moment(until, "until"),
        limit,
    )
    return AuditOut(
        entries=[
            AuditEntryOut(
                id=e.id,
                at=e.at,
                actor=e.actor,
                action=e.action,
                collection=e.collection,
                doc_ids=list(e.doc_ids),
                counts=e.counts,
                source=e.source,
                detail=e.detail,
            )
            for e in entries
        ]
    )


def install(app: FastAPI) -> None:
    app.include_router(router)
