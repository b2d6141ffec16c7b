"""The documents page at `/tai-lieu` (beside the chat page, same look, no build step) and what it
reads: `GET /documents` (a collection's documents with their source, size, dates, the state of
their dense vectors and of the job that wrote them) and `GET /documents/{id}/chunks` (the
chunks as the retriever sees them, with their location)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel

from server.deps import Reader, State
from server.routes.chat_page import STATIC
from server.routes.documents import CollectionParam, missing_document, readable_ref
from server.state import AppState
from tools.corpus.documents import DEFAULT_COLLECTION
from tools.ingest.job import Job
from tools.kb.retriever import passage_location

router = APIRouter(tags=["documents"])
page = APIRouter(include_in_schema=False)


class JobRef(BaseModel):
    id: str
    state: str


class DocumentOut(BaseModel):
    doc_id: str
    collection: str
    title: str
    source: str
    source_path: str | None  # under its synced folder (sync)
    chunks: int
    size_bytes: int | None  # of its file, when it came from a synced folder
    updated_at: float | None  # when this version was written
    dense_waiting: int  # chunks still searchable through their sparse views only
    dense: bool  # the store has a dense view at all
    job: JobRef | None  # the newest upload job that wrote it (kept jobs only)


class DocumentsOut(BaseModel):
    collection: str
    documents: list[DocumentOut]


class ChunkOut(BaseModel):
    position: int
    location: str  # "Luật ... , Điều 8, Khoản 2", "handbook.pdf, trang 12"
    text: str
    metadata: dict[str, Any]
    dense_waiting: bool


class ChunksOut(BaseModel):
    doc_id: str
    collection: str
    title: str
    chunks: list[ChunkOut]


def _writers(jobs: list[Job], collection: str) -> dict[str, Job]:
    """The newest job that wrote each document of the collection."""
    found: dict[str, Job] = {}
    for job in jobs:  # newest first
        if job.collection != collection or (report := job.report) is None:
            continue
        for doc_id in [*report.added, *report.replaced, *report.unchanged]:
            found.setdefault(doc_id, job)
    return found


def _listing(state: AppState, collection: str, query: str | None) -> DocumentsOut:
    kb = state.services.retrieval.kb
    listed = kb.list_documents(collections=[collection])
    if query:  # with or without marks
        listed = [d for d in listed if d.matches(query)]
    waiting = state.jobs.backfill.by_document()
    writers = _writers(state.jobs.recent(state.jobs.kept), collection)
    out = []
    for d in listed:
        job = writers.get(d.doc_id)
        size = d.metadata.get("file_size")
        out.append(
            DocumentOut(
                doc_id=d.doc_id,
                collection=d.collection,
                title=d.title,
                source=d.source,
                source_path=d.metadata.get("source_path"),
                chunks=d.chunks,
                size_bytes=int(size) if isinstance(size, int) else None,
                updated_at=d.ingested_at or None,
                dense_waiting=waiting.get((d.collection, d.doc_id), 0),
                dense=kb.has_dense,
                job=JobRef(id=job.id, state=job.state) if job is not None else None,
            )
        )
    return DocumentsOut(collection=collection, documents=out)


@router.get("/documents")
async def list_documents(
    state: State,
    caller: Reader,
    collection: CollectionParam = DEFAULT_COLLECTION,
    q: Annotated[str | None, Query(max_length=200, description="part of the title")] = None,
) -> DocumentsOut:
    """A collection's documents (404 alike for one the key cannot read and one that does not
    exist: nothing is learnt of either)."""
    if not caller.may_read(collection):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no collection {collection!r}")
    return await run_in_threadpool(_listing, state, collection, q)


@router.get("/documents/{doc_id}/chunks")
async def document_chunks(
    doc_id: str, state: State, caller: Reader, collection: CollectionParam = DEFAULT_COLLECTION
) -> ChunksOut:
    """A document's chunks in order, as the retriever sees them."""
    ref = readable_ref(doc_id, collection, caller)
    kb = state.services.retrieval.kb

    def read() -> ChunksOut:
        stored = kb.existing([ref.key]).get(ref.key)
        if stored is None:
            raise missing_document(doc_id, collection)
        payloads = sorted(kb.payloads(stored.point_ids).items(), key=lambda p: p[1].position)
        waiting = kb.pending_ids()
        return ChunksOut(
            doc_id=doc_id,
            collection=collection,
            title=payloads[0][1].title if payloads else doc_id,
            chunks=[
                ChunkOut(
                    position=p.position,
                    location=passage_location(p),
                    text=p.text,
                    metadata=dict(p.metadata),
                    dense_waiting=point_id in waiting,
                )
                for point_id, p in payloads
            ],
        )

    return await run_in_threadpool(read)


@page.get("/tai-lieu")
async def documents_page() -> FileResponse:
    return FileResponse(STATIC / "documents.html", media_type="text/html; charset=utf-8")


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(page)
