"""Malformed and oversized requests get a 4xx that says what is wrong, never a 500."""

import json

import pytest
from fastapi.testclient import TestClient

from server.main import create_app

RAG = ("/rag/invoke", "/rag/stream", "/rag/batch")


@pytest.fixture
def client(settings, demo_services):
    with TestClient(create_app(settings, services=demo_services)) as c:
        yield c


@pytest.mark.parametrize("route", RAG)
@pytest.mark.parametrize("body", ["[]", '"x"', "1", "null", "true"])
def test_a_body_that_is_not_an_object(module_app, route, body):
    response = module_app.post(route, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422 and "JSON object" in response.json()["detail"]


@pytest.mark.parametrize("question", [1, None, ["q"], {"q": 1}, True, 1.5])
def test_a_question_of_the_wrong_type(module_app, question):
    for route, body in (
        ("/rag/batch", {"inputs": [{"question": question}]}),
        ("/rag/invoke", {"input": {"question": question}}),
    ):
        response = module_app.post(route, json=body)
        assert response.status_code == 422, (route, question)


@pytest.mark.parametrize("inputs", ["x", None, [], ["q"], [None]])
def test_batch_inputs_of_the_wrong_shape(module_app, inputs):
    response = module_app.post("/rag/batch", json={"inputs": inputs})
    assert response.status_code == 422


@pytest.mark.parametrize("value", ["x", None, ["x"]])
def test_an_input_that_is_not_an_object(module_app, value):
    assert module_app.post("/rag/invoke", json={"input": value}).status_code == 422


@pytest.mark.parametrize("route", [*RAG, "/documents"])
def test_json_nested_100k_deep(module_app, route):
    body = "[" * 100_000 + "]" * 100_000
    response = module_app.post(route, content=body, headers={"content-type": "application/json"})
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
    documents = {"documents": [{"id": f"x{i}", "text": "Văn bản " * 50} for i in range(40)]}
    body = json.dumps(documents).encode()

    def chunks():
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    with TestClient(create_app(configured, services=demo_services)) as c:
        response = c.post(
            "/documents?wait=true", content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413 and "over 0.01 MB" in response.json()["detail"]
        assert c.get("/collections/stats").json()["documents"] == 40  # the demo set only


@pytest.mark.parametrize(
    "doc_id", ["../../etc/passwd", "a\x00b", "abc\u202egnp", "two\nlines", "", "-x", "a" * 300]
)
def test_ids_that_could_not_be_used_again_are_refused(module_app, doc_id):
    body = {"documents": [{"id": doc_id, "text": "Một văn bản tiếng Việt."}]}
    assert module_app.post("/documents?wait=true", json=body).status_code == 422


@pytest.mark.slow
def test_every_accepted_id_can_be_deleted(client):
    for doc_id in ("luật:24-2018", "Điều_8.v2", "so-24-2018-QH14"):
        body = {"documents": [{"id": doc_id, "text": "Một văn bản tiếng Việt."}]}
        assert client.post("/documents?wait=true", json=body).status_code == 200, doc_id
        assert client.delete(f"/documents/{doc_id}").status_code == 200, doc_id


@pytest.mark.parametrize(
    "metadata",
    [
        {"n": 10**30},
        {"x": float("inf")} if False else {"x": "a" * 20_000},
        {"a": {"b": {"c": {"d": 1}}}},
    ],
)
def test_metadata_that_could_not_be_served_is_refused(module_app, metadata):
    body = {"documents": [{"id": "m", "text": "Một văn bản tiếng Việt.", "metadata": metadata}]}
    response = module_app.post("/documents?wait=true", json=body)
    assert response.status_code == 422 and "metadata" in json.dumps(response.json())


@pytest.mark.slow
def test_the_same_upload_twice_is_one_document(client):
    files = [("files", ("same.txt", "Cơm tấm là món ăn Sài Gòn.".encode(), "text/plain"))]
    first = client.post("/documents/files?wait=true", files=files).json()
    again = client.post("/documents/files?wait=true", files=files).json()
    assert again["unchanged"] == first["added"]
    changed = [("files", ("same.txt", "Cơm tấm có sườn nướng.".encode(), "text/plain"))]
    assert (
        client.post("/documents/files?wait=true", files=changed).json()["replaced"]
        == first["added"]
    )
    two = [
        ("files", ("dup.txt", "Phở bò Hà Nội.".encode(), "text/plain")),
        ("files", ("dup.txt", "Bún chả Hà Nội.".encode(), "text/plain")),
    ]
    body = client.post("/documents/files?wait=true", files=two).json()
    assert len(body["added"]) == 1
    assert body["skipped"] == [
        {"source": "dup.txt", "reason": "another file of the same name is in this request"}
    ]


def test_a_file_name_longer_than_the_file_system_allows(client):
    name = "tài liệu " * 60 + ".txt"
    files = [("files", (name, "Hồ Gươm ở Hà Nội.".encode(), "text/plain"))]
    response = client.post("/documents/files?wait=true", files=files)
    assert response.status_code == 200 and len(response.json()["added"]) == 1


@pytest.mark.parametrize(
    "filters",
    [{"": [True]}, {"a": [True, False]}, {"year": {"gte": "x"}}, {"a": 1.5}, {"a": []}],
)
def test_filters_the_store_would_refuse_are_a_422(module_app, filters):
    """Found by the fuzz: booleans pass an `int` check, and Qdrant's own validation raised."""
    body = {"input": {"question": "phở", "filters": filters}}
    for route in ("/rag/invoke", "/rag/stream"):
        response = module_app.post(route, json=body)
        assert response.status_code == 422 and "filter" in response.json()["detail"], route


BIG = "1" * 5000  # past Python's 4,300-digit conversion limit
SURROGATE = '"\\udc00"'  # JSON text for a lone surrogate
FILTERS = '{"input": {"question": "phở", "filters": @}}'
DOCUMENT = '{"documents": [{"id": "a", "text": "x", @}]}'


def _with(template: str, value: str) -> str:
    return template.replace("@", value)


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("/rag/invoke", _with(FILTERS, f'{{"year": {BIG}}}'), "input.filters.year"),
        ("/rag/stream", _with(FILTERS, '{"year": ' + "9" * 25 + "}"), "input.filters.year"),
        ("/rag/stream_events", _with(FILTERS, '{"n": 18446744073709551616}'), "input.filters.n"),
        ("/rag/invoke", "NaN", "body"),
        ("/rag/invoke", "Infinity", "body"),
        ("/rag/invoke", _with(FILTERS, '{"y": {"gte": -Infinity}}'), "input.filters.y.gte"),
        ("/rag/invoke", _with(FILTERS, '{"y": 1e999}'), "input.filters.y"),
        ("/documents", _with(DOCUMENT, '"metadata": {"v": NaN}'), "documents[0].metadata.v"),
        ("/rag/invoke", _with('{"input": {"question": @}}', SURROGATE), "input.question"),
        ("/rag/batch", _with('{"inputs": [{"question": "phở", "filters": {"a": @}}]}', SURROGATE),
         "inputs[0].filters.a"),
        ("/documents", _with(DOCUMENT, f'"title": {SURROGATE}'), "documents[0].title"),
        ("/feedback", _with('{"answer_id": "x", "score": "up", "comment": @}', SURROGATE),
         "comment"),
        ("/v1/chat/completions",
         _with('{"model": "vinarag", "messages": [{"role": "user", "content": @}]}', SURROGATE),
         "messages[0].content"),
        ("/rag/invoke", _with(FILTERS, f"{{{SURROGATE}: 1}}"), "input.filters"),
    ],
)  # fmt: skip
def test_json_no_field_can_hold_is_refused_naming_the_field(module_app, route, body, field):
    response = module_app.post(route, content=body, headers={"content-type": "application/json"})
    expected = 400 if route.startswith("/v1/") else 422
    assert response.status_code == expected, response.text
    detail = response.json()["error"]["message"] if expected == 400 else response.json()["detail"]
    assert detail.startswith(f"{field}: "), detail


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/rag/invoke", {"input": {"question": "phở"},
                         "config": {"configurable": {"generator": "phogpt"}}}),
        ("/rag/batch", {"inputs": [{"question": "phở", "extra": 1}]}),
        ("/rag/batch", {"inputs": [{"question": "phở", "filters": None}]}),
        ("/rag/invoke", {"input": {"question": "phở", "filters": None}}),
        ("/rag/stream", {"input": {"question": "phở",
                                   "history": [{"question": "a", "answer": "b"}]}}),
        ("/v1/chat/completions", {"model": "vinarag", "messages": [
            {"role": "user", "content": [{"type": "text"}]}]}),
        ("/v1/chat/completions", {"model": "vinarag", "vinarag": {"generator": "openai"},
                                  "messages": [{"role": "user", "content": "phở"}]}),
    ],
)  # fmt: skip
def test_requests_the_service_cannot_run_are_refused_not_500(module_app, route, body):
    response = module_app.post(route, json=body)
    assert response.status_code in (400, 422), response.text
    if "generator" in json.dumps(body):
        text = response.text
        assert "not configured here" in text and "extractive" in text


def _hashed(config: dict) -> str:
    from langserve.lzstring import LZString

    return LZString.compressToEncodedURIComponent(json.dumps(config))


@pytest.mark.parametrize(
    "configurable",
    [
        {"top_k": 100_000},
        {"temperature": -1},
        {"generator": "phogpt"},
        {"thread_id": "t" * 5000},
        {"thread_id": "a\x00b"},
        {"collections": ["Không Hợp Lệ"]},
    ],
)
def test_config_hash_routes_are_checked_like_the_plain_ones(module_app, configurable):
    path = _hashed({"configurable": configurable})
    for route in ("invoke", "stream", "batch"):
        body = (
            {"inputs": [{"question": "phở"}]}
            if route == "batch"
            else {"input": {"question": "phở"}}
        )
        plain = module_app.post(
            f"/rag/{route}", json={**body, "config": {"configurable": configurable}}
        )
        hashed = module_app.post(f"/rag/c/{path}/{route}", json=body)
        assert hashed.status_code == plain.status_code == 422, (route, hashed.text)


def test_the_playgrounds_blank_form_is_answered(client):
    """The playground sends every field of the published config schema at its default, a blank
    thread id included: that is a run with the defaults and no conversation, not a 422."""
    schema = client.get("/rag/config_schema").json()
    configurable = schema["$defs"]["Configurable"]["properties"]
    blank = {name: field.get("default", "") for name, field in configurable.items()}
    assert blank["thread_id"] == ""
    answered = client.post(
        "/rag/invoke",
        json={
            "input": {"question": "Phở là gì?", "filters": {}},
            "config": {"configurable": blank},
        },
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["output"]["answer"]


def test_config_hash_routes_still_answer_and_a_hash_that_is_no_config_is_a_422(client):
    good = _hashed({"configurable": {"rerank_top_n": 2}})
    answered = client.post(f"/rag/c/{good}/invoke", json={"input": {"question": "Phở là gì?"}})
    assert answered.status_code == 200 and len(answered.json()["output"]["sources"]) <= 2
    for bad in ("%%%", "abc", _hashed(["not", "an", "object"])):
        refused = client.post(f"/rag/c/{bad}/invoke", json={"input": {"question": "phở"}})
        assert refused.status_code == 422, refused.text


@pytest.mark.slow
def test_an_upload_is_the_same_document_whatever_its_place_in_the_request(client):
    """Ids come from the file's name (and its collection), not its position among the files."""
    first = [("files", ("bao-cao.txt", "Báo cáo quý một của công ty.".encode(), "text/plain"))]
    added = client.post("/documents/files?wait=true", files=first).json()["added"]
    second = [
        ("files", ("khac.txt", "Một tài liệu khác hẳn.".encode(), "text/plain")),
        ("files", ("bao-cao.txt", "Báo cáo quý một của công ty.".encode(), "text/plain")),
    ]
    again = client.post("/documents/files?wait=true", files=second).json()
    assert again["unchanged"] == added and added[0].startswith("bao-cao-")
    elsewhere = client.post("/documents/files?wait=true&collection=kho", files=first).json()
    assert elsewhere["added"] == added  # the same id, a document of that collection
    listed = {(d["name"], d["documents"]) for d in client.get("/collections").json()["collections"]}
    assert ("kho", 1) in listed


# -- Reliability v3: reproductions of the outside probe, each as a test --------------------


@pytest.mark.parametrize(
    ("prompt", "problem"),
    [
        ("{question:>1000000000}", "format specs"),
        ("{sources!r}", "format specs"),
        ("{sources.x}", "attribute and index access"),
        ("{question[0]}", "attribute and index access"),
        ("{secret}", "only {question}, {sources}"),
        ("{question} {", "a single '{'"),
        ("{question}" * 9, "more than 8 fields"),
    ],
)
def test_a_prompt_that_could_allocate_or_reach_into_objects_is_refused(module_app, prompt, problem):
    """Row 3 and 5: a format width made the server allocate ~1 GB; `{sources.x}` was a 500."""
    rag = module_app.post(
        "/rag/invoke",
        json={"input": {"question": "phở"}, "config": {"configurable": {"answer_prompt": prompt}}},
    )
    assert rag.status_code == 422 and problem in rag.json()["detail"], rag.text
    v1 = module_app.post(
        "/v1/chat/completions",
        json={
            "model": "vinarag",
            "messages": [{"role": "user", "content": "phở"}],
            "vinarag": {"answer_prompt": prompt},
        },
    )
    assert v1.status_code == 400 and problem in v1.json()["error"]["message"], v1.text


def test_a_prompt_naming_its_fields_is_rendered_with_braces_kept(client):
    prompt = "Nguồn {{tham khảo}}:\n{sources}\nHỏi: {question}"
    response = client.post(
        "/rag/invoke",
        json={"input": {"question": "phở"}, "config": {"configurable": {"answer_prompt": prompt}}},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "vinarag",
    [{"__pregel_checkpointer": "x"}, {"checkpoint_id": "1"}, {"thread_idd": "t"}],
)
def test_only_documented_run_settings_reach_the_graph(client, vinarag):
    """Row 5: unchecked keys reached LangGraph's own config (a 500)."""
    v1 = client.post(
        "/v1/chat/completions",
        json={"model": "vinarag", "messages": [{"role": "user", "content": "phở"}],
              "vinarag": vinarag},
    )  # fmt: skip
    assert v1.status_code == 400 and "not a field this service reads" in v1.text, v1.text
    (key,) = vinarag
    assert v1.json()["error"]["param"] == f"vinarag.{key}"
    rag = client.post(
        "/rag/invoke", json={"input": {"question": "phở"}, "config": {"configurable": vinarag}}
    )
    assert rag.status_code == 422 and key in rag.text, rag.text


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain"],
)
@pytest.mark.parametrize(
    "body",
    [
        b'{"model": "vinarag", "messages": [{"role": "user", "content": "\\udc00"}]}',
        b'{"model": "vinarag", "max_tokens": ' + b"9" * 5000
        + b', "messages": [{"role": "user", "content": "x"}]}',
    ],
)  # fmt: skip
def test_a_json_route_refuses_other_content_types(module_app, content_type, body):
    """Row 5: the JSON check was skipped for form types, but /v1 parsed the body anyway."""
    for route in ("/v1/chat/completions", "/rag/invoke", "/feedback"):
        response = module_app.post(route, content=body, headers={"content-type": content_type})
        assert response.status_code == 415, (route, response.text)
        assert "application/json" in response.text


def test_an_error_quotes_a_few_hundred_characters_of_the_input_at_most(module_app):
    """Row 7: a 422 echoed a 10 MB input back."""
    huge = "x" * 5_000_000
    bodies = [
        ("/documents", {"documents": [{"id": huge, "text": "phở"}]}),
        ("/documents", {"documents": [{"id": "a", "text": "phở", "metadata": {huge: 1}}]}),
        ("/documents", {"documents": huge}),
        ("/rag/invoke", {"input": {"question": "phở", huge: 1}}),
        ("/feedback", {"answer_id": huge, "rating": 1}),
    ]
    for route, body in bodies:
        response = module_app.post(route, json=body)
        assert 400 <= response.status_code < 500, (route, response.status_code)
        assert len(response.content) < 2000, (route, response.content[:300])


def test_readyz_without_a_key_says_ready_and_nothing_about_the_corpus(settings, demo_services):
    """Row 7: /readyz without a key showed the global chunk count and corpus version."""
    keyed = settings.model_copy(update={"api_keys": ["admin-0123456789abcdef"]})
    with TestClient(create_app(keyed, services=demo_services)) as c:
        brief = c.get("/readyz")
        assert brief.status_code == 200 and brief.json() == {"ready": True, "feedback": True}
        wrong = c.get("/readyz", headers={"X-API-Key": "wrong"}).json()
        assert wrong == {"ready": True, "feedback": True}
        full = c.get("/readyz", headers={"X-API-Key": "admin-0123456789abcdef"}).json()
        assert full["knowledge_base"]["chunks"] > 0 and full["ready"] is True
