"""Langfuse tracing against a recording HTTP server on 127.0.0.1: one request, one trace
holding the graph's node names, session and user from the request headers."""

import gzip
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from fastapi.testclient import TestClient

from server.main import create_app


class _Recorder(BaseHTTPRequestHandler):
    received: list = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.received.append((self.path, dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")


@pytest.fixture
def langfuse_server(monkeypatch):
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("LANGFUSE_BASE_URL", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("LANGFUSE_HOST", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", "pk-lf-test")
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-lf-test")
    yield _Recorder.received
    server.shutdown()
    server.server_close()


def test_a_request_sends_one_trace_with_the_node_names(settings, demo_services, langfuse_server):
    app = create_app(settings, services=demo_services)
    state = app.state.vinarag
    try:
        with TestClient(app) as client:
            assert client.get("/readyz").json()["tracing"] == "langfuse"
            response = client.post(
                "/rag/invoke",
                json={"input": {"question": "Phở ra đời ở đâu?"}},
                headers={"X-Session-Id": "phien-42", "X-User-Id": "nguoi-dung-7"},
            )
            assert response.status_code == 200
            state.tracing.flush()
    finally:
        state.tracing.shutdown()
    traces = [(p, h, b) for p, h, b in langfuse_server if p == "/api/public/otel/v1/traces"]
    assert traces, [p for p, _, _ in langfuse_server]
    body = b"".join(b for _, _, b in traces)
    for node in (
        b"check_cache",
        b"retrieve",
        b"rerank",
        b"grade_documents",
        b"generate",
        b"check_grounding",
    ):
        assert node in body, node
    assert b"phien-42" in body and b"nguoi-dung-7" in body
    headers = {k.lower(): v for k, v in traces[0][1].items()}
    assert headers["authorization"].startswith("Basic ")
