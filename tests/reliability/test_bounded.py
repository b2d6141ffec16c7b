"""No single request freezes the service: a bounded conversation and follow-up rewrite, a
bounded queue of graph runs (503 with Retry-After past it), a time limit per request (504), runs
stopped at their next node when their client goes away, and slow or oversized headers and bodies
cut off by the server itself. Nothing here waits on a clock: blocked runs wait on events the
test sets."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from graph.guard import current_guard
from server.main import create_app
from tests.helpers import LiveServer

QUESTION = "Vịnh Hạ Long có bao nhiêu hòn đảo?"
ASK = {"input": {"question": QUESTION}}


class Gate:
    """Holds retrieval until the test opens it, and counts the reranks that ran after it: a
    run stopped at its next node never reranks."""

    def __init__(self, services: Any) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()
        self.reranked = 0
        self.guard: Any = None
        retriever, reranker = services.retrieval.retriever, services.retrieval.reranker
        retrieve, rerank = retriever.retrieve, reranker.rerank

        def held(*args: Any, **kwargs: Any) -> Any:
            self.guard = current_guard()
            self.entered.set()
            assert self.opened.wait(30), "the test never opened the gate"
            return retrieve(*args, **kwargs)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.reranked += 1
            return rerank(*args, **kwargs)

        retriever.retrieve, reranker.rerank = held, counted


@pytest.fixture
def configure(settings, demo_services):
    def make(**server: Any) -> tuple[Any, Gate | None]:
        configured = settings.model_copy(
            update={"server": settings.server.model_copy(update=server)}
        )
        return create_app(configured, services=demo_services), demo_services

    return make


def _idle(app: Any) -> None:
    """Returns once every graph run started so far has ended (the pool runs them in order)."""
    app.state.vinarag.runnable._pool().submit(lambda: None).result(30)


def test_a_huge_earlier_turn_is_refused_and_a_long_one_cannot_slow_the_rewrite(configure):
    app, _ = configure()
    with TestClient(app) as client:
        huge = "lịch sử " * 400_000  # 3.2 MB in the conversation
        body = {
            "model": "vinarag",
            "messages": [
                {"role": "user", "content": huge},
                {"role": "assistant", "content": "..."},
                {"role": "user", "content": "Còn hòn đảo thì sao?"},
            ],
        }
        refused = client.post("/v1/chat/completions", json=body)
        assert refused.status_code == 400
        error = refused.json()["error"]
        assert error["code"] == "context_length_exceeded"
        assert "server.max_conversation_chars" in error["message"]
        words = " ".join(f"từ{i}" for i in range(3000))  # 20 KB of distinct terms
        body["messages"][0]["content"] = f"Vịnh Hạ Long {words}"
        answered = client.post("/v1/chat/completions", json=body)
        assert answered.status_code == 200, answered.text
        rewrite = next(
            s for s in answered.json()["vinarag"]["path"] if s["node"] == "rewrite_query"
        )
        assert len(rewrite["query"].split()) <= 5 + 16  # the follow-up and 16 carried terms


def test_past_the_queue_a_run_is_refused_with_retry_after(configure):
    app, services = configure(graph_threads=1, graph_queue=0)
    gate = Gate(services)
    with TestClient(app) as client:
        first: dict[str, Any] = {}
        worker = threading.Thread(
            target=lambda: first.update(r=client.post("/rag/invoke", json=ASK))
        )
        worker.start()
        assert gate.entered.wait(30)
        for route, body in (
            ("/rag/invoke", ASK),
            ("/rag/stream", ASK),
            ("/v1/chat/completions", {"model": "vinarag", "messages": [
                {"role": "user", "content": QUESTION}], "stream": True}),
        ):  # fmt: skip
            busy = client.post(route, json=body)
            assert busy.status_code == 503, (route, busy.text)
            assert busy.headers["retry-after"] == "2"
        assert client.get("/healthz").status_code == 200  # the rest answers meanwhile
        gate.opened.set()
        worker.join(30)
        assert first["r"].status_code == 200
        assert client.post("/rag/invoke", json=ASK).status_code == 200


def test_a_run_past_its_time_limit_answers_504_and_stops_at_its_next_node(configure):
    app, services = configure(request_timeout_s=0.5)
    gate = Gate(services)
    with TestClient(app) as client:
        late = client.post("/rag/invoke", json=ASK)
        assert late.status_code == 504
        assert "server.request_timeout_s" in late.json()["detail"]
        assert gate.entered.is_set()
        gate.opened.set()
        _idle(app)
        assert gate.reranked == 0  # the run stopped before rerank
        assert 'status="504"' in client.get("/metrics").text


@contextmanager
def _live(app: Any) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


def _raw(port: int, data: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(data)
    return sock


def _request(body: bytes, path: str = "/rag/invoke", extra: bytes = b"") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n".encode()
        + extra
        + b"\r\n"
        + body
    )


def _metrics(server: LiveServer) -> str:
    return httpx.get(f"{server.url}/metrics", timeout=30).text


def test_a_client_that_goes_away_stops_its_run(configure):
    import json

    app, services = configure()
    gate = Gate(services)
    with _live(app) as server:
        sock = _raw(server.port, _request(json.dumps(ASK).encode()))
        assert gate.entered.wait(30)
        sock.close()  # the client gives up while retrieval runs
        assert gate.guard.wait(30)  # the guard hears the disconnect...
        gate.opened.set()
        _idle(app)
        assert gate.reranked == 0  # ...and the run stopped before rerank
        _wait_for(lambda: _client_gone_counted(server))
        assert app.state.vinarag.runnable._pending == 0
        assert 'endpoint="/rag/invoke",status="500"' not in _metrics(server)


def _client_gone_counted(server: LiveServer) -> bool:
    return 'rag_requests_total{endpoint="/rag/invoke",status="499"}' in _metrics(server)


def _wait_for(condition: Any, tries: int = 300) -> None:
    """Polls a condition the server reaches on its own (each poll is a real request)."""
    for _ in range(tries):
        if condition():
            return
    raise AssertionError("the server never reached the expected state")


@pytest.mark.slow
def test_slow_headers_large_headers_and_slow_bodies_are_cut_off(configure):
    app, _ = configure(header_timeout_s=0.5, body_timeout_s=0.5, max_header_kb=8)
    with _live(app) as server:
        slow = _raw(server.port, b"POST /rag/invoke HTTP/1.1\r\nhost: x\r\n")  # never ends
        assert slow.recv(4096).startswith(b"HTTP/1.1 408")
        slow.close()
        big = _raw(server.port, b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * 20_000)
        assert big.recv(4096).startswith(b"HTTP/1.1 431")
        big.close()
        half = _raw(server.port, _request(b"x" * 100)[:-90])  # 10 of 100 body bytes, then stop
        reply = half.recv(4096)
        assert reply.startswith(b"HTTP/1.1 408") and b"server.body_timeout_s" in reply
        half.close()
        gone = _raw(server.port, _request(b"x" * 100)[:-90])
        gone.close()  # mid-body: the client's doing, not a server error
        _wait_for(lambda: 'status="499"' in _metrics(server))
        metrics = _metrics(server)
        assert 'endpoint="/rag/invoke",status="500"' not in metrics
        assert httpx.get(f"{server.url}/healthz", timeout=30).status_code == 200


def test_request_ids_and_header_sizes_are_bounded(configure):
    app, _ = configure(max_header_kb=16)
    with TestClient(app) as client:
        echoed = client.get("/healthz", headers={"X-Request-Id": "abc-123"})
        assert echoed.headers["x-request-id"] == "abc-123"
        for bad in ("a" * 5000, "a b", "<script>"):
            replaced = client.get("/healthz", headers={"X-Request-Id": bad})
            assert replaced.headers["x-request-id"] != bad
            assert len(replaced.headers["x-request-id"]) == 32
        too_big = client.get("/healthz", headers={"X-Request-Id": "a" * 50_000})
        assert too_big.status_code == 431 and "server.max_header_kb" in too_big.json()["detail"]
        assert "a" * 100 not in too_big.text
