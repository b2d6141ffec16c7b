"""Collections and scoped keys through every route: three keys (full access, HR, intern), three
collections (hr, public, customer-a). Reads are searched only in what a key may read, whatever
the request's filters, run settings or cache; writes need write scope; threads belong to the
key that started them."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient

from server.main import create_app
from tools.services import build_services
from tools.settings import ApiKey

ADMIN = "admin-key-0123456789abcdef"
HR = "hr-key-0123456789abcdef"
INTERN = "intern-key-0123456789abcdef"
KEYS = [
    ADMIN,
    {"name": "hr-bot", "key": HR, "read": ["hr", "public"], "write": ["hr"]},
    {
        "name": "intern-bot",
        "key_sha256": hashlib.sha256(INTERN.encode()).hexdigest(),
        "read": ["public"],
        "write": [],
    },
]
DOCUMENTS = {
    "hr": ("nghi-phep", "Nghỉ phép", "Nhân viên được nghỉ phép mười lăm ngày mỗi năm."),
    "public": ("gio-lam", "Giờ làm việc", "Công ty làm việc từ tám giờ sáng đến năm giờ chiều."),
    "customer-a": ("hop-dong-a", "Hợp đồng A", "Hợp đồng với khách hàng A trị giá hai tỷ đồng."),
}
LEAVE = "Nhân viên được nghỉ phép bao nhiêu ngày mỗi năm?"


def _as(key: str | None) -> dict[str, str]:
    return {"X-API-Key": key} if key else {}


@pytest.fixture
def client(settings, tmp_path):
    keys = [k if isinstance(k, str) else ApiKey(**k) for k in KEYS]
    configured = settings.model_copy(update={"api_keys": keys})
    services = build_services(configured, location=":memory:", embedder=None)
    with TestClient(create_app(configured, services=services)) as client:
        for collection, (doc_id, title, text) in DOCUMENTS.items():
            response = client.post(
                f"/documents?wait=true&collection={collection}",
                json={"documents": [{"id": doc_id, "title": title, "text": text}]},
                headers=_as(ADMIN),
            )
            assert response.status_code == 200, response.text
        yield client
    services.close()


def _ask(client: TestClient, key: str | None, question: str = LEAVE, **body) -> dict:
    response = client.post(
        "/rag/invoke", json={"input": {"question": question}, **body}, headers=_as(key)
    )
    assert response.status_code == 200, response.text
    return response.json()["output"]


def _docs(output: dict) -> set[str]:
    return {s["doc_id"] for s in output["sources"]}


@pytest.mark.slow
def test_writes_need_write_scope_on_the_collection(client):
    one = {"documents": [{"id": "them", "title": "Thêm", "text": "Một văn bản mới về nghỉ phép."}]}
    table = [
        (ADMIN, "customer-a", 200),
        (HR, "hr", 200),
        (HR, "public", 403),
        (INTERN, "public", 403),
        (None, "public", 401),
        ("wrong-key-0123456789", "hr", 401),
    ]
    for key, collection, code in table:
        response = client.post(
            f"/documents?wait=true&collection={collection}", json=one, headers=_as(key)
        )
        assert response.status_code == code, (key, collection, response.text)
    refused = client.post("/documents?wait=true&collection=secret-x", json=one, headers=_as(HR))
    assert refused.json()["detail"] == "this key may not write collection 'secret-x'"
    files = {"files": ("them.txt", "Quy định mới về nghỉ phép.".encode(), "text/plain")}
    assert (
        client.post(
            "/documents/files?wait=true&collection=hr", files=files, headers=_as(HR)
        ).status_code
        == 200
    )
    assert (
        client.post(
            "/documents/files?wait=true&collection=public", files=files, headers=_as(HR)
        ).status_code
        == 403
    )
    # a collection the key cannot read: 404, as for an id that does not exist (nothing learnt)
    assert client.delete("/documents/them?collection=hr", headers=_as(INTERN)).status_code == 404
    assert client.delete("/documents/them?collection=hr", headers=_as(HR)).status_code == 200
    assert client.delete("/documents/them?collection=hr", headers=_as(HR)).status_code == 404
    # The same id in another collection is another document: still there.
    assert (
        client.delete("/documents/them?collection=customer-a", headers=_as(ADMIN)).status_code
        == 200
    )
    assert (
        client.post(
            "/documents?wait=true&collection=Bad/Name", json=one, headers=_as(ADMIN)
        ).status_code
        == 422
    )


def test_listing_and_stats_show_only_what_a_key_reads(client):
    def names(key):
        response = client.get("/collections", headers=_as(key))
        assert response.status_code == 200
        return {c["name"]: c["writable"] for c in response.json()["collections"]}

    assert names(ADMIN) == {"customer-a": True, "default": True, "hr": True, "public": True}
    assert names(HR) == {"hr": True, "public": False}
    assert names(INTERN) == {"public": False}
    assert names(None) == {}  # anonymous reads server.anonymous_read: none by default
    stats = {
        k: client.get("/collections/stats", headers=_as(k)).json() for k in (ADMIN, HR, INTERN)
    }
    assert [stats[k]["documents"] for k in (ADMIN, HR, INTERN)] == [3, 2, 1]
    assert client.get("/collections", headers=_as("wrong-key-0123456789")).status_code == 401
    # The feedback export holds answers from every collection: a full-access key only.
    assert [client.get("/feedback", headers=_as(k)).status_code for k in (ADMIN, HR, INTERN)] == [
        200,
        403,
        403,
    ]


def test_reads_are_searched_only_in_readable_collections(client):
    assert "mười lăm" in _ask(client, HR)["answer"]
    assert _docs(_ask(client, HR)) <= {"nghi-phep", "gio-lam"}
    # The intern's key: the HR document is never found, whatever the request says.
    attempts = [
        {},
        {"input": {"question": LEAVE, "filters": {"collection": "hr"}}},
        {"input": {"question": LEAVE, "filters": {"doc_id": "nghi-phep"}}},
        {"config": {"configurable": {"relevance_threshold": 0.0, "top_k": 50}}},
    ]
    for extra in attempts:
        output = _ask(client, INTERN, **extra)
        assert "nghi-phep" not in _docs(output) and "mười lăm" not in output["answer"], extra
    for asked in (["hr"], ["public", "hr"], ["khong-co"]):
        refused = client.post(
            "/rag/invoke",
            json={"input": {"question": LEAVE}, "config": {"configurable": {"collections": asked}}},
            headers=_as(INTERN),
        )
        assert refused.status_code == 403, asked
        assert refused.json()["detail"].startswith("this key may not read collection ")
    narrowed = _ask(client, HR, config={"configurable": {"collections": ["public"]}})
    assert "nghi-phep" not in _docs(narrowed)
    assert _ask(client, None)["sources"] == []  # anonymous reads nothing here


def test_a_cached_answer_never_crosses_scopes(client):
    first = _ask(client, HR)
    assert first["cache_hit"] is False and "nghi-phep" in _docs(first)
    assert _ask(client, HR)["cache_hit"] is True  # the same scope is served from the cache
    intern = _ask(client, INTERN)
    assert intern["cache_hit"] is False and "mười lăm" not in intern["answer"]
    admin = _ask(client, ADMIN)
    assert admin["cache_hit"] is False  # another scope (every collection): its own entry


def test_the_openai_route_keeps_the_scope(client):
    def chat(key, **extra):
        return client.post(
            "/v1/chat/completions",
            json={"model": "vinarag", "messages": [{"role": "user", "content": LEAVE}], **extra},
            headers={"Authorization": f"Bearer {key}"},
        )

    assert "mười lăm" in chat(HR).json()["choices"][0]["message"]["content"]
    intern = chat(INTERN).json()
    assert "mười lăm" not in intern["choices"][0]["message"]["content"]
    narrowed = chat(HR, vinarag={"collections": ["public"], "relevance_threshold": 0.0}).json()
    assert {s["doc_id"] for s in narrowed["vinarag"]["sources"]} == {"gio-lam"}
    refused = chat(INTERN, vinarag={"collections": ["hr"]})
    assert refused.status_code == 403 and refused.json()["error"]["type"] == "permission_error"
    assert chat("wrong-key-0123456789").json()["error"]["code"] == "invalid_api_key"


def test_a_thread_belongs_to_the_key_that_started_it(client):
    thread = {"X-Thread-Id": "cuoc-tro-chuyen-1"}
    first = client.post(
        "/rag/invoke", json={"input": {"question": LEAVE}}, headers={**_as(HR), **thread}
    )
    assert first.status_code == 200
    follow = "Còn giờ làm việc thì sao?"
    mine = client.post(
        "/rag/invoke", json={"input": {"question": follow}}, headers={**_as(HR), **thread}
    ).json()["output"]
    assert mine["standalone_question"] != follow  # rewritten from the HR turn
    theirs = client.post(
        "/rag/invoke", json={"input": {"question": follow}}, headers={**_as(INTERN), **thread}
    ).json()["output"]
    assert theirs["standalone_question"] == follow  # a fresh conversation: no HR history
    assert "nghỉ phép" not in theirs["standalone_question"]
    too_long = client.post(
        "/rag/invoke",
        json={"input": {"question": follow}},
        headers={**_as(HR), "X-Thread-Id": "t" * 129},
    )
    assert too_long.status_code == 422


def test_keys_hash_matches_what_the_server_compares(vinarag):
    result = vinarag("keys", "hash", stdin=INTERN + "\n")
    assert result.returncode == 0 and result.stdout.strip() == KEYS[2]["key_sha256"]
    made = vinarag("keys", "new", "team-a", "--read", "public", "hr", "--write", "hr")
    assert made.returncode == 0 and '"read": ["public", "hr"]' in made.stdout
    assert "key (shown once): vs-" in made.stderr
