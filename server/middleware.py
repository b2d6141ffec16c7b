"""Request id, request metrics, limits on what a client may send (header size, body size, body
pace, JSON that every route can use), the run guard of each request, security headers, and errors
that never leak a stack trace. Plain ASGI (no BaseHTTPMiddleware): it sits on every request, so
it stays cheap."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph.guard import RunGuard, RunStopped, guarded
from server.runnable import RunTimedOut, ServerBusy
from server.safe_json import json_problem
from tools.errors import ServiceError, validation_problems

log = logging.getLogger("vinarag.server")


_STREAM_ERROR = b"event: error"
_REQUEST_ID = re.compile(r"[\w.:-]{1,128}")
CLIENT_GONE = 499  # nginx's code for a client that closed the connection: never a server error
# The chat and documents pages load nothing from elsewhere and run no inline code; other HTML
# (the LangServe playground, the API docs) at least cannot be framed or re-based.
CHAT_PAGE_CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    b"object-src 'none'"
)
OTHER_HTML_CSP = b"frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
_FORMS = (b"multipart/form-data", b"application/x-www-form-urlencoded")
# The routes that read a form (uploads); every other route that reads a body reads JSON.
_FORM_ROUTES = frozenset({"/documents", "/documents/files"})


def _unsupported_type(method: str, path: str, content_type: bytes) -> str | None:
    """Why a request's body type is refused (415), or None. A body without a type is read as
    JSON; a form goes only to the upload routes; anything else must be JSON."""
    if method not in ("POST", "PUT", "PATCH") or not content_type:
        return None
    kind = content_type.split(b";", 1)[0].strip().lower()
    if kind == b"application/json" or kind.endswith(b"+json"):
        return None
    if kind.startswith(_FORMS) and path in _FORM_ROUTES:
        return None
    shown = kind[:64].decode("latin-1")
    return f"content type {shown!r}: this route reads application/json"


class BodyTooLarge(HTTPException):
    """More body bytes arrived than the limit (whatever Content-Length said, or without one).
    An HTTPException, so that a route reading its body answers 413 with the reason."""

    def __init__(self, detail: str) -> None:
        super().__init__(413, detail)


class BodyTooSlow(HTTPException):
    def __init__(self, detail: str) -> None:
        super().__init__(408, detail)


@dataclass
class _Limits:
    body_bytes: int
    body_mb: float
    body_timeout_s: float
    header_bytes: int
    header_kb: int
    timeout_s: float


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state.vinarag
        server = state.settings.server
        limits = _Limits(
            int(server.max_body_mb * 1024 * 1024),
            server.max_body_mb,
            server.body_timeout_s,
            server.max_header_kb * 1024,
            server.max_header_kb,
            server.request_timeout_s,
        )
        headers = dict(scope["headers"])
        given_id = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given_id if _REQUEST_ID.fullmatch(given_id) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        start = time.perf_counter()
        status = {"code": 500, "sent": False, "done": False}
        openai = scope["path"].startswith("/v1/")
        chat_page = scope["path"] in ("/", "/tai-lieu") or scope["path"].startswith("/static/")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["sent"] = True
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                status["stream"] = content_type.startswith(b"text/event-stream")
                extra = [
                    (b"x-request-id", request_id.encode()),
                    (b"x-content-type-options", b"nosniff"),
                ]
                if content_type.startswith(b"text/html"):
                    extra += [
                        (b"x-frame-options", b"DENY"),
                        (
                            b"content-security-policy",
                            CHAT_PAGE_CSP if chat_page else OTHER_HTML_CSP,
                        ),
                    ]
                message["headers"] = [*message.get("headers", []), *extra]
            elif message["type"] == "http.response.body":
                if status.get("stream") and _STREAM_ERROR in message.get("body", b""):
                    # A stream starts 200 and fails with an error event: count it by how it
                    # ended, so that the error-rate alert sees failed streams.
                    status["code"] = 500
                if not message.get("more_body", False):
                    status["done"] = True
            await send(message)

        async def answer(
            code: int, detail: str, extra: list[tuple[bytes, bytes]] | None = None
        ) -> None:
            if not status["sent"]:
                body = {"detail": detail, "request_id": request_id}
                await _json(send_with_id, code, body, openai, extra)

        guard = RunGuard(limits.timeout_s)
        watcher: asyncio.Task | None = None
        try:
            if sum(len(k) + len(v) for k, v in scope["headers"]) > limits.header_bytes:
                too_many = f"request headers over {limits.header_kb} KB (server.max_header_kb)"
                await answer(431, too_many)
                return
            length = headers.get(b"content-length", b"")
            if length.isdigit() and int(length) > limits.body_bytes:
                await answer(413, _too_large(limits))
                return
            content_type = headers.get(b"content-type", b"")
            if problem := _unsupported_type(scope["method"], scope["path"], content_type):
                await answer(415, problem)
                return
            if content_type.startswith(_FORMS):  # uploads: counted and paced as they arrive
                app_receive = _paced(receive, limits)
            else:
                body = await _read_body(receive, limits)
                if body and (problem := json_problem(body)) is not None:
                    await answer(400 if openai else 422, problem[:500])
                    return
                app_receive, watcher = _replay(body, receive, guard, status)
            with guarded(guard):
                await self.app(scope, app_receive, send_with_id)
        except BodyTooLarge:
            await answer(413, _too_large(limits))
        except BodyTooSlow as exc:
            await answer(408, str(exc.detail))
        except (ClientDisconnect, RunStopped):
            status["code"] = CLIENT_GONE  # nothing to answer, nobody to answer it to
        except RecursionError:
            await answer(422, "request nested too deeply")
        except RunTimedOut as exc:
            log.warning("request %s: %s", request_id, exc)
            await answer(504, str(exc))
        except ServiceError as exc:  # a part the request needs is down: the reason, and 503
            log.warning("request %s: %s", request_id, exc)
            retry = exc.retry_after_s if isinstance(exc, ServerBusy) else None
            await answer(503, str(exc), [(b"retry-after", b"%d" % retry)] if retry else None)
        except Exception:
            log.exception(
                "request %s %s failed (request id %s)", scope["method"], scope["path"], request_id
            )
            await answer(500, "internal error")
        finally:
            if watcher is not None:
                watcher.cancel()
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or "unmatched"
            if endpoint != "/metrics":
                state.metrics.requests.labels(endpoint, str(status["code"])).inc()
                state.metrics.request_latency.labels(endpoint).observe(time.perf_counter() - start)


def _too_large(limits: _Limits) -> str:
    return f"request body over {limits.body_mb:g} MB"


async def _next_part(receive: Receive, limits: _Limits) -> Message:
    try:
        return await asyncio.wait_for(receive(), limits.body_timeout_s)
    except TimeoutError:
        raise BodyTooSlow(
            f"no part of the request body for {limits.body_timeout_s:g} s (server.body_timeout_s)"
        ) from None


def _paced(receive: Receive, limits: _Limits) -> Receive:
    """Body bytes counted as they arrive (a chunked body has no Content-Length to trust), each
    part within the body timeout."""
    received = 0
    complete = False

    async def counted() -> Message:
        nonlocal received, complete
        message = await (receive() if complete else _next_part(receive, limits))
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            complete = not message.get("more_body", False)
            if received > limits.body_bytes:
                raise BodyTooLarge(_too_large(limits))
        elif message["type"] == "http.disconnect" and not complete:
            raise ClientDisconnect()
        return message

    return counted


async def _read_body(receive: Receive, limits: _Limits) -> bytes:
    """The whole body (JSON, or none), within the size and pace limits."""
    parts: list[bytes] = []
    received = 0
    while True:
        message = await _next_part(receive, limits)
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        part = message.get("body", b"")
        received += len(part)
        if received > limits.body_bytes:
            raise BodyTooLarge(_too_large(limits))
        parts.append(part)
        if not message.get("more_body", False):
            return b"".join(parts)


def _replay(
    body: bytes, receive: Receive, guard: RunGuard, status: dict
) -> tuple[Receive, asyncio.Task]:
    """The body handed to the app as one message; meanwhile the connection is watched, so that a
    client that goes away stops its graph run at the next node (the guard) and the app hears of
    it (a stream stops)."""
    gone = asyncio.Event()

    async def watch() -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                if not status["done"]:
                    guard.cancel("its client went away")
                gone.set()
                return

    delivered = False

    async def replayed() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    return replayed, asyncio.create_task(watch())


async def _json(
    send: Send,
    status: int,
    body: dict,
    openai: bool = False,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
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
                *(extra or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 without the `input` it would echo (a 10 MB value, back to its sender):
    each problem named by its field, the whole at most a few hundred characters."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse(
        {"detail": validation_problems(errors, "body")},
        status_code=422,
    )


def install(app: FastAPI) -> None:
    app.add_middleware(RequestContext)
    app.add_exception_handler(RequestValidationError, _invalid_request)
