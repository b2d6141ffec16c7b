"""The OpenAI-compatible routes, driven by the official `openai` client and LangChain's
ChatOpenAI against the live server (uvicorn on a free port), and per-request run settings
through both /rag and /v1."""

from __future__ import annotations

import pytest

from server.main import create_app
from tests.helpers import LiveServer

KEY = "k-openai"
QUESTION = "Vịnh Hạ Long có bao nhiêu hòn đảo?"
FOLLOW_UP = "Còn được UNESCO công nhận năm nào?"


@pytest.fixture
def live(settings, demo_services):
    configured = settings.model_copy(update={"api_keys": [KEY]})
    with LiveServer(create_app(configured, services=demo_services)) as server:
        yield server


@pytest.fixture
def client(live):
    from openai import OpenAI

    with OpenAI(base_url=f"{live.url}/v1", api_key=KEY, max_retries=0) as client:
        yield client


def test_models_and_a_plain_answer_with_its_sources(client):
    assert [m.id for m in client.models.list()] == ["vinarag"]
    reply = client.chat.completions.create(
        model="vinarag", messages=[{"role": "user", "content": QUESTION}]
    )
    content = reply.choices[0].message.content
    answer, sources = content.split("\n\nNguồn:\n")
    assert "2.000" in answer and "[1]" in answer
    assert sources.startswith("[1] Vịnh Hạ Long")
    extra = reply.model_extra["vinarag"]
    assert extra["grounded"]["value"] is True and extra["sources"][0]["doc_id"] == "vinh-ha-long"
    assert len(extra["answer_id"]) == 32 and reply.choices[0].finish_reason == "stop"
    usage = reply.usage
    assert usage.prompt_tokens == len(QUESTION.split())
    assert usage.completion_tokens == len(content.split())  # words: the extractive answerer
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_the_stream_adds_up_to_the_plain_answer(client):
    messages = [{"role": "user", "content": QUESTION}]
    chunks = list(
        client.chat.completions.create(
            model="vinarag",
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    plain = client.chat.completions.create(model="vinarag", messages=messages)  # a cache hit
    assert text == plain.choices[0].message.content
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(pieces) >= 2 and pieces[-1].startswith("\n\nNguồn:")  # answer, then sources
    assert len({c.id for c in chunks}) == 1
    [last] = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["vinarag"]["sources"][0]["doc_id"] == "vinh-ha-long"
    assert chunks[-1].usage.completion_tokens == len(text.split())


def test_earlier_turns_are_the_conversation(client):
    first = client.chat.completions.create(
        model="vinarag", messages=[{"role": "user", "content": QUESTION}]
    )
    follow = client.chat.completions.create(
        model="vinarag",
        messages=[
            {"role": "system", "content": "Trả lời ngắn gọn."},
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": first.choices[0].message.content},
            {"role": "user", "content": FOLLOW_UP},
        ],
    )
    extra = follow.model_extra["vinarag"]
    assert "1994" in follow.choices[0].message.content
    assert extra["standalone_question"] != FOLLOW_UP  # rewritten from the earlier turn
    alone = client.chat.completions.create(
        model="vinarag", messages=[{"role": "user", "content": FOLLOW_UP}]
    )
    assert alone.model_extra["vinarag"]["standalone_question"] == FOLLOW_UP


def test_wrong_key_and_bad_parameters_are_openai_errors(live, client):
    import openai

    wrong = openai.OpenAI(base_url=f"{live.url}/v1", api_key="wrong", max_retries=0)
    with wrong, pytest.raises(openai.AuthenticationError) as caught:
        wrong.chat.completions.create(
            model="vinarag", messages=[{"role": "user", "content": QUESTION}]
        )
    assert caught.value.code == "invalid_api_key"
    ask = [{"role": "user", "content": QUESTION}]
    cases = [
        ({"model": "gpt-4o", "messages": ask}, openai.NotFoundError, "model_not_found"),
        ({"model": "vinarag", "messages": ask, "n": 2}, openai.BadRequestError, None),
        (
            {
                "model": "vinarag",
                "messages": ask,
                "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
            },
            openai.BadRequestError,
            None,
        ),
        (
            {
                "model": "vinarag",
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "data:,"}}],
                    }
                ],
            },
            openai.BadRequestError,
            "unsupported_content",
        ),
        ({"model": "vinarag", "messages": []}, openai.BadRequestError, None),
        (
            {"model": "vinarag", "messages": ask, "extra_body": {"vinarag": {"top_k": 0}}},
            openai.BadRequestError,
            None,
        ),
        (
            {"model": "vinarag", "messages": [{"role": "assistant", "content": "Chào"}]},
            openai.BadRequestError,
            None,
        ),
    ]
    for arguments, error, code in cases:
        with pytest.raises(error) as caught:
            client.chat.completions.create(**arguments)
        body = caught.value.body
        assert body["message"] and body["type"] == "invalid_request_error", body
        if code:
            assert body["code"] == code
    harmless = client.chat.completions.create(
        model="vinarag", messages=ask, temperature=0.3, max_tokens=64, top_p=0.9, user="u-1"
    )
    assert "2.000" in harmless.choices[0].message.content


def test_langchain_chat_openai_through_the_same_route(live):
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(base_url=f"{live.url}/v1", api_key=KEY, model="vinarag", max_retries=0)
    reply = chat.invoke(QUESTION)
    assert "2.000" in reply.content and "Nguồn:" in reply.content
    streamed = "".join(chunk.content for chunk in chat.stream(QUESTION))
    assert streamed == reply.content


def test_run_settings_per_request_through_rag_and_v1(live, client):
    import httpx

    question = "Việt Nam có những gì nổi tiếng?"

    def rag_sources(configurable: dict) -> int:
        response = httpx.post(
            f"{live.url}/rag/invoke",
            json={"input": {"question": question}, "config": {"configurable": configurable}},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return len(response.json()["output"]["sources"])

    wide = {"relevance_threshold": 0.0}
    assert rag_sources({**wide, "rerank_top_n": 2}) == 2
    assert rag_sources({**wide, "rerank_top_n": 4}) == 4

    def v1_sources(options: dict) -> int:
        reply = client.chat.completions.create(
            model="vinarag",
            messages=[{"role": "user", "content": question}],
            extra_body={"vinarag": options},
        )
        return len(reply.model_extra["vinarag"]["sources"])

    assert v1_sources({**wide, "rerank_top_n": 2}) == 2
    assert v1_sources({**wide, "rerank_top_n": 4}) == 4
    refused = httpx.post(
        f"{live.url}/rag/invoke",
        json={"input": {"question": question}, "config": {"configurable": {"top_k": 0}}},
        timeout=30,
    )
    assert refused.status_code == 422 and "top_k" in refused.json()["detail"]
