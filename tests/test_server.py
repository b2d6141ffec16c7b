"""The HTTP API in process (FastAPI TestClient): every route, every error code, metrics."""

import json

import pytest
from fastapi.testclient import TestClient

from server.main import create_app
from tests.helpers import write_pdf

KEY = "k-123-0123456789abcdef"


def _client(settings, services, **overrides):
    configured = settings.model_copy(update=overrides) if overrides else settings
    return TestClient(create_app(configured, services=services), raise_server_exceptions=False)


@pytest.fixture
def client(settings, demo_services):
    with _client(settings, demo_services) as c:
        yield c


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    body = ready.json()
    assert ready.status_code == 200 and body["ready"] is True and body["documents_present"]
    assert (
        body["generator"] == "extractive (no model)" and body["dense_model"] == "none (sparse-only)"
    )
    assert body["cache"]["backend"] == "memory" and body["checkpointer"] == "sqlite"
    assert body["tracing"].startswith("off") and body["auth"].startswith("open")
    assert ready.headers["x-request-id"]


def test_readiness_is_503_without_documents(settings):
    from tools.services import build_services

    services = build_services(settings, location=":memory:", embedder=None)
    with _client(settings, services) as c:
        response = c.get("/readyz")
    assert response.status_code == 503 and response.json()["documents_present"] is False


def test_invoke_batch_and_schemas(client):
    answer = client.post("/rag/invoke", json={"input": {"question": "Phở ra đời ở đâu?"}}).json()
    assert "Nam Định" in answer["output"]["answer"] and answer["output"]["sources"]
    assert "candidates" not in answer["output"]  # internal state stays inside
    batch = client.post(
        "/rag/batch",
        json={"inputs": [{"question": "Phở ra đời ở đâu?"}, {"question": "Ai viết Truyện Kiều?"}]},
    ).json()
    assert [("Nguyễn Du" in o["answer"]) for o in batch["output"]] == [False, True]
    page = client.get("/rag/playground/")
    assert page.status_code == 200 and "<html" in page.text.lower()


def test_the_published_schemas_are_what_the_routes_accept_and_return(client):
    """A client generating requests from the schema gets what the server checks: the
    question's bounds, the filter rules, no other fields; the output's fields and types."""
    published = client.get("/rag/input_schema").json()
    assert published["required"] == ["question"] and published["additionalProperties"] is False
    question = published["properties"]["question"]
    assert (question["type"], question["minLength"], question["maxLength"]) == ("string", 1, 2000)
    filters = published["properties"]["filters"]
    assert filters["type"] == "object" and filters["maxProperties"] == 256
    (value,) = filters["patternProperties"].values()
    kinds = value["oneOf"]
    assert {"type": "string"} in kinds and {"type": "integer"} in kinds
    assert {"type": "boolean"} not in kinds  # the embedded store cannot match true/false
    lists = next(k["anyOf"] for k in kinds if "anyOf" in k)
    assert [item["items"]["type"] for item in lists] == ["string", "integer"]
    ranged = next(k for k in kinds if k.get("type") == "object")
    assert ranged["propertyNames"] == {"enum": ["gt", "gte", "lt", "lte"]}
    output = client.get("/rag/output_schema").json()["properties"]
    types = {name: field.get("type") for name, field in output.items()}
    assert types["answer"] == "string" and types["answer_id"] == "string"
    assert types["sources"] == types["citations"] == types["path"] == "array"
    assert types["cache_hit"] == "boolean"
    assert "candidates" not in output and "relevant" not in output  # internal state
    configurable = client.get("/rag/config_schema").json()["$defs"]["Configurable"]["properties"]
    assert (configurable["top_k"]["minimum"], configurable["top_k"]["maximum"]) == (1, 200)
    assert configurable["max_retrieval_attempts"]["maximum"] == 5


def _events(text):
    """The data of `event: data` messages (LangServe also sends a metadata event)."""
    blocks = [b for b in text.replace("\r\n", "\n").split("\n\n") if b.startswith("event: data")]
    return [json.loads(b.split("data: ", 1)[1]) for b in blocks]


def test_stream_sends_generate_tokens_then_the_rest(client):
    response = client.post("/rag/stream", json={"input": {"question": "Ai dời đô về Thăng Long?"}})
    chunks = _events(response.text)
    tokens = [c["token"] for c in chunks if "token" in c]
    assert tokens and all(set(c) == {"token"} for c in chunks[:-1])
    final = chunks[-1]
    assert "".join(tokens) == final["answer"] and final["sources"] and "token" not in final
    events = client.post(
        "/rag/stream_events", json={"input": {"question": "Ai dời đô về Thăng Long?"}}
    )
    assert events.status_code == 200 and "on_chain_start" in events.text


def test_conversation_by_thread_header(client):
    headers = {"X-Thread-Id": "conv-1"}
    client.post(
        "/rag/invoke",
        json={"input": {"question": "Vịnh Hạ Long có bao nhiêu hòn đảo?"}},
        headers=headers,
    )
    follow = client.post(
        "/rag/invoke",
        json={"input": {"question": "Còn được UNESCO công nhận năm nào?"}},
        headers=headers,
    ).json()["output"]
    assert "1994" in follow["answer"] and follow["path"][1]["node"] == "rewrite_query"


BUN_CHA = {
    "documents": [
        {
            "id": "bun-cha",
            "title": "Bún chả",
            "text": "Bún chả là món ăn Hà Nội.",
            "metadata": {"topic": "ẩm thực"},
        }
    ]
}


@pytest.mark.slow
def test_documents_json_upload_delete_and_stats(client, tmp_path):
    added = client.post(
        "/documents?wait=true",
        json=BUN_CHA,
    )
    assert added.status_code == 200 and added.json()["added"] == ["bun-cha"]
    again = client.post(
        "/documents?wait=true",
        json=BUN_CHA,
    )
    assert again.json()["unchanged"] == ["bun-cha"]
    pdf = write_pdf(tmp_path / "broken.pdf", ["x"]).read_bytes()[:40]
    upload = client.post(
        "/documents/files?wait=true",
        files=[
            ("files", ("com-tam.txt", "Cơm tấm là món ăn Sài Gòn.".encode(), "text/plain")),
            ("files", ("broken.pdf", pdf, "application/pdf")),
        ],
    )
    body = upload.json()
    assert upload.status_code == 200 and len(body["added"]) == 1
    assert body["failed"][0]["source"] == "broken.pdf" and "PDF" in body["failed"][0]["reason"]
    stats = client.get("/collections/stats").json()
    assert stats["documents"] == 42 and stats["sparse_views"] == [
        "bm25",
        "bm25_bigram",
        "bm25_word",
        "bm25_plain",
        "bm25_plain_bigram",
    ]
    assert client.delete("/documents/bun-cha").json()["chunks"] == 1
    assert client.delete("/documents/bun-cha").status_code == 404
    assert client.get("/collections/stats").json()["documents"] == 41


UPLOADS = {
    "two files past max_files": (
        {"files": [("files", ("a.txt", b"a", "text/plain"))] * 2},
        413,
        "at most 1",
    ),
    "a file past max_upload_mb": (
        {"files": [("files", ("a.txt", "Xin chào ".encode() * 100, "text/plain"))]},
        413,
        "MB",
    ),
    "a type no loader reads": (
        {"files": [("files", ("a.exe", b"MZ", "application/octet-stream"))]},
        422,
        "unsupported file type",
    ),
    "an empty file": (
        {"files": [("files", ("empty.txt", b"", "text/plain"))]},
        422,
        "empty: 0 bytes",
    ),
    "no documents": ({"json": {"documents": []}}, 422, ""),
}


@pytest.mark.parametrize("case", UPLOADS)
def test_upload_limits_and_types(settings, demo_services, case):
    arguments, code, says = UPLOADS[case]
    server = settings.server.model_copy(update={"max_files": 1, "max_upload_mb": 0.0001})
    with _client(settings, demo_services, server=server) as c:
        response = c.post("/documents?wait=true", **arguments)
        assert response.status_code == code
        assert says in json.dumps(response.json()["detail"], ensure_ascii=False)


def test_an_upload_without_files_names_the_field(client):
    no_files = client.post("/documents/files?wait=true", data={"other": "x"})
    assert no_files.status_code == 422 and "files" in str(no_files.json()["detail"])


def test_openapi_documents_both_ways_of_adding_documents(client):
    """Two typed routes: JSON texts and multipart files, each with its request and response
    model in the schema (uploads to POST /documents still work, out of the schema)."""
    schema = client.get("/openapi.json").json()
    texts = schema["paths"]["/documents"]["post"]
    files = schema["paths"]["/documents/files"]["post"]
    assert "application/json" in texts["requestBody"]["content"]
    assert "multipart/form-data" in files["requestBody"]["content"]
    for route in (texts, files):
        ok = route["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok["$ref"].endswith("/IngestOut")
    report = schema["components"]["schemas"]["IngestOut"]["properties"]
    assert {"added", "failed", "corpus_version"} <= set(report)


def test_api_keys(settings, demo_services):
    with _client(settings, demo_services, api_keys=[KEY]) as c:
        doc = {"documents": [{"id": "x", "text": "Văn bản thử nghiệm tiếng Việt."}]}
        assert c.post("/documents?wait=true", json=doc).status_code == 401
        assert (
            c.post("/documents?wait=true", json=doc, headers={"X-API-Key": "wrong"}).status_code
            == 401
        )
        keyed = c.post("/documents?wait=true", json=doc, headers={"X-API-Key": KEY})
        assert keyed.status_code == 200
        assert c.delete("/documents/x").status_code == 401
        assert c.post("/rag/invoke", json={"input": {"question": "Phở là gì?"}}).status_code == 200
    server = settings.server.model_copy(update={"require_key_for_read": True})
    with _client(settings, demo_services, api_keys=[KEY], server=server) as c:
        assert c.post("/rag/invoke", json={"input": {"question": "Phở là gì?"}}).status_code == 401
        ok = c.post(
            "/rag/invoke",
            json={"input": {"question": "Phở là gì?"}},
            headers={"X-API-Key": KEY},
        )
        assert ok.status_code == 200


def test_question_and_batch_limits(settings, demo_services):
    server = settings.server.model_copy(
        update={"max_question_chars": 50, "max_batch_size": 2, "max_body_mb": 0.01}
    )
    with _client(settings, demo_services, server=server) as c:
        long = c.post("/rag/invoke", json={"input": {"question": "Hà Nội " * 20}})
        assert long.status_code == 422 and "at most 50" in long.json()["detail"]
        empty = c.post("/rag/invoke", json={"input": {"question": "  "}})
        assert empty.status_code == 422 and "empty" in empty.json()["detail"]
        batch = c.post("/rag/batch", json={"inputs": [{"question": "a"}] * 3})
        assert batch.status_code == 413 and "at most 2" in batch.json()["detail"]
        huge = c.post(
            "/rag/invoke",
            content=b"{" + b" " * 20_000 + b"}",
            headers={"content-type": "application/json"},
        )
        assert huge.status_code == 413
        missing = c.post("/rag/invoke", json={"input": {"filters": {}}})
        assert missing.status_code == 422


def test_node_exception_is_a_500_with_request_id_and_no_trace(client, demo_services, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("qdrant exploded: secret internals")

    demo_services.retrieval.retriever.retrieve = broken
    response = client.post("/rag/invoke", json={"input": {"question": "Phở ra đời ở đâu?"}})
    assert response.status_code == 500
    body = response.json()
    assert (
        body["detail"] == "internal error"
        and body["request_id"] == response.headers["x-request-id"]
    )
    assert "secret internals" not in response.text and "Traceback" not in response.text
    assert "secret internals" in caplog.text and body["request_id"] in caplog.text
    metrics = client.get("/metrics").text
    assert 'rag_node_errors_total{node="retrieve"} 1.0' in metrics
    stream = client.post("/rag/stream", json={"input": {"question": "Phở ra đời ở đâu?"}})
    assert stream.status_code == 200 and "event: error" in stream.text  # failed mid-stream
    metrics = client.get("/metrics").text
    assert 'rag_requests_total{endpoint="/rag/stream",status="500"} 1.0' in metrics


def test_cors_from_settings(settings, demo_services):
    server = settings.server.model_copy(update={"cors_origins": ["https://app.example.vn"]})
    with _client(settings, demo_services, server=server) as c:
        allowed = c.get("/healthz", headers={"Origin": "https://app.example.vn"})
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.vn"
        other = c.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_metrics_after_requests(client):
    client.post("/rag/invoke", json={"input": {"question": "Truyện Kiều có bao nhiêu câu thơ?"}})
    client.post("/rag/invoke", json={"input": {"question": "Truyện Kiều có bao nhiêu câu thơ?"}})
    client.post("/rag/invoke", json={"input": {"question": "Thủ đô của nước Pháp là gì?"}})
    client.post(
        "/documents?wait=true",
        json={"documents": [{"id": "m", "text": "Một văn bản tiếng Việt mới."}]},
    )
    text = client.get("/metrics").text
    for expected in (
        'rag_requests_total{endpoint="/rag/invoke",status="200"} 3.0',
        'rag_node_latency_seconds_count{node="retrieve"}',
        "rag_cache_hits_total 1.0",
        "rag_cache_misses_total 2.0",
        'rag_fallbacks_total{reason="no_relevant_documents"} 1.0',
        'rag_retries_total{kind="retrieval"} 1.0',
        'rag_grounding_total{result="grounded"} 1.0',
        'rag_documents_ingested_total{status="added"} 1.0',
        "rag_retrieval_score_count",
        "rag_request_latency_seconds_bucket",
        "rag_generated_tokens_total 0.0",
    ):
        assert expected in text, expected


MULTIPROCESS_WORKER = """
import sys
from fastapi.testclient import TestClient
from server.main import create_app
from tools.demo import DEMO_DOCUMENTS
from tools.ingest.pipeline import ingest_paths
from tools.services import build_services
from tools.settings import load_settings

settings = load_settings(dense={"backend": "none"})
services = build_services(settings, location=":memory:", embedder=None)
ingest_paths([DEMO_DOCUMENTS], services.retrieval.kb, settings, progress=False)
with TestClient(create_app(settings, services=services)) as client:
    for question in sys.argv[1:]:
        client.post("/rag/invoke", json={"input": {"question": question}})
    print(client.get("/metrics").text)
services.close()
"""


@pytest.mark.slow
def test_metrics_aggregate_across_processes(tmp_path):
    """Two processes (as two uvicorn workers would) write metrics; /metrics shows their sum."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("VINARAG_", "QDRANT_"))}
    env.update(
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom"), VINARAG_DATA_DIR=str(tmp_path / "d")
    )
    (tmp_path / "prom").mkdir()

    def worker(*questions: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", MULTIPROCESS_WORKER, *questions],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    worker("Phở ra đời ở đâu?")
    text = worker("Ai viết Truyện Kiều?", "Ai dời đô về Thăng Long?")
    assert 'rag_node_latency_seconds_count{node="generate"} 3.0' in text
    assert 'rag_requests_total{endpoint="/rag/invoke",status="200"} 3.0' in text
