"""The HTTP protocol uvicorn serves with, bounded where uvicorn is not: a request's headers must
arrive within server.header_timeout_s and hold at most server.max_header_kb (httptools buffers
any amount, and a connection that sends one header byte a second would be held for ever). Body
pace and size are the middleware's (server.middleware)."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tools.settings import ServerSettings


def _refusal(status: bytes, reason: str) -> bytes:
    body = reason.encode()
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
    )


class BoundedHeadersProtocol(HttpToolsProtocol):
    header_timeout_s: float = 10.0
    max_header_bytes: int = 32 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_headers = True
        self._header_bytes = 0
        self._header_timer: asyncio.TimerHandle | None = None

    def _await_headers(self) -> None:
        self._in_headers, self._header_bytes = True, 0
        if self._header_timer is not None:
            self._header_timer.cancel()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_late)

    def _refuse(self, status: bytes, reason: str) -> None:
        if not self.transport.is_closing():
            self.transport.write(_refusal(status, reason))
            self.transport.close()

    def _headers_late(self) -> None:
        if self._in_headers:
            self._refuse(b"408 Request Timeout", "request headers too slow")

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers = True

    def on_headers_complete(self) -> None:
        self._in_headers = False
        if self._header_timer is not None:
            self._header_timer.cancel()
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_headers and not self.transport.is_closing():  # still in the headers
            self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes:
                self._refuse(b"431 Request Header Fields Too Large", "request headers too large")

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._await_headers()  # the next request on this connection


def bounded_protocol(server: ServerSettings) -> type[BoundedHeadersProtocol]:
    """The protocol class with this server's limits (uvicorn's `http=`)."""
    return type(
        "ServerProtocol",
        (BoundedHeadersProtocol,),
        {
            "header_timeout_s": server.header_timeout_s,
            "max_header_bytes": server.max_header_kb * 1024,
        },
    )
