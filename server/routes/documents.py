"""Documents: add (texts as JSON, or files as multipart), delete, collection stats. The same
ingestion as `vinarag ingest`: same ids, same report of skipped and failed files."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    FastAPI,
    File,
    HTTPException,
    Query,
    Request,
    Response,
    UploadFile,
    status,
)
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from starlette.routing import Match
from starlette.types import Scope

from server.access import Caller, forbidden
from server.deps import Reader, State, Writer
from server.state import AppState
from tools.corpus.documents import (
    COLLECTION,
    COLLECTION_RULE,
    DEFAULT_COLLECTION,
    DOC_ID,
    DOC_ID_RULE,
    DocRef,
    Document,
    check_doc_id,
)
from tools.corpus.metadata import check_metadata
from tools.ingest.job import Job
from tools.ingest.loaders import LOADERS
from tools.ingest.originals import delete_with_original
from tools.ingest.pipeline import IngestReport
from tools.kb.catalogue import ListedDocument
from tools.records.audit import AuditEntry

router = APIRouter(tags=["documents"])


class DocumentIn(BaseModel):
    model_config = ConfigDict(regex_engine="python-re")  # Unicode letters in the id pattern

    id: Annotated[
        str, Field(pattern=DOC_ID.pattern, description=DOC_ID_RULE), AfterValidator(check_doc_id)
    ]
    title: Annotated[str, Field(max_length=1000)] = ""
    text: Annotated[str, Field(min_length=1)]
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description="strings, 64-bit integers, numbers, booleans, lists of them; "
        "nested at most 3 levels; usable as filters",
    )

    @field_validator("metadata")
    @classmethod
    def _servable(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_metadata(value)
        return value


class DocumentsIn(BaseModel):
    documents: Annotated[list[DocumentIn], Field(min_length=1)]


class SourceIssue(BaseModel):
    source: str
    reason: str


class IngestOut(BaseModel):
    """What went in, by document id, and what did not, with the reason."""

    added: list[str]
    replaced: list[str]
    unchanged: list[str]
    skipped: list[SourceIssue]
    failed: list[SourceIssue]
    warnings: list[SourceIssue]
    chunks: int
    corpus_version: int
    seconds: float
    chunks_per_s: float


class MultipartRoute(APIRoute):
    """Matches multipart requests only: the first release took uploads on POST /documents too,
    and such clients still reach the file route (the JSON route answers every other request)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        content_type = dict(scope.get("headers", [])).get(b"content-type", b"")
        if match is Match.FULL and not content_type.startswith(b"multipart/form-data"):
            return Match.NONE, {}
        return match, child


def _report(report: IngestReport) -> IngestOut:
    """A job's report, as `?wait=true` answers it (422 when nothing went in)."""
    if report.nothing_went_in:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            detail={"message": "nothing went in", **report.to_dict()},
        )
    return IngestOut.model_validate(report.to_dict())


class JobOut(BaseModel):
    """An ingestion job: `searchable` once its documents are written (their sparse views),
    `done` once their dense vectors are too."""

    id: str
    url: str
    state: str
    collection: str
    files: list[str]
    files_done: int
    chunks_total: int
    chunks_written: int
    chunks_embedded: int
    chunks_per_s: float
    eta_s: float | None
    created_at: float
    started_at: float | None
    searchable_at: float | None
    ended_at: float | None
    error: str | None
    report: IngestOut | None
    submitted_by: str  # the key's name ("" with no keys configured)
    attempts: int  # times it was started (a worker or server stopped under it)
    ocr_pages: dict[str, list[int]]  # scans being read: file name -> [pages read, pages]


def _job_out(job: Job) -> JobOut:
    return JobOut(
        id=job.id,
        url=f"/jobs/{job.id}",
        state=job.state,
        collection=job.collection,
        files=job.names,
        files_done=job.files_done,
        ocr_pages=job.ocr_pages,
        chunks_total=job.chunks_total,
        chunks_written=job.chunks_written,
        chunks_embedded=job.chunks_embedded,
        chunks_per_s=job.chunks_per_s,
        eta_s=job.eta_s,
        created_at=job.created_at,
        started_at=job.started_at,
        searchable_at=job.searchable_at,
        ended_at=job.ended_at,
        error=job.error,
        report=IngestOut.model_validate(job.report.to_dict()) if job.report else None,
        submitted_by=job.actor,
        attempts=job.attempts,
    )


async def _accepted(
    state: AppState, job: Job, wait: bool, response: Response
) -> JobOut | IngestOut:
    """202 with the job, or with `wait` today's synchronous report (200) once the job has
    ended; a job still under way when the request's time (server.request_timeout_s) is nearly
    up answers 202 with where it stands, never a request left hanging."""
    if wait:
        jobs = state.jobs
        bound = state.settings.server.request_timeout_s
        if await run_in_threadpool(jobs.wait, job.id, max(bound - 1, bound * 0.9)):
            ended = jobs.get(job.id) or job
            if ended.report is None:
                raise HTTPException(
                    status.HTTP_500_INTERNAL_SERVER_ERROR,
                    detail=ended.error or "the job wrote no report",
                )
            response.status_code = status.HTTP_200_OK
            return _report(ended.report)
        job = jobs.get(job.id) or job
    response.headers["Location"] = f"/jobs/{job.id}"
    return _job_out(job)


WaitParam = Annotated[
    bool,
    Query(
        description="answer when the job has ended, with its report (200), instead of 202; a "
        "job still under way when server.request_timeout_s is nearly up answers 202 with its "
        "state"
    ),
]


def _safe_name(filename: str | None) -> str:
    """The upload's file name as the document will be known by: no folders, no characters a
    file system or a log line would trip on, at most 200 characters (its suffix kept)."""
    name = re.sub(r"[^\w.\- ]+", "_", Path(filename or "upload").name).strip(" .") or "upload"
    suffix = Path(name).suffix[:16]
    return name if len(name) <= 200 else name[: 200 - len(suffix)] + suffix


CollectionParam = Annotated[
    str,
    Query(pattern=COLLECTION.pattern, max_length=64, description=COLLECTION_RULE),
]


def _writable(caller: Caller, collection: str) -> str:
    if not caller.may_write(collection):
        raise forbidden("write", collection)
    return collection


async def add_files(
    state: State,
    caller: Writer,
    files: Annotated[
        list[UploadFile], File(description="files in the formats `vinarag ingest` reads")
    ],
    response: Response,
    collection: CollectionParam = DEFAULT_COLLECTION,
    wait: WaitParam = False,
) -> JobOut | IngestOut:
    """Upload files into a collection as a job (202; `GET /jobs/{id}` follows it): the same
    loaders, ids and report as `vinarag ingest`; a broken file is reported and the others go
    in. With `wait=true`: the report when the job has ended (422 when nothing went in)."""
    _writable(caller, collection)
    settings = state.settings
    if len(files) > settings.server.max_files:
        raise HTTPException(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            detail=f"{len(files)} files: at most {settings.server.max_files} per request",
        )
    limit = settings.server.max_upload_mb * 1024 * 1024
    refused: list[tuple[str, str]] = []
    accepted: list[tuple[str, bytes]] = []
    for upload in files:
        name = _safe_name(upload.filename)
        if name in {n for n, _ in accepted}:
            refused.append((name, "another file of the same name is in this request"))
            continue
        if Path(name).suffix.lower() not in LOADERS:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                detail=f"{name}: unsupported file type; use {' '.join(sorted(LOADERS))}",
            )
        data = await upload.read()
        if len(data) > limit:
            raise HTTPException(
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                detail=f"{name}: over {settings.server.max_upload_mb} MB",
            )
        accepted.append((name, data))
    job = await run_in_threadpool(
        state.jobs.submit_files, accepted, collection, refused, caller.name
    )
    return await _accepted(state, job, wait, response)


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": IngestOut, "description": "with wait=true: the job's report"},
    202: {"model": JobOut, "description": "the job, to follow at GET /jobs/{id}"},
}
router.add_api_route(
    "/documents/files",
    add_files,
    methods=["POST"],
    tags=["documents"],
    status_code=status.HTTP_202_ACCEPTED,
    responses=_RESPONSES,
)
router.add_api_route(
    "/documents",
    add_files,
    methods=["POST"],
    status_code=status.HTTP_202_ACCEPTED,
    route_class_override=MultipartRoute,
    include_in_schema=False,
)


@router.post("/documents", status_code=status.HTTP_202_ACCEPTED, responses=_RESPONSES)
async def add_documents(
    payload: DocumentsIn,
    state: State,
    caller: Writer,
    response: Response,
    collection: CollectionParam = DEFAULT_COLLECTION,
    wait: WaitParam = False,
) -> JobOut | IngestOut:
    """Texts as JSON into a collection as a job (202; `GET /jobs/{id}` follows it):
    `{"documents": [{"id", "title", "text", "metadata"}]}` (files: `POST /documents/files`).
    With `wait=true`: the report when the job has ended (422 when nothing went in)."""
    _writable(caller, collection)
    settings = state.settings
    most = settings.server.max_documents
    if len(payload.documents) > most:
        raise HTTPException(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            detail=f"{len(payload.documents)} documents: at most {most} per request",
        )
    documents = [
        Document(d.id, d.title, d.text, f"api:{d.id}", d.metadata, collection=collection)
        for d in payload.documents
    ]
    job = await run_in_threadpool(state.jobs.submit_documents, documents, collection, caller.name)
    return await _accepted(state, job, wait, response)


def missing_document(doc_id: str, collection: str) -> HTTPException:
    """404, the same whether the document or the key's view of its collection is missing."""
    return HTTPException(
        status.HTTP_404_NOT_FOUND,
        detail=f"no document with id {doc_id} in collection {collection!r}",
    )


def readable_ref(doc_id: str, collection: str, caller: Caller) -> DocRef:
    """The document a read names: 422 for an id or collection that breaks the rules, 404 for a
    collection the key cannot read (as for a document that does not exist)."""
    try:
        ref = DocRef(collection, doc_id)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None
    if not caller.may_read(collection):
        raise missing_document(doc_id, collection)
    return ref


def _visible(caller: Caller, job: Job) -> bool:
    return caller.may_see(job.collection)


@router.get("/jobs/{job_id}")
async def get_job(job_id: str, state: State, caller: Reader) -> JobOut:
    """An ingestion job's state and progress (404 alike for a job that does not exist and for
    one in a collection the key cannot read or write)."""
    job = state.jobs.get(job_id)
    if job is None or not _visible(caller, job):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no job {job_id}")
    return _job_out(job)


class JobsOut(BaseModel):
    jobs: list[JobOut]


@router.get("/jobs")
async def list_jobs(
    state: State, caller: Reader, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> JobsOut:
    """Recent ingestion jobs of the collections this key may read or write, newest first."""
    jobs = [j for j in state.jobs.recent(state.jobs.kept) if _visible(caller, j)]
    return JobsOut(jobs=[_job_out(j) for j in jobs[:limit]])


class DeletedOut(BaseModel):
    deleted: str
    collection: str
    chunks: int
    corpus_version: int


@router.delete("/documents/{doc_id:path}")
async def delete_document(
    doc_id: str,
    request: Request,
    state: State,
    caller: Writer,
    collection: CollectionParam = DEFAULT_COLLECTION,
) -> DeletedOut:
    """Remove a document from a collection. 404 alike for an id that does not exist and for a
    collection the key may not read (nothing learnt of either); 403 for one it reads but may
    not write."""
    # The id as sent: the router's pattern stops at a newline ("a\n" would arrive as "a").
    doc_id = request.scope["path"].partition("/documents/")[2] or doc_id
    try:
        ref = DocRef(collection, doc_id)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from None
    missing = missing_document(doc_id, collection)
    if not caller.may_see(collection):
        raise missing
    _writable(caller, collection)
    kb = state.services.retrieval.kb
    removed = await run_in_threadpool(delete_with_original, kb, ref, state.originals)
    if not removed:
        raise missing
    if state.audit is not None:
        entry = AuditEntry(caller.name, "delete", collection, [doc_id], {"deleted": 1})
        await run_in_threadpool(state.audit.record, entry)
    return DeletedOut(
        deleted=doc_id, collection=collection, chunks=removed, corpus_version=kb.corpus_version
    )


async def _readable_documents(state: AppState, caller: Caller) -> list[ListedDocument]:
    kb = state.services.retrieval.kb
    return await run_in_threadpool(lambda: kb.list_documents(collections=caller.read))


class CollectionOut(BaseModel):
    name: str
    documents: int
    chunks: int
    dense_waiting: int  # chunks searchable through their sparse views only, for now
    writable: bool


class CollectionsOut(BaseModel):
    collections: list[CollectionOut]
    keys: bool  # the service has API keys: the pages offer a key field only then


@router.get("/collections")
async def list_collections(state: State, caller: Reader) -> CollectionsOut:
    """The collections this key may read (with their documents, chunks, and chunks still
    waiting for their dense vector), and whether it may write each; a collection it cannot
    read is not named."""
    counts: dict[str, list[int]] = {}
    for document in await _readable_documents(state, caller):
        entry = counts.setdefault(document.collection, [0, 0])
        entry[0] += 1
        entry[1] += document.chunks
    names = set(counts) | (set(caller.read) if caller.read is not None else set())
    if caller.read is None:
        names.add(DEFAULT_COLLECTION)
    waiting = await run_in_threadpool(state.jobs.backfill.by_collection)
    return CollectionsOut(
        collections=[
            CollectionOut(
                name=name,
                documents=counts.get(name, [0, 0])[0],
                chunks=counts.get(name, [0, 0])[1],
                dense_waiting=waiting.get(name, 0),
                writable=caller.may_write(name),
            )
            for name in sorted(names)
        ],
        keys=bool(state.keys),
    )


class StatsOut(BaseModel):
    collection: str
    backend: str
    documents: int
    chunks: int
    corpus_version: int
    dense: bool
    sparse_views: list[str]


@router.get("/collections/stats")
async def collection_stats(state: State, caller: Reader) -> StatsOut:
    """Totals over the collections this key may read (all of them for a full-access key); a
    scoped key's version counts only its collections' documents."""
    kb = state.services.retrieval.kb
    stats = await run_in_threadpool(kb.stats)
    documents = await _readable_documents(state, caller)
    scoped = caller.read is not None
    return StatsOut(
        collection=kb.collection,
        backend=kb.backend.name,
        documents=len(documents),
        chunks=sum(d.chunks for d in documents) if scoped else stats.chunks,
        corpus_version=_version_of(documents) if scoped else stats.version,
        dense=kb.has_dense,
        sparse_views=list(kb.sparse_views),
    )


def _version_of(documents: list[ListedDocument]) -> int:
    """A version of just these documents: it changes when one of them is added, replaced or
    removed, and says nothing of writes elsewhere."""
    listed = sorted((d.collection, d.doc_id, d.content_hash or "") for d in documents)
    digest = hashlib.sha256(json.dumps(listed).encode()).hexdigest()
    return int(digest[:12], 16)


def install(app: FastAPI) -> None:
    app.include_router(router)
