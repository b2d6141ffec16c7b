"""The knowledge base as tools for agents and desktop assistants (the Model Context Protocol):
streamable HTTP at `/mcp` on the app, behind the same API keys and collection scopes as every
route, and `vinarag mcp` over stdio. A small tool set with typed results: `search` (passages),
`ask` (the whole graph; a question back is a result, answered by calling `ask` again with its
`thread_id`, since an MCP client cannot answer mid-call), `list_documents`, `get_document`,
`get_article` (a law's article in the version in force, with its references); and
for keys that may write, `ingest` (text documents, as a job), `job_status`, `sync_now`."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import date
from typing import Any, cast

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from langchain_core.runnables import RunnableConfig
from mcp.server.fastmcp import Context, FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from graph.state import OutputState
from server.access import Caller, caller_of
from server.rag import scoped_configurable
from server.state import AppState
from tools.corpus.documents import DEFAULT_COLLECTION, DocRef, Document, location
from tools.corpus.passages import Passage
from tools.corpus.references import ArticleRef, references_in
from tools.ingest.job import Job
from tools.kb.retriever import as_passage, passage_location
from tools.kb.versions import Version, in_force

log = logging.getLogger(__name__)
MAX_TOP_K = 20
_ARTICLE_NUMBER = re.compile(r"\d{1,4}[a-zđ]?")

INSTRUCTIONS = (
    "Tìm và hỏi đáp trên kho văn bản tiếng Việt của người dùng (luật, quy chế, tài liệu). "
    "search: the passages that match a query, with their document and place (law, article, "
    "clause, page). ask: an answer with numbered sources; when it asks back which law is "
    "meant, call ask again with one of the options and the thread_id it gave."
)


class FoundPassage(BaseModel):
    document: str = Field(description="the document's id")
    title: str
    collection: str
    location: str = Field(description="where it is, as a reader cites it (law, article, clause)")
    page: int | None = Field(None, description="its first page, for PDFs and scans")
    score: float
    text: str


class SearchResult(BaseModel):
    passages: list[FoundPassage]


class AskResult(BaseModel):
    answer: str
    sources: list[FoundPassage] = Field(description="numbered as the answer cites them, [1] first")
    grounded: bool | None = Field(None, description="whether the answer was checked against them")
    question_back: str | None = Field(
        None, description="the run stopped to ask this: call ask again with an option"
    )
    options: list[str] = Field(default_factory=list)
    thread_id: str | None = Field(None, description="where the conversation goes on")


class DocumentChunk(BaseModel):
    position: int
    location: str
    page: int | None = None
    text: str


class DocumentText(BaseModel):
    document: str
    collection: str
    title: str
    chunks: list[DocumentChunk] = Field(description="in order, as the retriever sees them")


class NewDocument(BaseModel):
    id: str = Field(description="the document's id in its collection (replaces one with it)")
    title: str = ""
    text: str


class ArticleText(BaseModel):
    law: str = Field(description="the law as a reader names it, with its number")
    document: str
    collection: str
    article: str
    location: str
    pages: list[int] = Field(description="the pages it is printed on, for PDFs and scans")
    text: str = Field(description="the article's whole text, heading first")
    references: list[str] = Field(description="the articles it refers to, as a reader cites them")
    other_versions: list[str] = Field(
        description="other versions of the law held; the text is from the one in force"
    )


class JobState(BaseModel):
    job_id: str
    state: str = Field(description="queued, running, searchable, done or failed")
    documents_done: int
    error: str | None = None


class SyncStarted(BaseModel):
    source: int
    path: str
    collection: str
    requested_by: str


class ListedDocument(BaseModel):
    document: str
    collection: str
    title: str
    chunks: int


class DocumentList(BaseModel):
    documents: list[ListedDocument]


def _found(passage: Passage) -> FoundPassage:
    metadata = passage.get("metadata") or {}
    page = metadata.get("page")
    return FoundPassage(
        document=passage["doc_id"],
        title=passage["title"],
        collection=passage.get("collection", DEFAULT_COLLECTION),
        location=passage.get("location") or passage["title"],
        page=page if isinstance(page, int) else None,
        score=round(float(passage["score"]), 4),
        text=passage["text"],
    )


def _cited(reference: ArticleRef) -> str:
    where = f"Điều {reference.article}" + (
        f", khoản {reference.clause}" if reference.clause else ""
    )
    return f"{where} {reference.law}" if reference.law else where


def _article(chunks: list[Passage], others: list[str]) -> ArticleText:
    """An article's chunks as one text: each later chunk's repeated heading line dropped."""
    first = chunks[0]
    heading = first["text"].partition("\n")[0]
    texts = [first["text"]]
    for chunk in chunks[1:]:
        line, _, rest = chunk["text"].partition("\n")
        texts.append(rest if line == heading and rest else chunk["text"])
    meta = first["metadata"]
    pages = sorted(
        {
            n
            for c in chunks
            for k in ("page", "page_end")
            if isinstance(n := c["metadata"].get(k), int)
        }
    )
    references = list(
        dict.fromkeys(_cited(r) for c in chunks for r in references_in(c["metadata"]))
    )
    label = str(meta.get("van_ban") or first["title"])
    return ArticleText(
        law=label,
        document=first["doc_id"],
        collection=first.get("collection", DEFAULT_COLLECTION),
        article=str(meta.get("dieu")),
        location=location(label, {"dieu": meta["dieu"]}),
        pages=pages,
        text="\n".join(texts),
        references=references,
        other_versions=others,
    )


def _job_state(job: Job) -> JobState:
    return JobState(job_id=job.id, state=job.state, documents_done=job.files_done, error=job.error)


def _scope(caller: Caller, collection: str | None) -> list[str] | None:
    try:
        return caller.searched([collection] if collection else None)
    except HTTPException as exc:  # the same words as REST's 403
        raise ToolError(str(exc.detail)) from None


# Who is calling a tool: from the HTTP request (its key), or the stdio process's own caller.
Resolve = Callable[[Context], Caller]


def build_mcp(state: AppState, resolve: Resolve) -> FastMCP:
    server = FastMCP(
        "vinarag",
        instructions=INSTRUCTIONS,
        stateless_http=True,  # any replica answers any call
        json_response=True,
        streamable_http_path="/mcp",
        # the API keys guard the route; the Host header is the deployment's own
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    retrieval = state.services.retrieval

    @server.tool()
    async def search(
        query: str, ctx: Context, collection: str | None = None, top_k: int = 5
    ) -> SearchResult:
        """Passages of the knowledge base that match `query`, best first, with their document
        and place; only collections the key may read."""
        collections = _scope(resolve(ctx), collection)
        if not query.strip():
            raise ToolError("query is empty")
        top_k = max(1, min(top_k, MAX_TOP_K))

        def found() -> list[Passage]:
            hits = retrieval.retriever.retrieve(query, collections=collections)
            return retrieval.reranker.rerank(query, hits, top_k)

        return SearchResult(passages=[_found(p) for p in await run_in_threadpool(found)])

    @server.tool()
    async def ask(
        question: str, ctx: Context, collection: str | None = None, thread_id: str | None = None
    ) -> AskResult:
        """The knowledge base's answer to `question` with its numbered sources, as /rag/invoke
        gives it. A question back (which law?) comes as `question_back` with `options` and a
        `thread_id`: call ask again with the chosen option and that thread_id."""
        caller = resolve(ctx)
        if not question.strip():
            raise ToolError("question is empty")
        named: dict[str, Any] = {"collections": [collection]} if collection else {}
        owner = f"key:{caller.key_digest}" if caller.key_digest else "mcp:anonymous"
        try:
            configurable = scoped_configurable(
                {"configurable": named}, caller, owner, thread_id or ""
            )
        except HTTPException as exc:
            raise ToolError(str(exc.detail)) from None
        config = RunnableConfig(configurable=configurable, metadata={"route": "/mcp"})
        state.runnable.admit()
        output = cast(OutputState, await state.runnable.ainvoke({"question": question}, config))
        clarification = output.get("clarification")
        grounded = output.get("grounded")
        return AskResult(
            answer=output.get("answer", ""),
            sources=[_found(p) for p in output.get("sources", [])],
            grounded=grounded["value"] if grounded else None,
            question_back=clarification["question"] if clarification else None,
            options=[o["label"] for o in clarification["options"]] if clarification else [],
            thread_id=(clarification.get("thread_id") if clarification else None) or thread_id,
        )

    @server.tool()
    async def get_document(
        document: str, ctx: Context, collection: str = "default"
    ) -> DocumentText:
        """A document's text, chunk by chunk in order, with each chunk's place (article,
        clause, page)."""
        caller = resolve(ctx)
        try:
            ref = DocRef(collection, document)
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        missing = ToolError(f"no document {document!r} in collection {collection!r}")
        if not caller.may_read(collection):
            raise missing  # the same words: a key learns nothing of what it cannot read

        def read() -> DocumentText:
            kb = retrieval.kb
            stored = kb.existing([ref.key]).get(ref.key)
            if stored is None:
                raise missing
            payloads = sorted(kb.payloads(stored.point_ids).values(), key=lambda p: p.position)
            return DocumentText(
                document=document,
                collection=collection,
                title=payloads[0].title if payloads else document,
                chunks=[
                    DocumentChunk(
                        position=p.position,
                        location=passage_location(p),
                        page=p.metadata.get("page")
                        if isinstance(p.metadata.get("page"), int)
                        else None,
                        text=p.text,
                    )
                    for p in payloads
                ],
            )

        return await run_in_threadpool(read)

    @server.tool()
    async def get_article(
        law: str, article: str, ctx: Context, collection: str | None = None
    ) -> ArticleText:
        """An article of a law the knowledge base holds (`law`: its name or number, "Luật
        Doanh nghiệp 2020" or "59/2020/QH14"; `article`: "17" or "Điều 17"), in the version in
        force, with the articles it refers to."""
        collections = _scope(resolve(ctx), collection)
        number = _ARTICLE_NUMBER.search(article)
        if number is None:
            raise ToolError(f"article {article[:40]!r}: give its number, e.g. 17 or 'Điều 17'")

        def read() -> ArticleText:
            named = retrieval.laws.named_in(law, collections)
            if named is None or not named.documents:
                raise ToolError(
                    f"no law {law[:80]!r} in the knowledge base (list_documents shows what is "
                    "held; name it as its title or number)"
                )
            found: dict[str, list[Passage]] = {}
            for held in named.documents:
                chunks = retrieval.kb.find(
                    {"doc_id": held.doc_id, "dieu": number.group(0)}, [held.collection], 64
                )
                if chunks:
                    ordered = sorted(chunks, key=lambda c: c[1].position)
                    found[held.doc_id] = [as_passage(i, p, 0.0) for i, p in ordered]
            if not found:
                raise ToolError(f"{named.documents[0].label} has no Điều {number.group(0)}")
            versions = {v.doc_id: v for p in found.values() if (v := Version.of(p[0])) is not None}
            chosen = (
                in_force(list(versions.values()), date.today()).doc_id
                if len(versions) > 1
                else next(iter(found))
            )
            return _article(found[chosen], [versions[d].label for d in versions if d != chosen])

        return await run_in_threadpool(read)

    @server.tool()
    async def ingest(
        documents: list[NewDocument], ctx: Context, collection: str = "default"
    ) -> JobState:
        """Adds (or replaces) text documents in a collection the key may write, as a job:
        searchable within seconds, then embedded; follow it with job_status."""
        caller = resolve(ctx)
        if not caller.may_write(collection):
            raise ToolError(f"this key may not write collection {collection!r}")
        if not documents:
            raise ToolError("no documents")
        try:
            built = [
                Document(d.id, d.title, d.text, "mcp", {}, collection=collection) for d in documents
            ]
            for document in built:
                DocRef(collection, document.doc_id)  # the id and collection rules
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        job = await run_in_threadpool(state.jobs.submit_documents, built, collection, caller.name)
        return _job_state(job)

    @server.tool()
    async def job_status(job_id: str, ctx: Context) -> JobState:
        """Where an ingestion job is (a job of a collection the key may see)."""
        caller = resolve(ctx)
        job = await run_in_threadpool(state.jobs.get, job_id)
        if job is None or not caller.may_see(job.collection):
            raise ToolError(f"no job {job_id!r}")
        return _job_state(job)

    @server.tool()
    async def sync_now(source: int, ctx: Context) -> SyncStarted:
        """Syncs a configured folder now (`sources` in the settings, by its number from 0)
        into its collection, for a key that may write it."""
        caller = resolve(ctx)
        states = state.sources.states()
        if not 0 <= source < len(states) or not caller.may_see(states[source].entry.collection):
            raise ToolError(f"no source {source}")
        entry = states[source].entry
        if not caller.may_write(entry.collection):
            raise ToolError(f"this key may not write collection {entry.collection!r}")
        started = state.sources.sync_now(source, caller.name)
        return SyncStarted(
            source=source,
            path=entry.path.name,  # the folder's name: never the server's own path
            collection=entry.collection,
            requested_by=started.requested_by or caller.name,
        )

    @server.tool()
    async def list_documents(ctx: Context, collection: str | None = None) -> DocumentList:
        """The documents the key may read (of one collection when named), with chunk counts."""
        collections = _scope(resolve(ctx), collection)
        listed = await run_in_threadpool(retrieval.kb.list_documents, 10_000, collections)
        return DocumentList(
            documents=[
                ListedDocument(
                    document=d.doc_id, collection=d.collection, title=d.title, chunks=d.chunks
                )
                for d in listed
            ]
        )

    return server


class _Endpoint:
    """`/mcp`: the key checked as for every route (401 before any MCP message is read), the
    caller kept on the request for the tools, then the SDK's streamable HTTP handler."""

    def __init__(self, state: AppState, server: FastMCP) -> None:
        self.state = state
        server.streamable_http_app()  # makes the session manager the lifespan runs
        self.manager = server.session_manager

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            caller = caller_of(Request(scope), self.state.keys)
        except HTTPException as exc:
            response = JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["caller"] = caller
        await self.manager.handle_request(scope, receive, send)


def _http_caller(ctx: Context) -> Caller:
    request = ctx.request_context.request
    caller = getattr(getattr(request, "state", None), "caller", None)
    if not isinstance(caller, Caller):
        raise ToolError("no caller on this request")
    return caller


def install(app: FastAPI) -> None:
    state: AppState = app.state.vinarag
    server = build_mcp(state, _http_caller)
    endpoint = _Endpoint(state, server)
    app.router.routes.append(Route("/mcp", endpoint=endpoint, methods=["GET", "POST", "DELETE"]))
    app.state.running.append(server.session_manager.run)
