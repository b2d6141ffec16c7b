"""Stored text that a response could not carry never fails a question. A store written by the
previous release, which checked less, is converted with lone surrogates spelled out (no UTF-8
encoder, the new store's included, takes them); a chunk that still cannot be served (metadata an
older release accepted and today's checks refuse) is left out of answers, the answer's path says
so, and `vinarag documents --check` names it. Today's ingestion refuses such text on every
path."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from server.main import create_app
from tests.helpers import write_previous_release_store
from tools.corpus.documents import Document
from tools.ingest.chunk import chunk_document
from tools.ingest.pipeline import ingest_documents, ingest_paths
from tools.kb.backfill import write_documents
from tools.kb.factory import build_knowledge_base
from tools.services import build_services

QUESTION = "Vịnh Hạ Long có bao nhiêu hòn đảo?"
TEXT = "Vịnh Hạ Long có gần 2.000 hòn đảo đá vôi lớn nhỏ, theo bản ghi cũ."
SURROGATE = Document(
    "ha-long-cu", "Vịnh Hạ Long (bản cũ)", TEXT, "cu.jsonl:1", {"ghi_chu": "\udc00"}
)
TOO_DEEP = Document("ha-long-sau", "Vịnh Hạ Long (sâu)", TEXT, "sau.jsonl:1",
                    {"a": {"b": {"c": {"d": {"e": 1}}}}})  # fmt: skip
REASON = "metadata 'a'.b.c: nested deeper than 3 levels"


def _store_as_an_older_release_did(kb, document: Document) -> None:
    """Straight into the store, past today's checks (as an older release wrote it)."""
    write_documents(kb, [(document, chunk_document(document, 900, 150))])


def test_a_previous_release_store_with_a_lone_surrogate_is_converted_and_answers(settings):
    from tools.demo import DEMO_DOCUMENTS

    write_previous_release_store(settings, [DEMO_DOCUMENTS], [SURROGATE])
    services = build_services(settings, embedder=None)  # converted on open
    try:
        kb = services.retrieval.kb
        assert len(kb.list_documents()) == 41  # the demo's 40 and the old one
        payload = next(iter(kb.payloads(kb.existing([("default", "ha-long-cu")])[
            ("default", "ha-long-cu")].point_ids).values()))  # fmt: skip
        assert payload.metadata["ghi_chu"] == "\\udc00"  # spelled out
        assert kb.unreadable_documents() == {}
        with TestClient(create_app(settings, services=services)) as client:
            for route in ("/rag/invoke", "/rag/stream"):
                asked = client.post(route, json={"input": {"question": QUESTION}})
                assert asked.status_code == 200 and "event: error" not in asked.text
    finally:
        services.close()


def test_a_chunk_that_cannot_be_served_is_left_out_of_every_answer(settings, demo_services):
    _store_as_an_older_release_did(demo_services.retrieval.kb, TOO_DEEP)
    with TestClient(create_app(settings, services=demo_services)) as client:
        invoked = client.post("/rag/invoke", json={"input": {"question": QUESTION}})
        assert invoked.status_code == 200, invoked.text
        output = invoked.json()["output"]
        assert "ha-long-sau" not in {s["doc_id"] for s in output["sources"]}
        assert "2.000" in output["answer"]  # answered from the demo's own document
        retrieved = next(s for s in output["path"] if s["node"] == "retrieve")
        assert retrieved["unreadable"] == [f"default/ha-long-sau: {REASON}"]
        chat = {"model": "vinarag", "messages": [{"role": "user", "content": QUESTION}]}
        assert client.post("/v1/chat/completions", json=chat).status_code == 200


@pytest.mark.slow
def test_documents_check_names_what_answers_leave_out(vinarag, tmp_path):
    from tools.settings import load_settings

    settings = load_settings(data_dir=tmp_path / "data", dense={"backend": "none"})
    kb = build_knowledge_base(settings)
    try:
        ingest_documents([Document("tot", "Tốt", "Phở là món ăn Hà Nội.", "x")], kb, settings)
        _store_as_an_older_release_did(kb, TOO_DEEP)
    finally:
        kb.close()
    checked = vinarag("documents", "--check", "--json")
    assert checked.returncode == 1
    assert json.loads(checked.stdout)["unreadable"] == [
        {"collection": "default", "doc_id": "ha-long-sau", "reason": REASON}
    ]
    assert "2 documents checked, 1 cannot be served" in checked.stderr
    assert vinarag("delete", "ha-long-sau").returncode == 0
    assert vinarag("documents", "--check").returncode == 0


@pytest.mark.parametrize(
    ("text", "metadata"), [("\ud800 Một văn bản.", {}), ("Một văn bản.", {"k\udfff": "v"})]
)
def test_ingestion_refuses_text_no_response_could_carry(settings, memory_kb, text, metadata):
    document = Document("x", "Tiêu đề", text, "x.jsonl:1", metadata)
    report = ingest_documents([document], memory_kb, settings)
    assert not report.accepted and "not valid Unicode" in report.failed[0][1]


def test_a_title_or_source_from_an_undecodable_file_name_is_spelled_out(settings, memory_kb):
    document = Document("x", "b\udce1o c\udce1o", "Báo cáo quý một.", "/srv/b\udce1o.txt")
    assert ingest_documents([document], memory_kb, settings).added == ["x"]
    (listed,) = memory_kb.list_documents()
    assert listed.title == "b\\udce1o c\\udce1o" and listed.source == "/srv/b\\udce1o.txt"


def test_a_jsonl_line_with_a_lone_surrogate_is_reported_and_the_rest_go_in(
    settings, memory_kb, tmp_path
):
    path = tmp_path / "docs.jsonl"
    path.write_text(
        '{"id": "a", "text": "Phở bò Hà Nội.", "nguon": "\\udc00"}\n'
        '{"id": "b", "text": "Bún chả Hà Nội."}\n',
        encoding="utf-8",
    )
    report = ingest_paths([path], memory_kb, settings, progress=False)
    assert report.added == ["b"]
    assert any("not valid Unicode" in reason for _, reason in report.failed + report.skipped)
