"""Malformed and oversized requests get a 4xx that says what is wrong, never a 500."""

import json

import pytest
from fastapi.testclient import TestClient

from server.main import create_app

RAG = ("/rag/invoke", "/rag/stream", "/rag/batch")


@pytest.fixture
def client(settings, demo_services):
    demo_services.settings = settings
    with TestClient(create_app(settings, services=demo_services)) as c:
        yield c


@pytest.mark.parametrize("route", RAG)
@pytest.mark.parametrize("body", ["[]", '"x"', "1", "null", "true"])
def test_a_body_that_is_not_an_object(client, route, body):
    response = client.post(route, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422 and "JSON object" in response.json()["detail"]


@pytest.mark.parametrize("question", [1, None, ["q"], {"q": 1}, True, 1.5])
def test_a_question_of_the_wrong_type(client, question):
    for route, body in (
        ("/rag/batch", {"inputs": [{"question": question}]}),
        ("/rag/invoke", {"input": {"question": question}}),
    ):
        response = client.post(route, json=body)
        assert response.status_code == 422, (route, question)


@pytest.mark.parametrize("inputs", ["x", None, [], ["q"], [None]])
def test_batch_inputs_of_the_wrong_shape(client, inputs):
    response = client.post("/rag/batch", json={"inputs": inputs})
    assert response.status_code == 422


@pytest.mark.parametrize("value", ["x", None, ["x"]])
def test_an_input_that_is_not_an_object(client, value):
    assert client.post("/rag/invoke", json={"input": value}).status_code == 422


@pytest.mark.parametrize("route", [*RAG, "/documents"])
def test_json_nested_100k_deep(client, route):
    body = "[" * 100_000 + "]" * 100_000
    response = client.post(route, content=body, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500


def test_filters_that_cannot_apply_or_are_too_many(client):
    deep = '{"a": ' * 5000 + "1" + "}" * 5000
    body = '{"input": {"question": "phở", "filters": ' + deep + "}}"
    bad = client.post("/rag/invoke", content=body, headers={"content-type": "application/json"})
    assert bad.status_code == 422
    ranged = {"input": {"question": "phở", "filters": {"year": {"around": 3}}}}
    wrong = client.post("/rag/invoke", json=ranged)
    assert wrong.status_code == 422 and "filter 'year'" in wrong.json()["detail"]
    many = {"doc_id": [f"d{i}" for i in range(100_000)]}
    big = client.post("/rag/invoke", json={"input": {"question": "phở", "filters": many}})
    assert big.status_code == 413 and "server.max_filter_values" in big.json()["detail"]
    assert (
        client.post("/rag/invoke", json={"input": {"question": "phở", "filters": 3}}).status_code
        == 422
    )


def test_a_chunked_body_over_the_limit_is_refused_as_it_arrives(settings, demo_services):
    server = settings.server.model_copy(update={"max_body_mb": 0.01})
    configured = settings.model_copy(update={"server": server})
    demo_services.settings = configured
    documents = {"documents": [{"id": f"x{i}", "text": "Văn bản " * 50} for i in range(40)]}
    body = json.dumps(documents).encode()

    def chunks():
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    with TestClient(create_app(configured, services=demo_services)) as c:
        response = c.post(
            "/documents", content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413 and "over 0.01 MB" in response.json()["detail"]
        assert c.get("/collections/stats").json()["documents"] == 40  # the demo set only


@pytest.mark.parametrize(
    "doc_id", ["../../etc/passwd", "a\x00b", "abc\u202egnp", "two\nlines", "", "-x", "a" * 300]
)
def test_ids_that_could_not_be_used_again_are_refused(client, doc_id):
    body = {"documents": [{"id": doc_id, "text": "Một văn bản tiếng Việt."}]}
    assert client.post("/documents", json=body).status_code == 422


def test_every_accepted_id_can_be_deleted(client):
    for doc_id in ("luật:24-2018", "Điều_8.v2", "so-24-2018-QH14"):
        body = {"documents": [{"id": doc_id, "text": "Một văn bản tiếng Việt."}]}
        assert client.post("/documents", json=body).status_code == 200, doc_id
        assert client.delete(f"/documents/{doc_id}").status_code == 200, doc_id


@pytest.mark.parametrize(
    "metadata",
    [
        {"n": 10**30},
        {"x": float("inf")} if False else {"x": "a" * 20_000},
        {"a": {"b": {"c": {"d": 1}}}},
    ],
)
def test_metadata_that_could_not_be_served_is_refused(client, metadata):
    body = {"documents": [{"id": "m", "text": "Một văn bản tiếng Việt.", "metadata": metadata}]}
    response = client.post("/documents", json=body)
    assert response.status_code == 422 and "metadata" in json.dumps(response.json())


def test_the_same_upload_twice_is_one_document(client):
    files = [("files", ("same.txt", "Cơm tấm là món ăn Sài Gòn.".encode(), "text/plain"))]
    first = client.post("/documents/files", files=files).json()
    again = client.post("/documents/files", files=files).json()
    assert again["unchanged"] == first["added"]
    changed = [("files", ("same.txt", "Cơm tấm có sườn nướng.".encode(), "text/plain"))]
    assert client.post("/documents/files", files=changed).json()["replaced"] == first["added"]
    two = [
        ("files", ("dup.txt", "Phở bò Hà Nội.".encode(), "text/plain")),
        ("files", ("dup.txt", "Bún chả Hà Nội.".encode(), "text/plain")),
    ]
    body = client.post("/documents/files", files=two).json()
    assert len(body["added"]) == 1
    assert body["skipped"] == [
        {"source": "dup.txt", "reason": "another file of the same name is in this request"}
    ]


def test_a_file_name_longer_than_the_file_system_allows(client):
    name = "tài liệu " * 60 + ".txt"
    files = [("files", (name, "Hồ Gươm ở Hà Nội.".encode(), "text/plain"))]
    response = client.post("/documents/files", files=files)
    assert response.status_code == 200 and len(response.json()["added"]) == 1


@pytest.mark.parametrize(
    "filters",
    [{"": [True]}, {"a": [True, False]}, {"year": {"gte": "x"}}, {"a": 1.5}, {"a": []}],
)
def test_filters_the_store_would_refuse_are_a_422(client, filters):
    """Found by the fuzz: booleans pass an `int` check, and Qdrant's own validation raised."""
    body = {"input": {"question": "phở", "filters": filters}}
    for route in ("/rag/invoke", "/rag/stream"):
        response = client.post(route, json=body)
        assert response.status_code == 422 and "filter" in response.json()["detail"], route
