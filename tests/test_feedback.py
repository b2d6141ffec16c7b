"""Feedback from a user's click to training data and a regression set: answers recorded under
their ids (SQLite, and the real PostgreSQL), verdicts stored, exported, counted in /metrics,
posted to the recording Langfuse server as a score; `train data --from-feedback` and
`eval rag --qa` on the export."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from server.main import create_app

KEY = "k-write"
HA_LONG = "Vịnh Hạ Long có bao nhiêu hòn đảo?"
PHO = "Phở ra đời ở đâu?"


def _configured(settings, demo_services, **memory):
    configured = settings.model_copy(update={"api_keys": [KEY]})
    if memory:
        configured = configured.model_copy(
            update={"memory": configured.memory.model_copy(update=memory)}
        )
    return configured


def _rate_three(client: TestClient) -> dict[str, str]:
    """An answer rated up through /rag, one rated down with a correction through /v1, and one
    rated down without one; their ids."""
    up = client.post("/rag/invoke", json={"input": {"question": HA_LONG}}).json()["output"]
    chat = client.post(
        "/v1/chat/completions",
        json={"model": "vinarag", "messages": [{"role": "user", "content": PHO}]},
    ).json()
    down = client.post("/rag/invoke", json={"input": {"question": "Phở có từ bao giờ?"}})
    ids = {
        "up": up["answer_id"],
        "corrected": chat["vinarag"]["answer_id"],
        "down": down.json()["output"]["answer_id"],
    }
    verdicts = [
        {"answer_id": ids["up"], "score": "up", "comment": "đúng"},
        {
            "answer_id": ids["corrected"],
            "score": 0.2,
            "correction": "Phở ra đời ở miền Bắc, với Nam Định và Hà Nội là hai cái nôi.",
        },
        {"answer_id": ids["down"], "score": "down"},
    ]
    for verdict in verdicts:
        response = client.post("/feedback", json=verdict, headers={"X-User-Id": "u-7"})
        assert response.status_code == 201, response.text
        assert response.json()["answer_id"] == verdict["answer_id"]
    return ids


def _export(client: TestClient) -> list[dict]:
    response = client.get("/feedback", headers={"X-API-Key": KEY})
    assert response.status_code == 200
    return [json.loads(line) for line in response.text.splitlines()]


def test_feedback_stored_exported_and_counted(settings, demo_services):
    with TestClient(create_app(_configured(settings, demo_services), services=demo_services)) as c:
        ids = _rate_three(c)
        unknown = c.post("/feedback", json={"answer_id": "abc123", "score": "up"})
        assert unknown.status_code == 404 and "abc123" in unknown.json()["detail"]
        assert c.post("/feedback", json={"answer_id": ids["up"], "score": 2}).status_code == 422
        assert c.post("/feedback", json={"answer_id": "x y", "score": "up"}).status_code == 422
        assert c.get("/feedback").status_code == 401  # the export needs the write key
        rows = _export(c)
        metrics = c.get("/metrics").text
    assert [r["answer_id"] for r in rows] == [ids["up"], ids["corrected"], ids["down"]]
    up, corrected, down = rows
    assert up["value"] == "up" and up["comment"] == "đúng" and up["user"] == "u-7"
    assert up["question"] == HA_LONG and "2.000" in up["answer"] and up["grounded"] is True
    assert up["sources"][0]["doc_id"] == "vinh-ha-long" and up["answers"] == [up["answer"]]
    assert up["contexts"] == [s["text"] for s in up["sources"]]
    assert corrected["value"] == "down" and corrected["answers"] == [corrected["correction"]]
    assert corrected["settings"]["generator"] == "extractive"
    assert down["answers"] == []
    assert 'rag_feedback_total{value="up"} 1.0' in metrics
    assert 'rag_feedback_total{value="down"} 2.0' in metrics
    # Durable: a new app on the same data folder still has them.
    with TestClient(create_app(settings, services=demo_services)) as again:
        assert [r["answer_id"] for r in _export(again)] == [
            ids[k] for k in ("up", "corrected", "down")
        ]


@pytest.mark.integration
def test_feedback_in_postgresql(settings, demo_services, postgres_schema):
    configured = _configured(settings, demo_services, postgres_url=postgres_schema)
    assert configured.memory.postgres_url and not configured.feedback_path.exists()
    with TestClient(create_app(configured, services=demo_services)) as client:
        ids = _rate_three(client)
        rows = _export(client)
    assert [r["answer_id"] for r in rows] == [ids["up"], ids["corrected"], ids["down"]]
    assert not configured.feedback_path.exists()  # nothing went to SQLite
    assert rows[1]["answers"] == [rows[1]["correction"]]


def test_feedback_is_a_score_on_the_answers_trace(settings, demo_services, langfuse_server):
    app = create_app(_configured(settings, demo_services), services=demo_services)
    state = app.state.vinarag
    try:
        with TestClient(app) as client:
            answer = client.post("/rag/invoke", json={"input": {"question": PHO}}).json()
            answer_id = answer["output"]["answer_id"]
            trace_id = state.feedback.trace_of(answer_id)
            assert trace_id
            rated = client.post(
                "/feedback", json={"answer_id": answer_id, "score": "down", "comment": "thiếu"}
            )
            assert rated.status_code == 201
            state.tracing.flush()
    finally:
        state.tracing.shutdown()
    scores = [
        score
        for path, _, body in langfuse_server
        if path == "/api/public/scores"
        for score in json.loads(body)
    ]
    [score] = scores
    assert score["traceId"] == trace_id and score["value"] == 0.0
    assert score["name"] == "user-feedback" and score["comment"] == "thiếu"


@pytest.mark.slow
def test_train_data_and_eval_from_the_export(settings, demo_services, tmp_path, vinarag):
    with TestClient(create_app(_configured(settings, demo_services), services=demo_services)) as c:
        _rate_three(c)
        export = tmp_path / "feedback.jsonl"
        export.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _export(c)))
    data = vinarag("train", "data", "--from-feedback", str(export), "--out", str(tmp_path / "sft"),
                   "--eval-fraction", "0")  # fmt: skip
    assert data.returncode == 0, data.stderr
    examples = [json.loads(x) for x in (tmp_path / "sft" / "train.jsonl").read_text().splitlines()]
    completions = sorted(e["completion"] for e in examples)
    assert len(examples) == 2 and completions[1].startswith(" Vịnh Hạ Long")
    assert completions[0] == " Phở ra đời ở miền Bắc, với Nam Định và Hà Nội là hai cái nôi. [1]"
    assert "rated down without a correction: not used for training" in data.stderr
    report = vinarag("eval", "rag", "--qa", str(export), "--json", str(tmp_path / "rag.json"),
                     "--report", str(tmp_path / "eval"), "--no-ragas", "--quiet")  # fmt: skip
    assert report.returncode == 0, report.stderr
    result = json.loads((tmp_path / "rag.json").read_text())
    assert result["dataset"]["queries"] == 2
    assert set(result["groups"]) == {"thumbs-up", "thumbs-down"}
    assert result["groups"]["thumbs-down"]["questions"] == 1
    assert "## By group" in (tmp_path / "eval" / "report.md").read_text()
