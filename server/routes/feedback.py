"""Feedback: POST /feedback takes a user's verdict on an answer (by the answer_id every answer
carries), GET /feedback exports the verdicts with their answers as JSONL. Each verdict is
counted in `rag_feedback_total{value}` and sent to Langfuse as a score on the answer's trace."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from server.deps import ReadKey, State, Writer
from server.state import AppState
from tools.records.feedback import UnknownAnswer, Verdict, verdict_value

router = APIRouter(tags=["feedback"])


class FeedbackIn(BaseModel):
    answer_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]
    score: Annotated[
        Literal["up", "down"] | float,
        Field(description='"up" / "down", or 0 (wrong) .. 1 (right)'),
    ]
    comment: Annotated[str | None, Field(max_length=4000)] = None
    correction: Annotated[
        str | None, Field(max_length=8000, description="the answer that would have been right")
    ] = None

    def value(self) -> float:
        if self.score == "up":
            return 1.0
        if self.score == "down":
            return 0.0
        assert isinstance(self.score, float)
        if not 0 <= self.score <= 1:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, detail="score must be between 0 and 1"
            )
        return self.score


class FeedbackOut(BaseModel):
    id: str
    answer_id: str
    value: Literal["up", "down"]


def _store(state: AppState):
    if state.feedback is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=state.feedback_status.error or "feedback is off (feedback.backend none)",
        )
    return state.feedback


@router.post("/feedback", dependencies=[ReadKey], status_code=201)
async def add_feedback(body: FeedbackIn, request: Request, state: State) -> FeedbackOut:
    store = _store(state)
    score = body.value()
    verdict = Verdict(
        answer_id=body.answer_id,
        score=score,
        comment=body.comment,
        correction=body.correction.strip() if body.correction else None,
        user=request.headers.get("x-user-id"),
    )
    try:
        trace_id = await run_in_threadpool(store.trace_of, body.answer_id)
        feedback_id = await run_in_threadpool(store.add, verdict)
    except UnknownAnswer:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"no answer {body.answer_id}: not given by this service, or forgotten "
            "(feedback.keep_days)",
        ) from None
    value = verdict_value(score)
    state.metrics.feedback.labels(value).inc()
    if trace_id and state.tracing.client is not None:
        state.tracing.client.create_score(
            name="user-feedback",
            value=score,
            trace_id=trace_id,
            comment=body.comment,
            data_type="NUMERIC",
        )
    return FeedbackOut(id=feedback_id, answer_id=body.answer_id, value=value)


@router.get("/feedback", response_class=StreamingResponse)
async def export_feedback(state: State, caller: Writer) -> StreamingResponse:
    """Every verdict with its question, answer, sources and settings, one JSON object a line
    (the file `vinarag eval rag --qa` and `vinarag train data --from-feedback` read). The
    export holds answers from every collection: it needs a key that reads all of them."""
    if caller.read is not None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="exporting feedback needs a key that may read every collection",
        )
    rows = await run_in_threadpool(lambda: list(_store(state).export()))

    def lines() -> Iterator[str]:
        for row in rows:
            yield json.dumps(row, ensure_ascii=False) + "\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")


def install(app: FastAPI) -> None:
    app.include_router(router)
