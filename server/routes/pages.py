"""A document's original as its reader saw it: `GET /documents/{id}/highlight` (where a quote
is among a passage's pages, as boxes), `GET /documents/{id}/pages/{n}` (the page as PNG with
the quote highlighted) and `GET /documents/{id}/original` (the file itself). Scopes as for the
document's text: 404 alike for a document that does not exist and one the key cannot read."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

from fastapi import APIRouter, FastAPI, HTTPException, Query, Response, status
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from server.deps import Reader, State
from server.routes.documents import CollectionParam, missing_document, readable_ref
from server.state import AppState
from tools.corpus.documents import DEFAULT_COLLECTION, DocRef
from tools.ingest.originals import original_of
from tools.pages.glyphs import PageMissing
from tools.pages.viewer import NotPaged, PageViewer

router = APIRouter(tags=["documents"])
QuoteParam = Annotated[
    str, Query(max_length=4000, description="the quoted text to highlight (empty: none)")
]
_MOST_PAGES = 10  # a passage's pages looked through for its quote
T = TypeVar("T")
_PNG: dict[int | str, dict[str, object]] = {
    200: {"content": {"image/png": {}}, "description": "the page as PNG"}
}


class BoxOut(BaseModel):
    """A highlighted line's part, as fractions of the page's width and height."""

    left: float
    top: float
    right: float
    bottom: float


class PageBoxesOut(BaseModel):
    page: int
    boxes: list[BoxOut]


class HighlightOut(BaseModel):
    doc_id: str
    collection: str
    page_count: int
    coverage: float  # share of the quote's letters found (0: not found on these pages)
    pages: list[PageBoxesOut]  # the page holding the quote, and the next across a page break


def _original(state: AppState, ref: DocRef) -> tuple[PageViewer, str]:
    """The viewer and the document's kept file (404 naming why there is none)."""
    kb = state.services.retrieval.kb
    key = original_of(kb, ref) if state.pages is not None else None
    if state.pages is None or key is None or not state.pages.originals.has(key):
        if not kb.existing([ref.key]):  # looked up only to say which of the two it is
            raise missing_document(ref.doc_id, ref.collection)
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"document {ref.doc_id}: its original file is not kept (ingested before "
            "originals were kept, or ingest.keep_originals is off); its text is at "
            f"/documents/{ref.doc_id}/chunks",
        )
    return state.pages, key


@router.get("/documents/{doc_id}/highlight")
async def highlight(
    doc_id: str,
    state: State,
    caller: Reader,
    page: Annotated[int, Query(ge=1, le=100_000, description="the passage's first page")],
    quote: QuoteParam,
    page_end: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    collection: CollectionParam = DEFAULT_COLLECTION,
) -> HighlightOut:
    """Where the quote is among the passage's pages (`page` to `page_end`), as boxes on each
    page that holds part of it; `GET /documents/{id}/pages/{n}?quote=` draws them."""
    ref = readable_ref(doc_id, collection, caller)
    last = page_end if page_end is not None else page
    if last < page or last - page >= _MOST_PAGES:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"page_end {last}: from page {page}, at most {_MOST_PAGES} pages",
        )

    def find() -> HighlightOut:
        viewer, key = _original(state, ref)
        count = viewer.page_count(key)
        found = viewer.highlight(key, range(page, min(last, count) + 1), quote)
        return HighlightOut(
            doc_id=doc_id,
            collection=collection,
            page_count=count,
            coverage=round(found.coverage, 3),
            pages=[
                PageBoxesOut(
                    page=m.page,
                    boxes=[
                        BoxOut(left=b.left, top=b.top, right=b.right, bottom=b.bottom)
                        for b in m.boxes
                    ],  # fmt: skip
                )
                for m in found.pages
            ],
        )

    return await _shown(find)


async def _shown(work: Callable[[], T]) -> T:
    """The work in a thread, a file without pages or a page it lacks as the errors they are."""
    try:
        return await run_in_threadpool(work)
    except NotPaged as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"{exc}: its passages are shown in their section (/documents/{{id}}/chunks)",
        ) from None
    except PageMissing as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None


@router.get("/documents/{doc_id}/pages/{number}", response_class=Response, responses=_PNG)
async def page_image(
    doc_id: str,
    number: Annotated[int, PathParam(ge=1, le=100_000)],
    state: State,
    caller: Reader,
    quote: QuoteParam = "",
    width: Annotated[int, Query(ge=200, le=2000, description="pixels")] = 1000,
    collection: CollectionParam = DEFAULT_COLLECTION,
) -> Response:
    """The page as PNG, the part of the quote on it highlighted."""
    ref = readable_ref(doc_id, collection, caller)

    def draw() -> bytes:
        viewer, key = _original(state, ref)
        return viewer.image(key, number, quote, width)

    png: bytes = await _shown(draw)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/documents/{doc_id}/original", response_class=Response)
async def original(
    doc_id: str, state: State, caller: Reader, collection: CollectionParam = DEFAULT_COLLECTION
) -> Response:
    """The file the document was read from, as it was uploaded or synced."""
    ref = readable_ref(doc_id, collection, caller)

    def read() -> tuple[bytes, str]:
        viewer, key = _original(state, ref)
        with viewer.originals.local(key) as path:
            return path.read_bytes(), Path(key).suffix

    data, suffix = await run_in_threadpool(read)
    kind = mimetypes.guess_type(f"x{suffix}")[0] or "application/octet-stream"
    return Response(
        data,
        media_type=kind,
        headers={"Content-Disposition": f'attachment; filename="{doc_id}{suffix}"'},
    )


def install(app: FastAPI) -> None:
    app.include_router(router)
