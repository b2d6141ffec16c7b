"""Request id, request metrics, body-size limit, and errors that never leak a stack trace.
Plain ASGI (no BaseHTTPMiddleware): it sits on every request, so it stays cheap."""

from __future__ import annotations

import json
import logging
import time
import uuid

from fastapi import FastAPI, HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tools.errors import ServiceError

log = logging.getLogger("vinarag.server")


_STREAM_ERROR = b"event: error"


class BodyTooLarge(HTTPException):
    """More body bytes arrived than the limit (whatever Content-Length said, or without one).
    An HTTPException, so that a route reading its body answers 413 with the reason."""

    def __init__(self, detail: str) -> None:
        super().__init__(413, detail)


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state.vinarag
        headers = dict(scope["headers"])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1") or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        start = time.perf_counter()
        status = {"code": 500, "sent": False}
        openai = scope["path"].startswith("/v1/")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["sent"] = True
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                status["stream"] = content_type.startswith(b"text/event-stream")
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            elif (
                message["type"] == "http.response.body"
                and status.get("stream")
                and _STREAM_ERROR in message.get("body", b"")
            ):
                # A stream starts 200 and fails with an error event: count it by how it ended,
                # so that the error-rate alert sees failed streams.
                status["code"] = 500
            await send(message)

        limit = state.settings.server.max_body_mb * 1024 * 1024
        length = headers.get(b"content-length", b"")
        too_large = f"request body over {state.settings.server.max_body_mb} MB"
        received = 0

        async def counted_receive() -> Message:
            """Bytes counted as they arrive: a chunked body has no Content-Length to trust."""
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(too_large)
            return message

        try:
            if length.isdigit() and int(length) > limit:
                await _json(
                    send_with_id, 413, {"detail": too_large, "request_id": request_id}, openai
                )
            else:
                await self.app(scope, counted_receive, send_with_id)
        except BodyTooLarge:
            if not status["sent"]:
                await _json(
                    send_with_id, 413, {"detail": too_large, "request_id": request_id}, openai
                )
        except RecursionError:
            if not status["sent"]:
                detail = "request nested too deeply"
                await _json(send_with_id, 422, {"detail": detail, "request_id": request_id}, openai)
        except ServiceError as exc:  # a part the request needs is down: the reason, and 503
            log.warning("request %s: %s", request_id, exc)
            if not status["sent"]:
                await _json(
                    send_with_id, 503, {"detail": str(exc), "request_id": request_id}, openai
                )
        except Exception:
            log.exception(
                "request %s %s failed (request id %s)", scope["method"], scope["path"], request_id
            )
            if not status["sent"]:
                await _json(
                    send_with_id,
                    500,
                    {"detail": "internal error", "request_id": request_id},
                    openai,
                )
        finally:
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or "unmatched"
            if endpoint != "/metrics":
                state.metrics.requests.labels(endpoint, str(status["code"])).inc()
                state.metrics.request_latency.labels(endpoint).observe(time.perf_counter() - start)


async def _json(send: Send, status: int, body: dict, openai: bool = False) -> None:
    if openai:  # /v1 clients parse OpenAI's error object
        kind = "server_error" if status >= 500 else "invalid_request_error"
        body = {"error": {"message": body["detail"], "type": kind, "code": None, "param": None}}
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


def install(app: FastAPI) -> None:
    app.add_middleware(RequestContext)
