"""No way across a key's scope: a document is named by a checked (collection, id) pair that no id
can spell another collection's; keys are long, distinctly named and own their threads by their
digest; scopes name collections that can exist."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from server.main import create_app
from tools.corpus.documents import DocRef
from tools.services import build_services
from tools.settings import ApiKey, SettingsError, load_settings

ADMIN = "admin-key-0123456789abcdef"
WRITER = "default-writer-0123456789"  # writes (and reads) only `default`
OUTSIDER = "outsider-key-0123456789ab"  # reads only `public`
SECRET = ("hr", "luong-bi-mat", "Bảng lương bí mật của ban giám đốc năm nay.")


def _as(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


@pytest.fixture
def client(settings):
    keys = [
        ADMIN,
        ApiKey(name="writer", key=WRITER, read=["default"], write=["default"]),
        ApiKey(name="outsider", key=OUTSIDER, read=["public"], write=[]),
    ]
    configured = settings.model_copy(update={"api_keys": keys})
    services = build_services(configured, location=":memory:", embedder=None)
    with TestClient(create_app(configured, services=services)) as client:
        collection, doc_id, text = SECRET
        body = {"documents": [{"id": doc_id, "title": "Lương", "text": text}]}
        added = client.post(
            f"/documents?wait=true&collection={collection}", json=body, headers=_as(ADMIN)
        )
        assert added.status_code == 200, added.text
        yield client
    services.close()


def _hr_documents(client: TestClient) -> list[str]:
    listed = client.get("/collections", headers=_as(ADMIN)).json()["collections"]
    return [c["name"] for c in listed if c["name"] == "hr" and c["documents"]]


@pytest.mark.parametrize(
    "path",
    [
        "/documents/hr%1Fluong-bi-mat",  # the probe: default + "hr\x1fid" was hr's key
        "/documents/hr%1Fluong-bi-mat?collection=default",
        "/documents/luong-bi-mat%0A",
        "/documents/..%2Fhr%2Fluong-bi-mat",
    ],
)
def test_a_default_writer_cannot_delete_another_collections_document(client, path):
    response = client.delete(path, headers=_as(WRITER))
    assert response.status_code == 422, response.text  # not an id at all: says the rule
    assert "letters, digits" in response.json()["detail"]
    assert _hr_documents(client) == ["hr"]  # still there


def test_out_of_scope_ids_read_the_same_as_ids_that_do_not_exist(client):
    """No oracle: a collection the key cannot read answers 404 for a real id and a made-up
    one alike."""
    real = client.delete("/documents/luong-bi-mat?collection=hr", headers=_as(OUTSIDER))
    made_up = client.delete("/documents/khong-co?collection=hr", headers=_as(OUTSIDER))
    assert real.status_code == made_up.status_code == 404
    assert real.json()["detail"].replace("luong-bi-mat", "X") == made_up.json()["detail"].replace(
        "khong-co", "X"
    )
    assert _hr_documents(client) == ["hr"]
    # the writer may read `default` only: the same 404 for hr
    assert (
        client.delete("/documents/luong-bi-mat?collection=hr", headers=_as(WRITER)).status_code
        == 404
    )


def test_a_document_ref_is_checked_where_it_is_made():
    assert DocRef("hr", "luong-bi-mat").key == ("hr", "luong-bi-mat")
    for collection, doc_id in [
        ("default", "hr\x1fluong"),
        ("default", "a\n"),
        ("HR", "a"),
        ("hr ", "a"),
    ]:
        with pytest.raises(ValueError):
            DocRef(collection, doc_id)


def test_an_id_ending_in_a_newline_is_refused_on_upload(client):
    body = {"documents": [{"id": "a\n", "text": "Văn bản thử nghiệm tiếng Việt."}]}
    assert client.post("/documents?wait=true", json=body, headers=_as(ADMIN)).status_code == 422


def test_threads_belong_to_the_key_not_its_name(settings):
    """A scoped key named like the first plain key (`key-1`) is refused at start-up; and two
    keys never share a thread, whatever they are named."""
    with pytest.raises(SettingsError, match="two keys are named 'key-1'"):
        load_settings(
            data_dir=settings.data_dir,
            api_keys=[ADMIN, {"name": "key-1", "key": WRITER, "read": ["*"]}],
        )
    keys = [ADMIN, ApiKey(name="other", key=WRITER, read=["*"], write=["*"])]
    configured = settings.model_copy(update={"api_keys": keys})
    services = build_services(configured, location=":memory:", embedder=None)
    try:
        with TestClient(create_app(configured, services=services)) as client:
            text = "Vịnh Hạ Long thuộc tỉnh Quảng Ninh, có gần 2.000 hòn đảo đá vôi."
            body = {"documents": [{"id": "ha-long", "title": "Hạ Long", "text": text}]}
            assert (
                client.post("/documents?wait=true", json=body, headers=_as(ADMIN)).status_code
                == 200
            )
            thread = {"X-Thread-Id": "shared-name"}
            ask = {"input": {"question": "Vịnh Hạ Long có bao nhiêu hòn đảo?"}}
            first = client.post("/rag/invoke", json=ask, headers={**_as(ADMIN), **thread})
            assert first.status_code == 200
            follow = {"input": {"question": "Còn thuộc tỉnh nào?"}}
            other = client.post("/rag/invoke", json=follow, headers={**_as(WRITER), **thread})
            # the other key's thread is empty: its follow-up is not rewritten from the first
            steps = [s["node"] for s in other.json()["output"]["path"]]
            assert "rewrite_query" not in steps
            own = client.post("/rag/invoke", json=follow, headers={**_as(ADMIN), **thread})
            assert "rewrite_query" in [s["node"] for s in own.json()["output"]["path"]]
    finally:
        services.close()


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (["abc"], "key 1 is 3 characters: at least 16"),
        ([ADMIN, ADMIN.upper() + "x", {"name": "key-2", "key": WRITER}], "two keys are named"),
        ([{"name": "a", "key": WRITER, "read": ["HR"]}], "collection 'HR' cannot exist"),
        ([{"name": "a", "key": WRITER, "write": ["public "]}], "collection 'public ' cannot exist"),
    ],
)
def test_keys_that_cannot_work_stop_the_start(settings, keys, message):
    with pytest.raises(SettingsError, match=message) as refused:
        load_settings(data_dir=settings.data_dir, api_keys=keys)
    assert "abc" not in str(refused.value) and WRITER not in str(refused.value)  # never printed


def test_a_scoped_key_sees_only_its_collections_versions(client):
    def version(key: str) -> int:
        return client.get("/collections/stats", headers=_as(key)).json()["corpus_version"]

    before, full = version(OUTSIDER), version(ADMIN)
    body = {"documents": [{"id": "moi", "title": "Mới", "text": "Quy chế lương mới năm nay."}]}
    assert (
        client.post("/documents?wait=true&collection=hr", json=body, headers=_as(ADMIN)).status_code
        == 200
    )
    assert version(OUTSIDER) == before  # a write to hr says nothing to a key that reads public
    assert version(ADMIN) != full
    assert (
        client.post(
            "/documents?wait=true&collection=public", json=body, headers=_as(ADMIN)
        ).status_code
        == 200
    )
    assert version(OUTSIDER) != before
    asked = client.post(
        "/rag/invoke", json={"input": {"question": "Quy chế lương?"}}, headers=_as(OUTSIDER)
    )
    cache_step = asked.json()["output"]["path"][0]
    assert cache_step["node"] == "check_cache" and "corpus_version" not in cache_step
