"""Langfuse tracing against a recording HTTP server on 127.0.0.1: one request, one trace
holding the graph's node names, session and user from the request headers."""

import pytest
from fastapi.testclient import TestClient

from server.main import create_app


@pytest.mark.slow
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
