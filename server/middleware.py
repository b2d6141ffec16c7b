"""Request id, request metrics, body-size limit, and errors that never leak a stack trace."""

from __future__ import annotations

import logging
import time
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

log = logging.getLogger("vinarag.server")


def endpoint_label(request: Request) -> str:
    """The route template (never the raw path, which would explode label cardinality)."""
    route = request.scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class RequestContext(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        state = request.app.state.vinarag
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        request.state.request_id = request_id
        start = time.perf_counter()
        limit = state.settings.server.max_body_mb * 1024 * 1024
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > limit:
            response: Response = JSONResponse(
                {
                    "detail": f"request body over {state.settings.server.max_body_mb} MB",
                    "request_id": request_id,
                },
                status_code=413,
            )
        else:
            try:
                response = await call_next(request)
            except Exception:
                log.exception(
                    "request %s %s failed (request id %s)",
                    request.method,
                    request.url.path,
                    request_id,
                )
                response = JSONResponse(
                    {"detail": "internal error", "request_id": request_id}, status_code=500
                )
        response.headers["X-Request-Id"] = request_id
        endpoint = endpoint_label(request)
        if endpoint != "/metrics":
            state.metrics.requests.labels(endpoint, str(response.status_code)).inc()
            state.metrics.request_latency.labels(endpoint).observe(time.perf_counter() - start)
        return response


def install(app: FastAPI) -> None:
    app.add_middleware(RequestContext)
