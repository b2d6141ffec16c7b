"""Eight people asking at once when the answers come from a model in the server's own process
(PhoGPT through transformers; here the tiny MPT the tests build). The graph runs on one thread
for a local model (server.graph_threads), so the requests queue for it: each stream must carry
only its own answer, the same as that question asked alone, and none may fail. Each streamed
answer's time to first token and decode speed reach /metrics."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from server.main import create_app
from server.routes.openai_chat import RESTART
from tests.helpers import LiveServer, metric_value, write_tiny_mpt

QUESTIONS = (
    "Đỉnh núi cao nhất Việt Nam cao bao nhiêu mét?",
    "Ai dời đô về Thăng Long vào năm 1010?",
    "Ngô Quyền đánh tan quân Nam Hán năm nào?",
    "Vua cuối cùng của nhà Nguyễn là ai?",
    "Truyện Kiều có bao nhiêu câu thơ?",
    "Ngô Bảo Châu nhận Huy chương Fields năm nào?",
    "Người châu Á đầu tiên bay vào vũ trụ là ai?",
    "Việt Nam có bao nhiêu dân tộc?",
)


@pytest.fixture
def local_model_server(settings, make_demo_services, tmp_path):
    model = write_tiny_mpt(tmp_path / "tiny-mpt")
    generator = {"kind": "phogpt", "model": str(model), "device": "cpu", "max_tokens": 8}
    configured = settings.model_copy(
        update={
            "generator": settings.generator.model_copy(update={**generator, "temperature": 0.0}),
            # every answer is generated: a cached one would hide a mixed-up stream
            "cache": settings.cache.model_copy(update={"enabled": False}),
        }
    )
    with LiveServer(create_app(configured, services=make_demo_services(configured))) as server:
        yield server


@pytest.mark.slow
def test_eight_concurrent_streams_on_the_local_model_answer_as_if_alone(local_model_server):
    from openai import OpenAI

    with OpenAI(
        base_url=f"{local_model_server.url}/v1", api_key="open", max_retries=0, timeout=300
    ) as client:

        def ask(question: str, stream: bool) -> str:
            messages = [{"role": "user", "content": question}]
            if not stream:
                reply = client.chat.completions.create(model="vinarag", messages=messages)
                return reply.choices[0].message.content or ""
            chunks = client.chat.completions.create(model="vinarag", messages=messages, stream=True)
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            # a regenerated answer (the tiny model is rarely grounded) restarts after a rule
            return text.split(RESTART)[-1]

        with ThreadPoolExecutor(len(QUESTIONS)) as pool:
            streamed = list(pool.map(lambda q: ask(q, stream=True), QUESTIONS))
        alone = [ask(question, stream=False) for question in QUESTIONS]
    metrics = httpx.get(f"{local_model_server.url}/metrics").text
    assert all(streamed)
    # greedy decoding: the same text as asked alone (the tiny random model writes much the same
    # tokens for every prompt, so this shows queueing without failures more than it could show
    # two streams' tokens mixed; the sources block is each question's own)
    assert streamed == alone
    assert len({answer.split("\n\nNguồn:")[-1] for answer in streamed}) > 1  # their own sources
    # every model answer (a regenerated one twice): its time to first token, its decode speed
    first = metric_value(metrics, 'rag_generation_first_token_seconds_count{generator="phogpt"}')
    speed = metric_value(metrics, 'rag_generation_tokens_per_second_count{generator="phogpt"}')
    assert first >= len(QUESTIONS) and speed >= len(QUESTIONS)
